# `pyalloc run`: the matrix (docs/design.md §5/§6/§8) — every (configuration, case) pair once per round, shuffled per
# round with the recorded seed, one fresh process each; rows go to <out>/<run-id>/results.csv as each case finishes.
# The plan is planning.py's, the directory rundir.py's, the safe execution execute.py's; this file joins them.
import csv
import os
import sys
import shutil
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone

from . import binary, configs, cpython, execute, machine, planning, runner, rundir, shard

TIMELINE_COLUMNS = ("run_id", "round", "config", "workload", "params", "t_ns", "rss_bytes", "event")


def register(sub):
    p = sub.add_parser("run", help="run the matrix: configurations x cases x rounds, one process each",
                       description="Run every (configuration, case) pair once per round, each in a fresh process, "
                       "and write <out>/<run-id>/results.csv, meta.json and <out>/latest.")
    p.add_argument("--preset", default="default", help="quick, default or full (bench/presets/NAME.preset), or a path")
    configs.add_options(p)
    p.add_argument("--sweep", action="append", metavar="KEY=V1,V2",
                   help="one configuration per value, derived from each --configs configuration the key applies to "
                        "(repeatable: their product, at most 64): KEY is an environment variable (MALLOC_ARENA_MAX) "
                        "or ALLOCATOR.OPTION (jemalloc.dirty_decay_ms, mimalloc.decommit_delay)")
    p.add_argument("--workloads", help="comma-separated workloads (default: every workload in the preset)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of the selected workloads that have it (repeatable; sizes take K/M/G)")
    p.add_argument("--rounds", type=int, help="rounds (fresh processes per pair); default from the preset")
    p.add_argument("--seed", type=int, help="shuffle and workload seed (default: random, recorded)")
    p.add_argument("--timeout", help="per-case timeout, seconds or with s/m/h (default from the preset)")
    p.add_argument("--min-time", help="seconds of timed cycles a case aims at (default from the preset)")
    p.add_argument("--timeline", action="store_true", help="record RSS over the instrumented cycle into timeline.csv")
    p.add_argument("--out", help="results directory (default: <repo>/results)")
    p.add_argument("--runtime", choices=("c", "cpython", "both"), default="c",
                   help="c: the C model (default); cpython: the same workloads in /usr/bin/python3, with "
                   "PYTHONMALLOC=malloc and with pymalloc; both: the two side by side (for `pyalloc fidelity`)")
    shard.add_arguments(p)
    p.set_defaults(func=main)


def protocol(settings):
    """The timing protocol every process of the run follows (docs/design.md §12)."""
    return {"cycles": settings["cycles"], "warmup": settings["warmup"]}


def params_of(p, case):
    """The CSV params cell of a planned case (C or CPython)."""
    return cpython.full_params(case) if cpython.is_cpython(case) else planning.full_params(case, p["workloads"])


def plan_identity(p):
    """The plan's identity (shard.identity): what makes runs slices of one plan."""
    cfgs = [{k: getattr(c, k) for k in ("name", "allocator", "library", "release", "env")} for c in p["configs"]]
    cases = [{"workload": c.workload, "params": params_of(p, c)} for c in p["cases"]]
    return shard.identity(p["seed"], p["settings"]["rounds"], cfgs, cases, protocol(p["settings"]))


def meta(p, run_id, facts):
    m = rundir.base_meta(run_id, "run", facts)
    m.update({
        "preset": {"name": p["preset"].name, "path": p["preset"].path, "settings": p["preset"].settings},
        "rounds": p["settings"]["rounds"], "seed": p["seed"], "min_time": p["settings"]["min_time"],
        "protocol": protocol(p["settings"]), "timeout": p["settings"]["timeout"], "binary": p["exe"],
        "configs": [dict(asdict(c), resolved_library=p["libs"][c.name][0], library_error=p["libs"][c.name][1])
                    for c in p["configs"]],
        "cases": [{"workload": c.workload, "params": c.params} for c in p["cases"]],
        "processes": len(p["configs"]) * len(p["cases"]) * p["settings"]["rounds"],
    })
    if p.get("sweeps"):
        m["sweeps"] = p["sweeps"]
    return m


def append_timeline(path, src, head):
    if not os.path.exists(src):
        return
    new = not os.path.exists(path)
    with open(src, newline="") as f, open(path, "a", newline="") as out:
        w = csv.writer(out)
        if new:
            w.writerow(TIMELINE_COLUMNS)
        for r in csv.DictReader(f):
            w.writerow(head + [r.get("t_ns", ""), r.get("rss_bytes", ""), r.get("event", "")])
    os.remove(src)


def one_case(p, run_id, facts, tmp, timeline):
    """The function that runs job i (a fresh process) and returns its row."""
    s = p["settings"]

    def run_one(i, job):
        lib, lib_err = p["libs"][job.config.name]
        out_json = os.path.join(tmp, f"{i}.json")
        py = cpython.is_cpython(job.case)
        if lib_err:
            fields = runner.outcome("failed", lib_err)
        elif py:  # no timeline: a sampler thread would fight the GIL
            argv, env = cpython.command(job.case, job.config, p["seed"], protocol(s), out_json,
                                        configs.child_env(job.config, lib))
            fields = runner.run(argv, env, s["timeout"], out_json)
        else:
            tl = os.path.join(tmp, f"{i}.timeline.csv") if timeline else None
            argv = runner.command(p["exe"], job, p["seed"], protocol(s), out_json, tl)
            fields = runner.run(argv, configs.child_env(job.config, lib), s["timeout"], out_json)
        params = params_of(p, job.case)
        row = dict(facts, run_id=run_id, round=job.round, seed=p["seed"],
                   timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"), preset=p["preset"].name,
                   config=job.config.name, allocator=job.config.allocator, allocator_lib=lib, verified=0,
                   release_policy=job.config.release, env=job.config.env_text, workload=job.case.workload,
                   params=params)
        row.update(fields)
        return row
    return run_one


def merge_timeline(tmp, run_dir, run_id):
    """After each row: the case's timeline file joins the run's timeline.csv (C cases only)."""
    def after_row(i, job, row):
        if not cpython.is_cpython(job.case):
            head = [run_id, job.round, job.config.name, job.case.workload, row["params"]]
            append_timeline(os.path.join(run_dir, "timeline.csv"), os.path.join(tmp, f"{i}.timeline.csv"), head)
    return after_row


def main(args):
    sh, label = shard.parse(args.shard, args.seed), shard.host_label(args.host_label)
    p = planning.plan(args)
    facts = shard.facts(machine.facts(), label)
    plan = plan_identity(p)
    jobs = shard.take(planning.schedule([(c, k) for c in p["configs"] for k in p["cases"]], p["settings"]["rounds"],
                                        p["seed"]), p["cases"], sh)
    out = os.path.abspath(args.out or os.path.join(binary.REPO, "results"))
    run_id, run_dir = rundir.make(out)
    rundir.point_latest(out, run_id)
    m = meta(p, run_id, facts)
    m["timeline"] = bool(args.timeline)
    m.update(shard.meta(sh, plan, label, len(jobs)))
    rundir.write_json(os.path.join(run_dir, "meta.json"), m)
    print(f"run {run_id}: {len(p['configs'])} configurations x {len(shard.cases_of(p['cases'], sh))} cases x "
          f"{p['settings']['rounds']} rounds = {m['processes']} processes, seed {p['seed']}, into {run_dir}",
          file=sys.stderr)
    shard.announce(sh, plan, jobs)

    def body():
        tmp = tempfile.mkdtemp(prefix="pab-run-")
        try:
            after = merge_timeline(tmp, run_dir, run_id) if args.timeline else None
            return execute.run_jobs(jobs, shard.stamp(one_case(p, run_id, facts, tmp, args.timeline), sh), run_dir,
                                    lambda j: (j.config.name, j.case.label()), after)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return execute.guarded(run_dir, m, body)
