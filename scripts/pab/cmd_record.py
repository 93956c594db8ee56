# `pyalloc record [--out FILE] -- CMD ARGS...`: runs CMD with the malloc recorder preloaded (PAB_TRACE_OUT), then
# finalises the raw file into a trace for `--workloads replay --param trace=FILE`; child processes get FILE.<pid>.pabt.
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from . import trace
from .errors import UsageError


def register(sub):
    p = sub.add_parser("record", help="run a command under the malloc recorder and write its trace",
                       description="Runs CMD with libpab-record.so preloaded and writes its malloc trace.")
    p.add_argument("--out", help="trace file to write (default: trace-<pid>.pabt in the current directory)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    p.set_defaults(func=run)


def _child_out(out, pid):
    stem = out[:-5] if out.endswith(".pabt") else out
    return f"{stem}.{pid}.pabt"


def run(args):
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise UsageError("give the command to record after --, e.g. pyalloc record -- python3 app.py")
    lib = trace.recorder_path()
    out_dir = os.path.dirname(os.path.abspath(args.out)) if args.out else os.getcwd()
    if not os.path.isdir(out_dir):
        raise UsageError(f"{out_dir}: no such directory for --out")
    tmp = tempfile.mkdtemp(prefix=".pab-record-", dir=out_dir)
    try:
        return _record(cmd, lib, tmp, args.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _record(cmd, lib, tmp, out):
    raw = os.path.join(tmp, "raw")
    env = dict(os.environ, PAB_TRACE_OUT=raw)
    env["LD_PRELOAD"] = lib + (":" + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
    t0 = time.monotonic()
    try:
        status = subprocess.run(cmd, env=env).returncode
    except OSError as e:
        raise UsageError(f"cannot run {cmd[0]}: {e.strerror}")
    wall = time.monotonic() - t0
    if not os.path.exists(raw):
        raise UsageError(f"the recorder wrote nothing: is {cmd[0]} statically linked, or did it fail to start?")
    out = out or f"trace-{trace.raw_pid(raw)}.pabt"
    t = trace.finalize(raw, out)
    size = os.path.getsize(out)
    print(f"recorded {t.events} events, {t.threads} threads, live peak {t.live_peak_bytes} bytes, in {wall:.2f} s "
          f"-> {out} ({size / 2**20:.1f} MiB, {size / max(t.events, 1):.0f} B/event)")
    for name in sorted(os.listdir(tmp)):
        if name.startswith("raw.") and name[4:].isdigit():
            child = trace.finalize(os.path.join(tmp, name), _child_out(out, name[4:]))
            print(f"  child process {name[4:]}: {child.events} events -> {child.path}")
    if status:
        print(f"pyalloc: note: {cmd[0]} exited with status {status}; the trace holds what it did", file=sys.stderr)
    return status
