# Bad input, on the binary and on every CLI command: one clear line naming the problem, exit status 2 (3 for an
# allocator mismatch), no traceback, and nothing written — not even an empty results directory.
import os
import shutil
import subprocess
import tempfile
import unittest

from repo import SOURCE, pyalloc
from test_faults import BENCH, WithFaulty, bench

SIZES = ("25X", "-1", "0", "1e30", "18446744073709551616", "1.5K", "")  # bad values of a size parameter
HEADER = "name\tallocator\tlibrary\trelease\tenv\tmatrix\tdescription\n"


def stderr_lines(text):
    """stderr without libbenchmark's build-type banner."""
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("***WARNING***")]


# --- the binary: (name, argv, exit status, text the one line must hold) ----------------------------------------
V = ["--pab_workload=small_churn", "--pab_validate"]
BINARY_CASES = [(f"live={v}", V + [f"--pab_param=live={v}"], 2, f"live={v}") for v in SIZES] + [
    ("unknown workload", ["--pab_workload=nosuch", "--pab_validate"], 2, "nosuch"),
    ("empty workload", ["--pab_workload=", "--pab_validate"], 2, "workload"),
    ("no workload", ["--pab_validate"], 2, "--pab_workload"),
    ("enum value", V + ["--pab_param=layer=weird"], 2, "layer=weird"),
    ("int above max", V + ["--pab_param=young=101"], 2, "young=101"),
    ("param without =", V + ["--pab_param=live"], 2, "live"),
    ("unknown param", V + ["--pab_param=nosuch=1"], 2, "nosuch"),
    ("unknown allocator", V + ["--pab_expect=nosuch"], 2, "nosuch"),
    ("release policy", V + ["--pab_release=sometimes"], 2, "sometimes"),
    ("seed not a number", V + ["--pab_seed=abc"], 2, "abc"),
    ("negative seed", V + ["--pab_seed=-5"], 2, "-5"),
    ("unknown --pab flag", V + ["--pab_bogus=1"], 2, "--pab_bogus"),
    ("unknown --benchmark flag", V + ["--benchmark_bogus=1"], 2, "--benchmark_bogus"),
    ("timeline period not a number", V + ["--pab_timeline_ms=abc"], 2, "abc"),
    ("negative timeline period", V + ["--pab_timeline_ms=-1"], 2, "-1"),  # as unsigned: a 49-day sleep, a hang
    ("allocator mismatch", V + ["--pab_expect=jemalloc"], 3, "jemalloc"),
    ("cycles 0", V + ["--pab_cycles=0"], 2, "--pab_cycles"),
    ("warmup not a number", V + ["--pab_warmup=some"], 2, "--pab_warmup"),
    ("a bad libbenchmark flag alone", ["--benchmark_format=yaml"], 2, "yaml"),
] + [(f"libbenchmark's {flag}", V + [f"{flag}={v}"], 2, flag) for flag, v in (  # libbenchmark itself would exit 0
    ("--benchmark_format", "yaml"), ("--benchmark_out_format", "xml"), ("--benchmark_time_unit", "h"),
    ("--benchmark_color", "maybe"), ("--benchmark_min_time", "0.5s"), ("--benchmark_repetitions", "x"),
    ("--benchmark_counters_tabular", "perhaps"), ("--benchmark_context", "novalue"), ("--v", "loud"))]


@unittest.skipUnless(os.access(BENCH, os.X_OK), f"{BENCH} is not built")
class BinaryBadInput(unittest.TestCase):
    def test_each_case_is_one_line_and_an_exit_status(self):
        for name, argv, status, says in BINARY_CASES:
            with self.subTest(name):
                try:
                    p = bench(argv, timeout=10)
                except subprocess.TimeoutExpired:
                    self.fail(f"{name}: the binary hung")
                lines = stderr_lines(p.stderr)
                self.assertEqual(p.returncode, status, p.stderr[-300:])
                self.assertEqual(len(lines), 1, lines)
                self.assertIn(says, lines[0])


# --- the CLI: `pyalloc run` ------------------------------------------------------------------------------------
RUN = ["run", "--preset", "quick", "--configs", "glibc"]
RUN_CASES = [(f"--param live={v}", RUN + ["--param", f"live={v}"], f"live={v}") for v in SIZES] + [
    ("unknown configuration", ["run", "--preset", "quick", "--configs", "nosuch"], "nosuch"),
    ("unknown workload", RUN + ["--workloads", "nosuch"], "nosuch"),
    ("no workload at all", RUN + ["--workloads", ","], "--workloads: empty list"),
    ("empty --workloads", RUN + ["--workloads", ""], "--workloads: empty list"),
    ("empty --configs", ["run", "--preset", "quick", "--configs", ""], "--configs: empty list"),
    ("empty item in --configs", ["run", "--preset", "quick", "--configs", "glibc,,jemalloc"], "empty item"),
    ("unknown preset", ["run", "--preset", "nosuch"], "nosuch"),
    ("missing preset file", ["run", "--preset", "/nonexistent/x.preset"], "/nonexistent/x.preset"),
    ("param without =", RUN + ["--param", "live"], "live"),
    ("param no workload has", RUN + ["--param", "nosuch=1"], "nosuch"),
    ("enum value", RUN + ["--param", "layer=weird"], "layer=weird"),
    ("conflicting --param values", RUN + ["--param", "live=1K", "--param", "live=2K"], "live"),
    ("rounds 0", RUN + ["--rounds", "0"], "--rounds"),
    ("rounds -1", RUN + ["--rounds", "-1"], "--rounds"),
    ("rounds not a number", RUN + ["--rounds", "abc"], "--rounds"),
    ("empty --rounds", RUN + ["--rounds", ""], "--rounds"),
    ("target-ci 0", RUN + ["--rounds", "auto", "--target-ci", "0%"], "--target-ci"),
    ("target-ci 150 %", RUN + ["--rounds", "auto", "--target-ci", "150%"], "--target-ci"),
    ("target-ci not a number", RUN + ["--rounds", "auto", "--target-ci", "tight"], "--target-ci"),
    ("budget 0", RUN + ["--rounds", "auto", "--budget", "0"], "--budget"),
    ("budget 5X", RUN + ["--rounds", "auto", "--budget", "5X"], "--budget"),
    ("budget without auto rounds", RUN + ["--rounds", "3", "--budget", "1m"], "--budget applies to --rounds auto"),
    ("cycles 0", RUN + ["--cycles", "0"], "--cycles"),
    ("cycles not a number", RUN + ["--cycles", "many"], "--cycles"),
    ("warmup -1", RUN + ["--warmup", "-1"], "--warmup"),
    ("more cycles than the binary times", RUN + ["--cycles", "100001"], "--pab_cycles takes 1 to 100000"),
    ("more warm-up than the binary runs", RUN + ["--warmup", "1001"], "--pab_warmup takes 0 to 1000"),
    ("seed not a number", RUN + ["--seed", "abc"], "--seed"),
    ("negative seed", RUN + ["--seed", "-3"], "--seed"),
    ("timeout 0", RUN + ["--timeout", "0"], "--timeout"),
    ("timeout not a duration", RUN + ["--timeout", "abc"], "--timeout"),
    ("unknown flag", RUN + ["--bogus"], "--bogus"),
    ("missing configs file", RUN + ["--configs-file", "/nonexistent/c.tsv"], "/nonexistent/c.tsv"),
]
# configs files written by the test: (name, file text, what the line must hold); {so} is a real shared object
TABLES = [
    ("missing column", HEADER + "mine\tglibc\t-\tnone\t-\topt-in\n", "columns"),
    ("bad header", "name allocator\nmine\tglibc\t-\tnone\t-\topt-in\tx\n", "header"),
    ("unknown allocator kind", HEADER + "mine\tweird\t-\tnone\t-\topt-in\tx\n", "weird"),
    ("env item not NAME=VALUE", HEADER + "mine\tglibc\t-\tnone\tNOEQUALS\topt-in\tx\n", "NOEQUALS"),
    ("library that does not exist", HEADER + "mine\tjemalloc\t/nonexistent/lib.so\tnone\t-\topt-in\tx\n",
     "/nonexistent/lib.so"),
    ("library that will not load", HEADER + "mine\tjemalloc\t{notelf}\tnone\t-\topt-in\tx\n", "mine"),
    ("library that is another allocator", HEADER + "mine\tjemalloc\t{so}\tnone\t-\topt-in\tx\n", "mine"),
    ("not text", b"\x00\xff\xfe\x80name\n", "c.tsv"),
]


@unittest.skipUnless(os.access(BENCH, os.X_OK), f"{BENCH} is not built")
class RunBadInput(WithFaulty):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.notelf = os.path.join(cls.tmp, "notelf.so")
        with open(cls.notelf, "w") as f:
            f.write("this is not a shared object\n")

    def refused(self, argv, says, cwd=None):
        """Runs pyalloc argv with a fresh --out: exit 2, one line naming the problem, nothing created."""
        out = os.path.join(self.tmp, "results")
        shutil.rmtree(out, ignore_errors=True)
        p = pyalloc(argv + (["--out", out] if argv[:1] == ["run"] else []), cwd=cwd)
        lines = stderr_lines(p.stderr)
        self.assertNotIn("Traceback", p.stderr)
        self.assertEqual(p.returncode, 2, p.stderr[-400:])
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("pyalloc: error: "), lines[0])
        self.assertIn(says, lines[0])
        self.assertEqual(p.stdout, "")
        self.assertFalse(os.path.exists(out), "a refused run created its results directory")

    def test_run_arguments(self):
        for name, argv, says in RUN_CASES:
            with self.subTest(name):
                self.refused(argv, says)

    def test_configs_files(self):
        for name, text, says in TABLES:
            with self.subTest(name):
                path = os.path.join(self.tmp, "c.tsv")
                if isinstance(text, str):
                    text = text.format(so=self.so, notelf=self.notelf).encode()
                with open(path, "wb") as f:
                    f.write(text)
                self.refused(["run", "--preset", "quick", "--configs-file", path, "--configs", "mine"], says)
                if not name.startswith("library"):  # `allocators` lists bad libraries
                    self.refused(["allocators", "--configs-file", path, "--configs", "mine"], says)

    def test_preset_files(self):
        cases = [("set rounds=x\n", "rounds"), ("bogus line\n", "p.preset:1"), ("case nosuch a=1\n", "nosuch"),
                 ("case small_churn live=25X\n", "25X"), ("set nosuch=1\n", "nosuch"), (b"\xff\xfe\x00case\n", "p.preset")]
        for text, says in cases:
            with self.subTest(text):
                path = os.path.join(self.tmp, "p.preset")
                with open(path, "wb") as f:
                    f.write(text.encode() if isinstance(text, str) else text)
                self.refused(["run", "--preset", path, "--configs", "glibc"], says)

    def test_results_directory_that_cannot_be_made(self):
        blocker = os.path.join(self.tmp, "a-file")
        open(blocker, "w").close()
        for out in (blocker, os.path.join(blocker, "sub")):
            with self.subTest(out):
                p = pyalloc(RUN + ["--param", "live=1K", "--param", "ops=1K", "--out", out])
                lines = stderr_lines(p.stderr)
                self.assertNotIn("Traceback", p.stderr)
                self.assertEqual(p.returncode, 2, p.stderr[-400:])
                self.assertEqual(len(lines), 1, lines)
                self.assertIn(blocker, lines[0])

    def test_no_command(self):
        self.refused([], "COMMAND")
        self.refused(["nosuchcommand"], "nosuchcommand")


# --- the commands that read results: report, compare, recommend, fidelity -------------------------------------
READERS = {"report": 1, "compare": 2, "recommend": 1, "fidelity": 1}


class ReaderBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pab-readers-")
        import sys
        sys.path.insert(0, os.path.join(SOURCE, "scripts"))
        from pab import schema
        good = os.path.join(cls.tmp, "good.csv")
        w = schema.Writer(good)
        for n in range(3):
            w.write({c: "1" for c in schema.COLUMNS} | {"status": "ok", "error": "", "config": "glibc",
                                                            "params": "live=1K", "ops_per_s": "1.5"})
        w.close()
        with open(good) as f:
            text = f.read()
        cls.inputs = {  # name -> (path, what the line must hold)
            "missing directory": ("/nonexistent/run", "/nonexistent/run"),
            "directory without results": (cls.mkdir("empty-run"), "empty-run"),
            "CSV that is not ours": (cls.write("notours.csv", "a,b,c\n1,2,3\n"), "notours.csv"),
            "empty file": (cls.write("empty.csv", ""), "empty.csv"),
            "binary file": (cls.write("binary.csv", b"\x00\xff\xfe\x80"), "binary.csv"),
            "truncated CSV": (cls.write("trunc.csv", text[: text.rindex("\n", 0, len(text) - 1) + 40]), "trunc.csv"),
            "status not ours": (cls.write("status.csv", text.replace(",ok,", ",fine,")), "status.csv"),
            "number not a number": (cls.write("nan.csv", text.replace(",1.5,", ",fast,", 1)), "nan.csv"),
        }
        cls.good = good

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def write(cls, name, data):
        path = os.path.join(cls.tmp, name)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    @classmethod
    def mkdir(cls, name):
        path = os.path.join(cls.tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    def test_bad_results(self):
        for cmd in READERS:
            for name, (path, says) in self.inputs.items():
                with self.subTest(command=cmd, input=name):
                    argv = [cmd, path] if READERS[cmd] == 1 else [cmd, self.good, path]
                    before = set(os.listdir(self.tmp))
                    p = pyalloc(argv, cwd=self.tmp)
                    lines = stderr_lines(p.stderr)
                    self.assertNotIn("Traceback", p.stderr)
                    self.assertEqual(p.returncode, 2, p.stderr[-400:])
                    self.assertEqual(len(lines), 1, lines)
                    self.assertIn(says, lines[0])
                    self.assertEqual(set(os.listdir(self.tmp)), before, "a refused command wrote files")


if __name__ == "__main__":
    unittest.main()
