# `run --shard I/N --seed S` and `merge`: three shards merged are the unsharded plan, row for row, each shard in the
# plan's own order and holding whole cases; the plan's hash; bad --shard refused; every refusal of merge.
import hashlib
import json
import os
import shutil
import sys
import tempfile
import unittest

import hostrun
from hostrun import SMALL, keys, meta, one_line_error, pyalloc, rows, run_dir

sys.path.insert(0, os.path.join(hostrun.SOURCE, "scripts"))
from pab import schema, shard  # noqa: E402
from pab.errors import UsageError  # noqa: E402

SEED = "4242"


class Slicing(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(str(shard.parse("2/3", 1)), "2/3")
        self.assertIsNone(shard.parse(None, None))
        for bad, says in (("2/3", "needs --seed"), ("0/3", "between 1 and 3"), ("4/3", "between 1 and 3"),
                          ("1/0", "at least 1"), ("x", "expected I/N"), ("", "expected I/N"), ("1/3/4", "I/N"),
                          ("-1/3", "I/N")):
            with self.assertRaises(UsageError) as e:
                shard.parse(bad, None if bad == "2/3" else 7)
            self.assertIn(says, str(e.exception))

    def test_slices_partition_the_cases(self):
        cases = [f"c{k}" for k in range(11)]
        for n in (1, 2, 3, 7, 11, 15):
            slices = [shard.cases_of(cases, shard.Shard(i, n)) for i in range(1, n + 1)]
            self.assertEqual(sorted(c for s in slices for c in s), sorted(cases))  # each case in exactly one
            self.assertLessEqual(max(map(len, slices)) - min(map(len, slices)), 1)  # dealt evenly

    def test_take_keeps_plan_order(self):
        jobs = [(r, c) for r in (1, 2) for c in ("b", "a", "c", "a", "b")]
        got = shard.take(jobs, ["a", "b", "c"], shard.Shard(2, 2), case_of=lambda j: j[1])
        self.assertEqual(got, [j for j in jobs if j[1] == "b"])


class Sharded(unittest.TestCase):
    """One small plan run whole and as shards 1/3, 2/3, 3/3 (about 3 s)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pab-shards-")
        t = unittest.TestCase()
        cls.whole = run_dir(t, "run", *SMALL, "--seed", SEED, "--out", os.path.join(cls.tmp, "whole"))
        cls.shards = [run_dir(t, "run", *SMALL, "--seed", SEED, "--shard", f"{i}/3",
                              "--out", os.path.join(cls.tmp, f"s{i}")) for i in (1, 2, 3)]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def out(self, name):
        return os.path.join(self.tmp, name)

    def test_merged_shards_are_the_plan(self):
        merged = run_dir(self, "merge", *self.shards, "--out", self.out("merged"))
        self.assertEqual(sorted(keys(merged)), sorted(keys(self.whole)))
        self.assertEqual(len(keys(merged)), 5 * 2 * 2)
        self.assertEqual({r["status"] for r in rows(merged)}, {"ok"})
        m = meta(merged)
        self.assertTrue(m["complete"])
        self.assertEqual((m["kind"], m["schema"], m["missing_shards"]), ("run", schema.SCHEMA, {}))
        self.assertEqual([i["path"] for i in m["inputs"]], [os.path.realpath(s) for s in self.shards])
        self.assertEqual(m["plan"]["hash"], meta(self.whole)["plan"]["hash"])
        p = pyalloc("report", merged, "--no-charts")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_each_shard_runs_whole_cases_in_the_plan_order(self):
        held = []
        for s in self.shards:
            mine = {k[2:] for k in keys(s)}
            held += sorted(mine)
            # the unsharded run's sequence restricted to this shard's cases: same rounds, configurations, order
            self.assertEqual(keys(s), [k for k in keys(self.whole) if k[2:] in mine])
        self.assertEqual(len(held), len(set(held)))  # no case in two shards
        self.assertEqual(len(held), 5)

    def test_plan_identity(self):
        plans = [meta(r)["plan"] for r in [self.whole] + self.shards]
        self.assertEqual(len({p["hash"] for p in plans}), 1)
        of = plans[0]["of"]
        canonical = json.dumps(of, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        self.assertEqual(plans[0]["hash"], "sha256:" + hashlib.sha256(canonical).hexdigest())  # as `how` says
        self.assertEqual((of["seed"], of["rounds"], of["schema"], len(of["cases"])), (int(SEED), 2, schema.SCHEMA, 5))
        self.assertEqual([c["name"] for c in of["configs"]], ["glibc", "jemalloc"])
        for i, s in enumerate(self.shards, start=1):
            self.assertEqual(meta(s)["shard"], f"{i}/3")
            self.assertEqual({r["shard"] for r in rows(s)}, {f"{i}/3"})
        self.assertEqual({r["shard"] for r in rows(self.whole)}, {""})
        self.assertIsNone(meta(self.whole)["shard"])
        p = pyalloc("plan", *SMALL, "--seed", SEED, "--json")
        self.assertEqual(json.loads(p.stdout)["plan"], plans[0]["hash"])  # plan names the plan run runs

    def test_empty_slice(self):
        p = pyalloc("run", *SMALL, "--seed", SEED, "--shard", "6/6", "--out", self.out("empty"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("shard 6/6 holds no cases", p.stderr)
        run = p.stdout.strip()
        self.assertEqual(rows(run), [])
        self.assertEqual((meta(run)["complete"], meta(run)["processes"]), (True, 0))
        merged = run_dir(self, "merge", *self.shards, "--out", self.out("with-empty"))
        self.assertEqual(len(rows(merged)), 20)

    def test_bad_shard_refused_before_anything(self):
        for args in (["--shard", "1/3"], ["--seed", "1", "--shard", "0/3"], ["--seed", "1", "--shard", "4/3"],
                     ["--seed", "1", "--shard", "one/3"], ["--seed", "1", "--shard", "2"],
                     ["--seed", "1", "--shard", ""], ["--host-label", "a b"], ["--host-label", ""]):
            out = self.out("bad")
            one_line_error(self, pyalloc("run", *SMALL, *args, "--out", out))
            self.assertFalse(os.path.exists(out), args)

    def test_shards_of_different_seeds_refused(self):
        other = run_dir(self, "run", *SMALL, "--seed", "4243", "--shard", "2/3", "--out", self.out("seed2"))
        out = self.out("refused")
        line = one_line_error(self, pyalloc("merge", self.shards[0], other, "--out", out))
        self.assertIn("shards of different plans", line)
        self.assertIn("seed 4242", line)
        self.assertIn("seed 4243", line)
        self.assertFalse(os.path.exists(out))

    def copy(self, run, name, **meta_changes):
        d = self.out(name)
        shutil.copytree(run, d)
        m = meta(d)
        m.update(meta_changes)
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(m, f)
        return d

    def test_merge_refusals(self):
        s1, s2 = self.shards[:2]
        fixture = os.path.join(hostrun.SOURCE, "tests", "fixtures", "schema1", "matrix")
        cases = [((s1, s1), "is given twice"),
                 ((s1, self.copy(s1, "twin")), "repeats a row of"),
                 ((s1, fixture), f"schema {schema.SCHEMA} and"),
                 ((s1, self.copy(s2, "a-try", kind="try")), "merge runs of one kind"),
                 ((s1, self.out("nonexistent")), "no such run"),
                 ((s1, self.copy(s2, "cut", shard="2/4")), "cut a plan one way per host")]
        for inputs, says in cases:
            out = self.out("refused")
            self.assertIn(says, one_line_error(self, pyalloc("merge", *inputs, "--out", out)))
            self.assertFalse(os.path.exists(out), says)
        one_line_error(self, pyalloc("merge", "--out", self.out("refused")))

    def test_interrupted_input_carried_over(self):
        cut = self.copy(self.shards[2], "cut-short", complete=False, interrupted="SIGINT")
        p = pyalloc("merge", self.shards[0], self.shards[1], cut, "--out", self.out("partial"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("did not complete (SIGINT)", p.stderr)
        merged = p.stdout.strip()
        self.assertEqual(len(rows(merged)), 20)
        self.assertFalse(meta(merged)["complete"])

    def test_missing_shard_warned(self):
        p = pyalloc("merge", self.shards[0], self.shards[2], "--out", self.out("two-of-three"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("lacks shard 2 of its plan", p.stderr)
        self.assertEqual(meta(p.stdout.strip())["missing_shards"], {rows(self.whole)[0]["host"]: [2]})

    def test_same_plan_on_two_hosts_stays_apart(self):
        a = run_dir(self, "run", *SMALL, "--seed", SEED, "--shard", "1/3", "--host-label", "other-host",
                    "--out", self.out("other"))
        merged = run_dir(self, "merge", self.shards[0], a, "--out", self.out("two-hosts"))
        self.assertEqual(len(keys(merged, host=True)), len(set(keys(merged, host=True))))
        self.assertEqual(sorted(keys(merged)), sorted(keys(self.shards[0]) * 2))
        self.assertEqual(meta(merged)["hosts"], [rows(self.whole)[0]["host"], "other-host"])
        self.assertEqual(meta(a)["hostname"], meta(self.whole)["machine"]["host"])  # the real name is kept


if __name__ == "__main__":
    unittest.main()
