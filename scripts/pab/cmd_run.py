# `pyalloc run`: the matrix (DESIGN §5/§6/§8) — every (configuration, case) pair once per round, shuffled per round
# with the recorded seed, one fresh process each; rows go to <out>/<run-id>/results.csv as each case finishes.
import csv
import json
import os
import random
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timezone

from . import binary, configs, cpython, machine, presets, runner, schema
from .errors import UsageError
from .presets import Case
from .units import format_duration, format_size, parse_duration

TIMELINE_COLUMNS = ("run_id", "round", "config", "workload", "params", "t_ns", "rss_bytes", "event")


def register(sub):
    p = sub.add_parser("run", help="run the matrix: configurations x cases x rounds, one process each",
                       description="Run every (configuration, case) pair once per round, each in a fresh process, "
                       "and write <out>/<run-id>/results.csv, meta.json and <out>/latest.")
    p.add_argument("--preset", default="default", help="quick, default or full (bench/presets/NAME.preset), or a path")
    p.add_argument("--configs", help="comma-separated configuration names; 'default' (the default) or 'all'")
    p.add_argument("--configs-file", metavar="F", help="a table like allocators/configs.tsv that adds or overrides")
    p.add_argument("--workloads", help="comma-separated workloads (default: every workload in the preset)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of the selected workloads that have it (repeatable; sizes take K/M/G)")
    p.add_argument("--rounds", type=int, help="rounds (fresh processes per pair); default from the preset")
    p.add_argument("--seed", type=int, help="shuffle and workload seed (default: random, recorded)")
    p.add_argument("--timeout", help="per-case timeout, seconds or with s/m/h (default from the preset)")
    p.add_argument("--min-time", help="libbenchmark's --benchmark_min_time in seconds (default from the preset)")
    p.add_argument("--timeline", action="store_true", help="record RSS over the instrumented cycle into timeline.csv")
    p.add_argument("--out", help="results directory (default: <repo>/results)")
    p.add_argument("--runtime", choices=("c", "cpython", "both"), default="c",
                   help="c: the C model (default); cpython: the same workloads in /usr/bin/python3, with "
                   "PYTHONMALLOC=malloc and with pymalloc; both: the two side by side (for `pyalloc fidelity`)")
    p.set_defaults(func=main)


# --- the plan: everything is checked here, before any case runs or any directory is created

def _split(text):
    return [w.strip() for w in text.split(",") if w.strip()]


def _overrides(items):
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k.strip() or not v.strip():
            raise UsageError(f"--param {item!r}: expected KEY=VALUE")
        k, v = k.strip(), v.strip()
        if out.get(k, v) != v:
            raise UsageError(f"--param {k} is given twice, as {out[k]} and as {v}")
        out[k] = v
    return out


def select_cases(preset, workloads, wanted, overrides):
    """The preset's cases for the wanted workloads (a wanted workload the preset lacks runs with its defaults),
    with each --param applied to the workloads that have it; duplicates dropped."""
    for c in preset.cases:
        if c.workload not in workloads:
            raise UsageError(f"preset {preset.name}: unknown workload {c.workload!r} (known: {', '.join(workloads)})")
    names = _split(wanted) if wanted else list(dict.fromkeys(c.workload for c in preset.cases))
    for w in names:
        if w not in workloads:
            raise UsageError(f"unknown workload {w!r} (known: {', '.join(workloads)})")
    known = {w: [p["name"] for p in workloads[w]["params"]] for w in names}
    for k in overrides:
        if not any(k in ps for ps in known.values()):
            raise UsageError(f"--param {k}: no selected workload has a parameter {k!r} ({', '.join(names)})")
    cases = []
    for w in names:
        for c in [c for c in preset.cases if c.workload == w] or [Case(w, {})]:
            params = dict(c.params, **{k: v for k, v in overrides.items() if k in known[w]})
            if Case(w, params) not in cases:
                cases.append(Case(w, params))
    return cases


def full_params(case, workloads):
    """'key=value;...' over every parameter, sorted by key: the CSV's params cell even when the case fails."""
    values = {p["name"]: p["default"] for p in workloads[case.workload]["params"]}
    values.update(case.params)
    return ";".join(f"{k}={values[k]}" for k in sorted(values))


def schedule(pairs, rounds, seed):
    """Jobs for every round: each round is the list of (config, case) pairs shuffled with Random(f'{seed}:{round}')."""
    jobs = []
    for r in range(1, rounds + 1):
        order = list(pairs)
        random.Random(f"{seed}:{r}").shuffle(order)
        jobs += [runner.Job(r, cfg, case) for cfg, case in order]
    return jobs


def plan(args):
    preset = presets.load(args.preset)
    chosen = configs.select(configs.load(args.configs_file), args.configs)
    workloads = binary.workloads()
    cases = select_cases(preset, workloads, args.workloads, _overrides(args.param))
    if not cases:
        raise UsageError(f"preset {preset.name} has no cases")
    for c in cases:
        err = binary.validate(c.workload, c.params)
        if err:
            raise UsageError(err)
    if args.runtime != "c":
        py, notes = cpython.expand(cases)
        for n in notes:
            print(f"pyalloc: note: {n}", file=sys.stderr)
        cases = (cases if args.runtime == "both" else []) + py
        if not cases:
            raise UsageError("no selected case has a CPython version")
    s = dict(preset.settings)
    if args.rounds is not None:
        if args.rounds < 1:
            raise UsageError(f"--rounds {args.rounds}: must be at least 1")
        s["rounds"] = args.rounds
    if args.timeout:
        s["timeout"] = parse_duration(args.timeout, "--timeout")
    if args.min_time:
        s["min_time"] = parse_duration(args.min_time, "--min-time")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed {args.seed}: must be a non-negative integer")
    need, have = s["min_memory"], machine.meminfo("MemTotal")
    if need and have < need:
        raise UsageError(f"preset {preset.name} needs {format_size(need)} of memory and this machine has "
                         f"{format_size(have)}: use --preset default, or a preset file of your own")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    libs = {}
    named = set(_split(args.configs or "")) - {"default", "all"}
    for cfg in chosen:
        try:
            libs[cfg.name] = (configs.resolve(cfg), "")
        except LookupError as e:
            libs[cfg.name] = ("", str(e))
        if cfg.name in named:  # asked for by name: refuse now rather than run a matrix of failures
            err = libs[cfg.name][1] or binary.identify(configs.child_env(cfg, libs[cfg.name][0]), cfg.allocator)[1]
            if err:
                raise UsageError(f"configuration {cfg.name}: {err}")
    return dict(preset=preset, configs=chosen, libs=libs, cases=cases, workloads=workloads, settings=s, seed=seed,
                exe=binary.path())


# --- the results directory

def make_run_dir(out):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        os.makedirs(out, exist_ok=True)
        for n in range(1, 1000):
            run_id = stamp if n == 1 else f"{stamp}-{n}"
            try:
                os.mkdir(os.path.join(out, run_id))
                return run_id, os.path.join(out, run_id)
            except FileExistsError:
                continue
    except OSError as e:
        raise UsageError(f"cannot create the results directory {out}: {e.strerror}")
    raise UsageError(f"cannot create a run directory under {out}")


def point_latest(out, run_id):
    link, tmp = os.path.join(out, "latest"), os.path.join(out, f".latest-{os.getpid()}")
    try:
        os.symlink(run_id, tmp)
        os.replace(tmp, link)
    except OSError as e:
        print(f"pyalloc: warning: cannot point {link} at {run_id}: {e.strerror}", file=sys.stderr)


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def meta(p, run_id, facts, started):
    return {
        "run_id": run_id, "complete": False, "started": started, "finished": None,
        "command": " ".join(shlex.quote(a) for a in sys.argv), "cwd": os.getcwd(),
        "preset": {"name": p["preset"].name, "path": p["preset"].path, "settings": p["preset"].settings},
        "rounds": p["settings"]["rounds"], "seed": p["seed"], "min_time": p["settings"]["min_time"],
        "timeout": p["settings"]["timeout"], "binary": p["exe"], "machine": facts,
        "configs": [dict(asdict(c), resolved_library=p["libs"][c.name][0], library_error=p["libs"][c.name][1])
                    for c in p["configs"]],
        "cases": [{"workload": c.workload, "params": c.params} for c in p["cases"]],
        "processes": len(p["configs"]) * len(p["cases"]) * p["settings"]["rounds"],
    }


# --- running

class _Terminated(BaseException):
    pass


def _on_term(signum, frame):
    raise _Terminated(signum)


def _append_timeline(path, src, head):
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


def _progress(i, n, job, cw, fields, took, elapsed):
    eta = elapsed / i * (n - i)
    line = f"[{i:>{len(str(n))}}/{n}] {job.config.name:<{cw}}  {job.case.label()}  {format_duration(took)}"
    line += f"  eta {format_duration(eta)}" if i < n else "  done"
    if fields["status"] != "ok":
        line += f"  {fields['status'].upper()}: {fields['error']}"
    print(line, file=sys.stderr, flush=True)


def execute(p, run_id, run_dir, facts, timeline):
    """Runs every job; returns the status counter.  Rows are written as each case finishes."""
    s, tmp = p["settings"], tempfile.mkdtemp(prefix="pab-run-")
    jobs = schedule([(c, k) for c in p["configs"] for k in p["cases"]], s["rounds"], p["seed"])
    writer, counts, t0 = schema.Writer(os.path.join(run_dir, "results.csv")), Counter(), time.monotonic()
    cw = max(len(c.name) for c in p["configs"])
    try:
        for i, job in enumerate(jobs, start=1):
            lib, lib_err = p["libs"][job.config.name]
            out_json, tl = os.path.join(tmp, f"{i}.json"), os.path.join(tmp, f"{i}.timeline.csv") if timeline else None
            started = time.monotonic()
            py = cpython.is_cpython(job.case)
            if lib_err:
                fields = runner.outcome("failed", lib_err)
            elif py:  # no timeline: a sampler thread would fight the GIL
                argv, env = cpython.command(job.case, job.config, p["seed"], s["min_time"], out_json,
                                            configs.child_env(job.config, lib))
                fields = runner.run(argv, env, s["timeout"], out_json)
            else:
                argv = runner.command(p["exe"], job, p["seed"], s["min_time"], out_json, tl)
                fields = runner.run(argv, configs.child_env(job.config, lib), s["timeout"], out_json)
            params = cpython.full_params(job.case) if py else full_params(job.case, p["workloads"])
            row = dict(facts, run_id=run_id, round=job.round, seed=p["seed"],
                       timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"), preset=p["preset"].name,
                       config=job.config.name, allocator=job.config.allocator, allocator_lib=lib, verified=0,
                       release_policy=job.config.release, env=job.config.env_text, workload=job.case.workload,
                       params=params)
            row.update(fields)
            old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
            try:  # a row and its timeline are written whole, even when Ctrl-C arrives now
                writer.write(row)
                if tl and not py:
                    head = [run_id, job.round, job.config.name, job.case.workload, row["params"]]
                    _append_timeline(os.path.join(run_dir, "timeline.csv"), tl, head)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
            counts[fields["status"]] += 1
            _progress(i, len(jobs), job, cw, fields, time.monotonic() - started, time.monotonic() - t0)
    finally:
        writer.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return counts


def main(args):
    p = plan(args)
    facts = machine.facts()
    out = os.path.abspath(args.out or os.path.join(binary.REPO, "results"))
    run_id, run_dir = make_run_dir(out)
    point_latest(out, run_id)
    m = meta(p, run_id, facts, datetime.now(timezone.utc).isoformat(timespec="seconds"))
    m["timeline"] = bool(args.timeline)
    write_json(os.path.join(run_dir, "meta.json"), m)
    print(f"run {run_id}: {len(p['configs'])} configurations x {len(p['cases'])} cases x {p['settings']['rounds']} "
          f"rounds = {m['processes']} processes, seed {p['seed']}, into {run_dir}", file=sys.stderr)
    previous = {s: signal.signal(s, _on_term) for s in (signal.SIGTERM, signal.SIGHUP)}
    status, counts = 0, Counter()
    try:
        counts = execute(p, run_id, run_dir, facts, args.timeline)
        m["complete"] = True
    except KeyboardInterrupt:
        status, m["interrupted"] = 130, "SIGINT"
    except _Terminated as e:
        signum = e.args[0]
        status, m["interrupted"] = 128 + signum, signal.Signals(signum).name
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if not m["complete"]:
            counts = Counter(r["status"] for r in _rows(run_dir))
        m.update(finished=datetime.now(timezone.utc).isoformat(timespec="seconds"), statuses=dict(counts))
        write_json(os.path.join(run_dir, "meta.json"), m)
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no rows"
    if status:
        print(f"pyalloc: interrupted ({m['interrupted']}): kept {summary} in {run_dir}", file=sys.stderr)
    else:
        print(f"{summary}: {os.path.join(run_dir, 'results.csv')}", file=sys.stderr)
        print(run_dir)
    return status


def _rows(run_dir):
    try:
        with open(os.path.join(run_dir, "results.csv"), newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []
