# Shared by the example programs in bench/programs/: the size knob, and bench/pysite on sys.path so that
# `import pyalloc_mark` works when a program runs on its own (there mark() does nothing; under `pyalloc try` it marks).
import os
import sys

_PYSITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pysite")
if os.path.abspath(_PYSITE) not in [os.path.abspath(p) for p in sys.path]:
    sys.path.append(_PYSITE)  # appended: the copy `try` puts first on PYTHONPATH wins


def scale():
    """The size knob: argv[1] or $PAB_PROGRAM_SCALE, a positive factor of the default work (1 = a few seconds and
    tens to hundreds of MB; 0.05 runs in well under a second for tests)."""
    text = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PAB_PROGRAM_SCALE", "1")
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        sys.exit(f"{os.path.basename(sys.argv[0])}: the scale {text!r} is not a positive number")
    return value


def report(name, **figures):
    """One line of what the program computed, so its work is used (and checked by eye)."""
    print(name + ": " + ", ".join(f"{k}={v}" for k, v in figures.items()))
