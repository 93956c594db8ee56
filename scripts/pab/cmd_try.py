# `pyalloc try [...] -- CMD ARGS...`: the user's own program under every configuration x Python layer x round, each a
# fresh process with the probe preloaded (docs/try.md); the same results.csv as `run` (workload `program`).
import argparse
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import asdict

from . import (binary, configs, execute, machine, planning, program, rundir, runner, runs, schema, shard,
               tryplan, tryresults)
from .errors import UsageError
from .presets import Case
from .units import format_duration, parse_duration

DEFAULT_ROUNDS = 3
MIN_TIMEOUT = 60.0     # without --timeout a run may take 10x the warm-up, and at least this
TODAY = configs.Config("glibc", "glibc", "-", "none", description="what you run today: the warm-up and the baseline")


def register(sub):
    p = sub.add_parser("try", help="run your own command under every configuration and Python layer",
                       description="Runs CMD once per (configuration, Python allocator layer, round), each a fresh "
                       "process with the probe preloaded, after one warm-up run that is not measured; writes "
                       "<out>/<run-id>/results.csv (workload `program`) and meta.json like `run`.")
    configs.add_options(p)
    p.add_argument("--sweep", action="append", metavar="KEY=V1,V2",
                   help="as for run: one configuration per value from each configuration the key applies to")
    p.add_argument("--layers", metavar="L[,L...]", help="pymalloc,malloc (default for a Python program: both), one of them, or none "
                                    "(default for any other program)")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help=f"rounds (default {DEFAULT_ROUNDS})")
    p.add_argument("--seed", type=int, help="shuffle seed (default: random, recorded)")
    p.add_argument("--mark", metavar="NAME", help="measure after free at the last occurrence of this mark "
                                                  "(default: the program's end, before the interpreter's teardown)")
    p.add_argument("--mark-signal", metavar="SIG", help="measure at the first SIG sent to the program (e.g. USR2)")
    p.add_argument("--timeout", help="per-run timeout, seconds or with s/m/h (default: 10x the warm-up, at least "
                                     f"{MIN_TIMEOUT:g} s; the warm-up itself has none unless given)")
    p.add_argument("--timeline", action="store_true", help="sample RSS every 5 ms into timeline.csv")
    p.add_argument("--out", help="results directory (default: <repo>/results)")
    shard.add_arguments(p)  # --shard I/N (whole layers of the program) and --host-label, as for run
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    p.set_defaults(func=main)


def plan(args):
    """Everything decided before the first measured run; bad input is refused here, before anything is written."""
    argv = tryplan.command(args.cmd)
    base = dict(os.environ)
    tryplan.refuse_environment(base)
    forced = tryplan.layers(args.layers)
    sig = tryplan.mark_signal(args.mark_signal, args.mark)
    if args.rounds < 1:
        raise UsageError(f"--rounds {args.rounds}: must be at least 1")
    timeout = parse_duration(args.timeout, "--timeout") if args.timeout else None
    seed = planning.seed_of(args)
    chosen, sweeps = planning.configurations(args)
    if runs.BASELINE not in [c.name for c in chosen]:
        chosen.insert(0, TODAY)
        tryplan.note("glibc added: it is what you run today, the baseline of every ratio")
    libs = planning.libraries(chosen, args.configs)
    if not os.path.exists(program.probe_path()):
        raise UsageError(f"the probe is not built ({program.probe_path()} is missing): run `make build` first")
    print(f"warm-up: {shlex.join(argv)} (glibc; not measured)", file=sys.stderr, flush=True)
    warm = tryplan.warm_up(argv, base, TODAY, timeout, sig, announce(sig))
    print(tryplan.describe_warmup(warm), file=sys.stderr)
    mark, at, exact, rule = tryplan.measuring_point(args.mark, sig, warm)
    if forced is None:
        layers = list(schema.LAYERS) if warm.python else [None]
    else:
        layers = forced
        if forced != [None] and not warm.python:
            tryplan.note("forcing Python layers on a command the probe did not see as a Python interpreter")
    marks = program.program_marks(warm.marks)
    chosen, dropped = tryplan.without_release_twins(chosen, marks)
    for c, why in dropped:
        tryplan.note(f"{c.name} skipped: {why}")
    print(f"measuring point: {rule}", file=sys.stderr)
    return dict(argv=argv, base=base, cid=program.command_id(argv), layers=layers, sig=sig, rounds=args.rounds,
                seed=seed, timeout=timeout or max(MIN_TIMEOUT, 10 * warm.wall_s), configs=chosen, dropped=dropped,
                libs=libs, warm=warm, point=(mark, at, exact), rule=rule, marks=marks, sweeps=sweeps)


def announce(sig):
    """With --mark-signal the user signals each run: say which process to signal as it starts."""
    if not sig:
        return None
    return lambda pid: print(f"  pid {pid}: send {sig[1]} (kill -{sig[1][3:]} {pid}) when the spike is over",
                             file=sys.stderr, flush=True)


def case(p, layer):
    params = {"cmd": p["cid"]} if layer is None else {"cmd": p["cid"], "layer": layer}
    return Case("program", params)


def meta(p, run_id, facts, timeline):
    m = rundir.base_meta(run_id, "try", facts)
    m.update({
        "program": {"argv": p["argv"], "command": shlex.join(p["argv"]), "cwd": os.getcwd(), "id": p["cid"],
                    "python": p["warm"].python},
        "rounds": p["rounds"], "seed": p["seed"], "timeout": p["timeout"], "timeline": timeline,
        "layers": [x or tryplan.NO_LAYER for x in p["layers"]],
        "measuring_point": {"mark": p["point"][0], "occurrence": p["point"][1], "rule": p["rule"]},
        "marks": p["marks"],
        "warmup": asdict(p["warm"]),
        "env": {"PYTHONPATH": program.PYSITE + " (first, before yours)", "LD_PRELOAD": "<library>:<probe>",
                "layers": {"pymalloc": {}, "malloc": {"PYTHONMALLOC": "malloc"}},
                **({"PAB_MARK_SIGNAL": p["sig"][1]} if p["sig"] else {})},
        "probe": program.probe_path(),
        "configs": rundir.configs_meta(p["configs"], p["libs"]),
        "skipped_configs": [{"name": c.name, "reason": why} for c, why in p["dropped"]],
    })
    if p.get("sweeps"):
        m["sweeps"] = p["sweeps"]
    return m


def one_run(p, run_id, facts, tmp, timeline, announce_pid):
    """The function that runs job i (one fresh process of the command) and returns its row."""
    def run_one(i, job):
        cfg, layer = job.config, job.case.params.get("layer")
        lib, lib_err = p["libs"][cfg.name]
        if lib_err:
            fields = runner.outcome("failed", lib_err)
        else:
            out = os.path.join(tmp, f"{i}.json")
            tl = rundir.timeline_part(tmp, i) if timeline else None
            mark, at, _ = p["point"]
            pv = program.probe_vars(out, cfg.allocator, cfg.release, mark, at, tl, p["sig"])
            env = program.environment(cfg, lib, layer, pv, p["base"])
            res = program.run(p["argv"], env, p["timeout"], tmp, announce_pid)
            fields = program.fields(res, cfg.allocator, p["point"], p["timeout"], p["argv"], env)
        row = execute.row_head(facts, run_id, job, p["seed"], "try", lib, planning.params_cell([], job.case.params))
        row.update(fields)
        return row
    return run_one


def label(job):
    layer = job.case.params.get("layer")
    return job.config.name, f"program/layer={layer}" if layer else "program"


def plan_identity(p, cases):
    """What makes two try runs slices of one plan (shard.identity): the program is in every case's `cmd`."""
    plan_cases = [{"workload": c.workload, "params": c.params} for c in cases]
    return shard.identity(p["seed"], p["rounds"], p["configs"], plan_cases,
                          {"measuring_point": list(p["point"])})


def main(args):
    sh, host = shard.parse(args.shard, args.seed), shard.host_label(args.host_label)
    p = plan(args)
    facts = shard.facts(machine.facts(), host)
    cases = [case(p, x) for x in p["layers"]]
    plan_id = plan_identity(p, cases)
    jobs = shard.take(planning.schedule([(c, k) for c in p["configs"] for k in cases], p["rounds"], p["seed"]),
                      cases, sh)
    out = os.path.abspath(args.out or os.path.join(binary.REPO, "results"))
    run_id, run_dir = rundir.make(out)
    rundir.point_latest(out, run_id)
    m = meta(p, run_id, facts, bool(args.timeline))
    m.update(shard.meta(sh, plan_id, host, len(jobs)))
    rundir.write_json(os.path.join(run_dir, "meta.json"), m)
    print(f"try {run_id}: {len(p['configs'])} configurations x {len(shard.cases_of(cases, sh))} layers x "
          f"{p['rounds']} rounds = {m['processes']} processes, seed {p['seed']}, timeout "
          f"{format_duration(p['timeout'])} each, into {run_dir}", file=sys.stderr)
    shard.announce(sh, plan_id, jobs)

    tmp = tempfile.mkdtemp(prefix="pab-try-")

    def body():
        return execute.run_jobs(jobs, shard.stamp(one_run(p, run_id, facts, tmp, args.timeline, announce(p["sig"])), sh),
                                run_dir, label,
                                rundir.timeline_merger(tmp, run_dir, run_id) if args.timeline else None)
    try:
        status = execute.guarded(run_dir, m, body)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        print("\n".join(["", "against today (glibc, pymalloc); medians over rounds:"] +
                        ["  " + x for x in tryresults.table(runs.Run(run_dir))]), file=sys.stderr)
    except UsageError:  # no rows (interrupted before the first ended)
        pass
    return status
