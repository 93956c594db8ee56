# pyalloc_mark: name the points of your program where memory should be measured (after a spike, after gc.collect()).
# `pyalloc try` and `pyalloc record` see the marks; without them (a plain run) mark() does nothing and costs ~nothing.
#
#     import pyalloc_mark
#     ...build and drop the big structure...
#     gc.collect()
#     pyalloc_mark.mark("after_spike")
#
# Copy this file next to your program, or put the folder that holds it on PYTHONPATH (`try` and `record` do).
import ctypes

try:  # the probe (libpab-probe.so) and the recorder (libpab-record.so) both export pab_mark when preloaded
    _mark = ctypes.CDLL(None).pab_mark
    _mark.argtypes, _mark.restype = (ctypes.c_char_p,), None
except (AttributeError, OSError):
    _mark = None


def active():
    """True when a probe or recorder is listening."""
    return _mark is not None


def mark(name):
    """A mark named `name` (letters, digits, `_`, `-`, `.`; at most 47 characters): a point to measure."""
    if _mark is not None:
        _mark(str(name).encode())
