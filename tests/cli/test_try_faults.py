# `pyalloc try` when things go wrong: a run that exits non-zero, crashes, hangs, finds the wrong allocator, stops short
# of the measuring point or cannot be entered by the probe (static, setuid) is a row with its status and the others
# are ok; bad input is one line, exit 2, and nothing written; a command that fails its warm-up is one line, exit 1.
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import trytool as tt

TWO = ["--configs", "glibc", "--rounds", "1"]  # a Python command: both layers, so one ok row and one faulty


class FailedRuns(tt.TmpCase):
    def rows_by_layer(self, args, cmd):
        _, rows, _ = tt.try_run(self.tmp.name, args, cmd)
        return {r["params"].rsplit("layer=", 1)[-1]: r for r in rows}

    def test_exit_crash_hang_are_rows_with_their_status(self):
        for how, status, error in (("exit", "failed", "exit status 1: failing on purpose"),
                                   ("crash", "failed", "killed by SIGSEGV"),
                                   ("hang", "timeout", "timed out after 2 s")):
            rows = self.rows_by_layer(TWO + ["--timeout", "2"], tt.python_cmd("misbehave", how))
            self.assertEqual(rows["pymalloc"]["status"], "ok", rows)
            self.assertEqual(rows["malloc"]["status"], status, rows["malloc"])
            self.assertIn(error, rows["malloc"]["error"])

    def test_wrong_allocator_is_a_failed_row(self):
        """prog.py drop_preload re-execs itself without the configuration's library: jemalloc is not what serves it.
        (glibc, today's baseline, is added to the configurations named.)"""
        p, rows, _ = tt.try_run(self.tmp.name, ["--configs", "jemalloc", "--layers", "pymalloc", "--rounds", "1"],
                                tt.python_cmd("drop_preload"))
        self.assertIn("glibc added", p.stderr)
        by = {r["config"]: r for r in rows}
        self.assertEqual(by["glibc"]["status"], "ok")
        self.assertEqual(by["jemalloc"]["status"], "failed")
        self.assertIn("wrong allocator: expected jemalloc, but malloc is served by glibc", by["jemalloc"]["error"])

    def test_a_run_short_of_the_measuring_point_fails(self):
        rows = self.rows_by_layer(TWO + ["--mark", "step"], tt.python_cmd("steps", "3", "2"))  # 2 under malloc
        self.assertEqual((rows["pymalloc"]["status"], rows["pymalloc"]["mark"]), ("ok", "step"))
        self.assertEqual(rows["malloc"]["status"], "failed")
        self.assertIn("occurrence 3 of mark `step`: this run made it 2 time(s)", rows["malloc"]["error"])
        rows = self.rows_by_layer(TWO + ["--mark", "step"], tt.python_cmd("steps", "3", "4"))
        self.assertIn("occurred 4 times, the warm-up run 3", rows["malloc"]["error"])

    def test_static_program_cannot_be_entered(self):
        static = tt.compile_c(self.tmp.name, "cprog-static", "-static")
        _, (row,), _ = tt.try_run(self.tmp.name, TWO, [static])
        self.assertEqual(row["status"], "failed")
        self.assertIn("the probe could not enter", row["error"])
        self.assertIn("statically linked", row["error"])

    @unittest.skipUnless(os.geteuid() == 0, "a setuid program another user owns needs root to make")
    def test_setuid_program_cannot_be_entered(self):
        d = tempfile.mkdtemp(dir=self.tmp.name)
        os.chmod(d, 0o755)
        exe = tt.compile_c(d)
        shutil.chown(exe, "nobody")
        os.chmod(exe, 0o4755)
        _, (row,), _ = tt.try_run(self.tmp.name, TWO, [exe])
        self.assertEqual(row["status"], "failed")
        self.assertIn("setuid", row["error"])
        self.assertIn("the probe could not enter", row["error"])


class Interrupted(unittest.TestCase):
    def test_ctrl_c_keeps_finished_rows_and_leaves_no_process(self):
        """SIGINT while a run is going: exit 130, the finished rows kept, meta.json incomplete, the program killed."""
        with tempfile.TemporaryDirectory() as out:
            cmd = tt.python_cmd("misbehave", "hang")  # hangs under PYTHONMALLOC=malloc, returns at once under pymalloc
            p = subprocess.Popen([tt.PY, tt.PYALLOC, "try", "--out", out, "--configs", "glibc", "--rounds", "4",
                                  "--", *cmd], env=tt.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)
            self.addCleanup(lambda: p.poll() is None and os.killpg(p.pid, signal.SIGKILL))
            end, hung = time.monotonic() + 60, None
            while time.monotonic() < end and hung is None:
                time.sleep(0.05)
                hung = next((pid for pid in map(int, filter(str.isdigit, os.listdir("/proc"))) if _is(pid, cmd)
                             and _parent(pid) == p.pid and "PYTHONMALLOC=malloc" in _environ(pid)), None)
            self.assertIsNotNone(hung, "the hanging run never started")
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 130, err)
            run = os.path.join(out, os.readlink(os.path.join(out, "latest")))
            with open(os.path.join(run, "meta.json")) as f:
                meta = json.load(f)
            self.assertFalse(meta["complete"])
            self.assertEqual(meta["interrupted"], "SIGINT")
            with open(os.path.join(run, "results.csv")) as f:
                self.assertEqual(len(f.readlines()) - 1, sum(meta["statuses"].values()))
            time.sleep(0.2)
            self.assertFalse(_is(hung, cmd), "the interrupted program is still running")


def _is(pid, cmd):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[:-1] == [c.encode() for c in cmd]
    except OSError:
        return False


def _parent(pid):
    """Its parent's pid: a hung program of an earlier test, still being reaped, is not this run's."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _environ(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


BAD = [  # (what, extra environment, args, what the one line must say)
    ("no command", {}, ["try"], "give the command to try after --"),
    ("empty command", {}, ["try", "--"], "give the command to try after --"),
    ("LD_PRELOAD set", {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}, ["try", "--", "true"],
     "LD_PRELOAD is set in your environment"),
    ("PYTHONMALLOC set", {"PYTHONMALLOC": "malloc"}, ["try", "--", "true"], "PYTHONMALLOC is set"),
    ("a glibc knob set", {"MALLOC_ARENA_MAX": "2"}, ["try", "--", "true"], "MALLOC_ARENA_MAX is set"),
    ("empty --layers", {}, ["try", "--layers", "", "--", "true"], "--layers: empty list"),
    ("empty item in --layers", {}, ["try", "--layers", "malloc,", "--", "true"], "an empty item"),
    ("unknown layer", {}, ["try", "--layers", "jemalloc", "--", "true"], "unknown layer"),
    ("empty --configs", {}, ["try", "--configs", "", "--", "true"], "--configs: empty list"),
    ("uncatchable signal", {}, ["try", "--mark-signal", "KILL", "--", "true"], "SIGKILL cannot be caught"),
    ("SIGSTOP by number", {}, ["try", "--mark-signal", "19", "--", "true"], "SIGSTOP cannot be caught"),
    ("unknown signal", {}, ["try", "--mark-signal", "USR9", "--", "true"], "not a signal name"),
    ("--mark and --mark-signal", {}, ["try", "--mark", "a", "--mark-signal", "USR2", "--", "true"], "not both"),
    ("zero rounds", {}, ["try", "--rounds", "0", "--", "true"], "--rounds 0"),
    ("bad timeout", {}, ["try", "--timeout", "5X", "--", "true"], "--timeout"),
    ("missing program", {}, ["try", "--", "/nonexistent/prog"], "cannot start /nonexistent/prog"),
    ("a mark never reached", {}, ["try", "--mark", "nowhere", "--", "true"], "never reached it"),
]


class BadInput(unittest.TestCase):
    def test_each_is_one_line_exit_2_and_nothing_written(self):
        for what, extra, args, says in BAD:
            with self.subTest(what), tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "results")
                p = tt.pyalloc(args[:1] + ["--out", out] + args[1:], timeout=60, **extra)
                self.assertEqual(p.returncode, 2, p.stderr)
                errors = [ln for ln in p.stderr.splitlines() if ln.startswith("pyalloc: error:")]
                self.assertEqual(len(errors), 1, p.stderr)
                self.assertIn(says, errors[0])
                self.assertNotIn("Traceback", p.stderr)
                self.assertFalse(os.path.exists(out))

    def test_a_command_that_fails_its_warm_up_is_exit_1(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "results")
            p = tt.pyalloc(["try", "--out", out, "--", "false"])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("the warm-up run of `false` exited with status 1", p.stderr)
            self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
