# A run's directory (docs/design.md §6): <out>/<run-id>/ made without ever touching another run, `latest` pointed
# at it, meta.json written atomically; shared by `run`, `try` and `merge`.
import csv
import json
import os
import shlex
import sys
import time
from datetime import datetime, timezone

from dataclasses import asdict

from .errors import UsageError
from .schema import RUN_SCHEMA_KEY, SCHEMA


def make(out):
    """(run_id, directory): <out>/<YYYYMMDD-HHMMSS>[-N], created here, never one that exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        os.makedirs(out, exist_ok=True)
        for n in range(1, 1000):
            run_id = stamp if n == 1 else f"{stamp}-{n}"
            try:
                os.mkdir(os.path.join(out, run_id))
                return run_id, os.path.join(out, run_id)
            except FileExistsError:
                continue
    except OSError as e:
        raise UsageError(f"cannot create the results directory {out}: {e.strerror}")
    raise UsageError(f"cannot create a run directory under {out}")


def point_latest(out, run_id):
    link, tmp = os.path.join(out, "latest"), os.path.join(out, f".latest-{os.getpid()}")
    try:
        os.symlink(run_id, tmp)
        os.replace(tmp, link)
    except OSError as e:
        print(f"pyalloc: warning: cannot point {link} at {run_id}: {e.strerror}", file=sys.stderr)


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def base_meta(run_id, kind, facts):
    """What every run's meta.json starts with; the command adds its plan."""
    return {"run_id": run_id, "kind": kind, RUN_SCHEMA_KEY: SCHEMA, "complete": False, "started": now(),
            "finished": None, "command": " ".join(shlex.quote(a) for a in sys.argv), "cwd": os.getcwd(),
            "machine": facts}


def file_name(*parts):
    """A file name inside a run directory made of parts ('host', 'workload', ...; empty ones left out): letters,
    digits, '-' and '_' kept, anything else '_'."""
    name = "-".join(str(p) for p in parts if p)
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


TIMELINE_COLUMNS = ("run_id", "round", "config", "workload", "params", "t_ns", "rss_bytes", "event")


def timeline_part(tmp, i):
    """Where the process of job i writes its timeline (PAB_PROBE_TIMELINE / --pab_timeline)."""
    return os.path.join(tmp, f"{i}.timeline.csv")


def timeline_merger(tmp, run_dir, run_id):
    """execute.run_jobs' after_row: job i's timeline joins the run's timeline.csv (a job that wrote none adds
    nothing: a CPython twin's or a failed process's)."""
    def after_row(i, job, row):
        head = [run_id, job.round, job.config.name, job.case.workload, row["params"]]
        append_timeline(run_dir, timeline_part(tmp, i), head)
    return after_row


def append_timeline(run_dir, src, head):
    """One process's timeline file (t_ns, rss_bytes, event) joins the run's timeline.csv, each line led by head
    (run_id, round, config, workload, params); the file is removed."""
    if not os.path.exists(src):
        return
    path = os.path.join(run_dir, "timeline.csv")
    new = not os.path.exists(path)
    with open(src, newline="") as f, open(path, "a", newline="") as out:
        w = csv.writer(out)
        if new:
            w.writerow(TIMELINE_COLUMNS)
        for r in csv.DictReader(f):
            w.writerow(head + [r.get("t_ns", ""), r.get("rss_bytes", ""), r.get("event", "")])
    os.remove(src)


def configs_meta(chosen, libs):
    """meta.json's `configs`: each configuration as run, with the library it resolved to (or why none)."""
    return [dict(asdict(c), resolved_library=libs[c.name][0], library_error=libs[c.name][1]) for c in chosen]
