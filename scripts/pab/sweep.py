# `--sweep KEY=v1,v2,...` (docs/design.md §13): one configuration per value, derived from each configuration the key
# applies to.  KEY is an environment variable (MALLOC_ARENA_MAX) or an allocator option (jemalloc.dirty_decay_ms),
# set the way that allocator reads options (allocators/<name>.c's `option`: MALLOC_CONF items, MIMALLOC_<NAME>, ...).
import itertools
import re
from dataclasses import dataclass, replace

from . import native
from .errors import UsageError
from .units import split_list

MAX_CONFIGS = 64  # derived configurations per run, over every --sweep together
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPTION = re.compile(r"^(?P<alloc>[a-z]+)\.(?P<name>[A-Za-z0-9_.]+)$")


@dataclass(frozen=True)
class Sweep:
    key: str           # as written: MALLOC_ARENA_MAX, jemalloc.dirty_decay_ms
    values: tuple
    allocator: str     # the allocator whose configurations it applies to; None: every configuration
    var: str           # the environment variable it sets
    item: str          # for a list variable (MALLOC_CONF): the item's name (prefix + option); else None
    label: str         # how derived names and the `tuning` column call it: dirty_decay_ms, MALLOC_ARENA_MAX

    def env(self, env, value):
        """The environment with this key set to value, merged into a list variable the base already has."""
        env = dict(env)
        if not self.item:
            env[self.var] = value
            return env
        o = native.allocator(self.allocator)["option"]
        items = [i for i in (env.get(self.var) or "").split(o["sep"]) if i]
        kept = [i for i in items if i.split(o["kv"], 1)[0] != self.item]
        env[self.var] = o["sep"].join(kept + [f"{self.item}{o['kv']}{value}"])
        return env


def _values(key, text):
    values = split_list(text, f"--sweep {key}")
    for v in values:
        if values.count(v) > 1:
            raise UsageError(f"--sweep {key}: value {v!r} is repeated")
        if re.search(r"[\s;]", v):
            raise UsageError(f"--sweep {key}: value {v!r} holds a space or ';'")
    return tuple(values)


def parse_one(text):
    key, sep, rest = text.partition("=")
    if not sep:
        split_list(text, "--sweep")  # '' and 'a,,b' are refused as every list option refuses them
    if not sep or not key:
        raise UsageError(f"--sweep {text!r}: expected KEY=v1,v2,... (an environment variable or ALLOCATOR.OPTION)")
    values = _values(key, rest)
    m = _OPTION.match(key)
    if m:
        a = native.allocator(m["alloc"])
        if not a or not a["option"]["var"]:
            known = ", ".join(x["name"] for x in native.allocators() if x["option"]["var"])
            raise UsageError(f"--sweep {key}: {m['alloc']!r} is not an allocator with options ({known})")
        o, option = a["option"], m["name"]
        if not o["sep"]:  # one variable per option: MIMALLOC_DECOMMIT_DELAY
            var = o["var"] + option.upper()
            return Sweep(key, values, a["name"], var, None, var)
        for v in values:  # one list variable: MALLOC_CONF=name:value,...
            if o["sep"] in v or o["kv"] == "=" and "=" in v:
                raise UsageError(f"--sweep {key}: value {v!r} holds {o['sep']!r}, which separates {o['var']}'s items")
        return Sweep(key, values, a["name"], o["var"], o["prefix"] + option, o["prefix"] + option)
    if not _ENV.match(key):
        raise UsageError(f"--sweep {key}: not an environment variable or ALLOCATOR.OPTION (jemalloc.dirty_decay_ms)")
    for a in native.allocators():
        if a["option"]["sep"] and a["option"]["var"] == key:
            raise UsageError(f"--sweep {key}: its values hold {a['option']['sep']!r}; sweep one option instead: "
                             f"{a['name']}.NAME=v1,v2")
    return Sweep(key, values, native.knob_owner(key), key, None, key)


def parse(items):
    """--sweep texts -> [Sweep]; a key given twice is refused."""
    sweeps, seen = [parse_one(t) for t in items or []], set()
    for s in sweeps:
        if (s.var, s.item) in seen:
            raise UsageError(f"--sweep {s.key}: swept twice")
        seen.add((s.var, s.item))
    return sweeps


def applies(sweep, config):
    return sweep.allocator is None or sweep.allocator == config.allocator


def name(base, points):
    """jemalloc@dirty_decay_ms=1000, glibc@MALLOC_ARENA_MAX=2@MALLOC_TRIM_THRESHOLD_=65536."""
    return base + "".join(f"@{s.label}={v}" for s, v in points)


def derive(chosen, sweeps):
    """The configurations to run: each one a sweep applies to, then one configuration per value (per combination of
    values, for several sweeps) derived from it, named after it and the values; the base runs too, as the sweep's
    reference (the knob unset), and so do the configurations no sweep applies to (glibc, the baseline).
    Returns (configs, {derived name: {"base": name, "values": {label: value}}})."""
    if not sweeps:
        return chosen, {}
    for s in sweeps:
        if not any(applies(s, c) for c in chosen):
            who = f"{s.allocator}'s" if s.allocator else "a"
            raise UsageError(f"--sweep {s.key}: it sets {who} knob, and no configuration named is {s.allocator} "
                             f"({', '.join(c.name for c in chosen)})")
    out, points = [], {}
    for c in chosen:
        out.append(c)
        mine = [s for s in sweeps if applies(s, c)]
        for combo in itertools.product(*[[(s, v) for v in s.values] for s in mine]) if mine else ():
            env = c.env
            for s, v in combo:
                env = s.env(env, v)
            d = replace(c, name=name(c.name, combo), env=env, matrix="opt-in",
                        description=f"{c.name} with " + ", ".join(f"{s.label}={v}" for s, v in combo))
            points[d.name] = {"base": c.name, "values": {s.label: v for s, v in combo}}
            out.append(d)
    if len(points) > MAX_CONFIGS:
        raise UsageError(f"--sweep: {len(points)} derived configurations, more than {MAX_CONFIGS} (the product of "
                         f"every --sweep over every configuration it applies to): sweep fewer values")
    return out, points


def describe(sweeps, points):
    """For meta.json: {"keys": [{"key", "label", "values", "allocator", "var"}], "configs": points}."""
    return {"keys": [{"key": s.key, "label": s.label, "values": list(s.values), "allocator": s.allocator,
                      "var": s.var} for s in sweeps], "configs": points}
