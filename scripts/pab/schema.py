# The results contract (DESIGN §6): the CSV columns in order, and a reader that refuses files that are not ours.
# Every command that reads or writes results.csv goes through here.
import csv
import os

from .errors import UsageError

COLUMNS = tuple(
    "run_id round seed timestamp host cpu_model cores mem_total_bytes kernel thp glibc_version "
    "git_rev preset config allocator allocator_lib allocator_version verified release_policy env "
    "workload params threads iterations real_ns cpu_ns ops_per_s ns_per_op rss_base_bytes "
    "rss_peak_bytes rss_after_free_bytes rss_after_release_bytes release_ns live_peak_bytes "
    "overhead_ratio minor_faults major_faults status error"
    .split()
)

STATUSES = ("ok", "failed", "skipped", "oom", "timeout")
INT_COLUMNS = (
    "round seed cores mem_total_bytes verified threads iterations real_ns cpu_ns rss_base_bytes "
    "rss_peak_bytes rss_after_free_bytes rss_after_release_bytes release_ns live_peak_bytes "
    "minor_faults major_faults"
).split()
FLOAT_COLUMNS = ("ops_per_s", "ns_per_op", "overhead_ratio")


def results_path(run):
    """A run directory (or results.csv itself) -> the path of its results.csv."""
    path = os.path.join(run, "results.csv") if os.path.isdir(run) else run
    if not os.path.exists(path):
        raise UsageError(f"no results at {run}: give a run directory made by `pyalloc run` or its results.csv")
    return path


def read_rows(run):
    """Rows of a results.csv as dicts with numbers converted; empty numeric cells become None.
    Raises UsageError (one line) for a file that is not ours or is damaged."""
    path = results_path(run)
    _check_last_row_whole(path)
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or tuple(header) != COLUMNS:
                raise UsageError(f"{path} is not a pyalloc-bench results file (its header differs from DESIGN §6)")
            rows = []
            for n, cells in enumerate(reader, start=2):
                if len(cells) != len(COLUMNS):
                    raise UsageError(f"{path}:{n}: {len(cells)} cells, expected {len(COLUMNS)} (truncated or damaged)")
                rows.append(_convert(dict(zip(COLUMNS, cells)), path, n))
            return rows
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
    try:
        for k in INT_COLUMNS:
            row[k] = int(row[k]) if row[k] != "" else None
        for k in FLOAT_COLUMNS:
            row[k] = float(row[k]) if row[k] != "" else None
    except ValueError:
        raise UsageError(f"{path}:{n}: column {k} holds {row[k]!r}, not a number")
    if row["status"] not in STATUSES:
        raise UsageError(f"{path}:{n}: status {row['status']!r} is not one of {', '.join(STATUSES)}")
    return row


class Writer:
    """Appends rows to results.csv, flushed as each case finishes, header first."""

    def __init__(self, path):
        new = not os.path.exists(path)
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
