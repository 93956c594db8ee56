# The CPython runtime of `pyalloc run`: the same workloads in real Python (the twins, bench/python/W.py), run under
# /usr/bin/python3 with the configuration's LD_PRELOAD, once with PYTHONMALLOC=malloc and once with pymalloc.
#
# For the runner: expand(cases) -> (Python cases, notes); is_cpython(case); command(case, config, seed, protocol,
# out_json, env) -> (argv, env); full_params(case) -> the CSV params cell.  A Python case is a presets.Case whose
# params carry runtime=cpython and layer=malloc|pymalloc; a twin's parameters are its catalogue entry's (plus what
# it declares differently), and it writes the binary's JSON (bench/CONTRACT.md), so runner.run() reads it unchanged.
import functools
import importlib
import os
import sys

from . import knobs, schema
from .binary import REPO
from .errors import UsageError
from .paramspec import cell as params_cell
from .presets import Case

PYTHON = "/usr/bin/python3"  # docs/design.md §2: the distribution's interpreter, the one users deploy
SCRIPTS = os.path.join(REPO, "bench", "python")
RUNTIME = "cpython"


@functools.lru_cache(maxsize=None)
def twins():
    """{name: pab_harness.Workload} for every bench/python/NAME.py (each defines WORKLOAD)."""
    if SCRIPTS not in sys.path:
        sys.path.insert(0, SCRIPTS)
    names = sorted(f[:-3] for f in os.listdir(SCRIPTS) if f.endswith(".py") and f != "pab_harness.py")
    return {n: importlib.import_module(n).WORKLOAD for n in names}


def script(workload):
    return os.path.join(SCRIPTS, f"{workload}.py")


def is_cpython(case):
    return case.params.get("runtime") == RUNTIME


def expand(cases):
    """The Python cases for C cases: one per layer (the case's own `layer` when it names one, else both).  Returns
    (cases, notes): a note for every case Python cannot run (no twin, or a value it cannot express), left out."""
    out, notes = [], []
    for c in cases:
        w = twins().get(c.workload)
        if w is None:
            notes.append(f"{c.label()}: no CPython version (bench/python/{c.workload}.py)")
            continue
        for layer in [c.params["layer"]] if "layer" in c.params else schema.LAYERS:
            params = dict(c.params, layer=layer)
            try:
                w.parse(params)
            except UsageError as e:
                notes.append(f"{c.label()}: not run under CPython ({e})")
                break
            py = Case(c.workload, dict(params, runtime=RUNTIME))
            if py not in out:
                out.append(py)
    return out, notes


def full_params(case):
    """The params cell of a Python case (runtime=cpython included), as its twin writes it into pab_params."""
    return params_cell(twins()[case.workload].spec()["params"], case.params)


def command(case, config, seed, protocol, out_json, env):
    """(argv, env) of one Python case: env is the configuration's (configs.child_env), PYTHONMALLOC added for
    layer=malloc and removed for pymalloc; protocol {"cycles", "warmup"} as for the binary (runner.command).  The
    twin checks the allocator and the layer (exit 3 on a mismatch)."""
    if not is_cpython(case):
        raise UsageError(f"{case.label()} is not a CPython case")
    params = {k: v for k, v in case.params.items() if k != "runtime"}
    argv = [PYTHON, script(case.workload)] + [f"--param={k}={v}" for k, v in params.items()]
    argv += [f"--expect={config.allocator}", f"--release={config.release}", f"--seed={seed}",
             f"--cycles={protocol['cycles']}", f"--warmup={protocol['warmup']}", f"--out={out_json}"]
    asked = knobs.text(config)
    if asked:
        argv.append(f"--knobs={asked}")
    env = {k: v for k, v in env.items() if k not in ("PYTHONMALLOC", "PYTHONMALLOCSTATS", "PYTHONDEVMODE")}
    if params.get("layer") == "malloc":
        env["PYTHONMALLOC"] = "malloc"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return argv, env
