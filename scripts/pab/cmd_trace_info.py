# `pyalloc trace-info FILE`: what a recorded trace holds and how it was made: the recording's metadata, bytes per
# event, the recorder's overhead when `record --overhead` measured it, marks with the live bytes at each, events
# by operation and request sizes against the `python` size mix (bench/mixes.tsv).  The C loader reads the file.
import datetime
import os

from . import binary, trace


def register(sub):
    p = sub.add_parser("trace-info", help="summarise a trace made by `pyalloc record`")
    p.add_argument("file", help="the trace file (.pabt)")
    p.set_defaults(func=run)


def _mib(n):
    return f"{n / 2**20:.1f} MiB"


def _recording(t):
    """Lines on how the trace was recorded and whether it is whole."""
    started = datetime.datetime.fromtimestamp(t["t0_realtime_ns"] / 1e9, datetime.timezone.utc) if t["t0_realtime_ns"] else None
    lines = [f"recorded: {trace.LAYER_TEXT[t['layer']]}"]
    if t["python"]:
        pm = t["pythonmalloc"]
        lines.append(f"python {t['python_version'].split()[0]} ({t['exe']}), PYTHONMALLOC={pm if pm is not None else '(unset)'}")
    elif t["exe"]:
        lines.append(f"executable {t['exe']}")
    if started:
        lines.append(f"started {started:%Y-%m-%d %H:%M:%S} UTC, ran {t['duration_ns'] / 1e9:.3f} s, page size {t['page_size']}")
    if not t["complete"]:
        lines.append("INTERRUPTED: the process ended before the recorder wrote its end (killed, _exit or exec): "
                     "every whole chunk is here; what its threads still buffered is lost")
    if t["lost_events"]:
        lines.append(f"lost: {t['lost_events']} calls took a sequence number and never reached the file"
                     + ("" if t["complete"] else " (at least)"))
    return lines


def _overhead(t):
    o = ((t.get("note") or {}).get("record") or {}).get("overhead")
    if not o:
        return "recorder overhead: not measured (`pyalloc record --overhead N` measures it)"
    return (f"recorder overhead: {o['wall_ratio']:.2f}x wall, {o['cpu_ratio']:.2f}x CPU (median of {o['runs']} "
            f"interleaved pairs of unrecorded and recorded runs)")


def _marks(t):
    if not t["marks"]:
        tail = " (a Python program run by `pyalloc record` gets `exit`)" if t["python"] else ""
        return [f"marks: none; replay takes `after free` at the end of the trace{tail}"]
    out = ["mark              event      live   blocks     time  thread"]
    for m in t["marks"]:
        out.append(f"{m['name']:<15}{m['at']:>8}  {_mib(m['live_bytes']):>9} {m['live_blocks']:>8} "
                   f"{m['t_ns'] / 1e9:>7.3f}s {m['thread']:>7}")
    if t["python"] and not any(m["name"] == "exit" for m in t["marks"]):
        out.append("no `exit` mark: replay's default takes `after free` at the end of the trace")
    return out


def run(args):
    bands = trace.mix_bands(os.path.join(binary.REPO, "bench", "mixes.tsv"))
    t = trace.info(args.file, bands)
    cmd = " ".join(t["cmdline"]) or "?"
    print(f"{args.file}: version {t['version']}, pid {t['pid']} (parent {t['ppid']}): {cmd[:200]}")
    for line in _recording(t):
        print(line)
    print(f"events {t['events']}, {trace.bytes_per_event(t):.2f} bytes/event on disk ({_mib(t['file_bytes'])}), "
          f"threads {t['threads']}, {t['max_id']} block ids")
    print(f"live peak {t['live_peak_bytes']} bytes ({_mib(t['live_peak_bytes'])}), never freed {t['end_live_bytes']} bytes")
    if t["unknown_frees"] or t["lost_frees"]:
        print(f"frees of blocks from before the recording {t['unknown_frees']}, frees the recorder missed {t['lost_frees']}")
    print(_overhead(t))
    for line in _marks(t):
        print(line)
    print("operation        events   share")
    for op, n in t["ops"].items():
        print(f"{op:<15}{n:>9}  {100 * n / max(t['events'], 1):5.1f}%")
    requests = sum(t["sizes"]) or 1
    print("request size     trace%  python-mix%")
    rows = [(f"{lo}-{hi} B", pct) for lo, hi, pct in bands] + [(f">{bands[-1][1]} B", 0.0)]
    for (label, pct), n in zip(rows, t["sizes"]):
        print(f"{label:<15}{100 * n / requests:7.1f}  {pct:10.1f}")
    return 0
