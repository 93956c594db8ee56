# Slices of one plan for several hosts (docs/design.md §14): `--shard I/N --seed S` keeps whole cases, dealt
# round-robin in plan order, and the jobs in the plan's own order; the plan's identity (a hash) that merge checks.
# A command that runs a plan (run, try) calls: add_arguments, parse + host_label (before planning), take (on its
# whole schedule), identity, meta (into meta.json), stamp (the `shard` column), announce.
import hashlib
import json
import re
import socket
import sys
from dataclasses import dataclass

from .errors import UsageError
from .schema import SCHEMA

_SPEC = re.compile(r"^(\d+)/(\d+)$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+@-]*$")
HOW = ("sha256 of the canonical JSON (keys sorted, separators ',' and ':', UTF-8) of `of`: the schema, the seed, "
       "the rounds, the configurations, the cases (workload and full params cell, in plan order) and the protocol")


@dataclass(frozen=True)
class Shard:
    index: int  # 1..count
    count: int

    def __str__(self):
        return f"{self.index}/{self.count}"


def add_arguments(p):
    """--shard and --host-label, for `run` and `try` alike."""
    p.add_argument("--shard", metavar="I/N", help="run slice I of N of the plan: whole cases (every configuration and "
                   "round of a case), case k of the plan going to slice k mod N + 1; needs --seed (docs/shards.md)")
    p.add_argument("--host-label", metavar="NAME", help="the name the `host` column and meta.json give this machine "
                   "(default: its hostname); hosts with one label are one group in report and compare")


def parse(text, seed):
    """--shard's text -> Shard (None when not given).  Every shard of a plan must shuffle alike, hence --seed."""
    if text is None:
        return None
    m = _SPEC.match(text.strip())
    if not m:
        raise UsageError(f"--shard {text!r}: expected I/N, e.g. 2/3 for the second of three slices")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1:
        raise UsageError(f"--shard {text}: N, the number of slices, must be at least 1")
    if not 1 <= i <= n:
        raise UsageError(f"--shard {text}: the slice I must be between 1 and {n}")
    if seed is None:
        raise UsageError(f"--shard {text} needs --seed S: the slices of one plan must all be run with the same seed")
    return Shard(i, n)


def host_label(text):
    """--host-label's text, checked (None when not given)."""
    if text is None:
        return None
    if not _LABEL.match(text):
        raise UsageError(f"--host-label {text!r}: use letters, digits and . _ - : + @ (no spaces or commas)")
    return text


def cases_of(cases, shard):
    """The plan's cases that slice `shard` holds (all of them when shard is None): case k, counted from 0 in plan
    order, goes to slice k mod N + 1, so big cases listed together in a preset land on different slices."""
    return list(cases) if shard is None else [c for k, c in enumerate(cases) if k % shard.count == shard.index - 1]


def take(jobs, cases, shard, case_of=lambda job: job.case):
    """The jobs of the slice, in the order the whole plan runs them: the plan's schedule filtered, never reshuffled,
    so a case's configurations and rounds stay as close in time as the unsharded plan keeps them."""
    mine = cases_of(cases, shard)
    return [j for j in jobs if case_of(j) in mine]


IDENTITY_FIELDS = ("name", "allocator", "library", "release", "env")  # what of a configuration a plan is made of


def identity(seed, rounds, configs, cases, protocol):
    """{"hash", "how", "of"}: what makes two runs slices of one plan.  configs: configs.Config; cases: plain dicts."""
    configs = [{k: getattr(c, k) for k in IDENTITY_FIELDS} for c in configs]
    of = {"schema": SCHEMA, "seed": seed, "rounds": rounds, "configs": configs, "cases": cases, "protocol": protocol}
    canonical = json.dumps(of, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {"hash": "sha256:" + hashlib.sha256(canonical.encode()).hexdigest(), "how": HOW, "of": of}


def facts(machine_facts, label):
    """The machine facts with the host label in place of the hostname."""
    return dict(machine_facts, host=label) if label else machine_facts


def meta(shard, plan, label, processes):
    """What a run's meta.json records of its plan and slice."""
    m = {"plan": plan, "shard": str(shard) if shard else None, "processes": processes}
    if label:
        m.update(host_label=label, hostname=socket.gethostname())
    return m


def stamp(run_one, shard):
    """run_one(i, job) -> row, with the `shard` column filled."""
    text = str(shard) if shard else None
    return lambda i, job: dict(run_one(i, job), shard=text)


def announce(shard, plan, jobs):
    """One line on stderr: which slice this is, or that it is empty (a run with no rows)."""
    if shard is None:
        return
    n = len(plan["of"]["cases"])
    held = len(cases_of(range(n), shard))
    if held:
        print(f"shard {shard}: {held} of the plan's {n} cases (plan {plan['hash'][:19]})", file=sys.stderr)
    else:
        print(f"shard {shard} holds no cases: the plan has {n} (slices 1-{n} hold them), so this run has no rows",
              file=sys.stderr)
