# `pyalloc merge RUN... --out DIR` (docs/design.md §14): runs joined into one run directory — the shards of a plan,
# the same plan on several hosts, or runs to read together.  A row is (host, round, configuration, case), once.
import csv
import json
import os
import shutil
import sys
from collections import OrderedDict

from . import binary, rundir, schema
from .rundir import TIMELINE_COLUMNS
from .errors import UsageError

MERGED_TIMELINE = TIMELINE_COLUMNS + ("host",)  # several hosts' cases can share every other field


def register(sub):
    p = sub.add_parser("merge", help="join runs (shards, hosts) into one run directory",
                       description="Join runs into one: the shards of a plan (`run --shard I/N --seed S`), the same "
                       "plan run on several hosts (kept apart by the host column), or any runs of one kind and "
                       "schema.  Refuses a row (host, round, configuration, case) given twice, runs of different "
                       "schemas or kinds, and shards of different plans; carries over interrupted runs with a warning.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories (or their results.csv)")
    p.add_argument("--out", help="results directory to make the merged run in (default: <repo>/results)")
    p.set_defaults(func=main)


class Input:
    """One run given to merge: its rows, schema, meta.json, and the original runs it is made of (its parts)."""

    def __init__(self, path):
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such run (give run directories made by `pyalloc run`, `try` or `merge`)")
        self.path = path
        self.dir = os.path.realpath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
        self.rows, self.schema = schema.read_rows(path, with_schema=True)
        self.meta = _meta(os.path.join(self.dir, "meta.json"))
        self.kind = self.meta.get("kind", "run")  # schema-1 runs predate `try` and the key
        self.hosts = list(OrderedDict.fromkeys(r["host"] for r in self.rows)) or \
            [(self.meta.get("machine") or {}).get("host")]
        self.parts = self.meta.get("parts") or [{
            "run_id": self.meta.get("run_id") or os.path.basename(self.dir), "path": self.dir, "hosts": self.hosts,
            "shard": self.meta.get("shard"), "plan": (self.meta.get("plan") or {}).get("hash"),
            "seed": self.meta.get("seed"), "complete": self.meta.get("complete"), "rows": len(self.rows)}]


def _meta(path):
    try:
        with open(path) as f:
            m = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise UsageError(f"{path} is not a run's meta.json ({e})")
    if not isinstance(m, dict):
        raise UsageError(f"{path} is not a run's meta.json (not an object)")
    return m


def _same(inputs, noun, show):
    """Refuses inputs that differ in show(input) ('schema 2'), naming two of them."""
    for i in inputs[1:]:
        if show(i) != show(inputs[0]):
            raise UsageError(f"{inputs[0].path} is {show(inputs[0])} and {i.path} {show(i)}: merge runs of one {noun}")


def check_shards(parts):
    """Shards must be slices of one plan (one hash: same seed, rounds, configurations, cases, protocol), cut the same
    way on each host.  Returns {host: missing slice numbers} for the merged run's meta (empty when whole)."""
    def which(p):
        return f"shard {p['shard']} of plan {str(p.get('plan'))[:19]} (seed {p.get('seed')})"

    shards = [p for p in parts if p.get("shard")]
    for p in shards[1:]:
        if p.get("plan") != shards[0].get("plan"):
            raise UsageError(f"{shards[0]['path']} is {which(shards[0])} and {p['path']} {which(p)}: shards of "
                             "different plans do not make one run")
    held, count = {}, {}
    for p in shards:
        try:
            i, n = (int(x) for x in str(p["shard"]).split("/"))
        except ValueError:
            raise UsageError(f"{p['path']}: meta.json's shard {p['shard']!r} is not I/N: not a run of ours")
        host = p["hosts"][0] if p["hosts"] else None
        if count.setdefault(host, n) != n:
            raise UsageError(f"{p['path']}: host {host} has shards of /{count[host]} and /{n}: "
                             "cut a plan one way per host")
        held.setdefault(host, set()).add(i)
    return {h: sorted(set(range(1, count[h] + 1)) - s) for h, s in held.items() if len(s) < count[h]}


def check_rows(inputs):
    """Every (host, round, configuration, case) once."""
    seen = {}
    for i in inputs:
        for r in i.rows:
            key = (r["host"], r["round"], r["config"], r["workload"], r["params"])
            if key in seen:
                raise UsageError(f"{i.path} repeats a row of {seen[key].path}: host {key[0]}, round {key[1]}, "
                                 f"configuration {key[2]}, {key[3]} `{key[4]}`")
            seen[key] = i


def check(inputs):
    dirs = [i.dir for i in inputs]
    for d in dirs:
        if dirs.count(d) > 1:
            raise UsageError(f"{d} is given twice")
    _same(inputs, "schema", lambda i: f"schema {i.schema}")
    _same(inputs, "kind", lambda i: f"a `{i.kind}` run")
    parts = [p for i in inputs for p in i.parts]
    missing = check_shards(parts)
    check_rows(inputs)
    return parts, missing


def _common(inputs, key):
    """meta[key] when every input that has it agrees, else None."""
    values = [i.meta[key] for i in inputs if key in i.meta]
    return values[0] if values and all(v == values[0] for v in values) else None


def merged_meta(run_id, inputs, parts, missing):
    hosts = list(OrderedDict.fromkeys(h for i in inputs for h in i.hosts))
    single = [i.meta.get("machine") for i in inputs if i.meta.get("machine")]
    m = rundir.base_meta(run_id, inputs[0].kind, single[0] if len(hosts) == 1 and single else None)
    configs = OrderedDict()
    for i in inputs:
        for c in i.meta.get("configs") or []:
            if isinstance(c, dict) and c.get("name"):
                configs.setdefault(c["name"], c)
    plans = {p.get("plan") for p in parts}
    m.update({
        "inputs": [{"path": i.dir, "run_id": i.meta.get("run_id"), "schema": i.schema, "rows": len(i.rows),
                    "complete": i.meta.get("complete"), "hosts": i.hosts} for i in inputs],
        "parts": parts, "hosts": hosts, "configs": list(configs.values()),
        "plan": _common(inputs, "plan") if len(plans) == 1 else None,
        "missing_shards": missing, "timeline": any(i.meta.get("timeline") for i in inputs),
    })
    for key in ("preset", "rounds", "seed"):
        if _common(inputs, key) is not None:
            m[key] = _common(inputs, key)
    return m


def write_timeline(inputs, path):
    """The inputs' timeline.csv files, one after another, each row with its host."""
    sources = [(i, os.path.join(i.dir, "timeline.csv")) for i in inputs]
    sources = [(i, src) for i, src in sources if os.path.exists(src)]
    if not sources:
        return
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(MERGED_TIMELINE)
        for i, src in sources:
            try:
                with open(src, newline="") as g:
                    reader = csv.DictReader(g)
                    if not set(TIMELINE_COLUMNS) <= set(reader.fieldnames or ()):
                        raise UsageError(f"{src} is not a pyalloc-bench timeline (its header lacks "
                                         f"{', '.join(TIMELINE_COLUMNS)})")
                    for r in reader:
                        out.writerow([r[k] for k in TIMELINE_COLUMNS] + [r.get("host") or i.hosts[0] or ""])
            except (UnicodeDecodeError, csv.Error) as e:
                raise UsageError(f"{src} is not readable as CSV ({e})")


def main(args):
    inputs = [Input(p) for p in args.runs]
    parts, missing = check(inputs)
    for i in inputs:
        if i.meta.get("complete") is False:
            why = i.meta.get("interrupted") or "interrupted or still running"
            print(f"pyalloc: warning: {i.path} did not complete ({why}): its {len(i.rows)} rows are carried over and "
                  "the merged run is marked incomplete", file=sys.stderr)
    for host, nums in missing.items():
        print(f"pyalloc: warning: host {host} lacks shard{'s' if len(nums) > 1 else ''} "
              f"{', '.join(map(str, nums))} of its plan: the merged run is marked incomplete", file=sys.stderr)
    out = os.path.abspath(args.out or os.path.join(binary.REPO, "results"))
    run_id, run_dir = rundir.make(out)
    try:
        w = schema.Writer(os.path.join(run_dir, "results.csv"))
        for i in inputs:
            for r in i.rows:
                w.write(r)
        w.close()
        write_timeline(inputs, os.path.join(run_dir, "timeline.csv"))
        m = merged_meta(run_id, inputs, parts, missing)
        m["complete"] = all(i.meta.get("complete") is not False for i in inputs) and not missing
        m["finished"] = rundir.now()
        rundir.write_json(os.path.join(run_dir, "meta.json"), m)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing half-written
        raise
    rundir.point_latest(out, run_id)
    n = sum(len(i.rows) for i in inputs)
    print(f"merged {len(inputs)} runs: {n} rows, hosts {', '.join(map(str, m['hosts']))}: {run_dir}", file=sys.stderr)
    print(run_dir)
    return 0
