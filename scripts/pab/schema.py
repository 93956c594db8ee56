# The results contract (docs/design.md §6): the one table of CSV columns, in order, each with its type, the schema
# version that added it and, for metrics, how reports show it; a reader that accepts every schema so far and refuses
# files that are not ours; the writer.  Every command that reads or writes results.csv goes through here.
import csv
import os
from collections import OrderedDict

from .errors import UsageError

SCHEMA = 2  # the version this code writes; every reader accepts 1..SCHEMA

# (column, type, schema that added it, report metric or None).  A metric is (key, family, label, unit, divisor):
# family `time` reads faster/slower, `memory` smaller/larger.  Columns are only ever appended (a new one bumps SCHEMA).
TABLE = (
    ("run_id", str, 1, None), ("round", int, 1, None), ("seed", int, 1, None), ("timestamp", str, 1, None),
    ("host", str, 1, None), ("cpu_model", str, 1, None), ("cores", int, 1, None), ("mem_total_bytes", int, 1, None),
    ("kernel", str, 1, None), ("thp", str, 1, None), ("glibc_version", str, 1, None), ("git_rev", str, 1, None),
    ("preset", str, 1, None), ("config", str, 1, None), ("allocator", str, 1, None), ("allocator_lib", str, 1, None),
    ("allocator_version", str, 1, None), ("verified", int, 1, None), ("release_policy", str, 1, None),
    ("env", str, 1, None), ("workload", str, 1, None), ("params", str, 1, None), ("threads", int, 1, None),
    ("iterations", int, 1, None),
    ("real_ns", int, 1, ("time", "time", "time per cycle", "ms", 1e6)),
    ("cpu_ns", int, 1, None), ("ops_per_s", float, 1, None), ("ns_per_op", float, 1, None),
    ("rss_base_bytes", int, 1, None),
    ("rss_peak_bytes", int, 1, ("peak", "memory", "peak RSS", "MiB", 2**20)),
    ("rss_after_free_bytes", int, 1, ("after_free", "memory", "RSS after free", "MiB", 2**20)),
    ("rss_after_release_bytes", int, 1, ("after_release", "memory", "RSS after release", "MiB", 2**20)),
    ("release_ns", int, 1, ("release", "time", "release call", "us", 1e3)),
    ("live_peak_bytes", int, 1, None), ("overhead_ratio", float, 1, None), ("minor_faults", int, 1, None),
    ("major_faults", int, 1, None), ("status", str, 1, None), ("error", str, 1, None),
    # schema 2
    ("cold_ns", int, 2, ("cold", "time", "cold (first) cycle", "ms", 1e6)),
    ("rss_after_idle_bytes", int, 2, ("after_idle", "memory", "RSS after idle", "MiB", 2**20)),
    ("mark", str, 2, None), ("tuning", str, 2, None), ("shard", str, 2, None),
)
COLUMNS = tuple(t[0] for t in TABLE)
TYPES = {t[0]: t[1] for t in TABLE}
WIDTH = OrderedDict((v, sum(1 for t in TABLE if t[2] <= v)) for v in range(1, SCHEMA + 1))  # schema -> columns
METRICS = OrderedDict((t[3][0], (t[0],) + t[3][1:]) for t in TABLE if t[3])  # key -> (column, family, label, unit, div)
STATUSES = ("ok", "failed", "skipped", "oom", "timeout")
LAYERS = ("pymalloc", "malloc")  # values of the params' layer=: CPython's default allocator first, PYTHONMALLOC=malloc
LAYER_ORDER = LAYERS + (None,)  # how rows of layers sort; None: a program without layers
RUN_SCHEMA_KEY = "schema"  # meta.json records the schema its results.csv was written with


def results_path(run):
    """A run directory (or results.csv itself) -> the path of its results.csv."""
    path = os.path.join(run, "results.csv") if os.path.isdir(run) else run
    if not os.path.exists(path):
        raise UsageError(f"no results at {run}: give a run directory made by `pyalloc run` or its results.csv")
    return path


def schema_of(header, path):
    """The schema a header was written with; UsageError when it is none of ours."""
    header = tuple(header or ())
    for version, width in WIDTH.items():
        if header == COLUMNS[:width]:
            return version
    if len(header) > len(COLUMNS) and header[:len(COLUMNS)] == COLUMNS:
        raise UsageError(f"{path} was written by a newer pyalloc-bench (schema > {SCHEMA}, {len(header)} columns): "
                         f"update this checkout to read it")
    raise UsageError(f"{path} is not a pyalloc-bench results file (its header is none of schemas "
                     f"1..{SCHEMA}, docs/design.md §6)")


def read_rows(run, with_schema=False):
    """Rows of a results.csv as dicts over every column of the current schema, numbers converted; an empty cell, or a
    column the file's schema lacks, is None ("not measured").  UsageError (one line) for a file that is not ours."""
    path = results_path(run)
    _check_last_row_whole(path)
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            version = schema_of(header, path)
            width = WIDTH[version]
            rows = []
            for n, cells in enumerate(reader, start=2):
                if len(cells) != width:
                    raise UsageError(f"{path}:{n}: {len(cells)} cells, expected {width} (truncated or damaged)")
                row = dict(zip(COLUMNS, cells + [""] * (len(COLUMNS) - width)))
                rows.append(_convert(row, path, n))
            return (rows, version) if with_schema else rows
    except (UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"{path} is not a pyalloc-bench results file ({e})")


def _check_last_row_whole(path):
    """Writer ends every row with a newline: a file that does not end with one was cut inside its last row
    (which can still have the right number of cells)."""
    with open(path, "rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return
        f.seek(-1, os.SEEK_END)
        if f.read(1) != b"\n":
            raise UsageError(f"{path}: the last row is cut short (truncated file)")


def _convert(row, path, n):
    for k, t in TYPES.items():
        if t is str:
            continue
        try:
            row[k] = t(row[k]) if row[k] != "" else None
        except ValueError:
            raise UsageError(f"{path}:{n}: column {k} holds {row[k]!r}, not a number")
    if row["status"] not in STATUSES:
        raise UsageError(f"{path}:{n}: status {row['status']!r} is not one of {', '.join(STATUSES)}")
    return row


class Writer:
    """Appends rows to results.csv (schema SCHEMA), flushed as each case finishes, header first."""

    def __init__(self, path):
        new = not os.path.exists(path)
        if not new:
            with open(path, newline="") as f:
                if schema_of(next(csv.reader(f), None), path) != SCHEMA:
                    raise UsageError(f"{path} holds rows of an older schema: write a new run instead")
        self._f = open(path, "a", newline="")
        self._w = csv.writer(self._f)
        if new:
            self._w.writerow(COLUMNS)
            self._f.flush()

    def write(self, row):
        self._w.writerow(["" if row.get(k) is None else row[k] for k in COLUMNS])
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self):
        self._f.close()
