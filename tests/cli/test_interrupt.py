# Interrupted runs: SIGINT, SIGTERM or SIGHUP to `pyalloc run` mid-case keeps every finished row in a CSV that parses,
# leaves no case process behind, marks meta.json incomplete; and a new run never overwrites an old one.
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from repo import PY, PYALLOC, SOURCE, clean_env
from test_faults import BENCH, rows_of

# Two cases: one of a few ms, one whose first cycle never ends (2^36 churn steps, a `timeout` row after 4 s), so
# the run is mid-case most of the time; rounds are shuffled, so either may come first.
PRESET = """set rounds=3 min_time=0.01 timeout=4
case small_churn live=2K ops=2K
case small_churn live=2K ops=64G
"""


def children_of(pid):
    """Pids whose parent is pid."""
    found = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(p))
        except (OSError, IndexError, ValueError):
            pass
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def data_rows(csv_path):
    try:
        with open(csv_path) as f:
            return max(0, sum(1 for _ in f) - 1)
    except OSError:
        return 0


@unittest.skipUnless(os.access(BENCH, os.X_OK), f"{BENCH} is not built")
class Interrupt(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pab-interrupt-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.preset = os.path.join(self.tmp, "stuck.preset")
        with open(self.preset, "w") as f:
            f.write(PRESET)
        self.out = os.path.join(self.tmp, "results")

    def start_and_wait_mid_case(self):
        """Starts a run; returns (process, pid of the running case) once one row is written and a case runs."""
        p = subprocess.Popen([PY, PYALLOC, "run", "--preset", self.preset, "--configs", "glibc", "--seed", "7",
                              "--out", self.out], env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
        self.addCleanup(lambda: p.poll() is None and os.killpg(p.pid, signal.SIGKILL))
        deadline, seen = time.monotonic() + 25, {}
        while time.monotonic() < deadline and p.poll() is None:
            csvs = [os.path.join(self.out, d, "results.csv") for d in os.listdir(self.out)] \
                if os.path.isdir(self.out) else []
            now = time.monotonic()
            kids = [k for k in children_of(p.pid) if alive(k)]
            seen = {k: seen.get(k, now) for k in kids}
            stuck = [k for k in kids if now - seen[k] > 0.5]  # the quick case never lives this long
            if stuck and any(data_rows(c) >= 1 for c in csvs):
                return p, stuck[0]
            time.sleep(0.05)
        p.kill()
        self.fail(f"the run never reached a stuck case after a finished one: {p.communicate()[1][-500:]}")

    def reap(self, kid, argv):
        """Kills a stuck case the runner left behind (this test's own binary) and removes the runner's
        scratch directory (the folder of the case's --benchmark_out) if the runner left that too."""
        try:
            with open(f"/proc/{kid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[:1] == [BENCH.encode()] and alive(kid):
                    os.kill(kid, signal.SIGKILL)
        except OSError:
            pass
        for a in argv:
            if a.startswith(b"--benchmark_out=") and os.path.basename(os.path.dirname(a[16:])).startswith(b"pab-run-"):
                shutil.rmtree(os.path.dirname(a[16:]), ignore_errors=True)

    def interrupt(self, sig, whole_group):
        p, kid = self.start_and_wait_mid_case()
        with open(f"/proc/{kid}/cmdline", "rb") as f:
            self.addCleanup(self.reap, kid, f.read().split(b"\0"))
        if whole_group:  # what Ctrl-C in a terminal does: the signal goes to the foreground process group
            os.killpg(p.pid, sig)
        else:
            os.kill(p.pid, sig)
        try:
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            self.fail(f"pyalloc run did not stop within 15 s of {sig.name}")
        self.assertEqual(p.returncode, 128 + sig, err[-500:])
        self.assertNotIn("Traceback", err)
        self.assertIn("interrupted", err.splitlines()[-1])
        time.sleep(0.1)
        self.assertFalse(alive(kid), f"the case process {kid} outlived the run")
        self.assertEqual([k for k in children_of(p.pid) if alive(k)], [])
        runs = [d for d in os.listdir(self.out) if d != "latest"]
        self.assertEqual(len(runs), 1, runs)
        run_dir = os.path.join(self.out, runs[0])
        rows = rows_of(os.path.join(run_dir, "results.csv"))  # parses: header intact, no half-written row
        self.assertGreaterEqual(len(rows), 1)
        for r in rows:
            self.assertEqual(r["run_id"], runs[0])
            self.assertIn(r["status"], ("ok", "timeout"), r["error"])
            self.assertIn("ops=2K" if r["status"] == "ok" else "ops=64G", r["params"])
        with open(os.path.join(run_dir, "meta.json")) as f:
            meta = json.load(f)
        self.assertIs(meta["complete"], False)
        self.assertEqual(sum(meta.get("statuses", {}).values()), len(rows))
        self.assertEqual(os.listdir(run_dir).count("meta.json.tmp"), 0)

    def test_sigint_to_the_runner(self):
        self.interrupt(signal.SIGINT, whole_group=False)

    def test_sigint_to_the_group(self):
        self.interrupt(signal.SIGINT, whole_group=True)

    def test_sigterm_to_the_runner(self):
        self.interrupt(signal.SIGTERM, whole_group=False)

    def test_sigterm_to_the_group(self):
        self.interrupt(signal.SIGTERM, whole_group=True)

    def test_sighup_to_the_runner(self):  # the terminal or the ssh session went away
        self.interrupt(signal.SIGHUP, whole_group=False)


@unittest.skipUnless(os.access(BENCH, os.X_OK), f"{BENCH} is not built")
class BeforeTheMatrix(unittest.TestCase):
    def test_sigterm_while_calibrating(self):
        """SIGTERM during the per-case calibration (cycles=auto, before any row): the calibrating process is killed,
        the run directory that had only been begun is removed, exit 143."""
        tmp = tempfile.mkdtemp(prefix="pab-calibrate-")
        self.addCleanup(shutil.rmtree, tmp, True)
        preset, out = os.path.join(tmp, "p.preset"), os.path.join(tmp, "results")
        with open(preset, "w") as f:
            f.write("set rounds=1 cycles=auto timeout=30\ncase small_churn live=2K ops=64G\n")
        p = subprocess.Popen([PY, PYALLOC, "run", "--preset", preset, "--configs", "glibc", "--no-noise-check",
                              "--out", out], env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
        self.addCleanup(lambda: p.poll() is None and os.killpg(p.pid, signal.SIGKILL))
        deadline, kid = time.monotonic() + 20, None
        while time.monotonic() < deadline and kid is None:
            kid = next((k for k in children_of(p.pid) if alive(k)), None)
            time.sleep(0.05)
        self.assertIsNotNone(kid, "the calibration never started")
        time.sleep(0.3)
        os.kill(p.pid, signal.SIGTERM)
        _, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, 143, err[-500:])
        self.assertNotIn("Traceback", err)
        time.sleep(0.1)
        self.assertFalse(alive(kid), "the calibrating process outlived the run")
        self.assertEqual([d for d in os.listdir(out) if d != "latest"] if os.path.isdir(out) else [], [])


@unittest.skipUnless(os.access(BENCH, os.X_OK), f"{BENCH} is not built")
class NeverOverwrite(unittest.TestCase):
    def test_two_runs_at_once_get_two_directories(self):
        tmp = tempfile.mkdtemp(prefix="pab-twice-")
        self.addCleanup(shutil.rmtree, tmp, True)
        out = os.path.join(tmp, "results")
        argv = [PY, PYALLOC, "run", "--preset", "quick", "--configs", "glibc", "--workloads", "small_churn",
                "--param", "live=1K", "--param", "ops=1K", "--out", out]
        procs = [subprocess.Popen(argv + ["--seed", str(s)], env=clean_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for s in (1, 2)]
        dirs = []
        for p in procs:
            stdout, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err[-500:])
            dirs.append(stdout.strip().splitlines()[-1])
        self.assertEqual(len(set(dirs)), 2, dirs)
        for d, seed in zip(dirs, (1, 2)):
            rows = rows_of(os.path.join(d, "results.csv"))
            self.assertEqual({(r["run_id"], r["seed"]) for r in rows}, {(os.path.basename(d), seed)})
        self.assertIn(os.path.realpath(os.path.join(out, "latest")), [os.path.realpath(d) for d in dirs])

    def test_same_second_names_differ(self):
        sys.path.insert(0, os.path.join(SOURCE, "scripts"))
        from pab import rundir
        tmp = tempfile.mkdtemp(prefix="pab-twice-")
        self.addCleanup(shutil.rmtree, tmp, True)
        made = [rundir.make(tmp)[0] for _ in range(3)]
        self.assertEqual(len(set(made)), 3, made)


if __name__ == "__main__":
    unittest.main()
