# The repository as the tests see it: its source and build directories, its files (what git tracks, or, in a copy
# without git, every file but build outputs and results), and `pyalloc` run as a user runs it, in a clean environment.
import os
import subprocess

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.path.abspath(os.environ.get("PAB_BUILD", os.path.join(SOURCE, "build")))
PY = "/usr/bin/python3"
PYALLOC = os.path.join(SOURCE, "scripts", "pyalloc")


def clean_env(**extra):
    """This process's environment without what would change which allocator runs or inject faults, and with the
    build the tests use."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "PAB_FAULT", "PAB_MEM"))}
    env.update(PAB_BUILD=BUILD, PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def pyalloc(*args, timeout=120, env=None, cwd=None):
    """`scripts/pyalloc ARGS...` (given as arguments or as one list), its output captured."""
    argv = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
    return subprocess.run([PY, PYALLOC] + argv, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def files(src=SOURCE):
    """Paths relative to src."""
    p = subprocess.run(["git", "-C", src, "ls-files", "-z"], capture_output=True, text=True)
    if p.returncode == 0 and p.stdout:
        return [f for f in p.stdout.split("\0") if f and os.path.isfile(os.path.join(src, f))]
    skip = {"results", ".git"}
    out = []
    for d, dirs, names in os.walk(src):
        dirs[:] = [x for x in dirs if x not in skip and not x.startswith("build")]
        out += [os.path.relpath(os.path.join(d, n), src) for n in names]
    return out
