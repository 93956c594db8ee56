# Finds the benchmark binary (build/bench/pyalloc-bench; env PAB_BUILD names another build directory) and asks it
# what it knows: --pab_list (the catalogue: workloads, parameters, counters, allocators), --pab_identify (which
# malloc), --pab_need (what a case will ask the memory guard for).
import functools
import json
import os
import subprocess

from .errors import UsageError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def build_dir():
    return os.path.abspath(os.environ.get("PAB_BUILD") or os.path.join(REPO, "build"))


def path():
    exe = os.path.join(build_dir(), "bench", "pyalloc-bench")
    if not os.access(exe, os.X_OK):
        raise UsageError(f"the benchmark binary is not built ({exe} is missing): run `make build` first")
    return exe


def _run(args, env=None, timeout=60):
    return subprocess.run([path()] + args, env=env, capture_output=True, text=True, timeout=timeout)


def last_line(text):
    """The last non-empty line of a child's stderr, without libbenchmark's build-type warning."""
    lines = [ln.strip() for ln in (text or "").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("***WARNING***")]
    return lines[-1] if lines else ""


@functools.lru_cache(maxsize=None)
def catalogue():
    """The catalogue {"workloads", "counters", "allocators"}: the binary's --pab_list, or the JSON file that env
    PAB_CATALOGUE names (another build's catalogue, or a test's edited copy).  The one loader: the CLI and the CPython
    twins both read their workloads, parameters and counters through it."""
    override = os.environ.get("PAB_CATALOGUE")
    if override:
        try:
            with open(override) as f:
                data = json.load(f)
        except OSError as e:
            raise UsageError(f"PAB_CATALOGUE={override}: cannot read it ({e.strerror})")
        except ValueError as e:
            raise UsageError(f"PAB_CATALOGUE={override} is not JSON ({e})")
    else:  # never under a preloaded allocator: the catalogue is the binary's, not the configuration's
        p = _run(["--pab_list"], env=_unpreloaded())
        if p.returncode != 0:
            raise UsageError(f"pyalloc-bench --pab_list failed: {last_line(p.stderr) or f'exit {p.returncode}'}")
        try:
            data = json.loads(p.stdout)
        except ValueError as e:
            raise UsageError(f"pyalloc-bench --pab_list printed no catalogue ({e})")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("workloads", "counters")):
        raise UsageError(f"{override or 'pyalloc-bench --pab_list'} is not a catalogue (no workloads and counters)")
    return data


def _unpreloaded():
    """This environment without LD_PRELOAD: the catalogue and the flag check are the binary's own, not an allocator's."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def workloads():
    """{name: {"shows", "does", "params": [{"name", "type", "default", "help", ...}]}} of the catalogue."""
    return {w["name"]: w for w in catalogue()["workloads"]}


def counters():
    """The counter names every case reports (bench/harness/case.c's table), in the catalogue's order."""
    return [c["name"] for c in catalogue()["counters"]]


def check_flags(flags):
    """'' when the binary accepts these --pab_* flags (e.g. the protocol's), else its one-line complaint."""
    p = _run(["--pab_list"] + list(flags), env=_unpreloaded())
    return "" if p.returncode == 0 else last_line(p.stderr).removeprefix("pyalloc-bench: ")


def identify(env, expect, knobs=""):
    """(info dict or None, error line or ''): runs --pab_identify under env (LD_PRELOAD and the config's knobs);
    with knobs (the --pab_knobs text), info has "tuning": what the allocator read back."""
    try:
        p = _run(["--pab_identify", f"--pab_expect={expect}"] + ([f"--pab_knobs={knobs}"] if knobs else []),
                 env=env, timeout=30)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    info = None
    try:
        info = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        pass
    if p.returncode != 0:
        return info, last_line(p.stderr) or f"exit status {p.returncode}"
    return info, ""


def need(workload, params, cores=None):
    """What the case will touch, by its workload's own sums (bench/CONTRACT.md --pab_need): {"need_bytes", "who",
    "threads", "threads_asked", "params"}; UsageError with the binary's line when setup fails before its guard."""
    argv = ["--pab_need", f"--pab_workload={workload}"] + [f"--pab_param={k}={v}" for k, v in params.items()]
    p = _run(argv + ([f"--pab_cores={cores}"] if cores else []))
    if p.returncode != 0:
        raise UsageError(last_line(p.stderr).removeprefix("pyalloc-bench: ") or f"--pab_need: exit {p.returncode}")
    return json.loads(p.stdout)
