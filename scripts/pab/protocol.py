# The timing protocol of a run (docs/design.md §12): per case, `warmup` untimed cycles then `cycles` timed ones whose
# median is real_ns — the same for every configuration and round of the case.  `cycles` is the preset's number, or
# with cycles=auto it is calibrated once per case before the matrix, from one warm cycle of the baseline (never from
# the cold one), so a 5 ms case gets enough cycles and a 500 ms one stays short.  meta.json records the result.
import math
import sys

from . import runner
from .runs import BASELINE
from .units import format_duration

MIN_CYCLES = 3     # the median of 3 already ignores one disturbed cycle
MAX_CYCLES = 200
LADDER = (3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200)  # round up to these: two
# calibrations on the same machine mostly agree, so runs made on different days use the same protocol


def cycles_for(cycle_ns, min_time):
    """Timed cycles so that they last about min_time seconds: ceil(min_time / cycle), rounded up onto LADDER."""
    if not cycle_ns or cycle_ns <= 0:
        return MIN_CYCLES
    want = max(MIN_CYCLES, min(MAX_CYCLES, math.ceil(min_time * 1e9 / cycle_ns)))
    return next(n for n in LADDER if n >= want)


def fixed(settings, cases):
    """{case key: protocol} when the preset (or --cycles) gives a number."""
    return {c.key(): {"cycles": settings["cycles"], "warmup": settings["warmup"]} for c in cases}


def reference_config(chosen):
    """The baseline when the run has it, else its first configuration: it calibrates the protocol, and adaptive
    rounds take their ratios against it."""
    return next((c for c in chosen if c.name == BASELINE), chosen[0])


def measure(p, case, out_json):
    """One warm cycle of the case under the calibration configuration, after the usual warm-up: (ns or None, why)."""
    cfg = reference_config(p["configs"])
    lib, err = p["libs"][cfg.name]
    if err:
        return None, err
    s = p["settings"]
    proto = {"cycles": 1, "warmup": s["warmup"]}
    argv, env = runner.job_command(p["exe"], runner.Job(0, cfg, case), p["seed"], proto, lib, out_json)
    fields = runner.run(argv, env, s["timeout"], out_json)
    if fields["status"] != "ok":
        return None, f"{fields['status']}: {fields['error']}"
    return fields.get("real_ns"), ""


def calibrate(p, out_json, measure_one=measure, log=sys.stderr):
    """{case key: {"cycles", "warmup", "calibration_ns"}} with cycles from one warm cycle of each case (a case that
    cannot calibrate gets MIN_CYCLES: it will most likely fail the same way in the matrix)."""
    s, out, shown = p["settings"], {}, []
    for case in p["cases"]:
        ns, why = measure_one(p, case, out_json)
        n = cycles_for(ns, s["min_time"])
        out[case.key()] = {"cycles": n, "warmup": s["warmup"], "calibration_ns": ns}
        shown.append(f"{case.label()} {n}" + ("" if ns else f" ({why})"))
    print(f"protocol: {s['warmup']} warm-up + N timed cycles per process, N for about "
          f"{format_duration(s['min_time'])} of cycles (from one warm cycle of "
          f"{reference_config(p['configs']).name}): " + ", ".join(shown), file=log)
    return out


def for_case(protocols, case):
    """The argv protocol ({"cycles", "warmup"}) of a case."""
    pr = protocols[case.key()]
    return {"cycles": pr["cycles"], "warmup": pr["warmup"]}


def declared(settings):
    """The protocol as the plan declares it (what slices of one plan share; calibrated counts are this machine's)."""
    d = {"cycles": settings["cycles"], "warmup": settings["warmup"]}
    if settings["cycles"] == "auto":
        d["min_time"] = settings["min_time"]
    return d


def meta(settings, protocols, cases):
    """meta.json's "protocol": how the cycles were chosen and each case's."""
    return {"cycles": settings["cycles"], "warmup": settings["warmup"], "min_time": settings["min_time"],
            "cases": [dict(workload=c.workload, params=c.params, **protocols[c.key()]) for c in cases]}
