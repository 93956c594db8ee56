# Malloc traces (bench/trace/README.md): a validating reader of the final file, the finalising pass (in C, through
# the recorder library), and the summary `pyalloc trace-info` prints.  Bad files raise UsageError, one line.
import ctypes
import os
import struct

from . import binary
from .errors import UsageError

MAGIC, RAW_MAGIC, VERSION = b"PABTRACE", b"PABTRAW1", 1
HEADER = struct.Struct("<8sIIIIIIQQQQQQQII")  # 96 bytes, pab_trace_header
RAW_HEADER = struct.Struct("<8sIIIIQII")     # 40 bytes, pab_raw_header
REC = struct.Struct("<QIIIHBB")              # 24 bytes, pab_trace_rec: size id old dt_ns thread op align_log2
FIELDS = ("magic version header_size page_size pid ppid threads events max_id live_peak_bytes end_live_bytes "
          "duration_ns unknown_frees lost_frees cmdline_len rec_size").split()
OPS = (None, "malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc")
OP_FREE, OP_REALLOC = 4, 3


def recorder_path():
    lib = os.path.join(binary.build_dir(), "bench", "libpab-record.so")
    if not os.path.exists(lib):
        raise UsageError(f"the recorder is not built ({lib} is missing): run `make build` first")
    return lib


class Trace:
    """A final trace file: header fields as attributes, the command line, and its records on demand."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path, "rb") as f:
                head = f.read(HEADER.size)
                size = os.fstat(f.fileno()).st_size
        except OSError as e:
            raise UsageError(f"{path}: {e.strerror}")
        if head[:8] == RAW_MAGIC:
            raise UsageError(f"{path}: a raw recorder file, not a finalized trace (record with `pyalloc record`)")
        if head[:8] != MAGIC:
            raise UsageError(f"{path}: not a pyalloc trace (bad magic)")
        if len(head) < HEADER.size:
            raise UsageError(f"{path}: truncated trace header")
        self.__dict__.update(zip(FIELDS, HEADER.unpack(head)))
        if self.version != VERSION:
            raise UsageError(f"{path}: trace version {self.version}, this build reads {VERSION}")
        if self.rec_size != REC.size or self.header_size != HEADER.size + (self.cmdline_len + 7) // 8 * 8:
            raise UsageError(f"{path}: damaged trace header")
        want = self.header_size + self.events * REC.size
        if size < want:
            held = max(0, size - self.header_size) // REC.size
            raise UsageError(f"{path}: truncated: the header promises {self.events} events, the file holds {held}")
        if size > want:
            raise UsageError(f"{path}: damaged: {size - want} bytes after the last event")
        with open(path, "rb") as f:
            f.seek(HEADER.size)
            self.cmdline = [a.decode(errors="replace") for a in f.read(self.cmdline_len).split(b"\0") if a]

    def records(self, batch=1 << 16):
        """Yields (size, id, old, dt_ns, thread, op, align_log2) per event, in order."""
        with open(self.path, "rb") as f:
            f.seek(self.header_size)
            left = self.events
            while left:
                n = min(left, batch)
                buf = f.read(n * REC.size)
                if len(buf) != n * REC.size:
                    raise UsageError(f"{self.path}: truncated while reading")
                yield from REC.iter_unpack(buf)
                left -= n


def finalize(raw, out):
    """raw recorder file -> final trace, by the C pass in the recorder library (bench/trace/trace_format.c)."""
    os.environ.pop("PAB_TRACE_OUT", None)  # loading the library must not start a recording here
    lib = ctypes.CDLL(recorder_path())
    lib.pab_record_finalize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    err = ctypes.create_string_buffer(512)
    if lib.pab_record_finalize(os.fsencode(raw), os.fsencode(out), err, len(err)):
        raise UsageError(err.value.decode(errors="replace"))
    return Trace(out)


def raw_pid(raw):
    with open(raw, "rb") as f:
        head = f.read(RAW_HEADER.size)
    if len(head) < RAW_HEADER.size or head[:8] != RAW_MAGIC:
        raise UsageError(f"{raw}: not a raw pyalloc trace (bad magic)")
    return RAW_HEADER.unpack(head)[3]


def mix_bands(mixes_tsv, mix="python"):
    """[(lo, hi, percent)] of a size mix, bands merged by their upper bound: a request of s bytes falls in the
    first band with s <= hi (CPython rounds requests up to 16-byte classes)."""
    bands = []
    with open(mixes_tsv) as f:
        for line in f:
            cells = line.split()
            if len(cells) == 4 and cells[0] == mix:
                bands.append((int(cells[2]), int(cells[3]), float(cells[1])))
    out, lo = [], 0
    for _, hi, pct in sorted(bands, key=lambda b: b[1]):
        out.append((lo + 1, hi, pct))
        lo = hi
    return out


def summary(t, bands):
    """Counts by op, request sizes per band, threads seen: one pass over the records."""
    counts = [0] * len(OPS)
    sizes = [0] * (len(bands) + 1)
    limits = [hi for _, hi, _ in bands]
    import bisect
    for size, _id, _old, _dt, _th, op, _al in t.records():
        counts[op] += 1
        if op != OP_FREE and (op != OP_REALLOC or size):
            sizes[bisect.bisect_left(limits, size)] += 1
    return {"ops": {OPS[i]: counts[i] for i in range(1, len(OPS)) if counts[i]}, "sizes": sizes}
