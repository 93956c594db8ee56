# Noise said out loud (docs/design.md §12): a short check of the machine before a run — load, other busy processes,
# the CPU frequency governor where visible, transparent huge pages and a quick timing probe — printed as warnings the
# way pyperf does and kept in meta.json (with ASLR's setting, recorded, not warned about), so a noisy result says why.
import os
import sys
import time

from . import machine

LOAD_PER_CORE = 0.25   # a 1-minute load average above this share of the cores: something else is running
BUSY_CPU = 0.10        # a process using more than 10 % of a CPU during the check is named
PROBE_SPREAD = 0.10    # the probe's spread ((p90 - p10) / median) above 10 %: the machine's speed is not steady
PROBE_ROUNDS = 25


def _read(path):
    return machine.read_text(path).strip() or None


def _cpu_ticks():
    """{pid: (command, utime + stime ticks)} of every process but this one and its parent."""
    out, skip = {}, {os.getpid(), os.getppid()}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        stat = _read(f"/proc/{pid}/stat")
        if not stat or int(pid) in skip:
            continue
        try:
            comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
            out[int(pid)] = (comm, int(rest[11]) + int(rest[12]))
        except (ValueError, IndexError):  # a process that is going away, or a kernel that writes it otherwise
            continue
    return out


def busy_processes(window=0.3):
    """[(command, share of one CPU)] of the processes that used more than BUSY_CPU of a CPU over the window."""
    hz = os.sysconf("SC_CLK_TCK")
    a = _cpu_ticks()
    time.sleep(window)
    b = _cpu_ticks()
    busy = [(comm, (t - a[pid][1]) / hz / window) for pid, (comm, t) in b.items() if pid in a]
    return sorted([x for x in busy if x[1] > BUSY_CPU], key=lambda x: -x[1])


def probe(rounds=PROBE_ROUNDS):
    """Spread of a fixed piece of work (some arithmetic and an 8 MiB copy) timed rounds times: (p90 - p10) / median."""
    buf = bytearray(8 << 20)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        x = 0
        for i in range(20000):
            x = (x * 31 + i) & 0xFFFFFFFF
        bytes(buf)
        times.append(time.perf_counter() - t)
    times.sort()
    med = times[len(times) // 2]
    return (times[int(0.9 * (len(times) - 1))] - times[int(0.1 * (len(times) - 1))]) / med


def facts():
    """What the check looks at, as a dict for meta.json."""
    load = _read("/proc/loadavg")
    governors = sorted({g for g in (_read(f"/sys/devices/system/cpu/{c}/cpufreq/scaling_governor")
                                    for c in os.listdir("/sys/devices/system/cpu") if c[3:].isdigit()) if g})
    return {"load1": float(load.split()[0]) if load else None, "cores": os.cpu_count() or 1,
            "busy": [{"command": c, "cpu": round(u, 2)} for c, u in busy_processes()],
            "governor": ",".join(governors) or None,
            "thp": machine.thp(),
            "aslr": _read("/proc/sys/kernel/randomize_va_space"), "probe_spread": round(probe(), 4)}


def warnings(f):
    """The warnings for facts f: one line each."""
    out = []
    if f["load1"] is not None and f["load1"] > LOAD_PER_CORE * f["cores"]:
        out.append(f"load average {f['load1']:.2f} on {f['cores']} cores: other work is running")
    if f["busy"]:
        out.append("busy processes: " + ", ".join(f"{b['command']} ({100 * b['cpu']:.0f} % of a CPU)"
                                                  for b in f["busy"][:4]))
    if f["governor"] and f["governor"] != "performance":
        out.append(f"CPU frequency governor `{f['governor']}` (not `performance`): the clock speed may change")
    if f["thp"] == "always":
        out.append("transparent huge pages `always`: khugepaged may collapse pages while cases run")
    if f["probe_spread"] > PROBE_SPREAD:
        out.append(f"a fixed piece of work varied by {100 * f['probe_spread']:.0f} % (p10–p90) over "
                   f"{PROBE_ROUNDS} repetitions: the machine's speed is not steady")
    return out


def check(log=sys.stderr):
    """Looks at the machine, prints a warning per finding (and what it means for the run); returns facts + warnings."""
    f = facts()
    f["warnings"] = warnings(f)
    for w in f["warnings"]:
        print(f"pyalloc: warning: {w}", file=log)
    if f["warnings"]:
        print("pyalloc: warning: time figures will be noisier (memory figures are not affected); intervals say how "
              "much, and --rounds auto spends more rounds", file=log)
    if f["governor"] is None:
        print("pyalloc: note: the CPU frequency governor is not visible here (a VM?)", file=log)
    return f
