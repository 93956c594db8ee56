# Loaded by every Python that `pyalloc try` or `pyalloc record` starts (PYTHONPATH names this folder): when the probe
# or the recorder is preloaded, it sets the automatic `exit` mark before the interpreter's teardown and, with
# PAB_MARK_SIGNAL, turns that signal into a mark on the main thread.  It first runs the sitecustomize it shadows.
import os
import sys


def _chain():
    """Run the sitecustomize this file shadows (Debian's installs apport's hook), as Python would have."""
    import importlib.machinery
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec and spec.origin and os.path.dirname(os.path.abspath(spec.origin)) != here:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def _install():
    import pyalloc_mark
    if not pyalloc_mark.active():
        return
    import atexit
    # Registered before the program runs, so it runs after the program's own atexit callbacks and threading's
    # join, and before finalisation frees modules and objects: what the program holds at its end.
    atexit.register(pyalloc_mark.mark, "exit")
    sig = os.environ.get("PAB_MARK_SIGNAL")
    if sig:
        import signal
        signum = getattr(signal, sig if sig.startswith("SIG") else "SIG" + sig)
        # A Python handler runs on the main thread between bytecodes: the probe's release call then acts where
        # the allocator needs it (mimalloc's mi_collect, jemalloc's tcache flush work on the calling thread).
        signal.signal(signum, lambda *_: pyalloc_mark.mark("signal"))


try:
    _chain()
except Exception as e:  # the shadowed file's own failure must not change what the program does
    print(f"sitecustomize: {e}", file=sys.stderr)
_install()
