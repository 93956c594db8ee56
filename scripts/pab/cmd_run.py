# `pyalloc run`: the matrix (docs/design.md §5/§6/§8/§12) — every (configuration, case) pair once per round, cases in
# shuffled order and a case's configurations back to back, one fresh process each; rounds fixed or adaptive (adaptive.py);
# rows go to <out>/<run-id>/results.csv as each case finishes.
# The plan is planning.py's, the directory rundir.py's, the safe execution execute.py's; this file joins them.
import os
import sys
import shutil
import tempfile
import time

from . import adaptive, binary, execute, machine, noise, planning, protocol, runner, rundir, shard
from .units import format_duration


def register(sub):
    p = sub.add_parser("run", help="run the matrix: configurations x cases x rounds, one process each",
                       description="Run every (configuration, case) pair once per round, each in a fresh process, "
                       "and write <out>/<run-id>/results.csv, meta.json and <out>/latest.")
    planning.add_options(p)
    p.add_argument("--no-noise-check", action="store_true", help="skip the short check of the machine before the run")
    p.add_argument("--timeline", action="store_true", help="record RSS over the instrumented cycle into timeline.csv")
    p.add_argument("--out", help="results directory (default: <repo>/results)")
    shard.add_arguments(p)
    p.set_defaults(func=main)


def meta(p, run_id, facts):
    m = rundir.base_meta(run_id, "run", facts)
    m.update({
        "preset": {"name": p["preset"].name, "path": p["preset"].path, "settings": p["preset"].settings},
        "rounds": p["settings"]["rounds"], "seed": p["seed"], "min_time": p["settings"]["min_time"],
        "protocol": protocol.meta(p["settings"], p["protocols"], p["cases"]), "timeout": p["settings"]["timeout"],
        "binary": p["exe"],
        "configs": rundir.configs_meta(p["configs"], p["libs"]),
        "cases": [{"workload": c.workload, "params": c.params} for c in p["cases"]],
    })
    if p.get("sweeps"):
        m["sweeps"] = p["sweeps"]
    return m


def one_case(p, run_id, facts, tmp, timeline):
    """The function that runs job i (a fresh process) and returns its row."""
    s = p["settings"]

    def run_one(i, job):
        lib, lib_err = p["libs"][job.config.name]
        out_json = os.path.join(tmp, f"{i}.json")
        if lib_err:
            fields = runner.outcome("failed", lib_err)
        else:
            tl = rundir.timeline_part(tmp, i) if timeline else None
            argv, env = runner.job_command(p["exe"], job, p["seed"], protocol.for_case(p["protocols"], job.case), lib,
                                           out_json, tl)
            fields = runner.run(argv, env, s["timeout"], out_json)
        params = planning.params_of(p, job.case)
        row = execute.row_head(facts, run_id, job, p["seed"], p["preset"].name, lib, params)
        row.update(fields)
        return row
    return run_one


def protocols(p):
    """Each case's timing protocol: the preset's fixed cycles, or calibrated now (cycles=auto)."""
    if p["settings"]["cycles"] != "auto":
        return protocol.fixed(p["settings"], p["cases"])
    tmp = tempfile.mkdtemp(prefix="pab-calibrate-")
    try:
        return protocol.calibrate(p, os.path.join(tmp, "calibrate.json"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare(args, p, run_dir):
    """What comes before the first case, once the run directory exists: the noise check, the protocol.  Interrupted
    here, the run leaves nothing behind."""
    try:
        checked = None if args.no_noise_check else noise.check()
        p["protocols"] = protocols(p)
        return checked
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def main(args):
    sh, label = shard.parse(args.shard, args.seed), shard.host_label(args.host_label)
    p = planning.plan(args)
    facts = shard.facts(machine.facts(), label)
    plan = planning.identity(p)
    s, pairs = p["settings"], [(c, k) for c in p["configs"] for k in p["cases"]]
    jobs = None if s["rounds"] == "auto" else shard.take(planning.schedule(pairs, s["rounds"], p["seed"]), p["cases"], sh)
    p["cases"] = shard.cases_of(p["cases"], sh)  # from here on, the cases of this slice
    out = os.path.abspath(args.out or os.path.join(binary.REPO, "results"))
    run_id, run_dir = rundir.make(out)
    checked = prepare(args, p, run_dir)
    rundir.point_latest(out, run_id)
    m = meta(p, run_id, facts)
    m["timeline"] = bool(args.timeline)
    m["noise_check"] = checked
    m.update(shard.meta(sh, plan, label, None if jobs is None else len(jobs)))
    rundir.write_json(os.path.join(run_dir, "meta.json"), m)
    rounds = (f"auto rounds (until every time ratio is within ±{100 * s['target_ci']:g} %, budget "
              f"{format_duration(s['budget'])})" if jobs is None else f"{s['rounds']} rounds = {m['processes']} processes")
    print(f"run {run_id}: {len(p['configs'])} configurations x {len(p['cases'])} cases x {rounds}, "
          f"seed {p['seed']}, into {run_dir}", file=sys.stderr)
    shard.announce(sh, plan, jobs or [])

    def body():
        tmp = tempfile.mkdtemp(prefix="pab-run-")
        try:
            after = rundir.timeline_merger(tmp, run_dir, run_id) if args.timeline else None
            run_one = shard.stamp(one_case(p, run_id, facts, tmp, args.timeline), sh)

            def describe(j):
                return j.config.name, j.case.label()
            if jobs is not None:
                return execute.run_jobs(jobs, run_one, run_dir, describe, after)
            auto = adaptive.Adaptive(p, s["target_ci"], s["budget"])

            def timed_one(i, job):
                started = time.monotonic()
                row = run_one(i, job)
                auto.record(job, row, time.monotonic() - started)
                return row
            try:
                return auto.run(lambda round_jobs: execute.run_jobs(round_jobs, timed_one, run_dir, describe, after))
            finally:
                m["adaptive"] = auto.meta()
                m["rounds"] = max(auto.rounds.values(), default=0)
                m["processes"] = len(p["configs"]) * sum(auto.rounds.values())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return execute.guarded(run_dir, m, body)
