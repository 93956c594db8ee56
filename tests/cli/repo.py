# The repository as the tests see it: its source directory and its files (what git tracks, or, in a copy without
# git, every file but build outputs and results), for tests that copy the tree or read every file of it.
import os
import subprocess

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))


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
