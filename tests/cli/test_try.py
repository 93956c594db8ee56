# `pyalloc try` measures what it says: after free at the mark and at the program's end before teardown (not after),
# the peak of the whole run, --mark-signal sent from outside (Python and C), release=cycle at every mark, and only the
# process try started (forked and exec'd children). report and compare read the run unchanged.
import csv
import os
import signal
import tempfile
import unittest

import trytool as tt

ONE = ["--configs", "glibc", "--layers", "pymalloc", "--rounds", "1"]


class MeasuringPoint(tt.TmpCase):
    """prog.py spike: 300 MiB peak, 100 MiB held to the end (module globals), freed only by the teardown."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        out = cls.tmp.name
        cls.marked = tt.try_run(out, ONE + ["--mark", "after_spike"], tt.python_cmd("spike", "mark"))
        cls.end = tt.try_run(out, ONE, tt.python_cmd("spike"))
        cls.teardown = tt.try_run(out, ONE + ["--mark", "end"], tt.python_cmd("spike", "mark"))

    def held(self, row):
        return tt.mib(row, "rss_after_free_bytes") - tt.mib(row, "rss_base_bytes")

    def test_after_free_at_the_mark(self):
        (row,), meta = self.marked[1], self.marked[2]
        self.assertEqual((row["status"], row["verified"], row["mark"]), ("ok", "1", "after_spike"), row)
        self.assertTrue(100 <= self.held(row) <= 115, self.held(row))
        self.assertGreater(tt.mib(row, "rss_peak_bytes") - tt.mib(row, "rss_base_bytes"), 295)
        self.assertEqual(meta["measuring_point"]["mark"], "after_spike")

    def test_no_mark_is_the_end_before_teardown(self):
        (row,) = self.end[1]
        self.assertEqual(row["mark"], "exit")
        self.assertTrue(100 <= self.held(row) <= 115, self.held(row))
        (after,) = self.teardown[1]  # the probe's own `end` comes after teardown: the 100 MiB are gone there
        self.assertEqual(after["mark"], "end")
        self.assertLess(self.held(after), 30)

    def test_row_is_a_program_row(self):
        (row,), meta = self.end[1], self.end[2]
        self.assertEqual((row["workload"], row["iterations"], row["preset"], row["cold_ns"]),
                         ("program", "1", "try", ""))
        self.assertTrue(row["params"].startswith("cmd=prog.py-") and row["params"].endswith(";layer=pymalloc"))
        self.assertGreater(int(row["real_ns"]), 0)
        self.assertGreater(int(row["cpu_ns"]), 0)
        self.assertGreater(int(row["minor_faults"]), 300 * 256 / 2)  # 300 MiB touched: tens of thousands of faults
        self.assertEqual((meta["kind"], meta["program"]["argv"], meta["program"]["python"]),
                         ("try", tt.python_cmd("spike"), True))
        self.assertEqual(os.path.basename(row["allocator_lib"]), "libc.so.6")  # glibc, proven in the program

    def test_report_and_compare_read_try_runs(self):
        a, b = (r[0].stdout.strip() for r in (self.marked, self.end))
        p = tt.pyalloc(["report", a, "--no-charts"])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(a, "report.md")) as f:
            self.assertIn("## program", f.read())
        p = tt.pyalloc(["compare", a, b])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("only in A", p.stdout)  # two commands, two cases
        p = tt.pyalloc(["recommend", a])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Keep what you have", p.stdout)  # glibc alone: nothing else was measured


class MarkSignal(unittest.TestCase):
    """The program holds 100 MiB until a signal sent from outside, then drops it: after free is taken at the signal."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = os.path.join(self.tmp.name, "signals")
        os.mkdir(self.dir)
        self.sender = tt.Signaller(self.dir, signal.SIGUSR2)
        self.sender.start()
        self.addCleanup(self.sender.stop.set)

    def test_python_signal_on_the_main_thread(self):
        p, rows, meta = tt.try_run(self.tmp.name, ["--configs", "glibc,jemalloc", "--layers", "pymalloc",
                                                         "--rounds", "1", "--mark-signal", "USR2"],
                                   tt.python_cmd("signal", self.dir))
        self.assertEqual(len(self.sender.sent), 3)  # the warm-up and two runs
        for r in rows:
            self.assertEqual((r["status"], r["mark"]), ("ok", "signal"), r)
            held = tt.mib(r, "rss_after_free_bytes") - tt.mib(r, "rss_base_bytes")
            self.assertTrue(100 <= held <= 140, (r["config"], held))  # jemalloc keeps some dirty pages too
        self.assertIn("send SIGUSR2", p.stderr)
        self.assertEqual(meta["measuring_point"]["mark"], "signal")

    def test_c_program_signal_thread(self):
        exe = tt.compile_c(self.tmp.name)
        _, rows, meta = tt.try_run(self.tmp.name, ["--configs", "glibc", "--rounds", "1", "--mark-signal",
                                                         "SIGUSR2"], [exe, "wait", self.dir])
        (r,) = rows
        self.assertEqual((r["status"], r["mark"], r["params"].count("layer=")), ("ok", "signal", 0), r)
        held = tt.mib(r, "rss_after_free_bytes") - tt.mib(r, "rss_base_bytes")
        self.assertTrue(19 <= held <= 24, held)  # 20 MiB of 60 still held at the signal, all freed at the end
        self.assertFalse(meta["program"]["python"])


class ReleaseCycle(unittest.TestCase):
    def test_release_cycle_releases_at_every_mark(self):
        """prog.py heap: three times 60 MB of small strings below a survivor, freed, then `step`. glibc keeps the
        holes; glibc-trim's malloc_trim(0) at each step gives them back, before after free is read."""
        with tempfile.TemporaryDirectory() as out:
            p, rows, _ = tt.try_run(out, ["--configs", "glibc,glibc-trim", "--layers", "malloc", "--rounds", "1",
                                                "--mark", "step", "--timeline"], tt.python_cmd("heap"))
            tl = tt.timeline(p.stdout.strip())
        by = {r["config"]: r for r in rows}
        self.assertEqual({r["status"] for r in rows}, {"ok"})
        self.assertLess(tt.mib(by["glibc-trim"], "rss_after_free_bytes"),
                        tt.mib(by["glibc"], "rss_after_free_bytes") - 30)
        for config, releases in (("glibc", 0), ("glibc-trim", 3)):
            events = [e for e in tl if e["config"] == config and e["event"]]
            names = [e["event"] for e in events]
            self.assertEqual(names.count("step"), 3, names)
            self.assertEqual(names.count("cycle_release"), releases, names)
            for i, e in enumerate(events):
                if e["event"] == "cycle_release":  # right after a step, much smaller than at the step
                    self.assertEqual(events[i - 1]["event"], "step")
                    self.assertLess(int(e["rss_bytes"]), int(events[i - 1]["rss_bytes"]) - 30 * tt.MIB)

    def test_without_marks_release_cycle_is_skipped(self):
        with tempfile.TemporaryDirectory() as out:
            p, rows, meta = tt.try_run(out, ["--configs", "glibc,glibc-trim", "--layers", "pymalloc",
                                                   "--rounds", "1"], tt.python_cmd("steps", "0"))
        self.assertEqual([r["config"] for r in rows], ["glibc"])
        self.assertIn("glibc-trim skipped", p.stderr)
        self.assertEqual([c["name"] for c in meta["skipped_configs"]], ["glibc-trim"])


class Children(tt.TmpCase):
    """Only the process try started is measured: not a forked child, not a child it runs; an exec is measured as
    the image it becomes."""
    def peak_above_base(self, row):
        return tt.mib(row, "rss_peak_bytes") - tt.mib(row, "rss_base_bytes")

    def test_forked_child_is_not_measured(self):
        _, (row,), meta = tt.try_run(self.tmp.name, ONE, tt.python_cmd("fork"))
        self.assertEqual(row["status"], "ok", row)
        self.assertTrue(115 <= self.peak_above_base(row) < 190, self.peak_above_base(row))  # parent 120, child 200
        self.assertNotIn("child_mark", meta["warmup"]["marks"])
        p = tt.pyalloc(["try", "--out", self.tmp.name, *ONE, "--mark", "child_mark", "--", *tt.python_cmd("fork")])
        self.assertEqual(p.returncode, 2)
        self.assertIn("never reached it", p.stderr)

    def test_child_process_is_not_measured(self):
        _, (row,), meta = tt.try_run(self.tmp.name, ONE, tt.python_cmd("subprocess"))
        self.assertEqual(row["status"], "ok", row)
        self.assertLess(self.peak_above_base(row), 60)  # the child peaked at 300 MiB
        self.assertEqual(set(meta["warmup"]["marks"]), {"parent_mark", "exit", "end"})

    def test_exec_is_measured_as_its_final_image(self):
        _, (row,), meta = tt.try_run(self.tmp.name, ONE, tt.python_cmd("exec"))
        self.assertEqual(row["status"], "ok", row)
        self.assertGreater(self.peak_above_base(row), 295)
        self.assertEqual(set(meta["warmup"]["marks"]), {"after_spike", "exit", "end"})  # not before_exec


class Layers(unittest.TestCase):
    def test_python_gets_both_layers_and_c_none(self):
        with tempfile.TemporaryDirectory() as out:
            p, rows, meta = tt.try_run(out, ["--configs", "glibc", "--rounds", "1"], tt.python_cmd("steps", "1"))
            self.assertEqual(sorted(r["params"].split(";")[1] for r in rows), ["layer=malloc", "layer=pymalloc"])
            self.assertEqual(meta["layers"], ["pymalloc", "malloc"])
            table = [ln.split() for ln in p.stderr.split("medians over rounds:")[1].splitlines()[2:]]
            self.assertEqual([t[:2] for t in table], [["glibc", "pymalloc"], ["glibc", "malloc"]])
            self.assertEqual(table[0][4:6], ["1", "(baseline)"])
            exe = tt.compile_c(out)
            _, rows, meta = tt.try_run(out, ["--configs", "glibc", "--rounds", "1"], [exe])
            self.assertEqual(len(rows), 1)
            self.assertNotIn("layer=", rows[0]["params"])
            self.assertEqual(meta["layers"], ["none"])


class Shards(unittest.TestCase):
    def test_two_shards_merged_are_the_whole_try(self):
        """--shard slices a try by whole cases (a layer of the program): merged, the slices are the unsharded plan."""
        with tempfile.TemporaryDirectory() as out:
            args, cmd = ["--configs", "glibc,jemalloc", "--rounds", "2", "--seed", "11"], tt.python_cmd("steps", "1")
            key = lambda r: (r["round"], r["config"], r["params"])  # noqa: E731
            _, whole, _ = tt.try_run(os.path.join(out, "whole"), args, cmd)
            parts = [tt.try_run(os.path.join(out, f"s{i}"), args + ["--shard", f"{i}/2", "--host-label", "h"], cmd)
                     for i in (1, 2)]
            self.assertEqual({r["shard"] for _, rows, _ in parts for r in rows}, {"1/2", "2/2"})
            self.assertEqual(len({m["plan"]["hash"] for _, _, m in parts}), 1)
            self.assertEqual({r["params"].split(";")[1] for r in parts[0][1]}, {"layer=pymalloc"})
            runs = [p.stdout.strip().splitlines()[-1] for p, _, _ in parts]
            m = tt.pyalloc(["merge", *runs, "--out", os.path.join(out, "merged")])
            self.assertEqual(m.returncode, 0, m.stderr)
            with open(os.path.join(m.stdout.strip().splitlines()[-1], "results.csv"), newline="") as f:
                merged = list(csv.DictReader(f))
            self.assertEqual(sorted(map(key, merged)), sorted(map(key, whole)))
            self.assertTrue(all(r["status"] == "ok" and r["host"] == "h" for r in merged))


if __name__ == "__main__":
    unittest.main()
