# `pyalloc plan`: before anything runs, what each case of a run's plan will touch (its workload's own sums, through
# the binary's --pab_need), the MemAvailable the memory guard wants for it, its threads, and what this host would skip.
import json
import os
import shlex
import sys

from . import adaptive, binary, native, planning, shard, units
from .errors import UsageError
from .units import format_size, parse_size


def register(sub):
    p = sub.add_parser("plan", help="what each case of a run will need (memory, cores) and what this host would skip",
                       description="Plan a run without running it: per case the bytes it will touch (the workload's "
                       "own arithmetic, stopped at its memory guard), the MemAvailable the guard wants for it, the "
                       "threads it runs (and asks for), and whether this host - or one with --mem-available and "
                       "--cores - would skip it.  Takes run's options; --shard I/N --seed S shows one slice.")
    planning.add_options(p)  # run's own: the plan, and its hash, are the run's
    shard.add_arguments(p)
    p.add_argument("--mem-available", metavar="SIZE", help="plan for a host with this MemAvailable (K/M/G/T) "
                   "instead of this one's")
    p.add_argument("--cores", type=int, metavar="N", help="plan for a host with N cores instead of this one's")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=main)


def main(args):
    sh = shard.parse(args.shard, args.seed)
    if args.cores is not None and args.cores < 1:
        raise UsageError(f"--cores {args.cores}: must be at least 1")
    avail = parse_size(args.mem_available, "--mem-available") if args.mem_available else native.mem_available()
    p = planning.plan(args)
    cores, mine = args.cores or os.cpu_count() or 1, shard.cases_of(p["cases"], sh)
    cases = []
    for k, case in enumerate(p["cases"], start=1):
        if case not in mine:
            continue
        n = binary.need(case.workload, case.params, args.cores)
        cases.append({"index": k, "workload": case.workload, "label": case.label(), "params": n["params"],
                      "need_bytes": n["need_bytes"], "wants_bytes": native.guard_wants(n["need_bytes"]),
                      "threads": n["threads"], "threads_asked": n["threads_asked"],
                      "skip": native.guard(n["need_bytes"], n["who"], avail)})
    out = {"preset": p["preset"].name, "rounds": p["settings"]["rounds"], "seed": args.seed,
           "plan": planning.identity(p)["hash"] if args.seed is not None else None,
           "shard": str(sh) if sh else None, "plan_cases": len(p["cases"]), "mem_available": avail, "cores": cores,
           "configs": [{"name": c.name, "library": p["libs"][c.name][0], "error": p["libs"][c.name][1]}
                       for c in p["configs"]], "cases": cases}
    if args.json:
        json.dump(out, sys.stdout, indent=1)
        print()
    else:
        print("\n".join(text(out, args)))
    return 0


def text(plan, args):
    n, cfgs = len(plan["cases"]), plan["configs"]
    head = f"plan: preset {plan['preset']}, {n} cases"
    head += f" (slice {plan['shard']} of the plan's {plan['plan_cases']})" if plan["shard"] else ""
    if plan["rounds"] == "auto":  # adaptive: as many rounds as the intervals need, within the budget
        head += f" x {len(cfgs)} configurations x auto rounds (at least {n * len(cfgs) * adaptive.MIN_ROUNDS} processes)"
    else:
        head += f" x {len(cfgs)} configurations x {plan['rounds']} rounds = {n * len(cfgs) * plan['rounds']} processes"
    head += f"; seed {plan['seed']}, plan {plan['plan']}" if plan["plan"] else " (give --seed to fix the plan)"
    other = bool(args.mem_available or args.cores)
    lines = [head, ("planned for a host with" if other else "this host:") +
             f" MemAvailable {format_size(plan['mem_available'])}, {plan['cores']} cores", ""]
    rows = [("#", "case", "touches", "needs available", "threads", "here")]
    for c in plan["cases"]:
        threads = str(c["threads"]) + (f" of {c['threads_asked']}" if c["threads_asked"] != c["threads"] else "")
        rows.append((str(c["index"]), c["label"], format_size(c["need_bytes"]), format_size(c["wants_bytes"]),
                     threads, "SKIPPED" if c["skip"] else "runs"))
    lines += units.columns(rows)
    skipped = [c for c in plan["cases"] if c["skip"]]
    missing = [c for c in cfgs if c["error"]]
    lines += ["", "configurations: " + ", ".join(c["name"] for c in cfgs)]
    lines += [f"configuration {c['name']}: {c['error']} (its rows would fail)" for c in missing]
    if not skipped:
        return lines + [f"every case fits the memory guard {'there' if other else 'here'}"]
    lines.append(f"{len(skipped)} of {n} cases would be skipped {'there' if other else 'here'} by the memory guard:")
    lines += [f"  #{c['index']} {c['skip']}" for c in skipped]
    elsewhere = run_line(args, ",".join(dict.fromkeys(c["workload"] for c in skipped)))
    return lines + [f"they run where {format_size(max(c['wants_bytes'] for c in skipped))} is available; there: "
                    + shlex.join(elsewhere)]


# planning.add_options' single-valued options besides --preset (keep in step with it): what a run needs to be this plan's
RUN_OPTIONS = ("configs", "configs_file", "rounds", "target_ci", "budget", "cycles", "warmup", "seed", "timeout",
               "min_time", "runtime")


def run_line(args, workloads):
    """The `pyalloc run` that runs these workloads of this plan elsewhere: every plan option given here."""
    words = ["pyalloc", "run", "--preset", args.preset, "--workloads", workloads]
    for name in RUN_OPTIONS:
        value = getattr(args, name, None)
        if value is not None and not (name == "runtime" and value == "c"):
            words += ["--" + name.replace("_", "-"), str(value)]
    for flag, items in (("--param", args.param), ("--sweep", args.sweep or [])):
        words += [w for kv in items for w in (flag, kv)]
    return words
