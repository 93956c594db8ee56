# Faults inside a case: a test allocator (tests/faults/faulty_alloc.c, built here) aborts, segfaults, hangs, SIGKILLs
# itself, returns NULL or hands out overlapping blocks; each must end as the right row while every other case is `ok`.
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from repo import BUILD, PY, SOURCE, clean_env, pyalloc

BENCH = os.path.join(BUILD, "bench", "pyalloc-bench")
TINY = ["live=2K", "ops=2K"]          # a case of a few milliseconds
AFTER = "3000"                        # malloc calls before the fault: past start-up (~200), inside the first cycle
FAULTS = {  # PAB_FAULT -> (status, what the error must say)
    "abort": ("failed", "SIGABRT"),
    "segv": ("failed", "SIGSEGV"),
    "kill": ("oom", "SIGKILL"),
    "hang": ("timeout", "timed out"),
    "overlap": ("failed", "checksum"),
    "null": ("failed", "ENOMEM"),
}


def build_faulty(tmp):
    """Compiles the faulty allocator into tmp and returns its path (no CMake change needed)."""
    so = os.path.join(tmp, "libfaulty.so")
    src = os.path.join(SOURCE, "tests", "faults", "faulty_alloc.c")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so, src, "-ldl"], check=True)
    return so


def limit_memory():  # preexec: a child that ignored the guard gets ENOMEM, never the OOM killer
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def bench(args, env=None, timeout=20):
    return subprocess.run([BENCH] + args, env=env or clean_env(), capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit_memory)


def case_args(json_out, workload="small_churn", params=TINY, expect="other"):
    return ([f"--pab_workload={workload}", f"--pab_expect={expect}", "--benchmark_min_time=0.01",
             f"--benchmark_out={json_out}", "--benchmark_out_format=json"] + [f"--pab_param={p}" for p in params])


def first_benchmark(path):
    with open(path) as f:
        return json.load(f)["benchmarks"][0]


def required_params(w, tmp):
    """What a workload cannot run without: `replay` needs a trace, recorded into tmp from a small Python program."""
    if not any(p["name"] == "trace" for p in w["params"]):
        return []
    trace = os.path.join(tmp, "small.pabt")
    if not os.path.exists(trace):
        p = pyalloc(["record", "--out", trace, "--", PY, "-c", "x = [str(i) * 50 for i in range(20000)]"])
        if p.returncode != 0:
            raise unittest.SkipTest(f"cannot record a trace for {w['name']}: {p.stderr.strip()[-200:]}")
    return [f"trace={trace}"]


def preloading(so):
    """Pids of live processes whose environment preloads so (a case the runner left behind)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if b"LD_PRELOAD=" + so.encode() in f.read().split(b"\0"):
                    found.append(int(pid))
        except OSError:
            pass
    return found


def rows_of(csv_path):
    sys.path.insert(0, os.path.join(SOURCE, "scripts"))
    from pab import schema
    return schema.read_rows(csv_path)


class WithFaulty(unittest.TestCase):
    """For the whole class: cls.tmp, a temporary directory removed at the end, holding cls.so, the faulty allocator."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pab-faults-")
        cls.so = build_faulty(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


@unittest.skipUnless(os.access(BENCH, os.X_OK), f"{BENCH} is not built")
class BinaryFaults(WithFaulty):
    """The binary under the faulty allocator: the exit status or the JSON says what happened."""

    def faulty(self, fault, after=AFTER):
        return clean_env(LD_PRELOAD=self.so, PAB_FAULT=fault, PAB_FAULT_AFTER=after)

    def test_wrapper_is_identified_as_other(self):
        p = bench(["--pab_identify", "--pab_expect=other"], env=self.faulty("count"))
        self.assertEqual(p.returncode, 0, p.stderr)
        info = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual((info["allocator"], info["lib"], info["verified"]), ("other", self.so, False))

    def test_wrapper_is_not_glibc(self):
        p = bench(["--pab_identify", "--pab_expect=glibc"], env=self.faulty("count"))
        self.assertEqual(p.returncode, 3)
        self.assertIn("libfaulty.so", p.stderr)

    def test_passthrough_runs_clean(self):
        out = os.path.join(self.tmp, "pass.json")
        p = bench(case_args(out), env=self.faulty("count"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(first_benchmark(out).get("error_occurred"), first_benchmark(out))

    def test_fault_fires_after_start_up(self):
        # identification and validation must run untouched by the fault: they make far fewer calls than AFTER
        p = bench(["--pab_identify", "--pab_expect=other"], env=self.faulty("abort"))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_crashes_are_signals(self):
        for fault, sig in (("abort", signal.SIGABRT), ("segv", signal.SIGSEGV), ("kill", signal.SIGKILL)):
            with self.subTest(fault=fault):
                p = bench(case_args(os.path.join(self.tmp, f"{fault}.json")), env=self.faulty(fault))
                self.assertEqual(p.returncode, -sig, p.stderr[-300:])

    def test_hang_hangs(self):
        with self.assertRaises(subprocess.TimeoutExpired):
            bench(case_args(os.path.join(self.tmp, "hang.json")), env=self.faulty("hang"), timeout=2)

    def test_overlap_caught_by_checksum(self):
        out = os.path.join(self.tmp, "overlap.json")
        p = bench(case_args(out), env=self.faulty("overlap"))
        self.assertEqual(p.returncode, 0, p.stderr[-300:])
        b = first_benchmark(out)
        self.assertTrue(b.get("error_occurred"), b)
        self.assertIn("checksum mismatch", b["error_message"])

    def test_null_is_enomem(self):
        out = os.path.join(self.tmp, "null.json")
        p = bench(case_args(out), env=self.faulty("null"))
        self.assertEqual(p.returncode, 0, p.stderr[-300:])
        self.assertTrue(first_benchmark(out)["error_message"].startswith("ENOMEM:"), first_benchmark(out))


@unittest.skipUnless(os.access(BENCH, os.X_OK), f"{BENCH} is not built")
class MemoryGuard(unittest.TestCase):
    """No OOM killer: with a faked MemAvailable every workload refuses before allocating, as a `skipped` case."""

    def test_every_workload_is_skipped_when_nothing_is_available(self):
        listed = json.loads(bench(["--pab_list"]).stdout)["workloads"]
        self.assertTrue(listed)
        tmp = tempfile.mkdtemp(prefix="pab-guard-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for w in listed:  # 64M is below the guard's reserve: any case that touches memory must refuse
            with self.subTest(workload=w["name"]):
                out = os.path.join(tmp, w["name"] + ".json")
                p = bench(case_args(out, w["name"], required_params(w, tmp), expect="glibc"),
                          env=clean_env(PAB_MEM_AVAILABLE="64M"))
                self.assertEqual(p.returncode, 0, p.stderr[-300:])
                msg = first_benchmark(out).get("error_message", "")
                self.assertTrue(msg.startswith("skipped:"), f"{w['name']} ran without asking the guard: {msg!r}")
                self.assertIn("MemAvailable is 64.0 MiB", msg)
                self.assertIn("needs", msg)

    def test_large_live_set_is_skipped_not_run(self):
        tmp = tempfile.mkdtemp(prefix="pab-guard-")
        self.addCleanup(shutil.rmtree, tmp, True)
        out = os.path.join(tmp, "big.json")
        p = bench(case_args(out, params=["live=1G"], expect="glibc"), env=clean_env(PAB_MEM_AVAILABLE="1G"))
        self.assertEqual(p.returncode, 0, p.stderr[-300:])
        msg = first_benchmark(out)["error_message"]
        self.assertRegex(msg, r"^skipped: small_churn .*needs [0-9.]+ GiB but MemAvailable is 1\.0 GiB")


@unittest.skipUnless(os.access(BENCH, os.X_OK), f"{BENCH} is not built")
class RunGuard(unittest.TestCase):
    """`pyalloc run` of every workload on a machine with 64 MiB available: every row `skipped`, none run."""

    def test_every_workload_becomes_a_skipped_row(self):
        tmp = tempfile.mkdtemp(prefix="pab-runguard-")
        self.addCleanup(shutil.rmtree, tmp, True)
        listed = json.loads(bench(["--pab_list"]).stdout)["workloads"]
        argv = ["run", "--preset", "quick", "--configs", "glibc", "--workloads", ",".join(w["name"] for w in listed),
                "--out", os.path.join(tmp, "results")]
        for kv in dict.fromkeys(kv for w in listed for kv in required_params(w, tmp)):
            argv += ["--param", kv]
        p = pyalloc(argv, env=clean_env(PAB_MEM_AVAILABLE="64M"))
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        rows = rows_of(os.path.join(p.stdout.strip().splitlines()[-1], "results.csv"))
        self.assertEqual({r["workload"] for r in rows}, {w["name"] for w in listed})
        for r in rows:
            self.assertEqual(r["status"], "skipped", f"{r['workload']}: {r['error']}")
            self.assertIn("MemAvailable is 64.0 MiB", r["error"])


@unittest.skipUnless(os.access(BENCH, os.X_OK), f"{BENCH} is not built")
class RunFaults(WithFaulty):
    """`pyalloc run` over a matrix where each faulty configuration fails its own way and glibc still runs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        table, preset = os.path.join(cls.tmp, "faulty.tsv"), os.path.join(cls.tmp, "one.preset")
        with open(table, "w") as f:
            f.write("name\tallocator\tlibrary\trelease\tenv\tmatrix\tdescription\n")
            for fault in FAULTS:
                f.write(f"fault-{fault}\tother\t{cls.so}\tnone\tPAB_FAULT={fault} PAB_FAULT_AFTER={AFTER}"
                        f"\topt-in\tthe faulty allocator: {fault}\n")
            f.write("guarded\tglibc\t-\tnone\tPAB_MEM_AVAILABLE=64M\topt-in\tglibc on a machine with 64 MiB free\n")
        with open(preset, "w") as f:
            f.write("set rounds=1 min_time=0.01 timeout=3\ncase small_churn live=2K ops=2K\n")
        names = ",".join(["glibc"] + [f"fault-{f}" for f in FAULTS] + ["guarded", "glibc-trim"])
        cls.out = os.path.join(cls.tmp, "results")
        cls.proc = pyalloc(["run", "--preset", preset, "--configs-file", table, "--configs", names, "--out", cls.out],
                           timeout=120)
        runs = [d for d in os.listdir(cls.out) if os.path.isdir(os.path.join(cls.out, d)) and d != "latest"] \
            if os.path.isdir(cls.out) else []
        cls.run_dir = os.path.join(cls.out, runs[0]) if len(runs) == 1 else None

    def rows(self):
        self.assertIsNotNone(self.run_dir, f"no run directory: {self.proc.stderr[-500:]}")
        rows = rows_of(os.path.join(self.run_dir, "results.csv"))
        self.assertEqual(len(rows), len({r["config"] for r in rows}), "one case, one round: one row per config")
        return {r["config"]: r for r in rows}

    def test_run_survives_and_has_every_row(self):
        self.assertNotIn("Traceback", self.proc.stderr)
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr[-500:])
        self.assertEqual(set(self.rows()), {"glibc", "glibc-trim", "guarded"} | {f"fault-{f}" for f in FAULTS})

    def test_guard_skips_instead_of_running(self):
        r = self.rows()["guarded"]
        self.assertEqual(r["status"], "skipped", r["error"])
        self.assertRegex(r["error"], r"^skipped: small_churn .*needs .* but MemAvailable is 64\.0 MiB")
        self.assertIsNone(r["real_ns"])

    def test_each_fault_is_its_own_row(self):
        rows = self.rows()
        for fault, (status, says) in FAULTS.items():
            with self.subTest(fault=fault):
                r = rows[f"fault-{fault}"]
                self.assertEqual(r["status"], status, r["error"])
                self.assertIn(says, r["error"])
                self.assertNotIn("\n", r["error"])
                self.assertIsNone(r["real_ns"], "a failed case must carry no timing")

    def test_other_cases_are_ok(self):
        rows = self.rows()
        for name in ("glibc", "glibc-trim"):
            self.assertEqual(rows[name]["status"], "ok", rows[name]["error"])
            self.assertGreater(rows[name]["real_ns"], 0)

    def test_no_child_left_behind(self):
        self.assertEqual(preloading(self.so), [], "a case process outlived the run")

    def test_meta_says_complete(self):
        self.rows()
        with open(os.path.join(self.run_dir, "meta.json")) as f:
            self.assertIs(json.load(f)["complete"], True)


if __name__ == "__main__":
    unittest.main()
