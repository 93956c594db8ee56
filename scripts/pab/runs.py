# Loading a finished (or interrupted) run for report/compare/recommend: results.csv through pab.schema, meta.json
# tolerated when missing, ok rows grouped by case (config, workload, params) and everything else kept as failures.
import copy
import json
import os
from collections import OrderedDict

from . import schema
from .errors import UsageError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASELINE = "glibc"
MACHINE_KEYS = ("host", "cpu_model", "cores", "mem_total_bytes", "kernel", "thp", "glibc_version", "git_rev")


def default_run():
    return os.path.join(REPO, "results", "latest")


class Run:
    """One run: its rows, meta.json (a dict, {} when absent), ok rows by case and the rows that are not ok."""

    def __init__(self, path):
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such run (give a run directory made by `pyalloc run`)")
        self.dir = os.path.realpath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
        rows = schema.read_rows(path)
        if not rows:
            raise UsageError(f"{schema.results_path(path)} holds no rows yet")
        self.meta = _read_meta(os.path.join(self.dir, "meta.json"))
        self.host = None  # the one host this run was narrowed to (on_host)
        self._index(rows)

    def _index(self, rows):
        self.rows = rows
        self.cases = OrderedDict()  # (config, workload, params) -> [ok rows], in file order
        for r in self.rows:
            if r["status"] == "ok":
                self.cases.setdefault((r["config"], r["workload"], r["params"]), []).append(r)
        self.failures = [r for r in self.rows if r["status"] != "ok"]
        planned = [c.get("name") for c in self.meta.get("configs") or [] if isinstance(c, dict)]
        self.configs = order_configs(c for c in planned + [r["config"] for r in self.rows]
                                     if c in {r["config"] for r in self.rows})
        self.workloads = list(OrderedDict.fromkeys(r["workload"] for r in self.rows))

    @property
    def name(self):
        name = self.meta.get("run_id") or self.rows[0]["run_id"] or os.path.basename(self.dir)
        return f"{name} @ {self.host}" if self.host else name

    @property
    def hosts(self):
        """The hosts (the `host` column: a hostname or a --host-label) of the rows, in file order."""
        return list(OrderedDict.fromkeys(r["host"] for r in self.rows))

    def on_host(self, host):
        """The rows of one host as a run of their own (its machine facts from its rows, not a merged meta.json)."""
        if host not in self.hosts:
            raise UsageError(f"{self.dir} has no rows of host {host!r} (its hosts: {', '.join(map(str, self.hosts))})")
        view = copy.copy(self)
        view.host, view.meta = host, {k: v for k, v in self.meta.items() if k != "machine"}
        view._index([r for r in self.rows if r["host"] == host])
        return view

    def where(self, keep):
        """The rows for which keep(row) holds, as a run of their own (the same meta.json)."""
        view = copy.copy(self)
        view._index([r for r in self.rows if keep(r)])
        return view

    def joined(self, others):
        """This run's rows followed by those of other runs, as one run (this one's meta.json): e.g. replay runs of
        one trace at two layers."""
        view = copy.copy(self)
        view._index(self.rows + [r for o in others for r in o.rows])
        return view

    def by_host(self):
        """[this run] when it holds one host, else one run per host (report and compare group by host)."""
        return [self] if len(self.hosts) <= 1 else [self.on_host(h) for h in self.hosts]

    def params_of(self, workload):
        """Parameter sets of a workload, in file order."""
        return list(OrderedDict.fromkeys(r["params"] for r in self.rows if r["workload"] == workload))

    def by_layer(self, workload):
        """{params without layer: {layer: params}} of a workload's cases, in file order (layer None: no layer=)."""
        out = OrderedDict()
        for p in self.params_of(workload):
            out.setdefault(without_layer(p), {})[layer_of(p)] = p
        return out

    def values(self, config, workload, params, column):
        return [r[column] for r in self.cases.get((config, workload, params), []) if r[column] is not None]

    def config_row(self, config):
        """A representative row of a configuration (an ok one when there is one): library, env, release policy."""
        ok = [r for r in self.rows if r["config"] == config and r["status"] == "ok"]
        return (ok or [r for r in self.rows if r["config"] == config])[0]

    def facts(self):
        """Machine and run facts for a header; meta.json first, the first row where meta lacks them."""
        m, first = self.meta.get("machine") or {}, self.rows[0]
        out = {k: m.get(k, first.get(k)) for k in MACHINE_KEYS}
        preset = self.meta.get("preset", first.get("preset"))
        out["preset"] = preset.get("name") if isinstance(preset, dict) else preset
        out["rounds"] = self.meta.get("rounds", max(r["round"] or 0 for r in self.rows))
        out["seed"] = self.meta.get("seed", first.get("seed"))
        out["complete"] = self.meta.get("complete")
        return out


def _read_meta(path):
    try:
        with open(path) as f:
            m = json.load(f)
        return m if isinstance(m, dict) else {}
    except (OSError, ValueError):
        return {}


def order_configs(names):
    """The baseline first, then in order of first appearance."""
    seen = list(OrderedDict.fromkeys(names))
    return ([BASELINE] if BASELINE in seen else []) + [c for c in seen if c != BASELINE]


def parse_params(text):
    return OrderedDict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in (text or "").split(";") if kv)


def layer_of(params):
    return parse_params(params).get("layer")


def baseline_params(layers):
    """Of one case's {layer: params}: glibc's baseline is CPython's default pymalloc where the run has it, else the
    case without layers, else the malloc layer."""
    return layers.get("pymalloc") or layers.get(None) or layers.get("malloc")


def without_layer(params):
    return ";".join(f"{k}={v}" for k, v in parse_params(params).items() if k != "layer")


def short_params(params, siblings):
    """Only the parameters that differ between a workload's parameter sets (the rest is noise in a label)."""
    sets = [parse_params(s) for s in siblings]
    keys = [k for k in parse_params(params) if len({s.get(k) for s in sets}) > 1]
    p = parse_params(params)
    return ";".join(f"{k}={p[k]}" for k in keys) or "defaults" if len(siblings) > 1 else params or "defaults"
