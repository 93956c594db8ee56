# The CPython runtime of `pyalloc run` (issue 5): the same workloads in real Python (bench/python/W.py), run under
# /usr/bin/python3 with the configuration's LD_PRELOAD, once with PYTHONMALLOC=malloc and once with pymalloc.
#
# For the runner: expand(cases) -> (Python cases, notes); is_cpython(case); command(case, config, seed, protocol,
# out_json, env) -> (argv, env); full_params(case) -> the CSV params cell.  A Python case is a presets.Case whose
# params carry runtime=cpython and layer=malloc|pymalloc; the scripts write the C binary's JSON (bench/CONTRACT.md),
# so runner.run() reads them unchanged.
import functools
import importlib
import os
import sys

from .binary import REPO
from .errors import UsageError
from .presets import Case

PYTHON = "/usr/bin/python3"  # DESIGN §2: the distribution's interpreter, the one users deploy
SCRIPTS = os.path.join(REPO, "bench", "python")
LAYERS = ("malloc", "pymalloc")
RUNTIME = "cpython"


@functools.lru_cache(maxsize=None)
def _harness():
    if SCRIPTS not in sys.path:
        sys.path.insert(0, SCRIPTS)
    return importlib.import_module("pab_harness")


@functools.lru_cache(maxsize=None)
def workloads():
    """{name: pab_harness.Workload} for every bench/python/NAME.py (each defines WORKLOAD)."""
    _harness()
    out = {}
    for f in sorted(os.listdir(SCRIPTS)):
        name = f[:-3]
        if f.endswith(".py") and name != "pab_harness":
            out[name] = importlib.import_module(name).WORKLOAD
    return out


def script(workload):
    return os.path.join(SCRIPTS, f"{workload}.py")


def is_cpython(case):
    return case.params.get("runtime") == RUNTIME


def expand(cases):
    """The Python cases for C cases: one per layer (the case's own `layer` when it names one, else both),
    keeping the parameters the Python workload has.  Returns (cases, notes): a note for every case Python
    cannot run (no Python version, or a parameter value Python cannot express), which is left out."""
    known, out, notes = workloads(), [], []
    h = _harness()
    for c in cases:
        w = known.get(c.workload)
        if w is None:
            notes.append(f"{c.label()}: no CPython version (bench/python/{c.workload}.py)")
            continue
        names = {p.name for p in w.params}
        for layer in [c.params["layer"]] if "layer" in c.params else LAYERS:
            params = {k: v for k, v in c.params.items() if k in names}
            params["layer"] = layer
            try:
                h.parse_params(w, [f"{k}={v}" for k, v in params.items()])
            except h.Usage as e:
                notes.append(f"{c.label()}: not run under CPython ({e})")
                break
            py = Case(c.workload, dict(params, runtime=RUNTIME))
            if py not in out:
                out.append(py)
    return out, notes


def full_params(case):
    """'key=value;...' over every parameter of the Python workload plus runtime: the params cell of a row whose
    process wrote no JSON (when it does, its pab_params says the same)."""
    w = workloads()[case.workload]
    values = {p.name: p.default for p in w.params}
    values.update(case.params)
    return ";".join(f"{k}={values[k]}" for k in sorted(values))


def command(case, config, seed, protocol, out_json, env):
    """(argv, env) of one Python case: env is the configuration's (configs.child_env), PYTHONMALLOC added for
    layer=malloc and removed for pymalloc; protocol {"cycles", "warmup"} as for the binary (runner.command).
    The script checks the allocator and the layer (exit 3 on a mismatch)."""
    if not is_cpython(case):
        raise UsageError(f"{case.label()} is not a CPython case")
    params = {k: v for k, v in case.params.items() if k != "runtime"}
    argv = [PYTHON, script(case.workload)]
    argv += [f"--param={k}={v}" for k, v in params.items()]
    argv += [f"--expect={config.allocator}", f"--release={config.release}", f"--seed={seed}",
             f"--cycles={protocol['cycles']}", f"--warmup={protocol['warmup']}", f"--out={out_json}"]
    env = {k: v for k, v in env.items() if k not in ("PYTHONMALLOC", "PYTHONMALLOCSTATS", "PYTHONDEVMODE")}
    if params.get("layer") == "malloc":
        env["PYTHONMALLOC"] = "malloc"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return argv, env
