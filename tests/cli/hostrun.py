# What the shard, merge, plan and recipe tests share: running scripts/pyalloc, a plan small enough to run in
# seconds, and a run's rows keyed as merge keys them.
import csv
import json
import os
import subprocess

import synth

SOURCE = synth.SOURCE
BUILD = os.path.abspath(os.environ.get("PAB_BUILD", os.path.join(SOURCE, "build")))
PYALLOC = os.path.join(SOURCE, "scripts", "pyalloc")
# 5 cases x 2 configurations x 2 rounds = 20 processes, about a second
SMALL = ["--preset", "quick", "--workloads", "small_churn,list_pop,freelist", "--configs", "glibc,jemalloc",
         "--rounds", "2"]


def env(**extra):
    return dict(os.environ, PAB_BUILD=BUILD, PYTHONDONTWRITEBYTECODE="1", **extra)


def pyalloc(*args, timeout=120, **extra):
    return subprocess.run(["/usr/bin/python3", PYALLOC] + list(args), env=env(**extra), capture_output=True,
                          text=True, timeout=timeout)


def run_dir(test, *args, **extra):
    """Runs pyalloc (run or merge), asserts it succeeded, returns the run directory it printed."""
    p = pyalloc(*args, **extra)
    test.assertEqual(p.returncode, 0, p.stderr)
    return p.stdout.strip().splitlines()[-1]


def rows(run):
    with open(os.path.join(run, "results.csv"), newline="") as f:
        return list(csv.DictReader(f))


def keys(run, host=False):
    """(round, config, workload, params) of every row in file order (host first when asked)."""
    return [((r["host"],) if host else ()) + (r["round"], r["config"], r["workload"], r["params"]) for r in rows(run)]


def meta(run):
    with open(os.path.join(run, "meta.json")) as f:
        return json.load(f)


def one_line_error(test, p):
    """A refusal: exit 2, one line on stderr, nothing on stdout."""
    test.assertEqual(p.returncode, 2, p.stderr)
    lines = p.stderr.strip().splitlines()
    test.assertEqual(len(lines), 1, p.stderr)
    test.assertTrue(lines[0].startswith("pyalloc: error: "), lines[0])
    return lines[0]
