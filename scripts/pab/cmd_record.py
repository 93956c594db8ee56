# `pyalloc record [--out FILE] [--mark-signal SIG] [--overhead N] -- CMD ARGS...`: runs CMD with the malloc recorder
# preloaded, which streams the trace into FILE itself (no pass after the run); child processes get STEM.<pid>.pabt.
import argparse
import datetime
import os
import re
import signal
import statistics
import subprocess
import sys
import time

from . import native, program, trace, tryplan
from .errors import UsageError


def register(sub):
    p = sub.add_parser("record", help="run a command under the malloc recorder and write its trace",
                       description="Runs CMD with libpab-record.so preloaded; the trace is written as the program "
                                   "runs. Record Python under PYTHONMALLOC=malloc to replay both layers.")
    p.add_argument("--out", help="trace file to write, never overwritten (default: trace-DATE-TIME.pabt here)")
    p.add_argument("--mark-signal", metavar="SIG",
                   help="a signal (e.g. USR2) that sets the mark `signal` in the trace while the program runs")
    p.add_argument("--overhead", metavar="N", default="0",
                   help="also run CMD N times unrecorded, interleaved with recorded runs, and store the slowdown in "
                        "the trace (the program runs 2N times; default 0: it runs once)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    p.set_defaults(func=run)


def _count(text):
    if not text.isdigit() or int(text) > 100:
        raise UsageError(f"--overhead {text}: give a number of runs from 0 to 100")
    return int(text)


def _out_path(out):
    if out:
        if os.path.exists(out):
            raise UsageError(f"{out} exists: a trace is never overwritten, choose another --out")
        d = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(d):
            raise UsageError(f"{d}: no such directory for --out")
        return out
    stem = datetime.datetime.now().strftime("trace-%Y%m%d-%H%M%S")
    out, k = f"{stem}.pabt", 1
    while os.path.exists(out):
        k += 1
        out = f"{stem}-{k}.pabt"
    return out


def _env(recorded, out, mark_signal):
    env = dict(os.environ)
    env.pop("PAB_TRACE_OUT", None)
    env["PYTHONPATH"] = program.pythonpath(env)
    if mark_signal:
        env["PAB_MARK_SIGNAL"] = mark_signal
    if recorded:
        env["PAB_TRACE_OUT"] = out
        env["LD_PRELOAD"] = trace.recorder_path() + (":" + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
    return env


def _run(cmd, env):
    """(exit status, wall s, CPU s of the child). SIGTERM and SIGHUP are passed on to the program; SIGINT is not
    (a terminal sends it to the program as well), so the program ends the way it would have, and so does its trace."""
    t0 = time.monotonic()
    try:
        p = subprocess.Popen(cmd, env=env)
    except OSError as e:
        raise UsageError(f"cannot run {cmd[0]}: {e.strerror}")
    forward = lambda sig, _frame: p.send_signal(sig)  # noqa: E731
    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGHUP)}
    old[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _pid, status, ru = os.wait4(p.pid, 0)  # a forwarded signal interrupts it and it resumes (PEP 475)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, time.monotonic() - t0, ru.ru_utime + ru.ru_stime


def _overhead(cmd, out, mark_signal, n):
    """n pairs (unrecorded, recorded) interleaved; the first recorded run writes `out`, the others a scratch file
    that is deleted at once. Returns the kept run's (status, wall) and the note's overhead entry."""
    plain, rec = [], []
    for i in range(max(n, 1)):
        if n:
            plain.append(_run(cmd, _env(False, out, mark_signal)))
        path = out if i == 0 else f"{out}.overhead-{i}"
        rec.append(_run(cmd, _env(True, path, mark_signal)))
        if i:
            for name in [path] + _children(path):
                os.unlink(name)
    if not n:
        return rec[0], None
    ratio = lambda k: statistics.median(b[k] / a[k] for a, b in zip(plain, rec) if a[k] > 0)  # noqa: E731
    return rec[0], {"runs": n, "plain_wall_s": [round(r[1], 4) for r in plain], "recorded_wall_s": [round(r[1], 4) for r in rec],
                  "plain_cpu_s": [round(r[2], 4) for r in plain], "recorded_cpu_s": [round(r[2], 4) for r in rec],
                  "wall_ratio": round(ratio(1), 4), "cpu_ratio": round(ratio(2), 4)}


_OTHER = re.compile(r"^(\d+|\d+\.exec-\d+|exec-\d+)$")


def _children(out):
    """The recording's other traces, as the recorder names them: OUT.<pid> (a child process), OUT.exec-N (what this
    process was before it exec'd the program that wrote OUT) and OUT.<pid>.exec-N."""
    d, base = os.path.split(os.path.abspath(out))
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.startswith(base + ".") and _OTHER.match(n[len(base) + 1:]))


def _child_name(out, suffix):
    stem = out[:-5] if out.endswith(".pabt") else out
    return f"{stem}.{suffix}.pabt"


def _python_advice(cmd):
    if os.path.basename(cmd[0]).startswith("python") and os.environ.get("PYTHONMALLOC") not in ("malloc", "malloc_debug"):
        print("pyalloc: note: this Python runs under pymalloc, so its objects of 1-512 B never reach malloc and will "
              "not be in the trace; record with PYTHONMALLOC=malloc to replay it as pymalloc and as malloc",
              file=sys.stderr)


def run(args):
    cmd = tryplan.command(args.cmd, "record")
    n = _count(args.overhead)
    sig = tryplan.mark_signal(args.mark_signal)  # one rule for which signals can be marks, try's
    mark_signal = sig[1] if sig else None
    trace.recorder_path()
    out = _out_path(args.out)
    _python_advice(cmd)
    (status, wall, _cpu), overhead = _overhead(cmd, out, mark_signal, n)
    if not os.path.exists(out):
        raise UsageError(f"the recorder wrote nothing: is {cmd[0]} statically linked, or did it fail to start?")
    t = trace.info(out, peek=True)
    note = {"record": {"wall_s": round(wall, 4), "exit_status": status}}
    if overhead:
        note["record"]["overhead"] = overhead
    if t["complete"]:
        native.trace_append_note(out, note)
    size = os.path.getsize(out)
    print(f"recorded {t['calls'] - t['mark_count']} calls, {t['mark_count']} marks, {t['threads']} threads in "
          f"{wall:.2f} s -> {out} ({size / 2**20:.1f} MiB, {trace.bytes_per_event(t):.1f} B/call)")
    for path in _children(out):
        child = _child_name(out, path[len(os.path.abspath(out)) + 1:])
        os.rename(path, child)
        c = trace.info(child, peek=True)
        what = "before it exec'd" if "exec-" in child else "child process"
        print(f"  {what} (pid {c['pid']}, {' '.join(c['cmdline'])[:60]}): {c['calls']} calls -> {child}")
    if overhead:
        print(f"recorder overhead: {overhead['wall_ratio']:.2f}x wall, {overhead['cpu_ratio']:.2f}x CPU "
              f"(median of {n} interleaved pairs)")
    if not t["complete"]:
        print(f"pyalloc: note: {cmd[0]} ended before the recorder could finish (exit status {status}): the trace "
              f"holds every whole chunk written until then (`pyalloc trace-info {out}` says what was lost)", file=sys.stderr)
    elif status:
        print(f"pyalloc: note: {cmd[0]} exited with status {status}; the trace holds what it did", file=sys.stderr)
    return status if status >= 0 else 128 - status
