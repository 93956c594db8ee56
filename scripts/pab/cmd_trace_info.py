# `pyalloc trace-info FILE`: what a recorded trace holds: events by operation, request sizes against the
# `python` size mix (bench/mixes.tsv), live-bytes peak, threads, duration.
import os

from . import binary, trace


def register(sub):
    p = sub.add_parser("trace-info", help="summarise a trace made by `pyalloc record`")
    p.add_argument("file", help="the trace file (.pabt)")
    p.set_defaults(func=run)


def _mib(n):
    return f"{n / 2**20:.1f} MiB"


def run(args):
    t = trace.Trace(args.file)
    bands = trace.mix_bands(os.path.join(binary.REPO, "bench", "mixes.tsv"))
    s = trace.summary(t, bands)
    cmd = " ".join(t.cmdline) or "?"
    print(f"{args.file}: pid {t.pid} (parent {t.ppid}): {cmd[:200]}")
    print(f"events {t.events}, threads {t.threads}, duration {t.duration_ns / 1e9:.3f} s, page size {t.page_size}")
    print(f"live peak {t.live_peak_bytes} bytes ({_mib(t.live_peak_bytes)}), never freed {t.end_live_bytes} bytes, "
          f"{t.max_id} block ids")
    if t.unknown_frees or t.lost_frees:
        print(f"frees of blocks from before the recording {t.unknown_frees}, frees the recorder missed {t.lost_frees}")
    print("operation        events   share")
    for op, n in s["ops"].items():
        print(f"{op:<15}{n:>9}  {100 * n / max(t.events, 1):5.1f}%")
    requests = sum(s["sizes"]) or 1
    print("request size     trace%  python-mix%")
    rows = [(f"{lo}-{hi} B", pct) for lo, hi, pct in bands] + [(f">{bands[-1][1]} B", 0.0)]
    for (label, pct), n in zip(rows, s["sizes"]):
        print(f"{label:<15}{100 * n / requests:7.1f}  {pct:10.1f}")
    return 0
