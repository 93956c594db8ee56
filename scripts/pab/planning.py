# The plan of a `pyalloc run`: presets, --workloads, --param and --configs turned into cases, configurations and
# settings, every bad input refused here (one line) before any case runs or any directory is created; the schedule.
import random
import sys

from . import binary, configs, cpython, machine, paramspec, presets, protocol, runner, shard, sweep, trace
from .errors import UsageError
from .presets import Case
from .units import format_size, pairs, split_list


def add_options(p):
    """The options that define a run's plan, the same for `run` and `plan` (so plan shows the run's own hash)."""
    p.add_argument("--preset", default="default", help="quick, default or full (bench/presets/NAME.preset), or a path")
    configs.add_options(p)
    p.add_argument("--sweep", action="append", metavar="KEY=V1,V2",
                   help="one configuration per value, derived from each --configs configuration the key applies to "
                        "(repeatable: their product, at most 64): KEY is an environment variable (MALLOC_ARENA_MAX) "
                        "or ALLOCATOR.OPTION (jemalloc.dirty_decay_ms, mimalloc.decommit_delay)")
    p.add_argument("--workloads", action="append", metavar="W[,W...]",
                   help="workloads to run (repeatable, or comma-separated; default: every workload in the preset)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of the selected workloads that have it (repeatable; sizes take K/M/G)")
    p.add_argument("--rounds", metavar="N|auto", help="rounds (fresh processes per pair), or auto: add rounds until "
                   "every time ratio is within --target-ci or --budget is spent; default from the preset")
    p.add_argument("--target-ci", metavar="PCT", help="--rounds auto: the half-width every time ratio's 95 %% "
                   "interval must reach (default from the preset, e.g. 3%%)")
    p.add_argument("--budget", metavar="DURATION", help="--rounds auto: no round starts that would end after this "
                   "(seconds or with s/m/h; default from the preset)")
    p.add_argument("--cycles", metavar="K|auto", help="timed cycles per process, or auto: calibrated per case so they "
                   "last about --min-time (default from the preset)")
    p.add_argument("--warmup", metavar="W", help="untimed cycles before the timed ones (default from the preset)")
    p.add_argument("--seed", type=int, help="shuffle and workload seed (default: random, recorded)")
    p.add_argument("--timeout", help="per-case timeout, seconds or with s/m/h (default from the preset)")
    p.add_argument("--min-time", help="seconds of timed cycles a case aims at (default from the preset)")
    p.add_argument("--runtime", choices=("c", "cpython", "both"), default="c",
                   help="c: the C model (default); cpython: the same workloads in /usr/bin/python3, with "
                   "PYTHONMALLOC=malloc and with pymalloc; both: the two side by side (for `pyalloc fidelity`)")


def params_of(p, case):
    """The CSV params cell of a planned case (C or CPython)."""
    return cpython.full_params(case) if cpython.is_cpython(case) else full_params(case, p["workloads"])


def identity(p):
    """The plan's identity (shard.identity): what makes runs slices of one plan."""
    cases = [{"workload": c.workload, "params": params_of(p, c)} for c in p["cases"]]
    return shard.identity(p["seed"], p["settings"]["rounds"], p["configs"], cases, protocol.declared(p["settings"]))


def select_cases(preset, workloads, wanted, overrides):
    """The preset's cases for the wanted workloads (a wanted workload the preset lacks runs with its defaults),
    with each --param applied to the workloads that have it; duplicates dropped."""
    for c in preset.cases:
        if c.workload not in workloads:
            raise UsageError(f"preset {preset.name}: unknown workload {c.workload!r} (known: {', '.join(workloads)})")
    names = list(dict.fromkeys(w for item in wanted for w in split_list(item, "--workloads"))) \
        if wanted is not None else list(dict.fromkeys(c.workload for c in preset.cases))
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
            params = trace.resolve_layer(w, dict(c.params, **{k: v for k, v in overrides.items() if k in known[w]}))
            if Case(w, params) not in cases:
                cases.append(Case(w, params))
    return cases


params_cell = paramspec.cell  # the one builder of the params cell lives with the parameters


def full_params(case, workloads):
    """The params cell of a C case, even when it fails before its process reports pab_params."""
    return paramspec.cell(workloads[case.workload]["params"], case.params)


def schedule(pairs, rounds, seed, first=1):
    """Jobs for rounds first..first+rounds-1 (docs/design.md §12): in each round the cases come in shuffled order and
    all configurations of a case run back to back, in shuffled order, so that a configuration's time and the
    baseline's in the same round were taken a few seconds apart (ratios are taken within a round).  Shuffles use
    Random(f'{seed}:{round}'); cases in order of first appearance in pairs [(config, case)]."""
    by_case = {}
    for cfg, case in pairs:
        by_case.setdefault(case.key(), (case, []))[1].append(cfg)
    jobs = []
    for r in range(first, first + rounds):
        rng = random.Random(f"{seed}:{r}")
        blocks = list(by_case.values())
        rng.shuffle(blocks)
        for case, cfgs in blocks:
            order = list(cfgs)
            rng.shuffle(order)
            jobs += [runner.Job(r, cfg, case) for cfg in order]
    return jobs


def settings(preset, args):
    """The preset's settings with the command line's overrides."""
    s = dict(preset.settings)
    for name in ("rounds", "cycles", "warmup", "target_ci", "budget", "timeout", "min_time"):
        given = getattr(args, name, None)
        if given is not None:
            s[name] = presets.SETTINGS[name][0](given, "--" + name.replace("_", "-"))
    for name in ("target_ci", "budget"):
        if getattr(args, name, None) is not None and s["rounds"] != "auto":
            raise UsageError(f"--{name.replace('_', '-')} applies to --rounds auto (this run has {s['rounds']} rounds)")
    return s


def seed_of(args):
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed {args.seed}: must be a non-negative integer")
    return args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)


def libraries(chosen, configs_arg):
    """{config name: (library to preload, error)}; a configuration named on the command line that cannot run is
    refused now rather than run as a matrix of failures."""
    libs = {}
    named = set(split_list(configs_arg, "--configs")) - {"default", "all"} if configs_arg is not None else set()
    for cfg in chosen:
        try:
            libs[cfg.name] = (configs.resolve(cfg), "")
        except LookupError as e:
            libs[cfg.name] = ("", str(e))
        if cfg.name in named:
            err = libs[cfg.name][1] or binary.identify(configs.child_env(cfg, libs[cfg.name][0]), cfg.allocator)[1]
            if err:
                raise UsageError(f"configuration {cfg.name}: {err}")
    return libs


def configurations(args):
    """(configurations, meta.json's sweeps or None): --configs over the table (+ --configs-file), then --sweep's
    one configuration per value (docs/design.md §13). The one place run, plan and try make the list."""
    chosen = configs.select(configs.load(args.configs_file), args.configs)
    sweeps = sweep.parse(args.sweep)
    chosen, points = sweep.derive(chosen, sweeps)
    return chosen, sweep.describe(sweeps, points) if sweeps else None


def plan(args):
    preset = presets.load(args.preset)
    chosen, sweeps = configurations(args)
    workloads = binary.workloads()
    cases = select_cases(preset, workloads, args.workloads, pairs(args.param, "--param"))
    if not cases:
        raise UsageError(f"preset {preset.name} has no cases")
    for c in cases:
        paramspec.parse(workloads[c.workload], c.params)  # the catalogue's types and bounds, as the binary checks
    if args.runtime != "c":
        py, notes = cpython.expand(cases)
        for n in notes:
            print(f"pyalloc: note: {n}", file=sys.stderr)
        cases = (cases if args.runtime == "both" else []) + py
        if not cases:
            raise UsageError("no selected case has a CPython version")
    s = settings(preset, args)
    err = binary.check_flags([f"--pab_warmup={s['warmup']}"] + ([f"--pab_cycles={s['cycles']}"] if s["cycles"] != "auto"
                                                                   else []))
    if err:
        raise UsageError(f"the timing protocol: {err}")
    need, have = s["min_memory"], machine.meminfo("MemTotal")
    if need and have < need:
        raise UsageError(f"preset {preset.name} needs {format_size(need)} of memory and this machine has "
                         f"{format_size(have)}: use --preset default, or a preset file of your own")
    seed = seed_of(args)
    return dict(preset=preset, configs=chosen, libs=libraries(chosen, args.configs), cases=cases,
                workloads=workloads, settings=s, seed=seed, exe=binary.path(), sweeps=sweeps)
