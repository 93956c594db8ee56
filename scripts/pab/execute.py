# Running a planned list of jobs, each a fresh process, safely: a row is written whole as each job ends (signals
# held while it is), a progress line with ETA, and SIGINT/SIGTERM/SIGHUP ending the run with every finished row kept
# and meta.json marked incomplete.  Shared by `run` and `try`; what a job *is* comes from the caller.
import os
import signal
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone

from . import rundir, schema
from .errors import UsageError
from .units import format_duration


class Terminated(BaseException):
    pass


def on_term(signum, frame):
    raise Terminated(signum)


@contextmanager
def rows_whole():
    """No SIGINT/SIGTERM/SIGHUP while a row (and what belongs to it) is written."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def row_head(facts, run_id, job, seed, preset, lib, params):
    """The columns of a job's row that the plan knows before its process runs (the process adds what it measured)."""
    cfg = job.config
    return dict(facts, run_id=run_id, round=job.round, seed=seed,
                timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"), preset=preset, config=cfg.name,
                allocator=cfg.allocator, allocator_lib=lib, verified=0, release_policy=cfg.release, env=cfg.env_text,
                workload=job.case.workload, params=params)


def progress(i, n, name, cw, label, row, took, elapsed):
    eta = elapsed / i * (n - i)
    line = f"[{i:>{len(str(n))}}/{n}] {name:<{cw}}  {label}  {format_duration(took)}"
    line += f"  eta {format_duration(eta)}" if i < n else "  done"
    if row["status"] != "ok":
        line += f"  {row['status'].upper()}: {row['error']}"
    print(line, file=sys.stderr, flush=True)


def run_jobs(jobs, run_one, run_dir, describe, after_row=None):
    """Runs each job with run_one(i, job) -> row; writes the row (then after_row(i, job, row), both with signals
    held); prints progress.  describe(job) -> (configuration name, case label).  Returns the status counter."""
    writer, counts, t0 = schema.Writer(os.path.join(run_dir, "results.csv")), Counter(), time.monotonic()
    cw = max((len(describe(j)[0]) for j in jobs), default=1)
    try:
        for i, job in enumerate(jobs, start=1):
            started = time.monotonic()
            row = run_one(i, job)
            with rows_whole():
                writer.write(row)
                if after_row:
                    after_row(i, job, row)
            counts[row["status"]] += 1
            name, label = describe(job)
            progress(i, len(jobs), name, cw, label, row, time.monotonic() - started, time.monotonic() - t0)
    finally:
        writer.close()
    return counts


def guarded(run_dir, meta, body):
    """Runs body() -> Counter of statuses; Ctrl-C or SIGTERM/SIGHUP (raised as Terminated by the handler cli.main
    installs) end it cleanly.  Finishes meta.json either way and returns the exit status (0, or 128 + the signal)."""
    meta_path = os.path.join(run_dir, "meta.json")
    status, counts = 0, Counter()
    try:
        counts = body()
        meta["complete"] = True
    except KeyboardInterrupt:
        status, meta["interrupted"] = 130, "SIGINT"
    except Terminated as e:
        signum = e.args[0]
        status, meta["interrupted"] = 128 + signum, signal.Signals(signum).name
    finally:
        if not meta["complete"]:
            counts = Counter(r["status"] for r in _rows(run_dir))
        meta.update(finished=rundir.now(), statuses=dict(counts))
        rundir.write_json(meta_path, meta)
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no rows"
    if status:
        print(f"pyalloc: interrupted ({meta['interrupted']}): kept {summary} in {run_dir}", file=sys.stderr)
    else:
        print(f"{summary}: {os.path.join(run_dir, 'results.csv')}", file=sys.stderr)
        print(run_dir)
    return status


def _rows(run_dir):
    try:
        return schema.read_rows(run_dir)
    except UsageError:  # no rows yet, or a file cut short: the counts are then unknown
        return []
