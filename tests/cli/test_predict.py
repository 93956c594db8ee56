# Replay that predicts the program (docs/design.md §11), on synthetic runs with known answers: the projection's
# arithmetic, recommend on replay rows with and without the program's time (--program), CPython twins leading the
# C model, fidelity's replay-against-try table, and the evidence line naming the trace, layer and mark (one tiny
# recording).
import json
import os
import re
import sys
import unittest

import synth
import trytool as tt

sys.path.insert(0, os.path.join(synth.SOURCE, "scripts"))
from pab import projection  # noqa: E402

S = 1e9
TRACE = "/nonexistent/app.pabt"  # the synthetic runs' trace: not readable, so how it was recorded is unknown
REPLAY = f"mark=after_spike;thread_mode=recorded;touch=full;trace={TRACE};window=4096"
COMMAND = ["/usr/bin/python3", "app.py"]
CMD = "cmd=app.py-0a1b2c3d"
# replay's first-cycle time (cold_ns) per configuration and layer, seconds: the allocator's part of a program run
ALLOC = {("glibc", "malloc"): 0.6, ("glibc", "pymalloc"): 0.4, ("jemalloc", "malloc"): 0.3,
         ("jemalloc", "pymalloc"): 0.39, ("glibc-trim", "malloc"): 0.66, ("glibc-trim", "pymalloc"): 0.41}
T_REC = 2.0  # the program's time under glibc + PYTHONMALLOC=malloc (the recorded configuration), seconds
# what try measured of the program, seconds: jemalloc's projected time (below) is 1.7 s, and it ran 1.72
PROGRAM = {("glibc", "malloc"): 2.0, ("glibc", "pymalloc"): 1.8, ("jemalloc", "malloc"): 1.72,
           ("jemalloc", "pymalloc"): 1.79, ("glibc-trim", "malloc"): 2.3, ("glibc-trim", "pymalloc"): 1.82}
# retained growth (MiB) at the mark, in replay and in the program: glibc-trim's replay keeps 2x what the program does
# on the malloc layer, and jemalloc's too little on the pymalloc layer (which breaks that layer's order)
GROWTH = {("glibc", "malloc"): (100, 104), ("glibc", "pymalloc"): (60, 63), ("jemalloc", "malloc"): (90, 92),
          ("jemalloc", "pymalloc"): (55, 71), ("glibc-trim", "malloc"): (40, 20), ("glibc-trim", "pymalloc"): (50, 52)}
ROUND = {1: 0.99, 2: 1.0, 3: 1 / 0.99}  # a machine-wide wobble per round: medians and per-round ratios stay exact


def _row(run_id, config, workload, params, rnd, seconds, growth_mib, cold=None, mark="", base_mib=500):
    base = base_mib * synth.MIB  # replay's base holds the trace's records; a program starts small
    r = synth.row(run_id, config, workload, params, rnd, seconds * S * ROUND[rnd], base + 2 * growth_mib * synth.MIB,
                  base + growth_mib * synth.MIB)
    r.update(rss_base_bytes=base, cold_ns=int(cold * S * ROUND[rnd]) if cold else None, mark=mark)
    return r


def replay_rows(run_id, layers=("pymalloc", "malloc")):
    return [_row(run_id, c, "replay", f"layer={layer};{REPLAY}", rnd, ALLOC[c, layer] * 0.9, GROWTH[c, layer][0],
                 cold=ALLOC[c, layer], mark="after_spike")
            for rnd in ROUND for (c, layer) in ALLOC if layer in layers]


def try_rows(run_id, configs=("glibc", "jemalloc", "glibc-trim"), program=PROGRAM):
    return [_row(run_id, c, "program", f"{CMD};layer={layer}", rnd, program[c, layer], GROWTH[c, layer][1],
                 mark="after_spike", base_mib=8) for rnd in ROUND for (c, layer) in program if c in configs]


def write_try(parent, name, rows):
    d = synth.write_run(parent, name, rows)
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    meta.update(kind="try", program={"argv": COMMAND, "command": " ".join(COMMAND), "cwd": "/srv", "id": CMD[4:],
                                     "python": True}, marks={"after_spike": 1})
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)
    return d


GLIBC_NS = {layer: ALLOC["glibc", layer] * S for layer in ("malloc", "pymalloc")}


def program_time(point, lo, hi, layer="malloc", rounds=None):
    """A stand-in for projection.ProgramTime (seconds in, ns kept); rounds: {round: seconds}."""
    class Program:
        pass
    t = Program()
    t.point, t.lo, t.hi, t.layer, t.level = point * S, lo * S, hi * S, layer, 0.95
    t.rounds = {(None, k): v * S for k, v in (rounds or {}).items()}
    return t


def projected(config, layer):
    """The model by hand: P(c) = T + A(c) - A(glibc, malloc), against glibc + pymalloc's P."""
    p = T_REC + ALLOC[config, layer] - ALLOC["glibc", "malloc"]
    return p / (T_REC + ALLOC["glibc", "pymalloc"] - ALLOC["glibc", "malloc"])


class Projection(unittest.TestCase):
    def test_the_line_through_the_replay_ratio(self):
        p = projection.Projection({"malloc": program_time(T_REC, 1.9, 2.1)}, GLIBC_NS, "pymalloc", "malloc", k=1.0)
        self.assertAlmostEqual(p.base_time() / S, 1.8)
        self.assertAlmostEqual(p.share, 0.4 / 1.8)
        self.assertFalse(p.measured("pymalloc"))
        r = 0.3 / 0.4  # jemalloc + malloc against glibc + pymalloc in replay
        point, lo, hi = p.ratio((r, r * 0.9, r * 1.1), "malloc")
        self.assertAlmostEqual(point, projected("jemalloc", "malloc"))
        self.assertAlmostEqual(p.ratio((0.39 / 0.4, None, None), "pymalloc")[0], projected("jemalloc", "pymalloc"))
        self.assertAlmostEqual(p.program_ns(0.3 * S, "malloc") / S, 1.7)
        self.assertAlmostEqual(p.recorded_share(), 0.3)
        # the interval: replay's mapped through the line, widened by the share's (T from 1.9 to 2.1 s)
        self.assertAlmostEqual(lo, 1 + (0.4 / 1.7) * (r * 0.9 - 1))
        self.assertAlmostEqual(hi, 1 + (0.4 / 1.9) * (r * 1.1 - 1))
        self.assertLess(lo, point)
        self.assertGreater(hi, point)
        self.assertEqual(p.ratio((r, None, None), "malloc"), (point, None, None))
        # a replay ratio is diluted by the allocator's share, never the program's change
        self.assertGreater(point, r)

    def test_a_measured_layer_is_its_own_anchor(self):
        # the program ran 1.5 s under glibc + pymalloc, faster than replay's allocator time alone says (1.8 s)
        times = {"malloc": program_time(T_REC, 1.9, 2.1, rounds={1: 2.0 / 1.01, 2: 2.0, 3: 2.0 * 1.01}),
                 "pymalloc": program_time(1.5, 1.45, 1.55, "pymalloc", rounds={1: 1.5 / 1.02, 2: 1.5, 3: 1.5 * 1.02})}
        p = projection.Projection(times, GLIBC_NS, "pymalloc", "malloc", k=1.0)
        self.assertTrue(p.measured("pymalloc"))
        self.assertAlmostEqual(p.base_time() / S, 1.5)
        self.assertAlmostEqual(p.share, 0.4 / 1.5)
        # jemalloc + PYTHONMALLOC=malloc: 2.0 + 0.3 - 0.6 = 1.7 s against the measured 1.5: slower, where the
        # recorded layer's anchor alone (1.7 / 1.8) would call it faster
        self.assertAlmostEqual(p.ratio((0.3 / 0.4, None, None), "malloc")[0], 1.7 / 1.5)
        self.assertAlmostEqual(p.ratio((0.39 / 0.4, None, None), "pymalloc")[0], (1.5 + 0.39 - 0.4) / 1.5)
        # the layer switch is the measured one, paired within rounds (the rounds' ratios 0.743, 0.75, 0.757: each
        # round's machine speed cancels), so its interval is far narrower than the two times' corners
        point, lo, hi = p.ratio((0.4 / 0.6, 0.4 / 0.6, 0.4 / 0.6), "pymalloc", against="malloc")
        self.assertAlmostEqual(point, 1.5 / 2.0)
        self.assertTrue(1.45 / 2.1 < lo < point < hi < 1.55 / 1.9, (lo, point, hi))
        self.assertLess(hi - lo, 0.05)


class RecommendOnReplay(tt.TmpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.replay = synth.write_run(cls.tmp.name, "replay", replay_rows("replay"))
        cls.malloc_only = synth.write_run(cls.tmp.name, "replay-malloc", replay_rows("rm", layers=("malloc",)))
        cls.pymalloc_only = synth.write_run(cls.tmp.name, "replay-pymalloc", replay_rows("rp", layers=("pymalloc",)))
        cls.program = write_try(cls.tmp.name, "try", try_rows("try", configs=("glibc",)))

    def test_without_the_program_no_program_time(self):
        p = tt.pyalloc(["recommend", self.replay])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("program time", p.stdout)
        # memory: the growth above replay's base (which holds the trace), 90 / 60 MiB, not (500 + 90) / (500 + 60)
        self.assertIn("retained +50.0 %", p.stdout)
        self.assertIn("allocator time (replay) 0.750×", p.stdout)  # jemalloc + malloc: 0.3 / 0.4, labelled
        self.assertNotRegex(p.stdout, r"(?<!allocator )time -25\.0 %")
        self.assertIn("--program TRY_RUN", p.stdout)
        self.assertIn("pyalloc try --configs glibc -- CMD", p.stdout)
        # a slowdown limit is about the program: refused without its time
        p = tt.pyalloc(["recommend", self.replay, "--max-slowdown", "5%"])
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn("--program", p.stderr)

    def test_with_the_program_time_is_projected(self):
        p = tt.pyalloc(["recommend", self.replay, "--program", self.program])
        self.assertEqual(p.returncode, 0, p.stderr)
        overall = p.stdout.split("Overall")[1]
        self.assertTrue(overall.splitlines()[1].strip().startswith("jemalloc + PYTHONMALLOC=malloc"), overall)
        self.assertIn(f"program time (projected) {projected('jemalloc', 'malloc'):.3f}×", overall)
        self.assertNotIn("0.750×", p.stdout)  # the allocator's ratio is not printed as the program's
        self.assertIn("Program time: 2.000 s", p.stdout)
        # memory projected from the program's own figure: M(c) = M(rec) + G(c) - G(rec) = (8 + 104) + 90 - 100 MiB,
        # against glibc + pymalloc's (8 + 104) + 60 - 100
        self.assertIn(f"retained {100 * (102 / 72 - 1):+.1f} %", overall)
        self.assertIn("30 % of the recorded configuration's measured time", p.stdout)  # A(glibc, malloc) / T = 0.6 / 2
        self.assertIn("22 %", p.stdout)  # the share of glibc + pymalloc's projected 1.8 s: 0.4 / 1.8
        # the deploy line: the layer the evidence was replayed at, and the user's command from the try run
        self.assertIn("LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 PYTHONMALLOC=malloc /usr/bin/python3 "
                      "app.py", p.stdout)

    def test_release_call_goes_where_replay_measured(self):
        p = tt.pyalloc(["recommend", self.replay, "--program", self.program, "--objective", "retained"])
        self.assertEqual(p.returncode, 0, p.stderr)
        deploy = p.stdout.split("Deploy")[-1]
        self.assertIn("malloc_trim(0)", deploy)  # glibc-trim + PYTHONMALLOC=malloc keeps least
        self.assertIn("at the point marked `after_spike` (where replay measured)", deploy)

    def test_the_programs_own_pymalloc_time_anchors_that_layer(self):
        # under glibc + pymalloc the program ran 1.5 s, not the 1.8 s replay's allocator time projects: jemalloc +
        # PYTHONMALLOC=malloc (2.0 + 0.3 - 0.6 = 1.7 s) is then slower than what the user runs, not faster
        faster = write_try(self.tmp.name, "try-fast-pymalloc",
                           try_rows("tf", configs=("glibc",), program={**PROGRAM, ("glibc", "pymalloc"): 1.5}))
        p = tt.pyalloc(["recommend", self.replay, "--program", faster])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Program time: 1.500 s", p.stdout)
        self.assertIn(f"jemalloc + PYTHONMALLOC=malloc {1.7 / 1.5:.3f}×", p.stdout)
        self.assertNotIn("PYTHONMALLOC=malloc /usr/bin/python3", p.stdout.split("Deploy")[-1])
        # without that layer's time the recorded layer anchors both, as before, and says which
        malloc_only = write_try(self.tmp.name, "try-malloc-only",
                                [r for r in try_rows("tm", configs=("glibc",)) if "layer=malloc" in r["params"]])
        p = tt.pyalloc(["recommend", self.replay, "--program", malloc_only])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("layer pymalloc has no measured time", p.stdout)
        self.assertIn(f"program time (projected) {projected('jemalloc', 'malloc'):.3f}×", p.stdout)

    def test_runs_joined_and_layer_of_the_deploy_line(self):
        p = tt.pyalloc(["recommend", self.pymalloc_only, self.malloc_only, "--program", self.program])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"program time (projected) {projected('jemalloc', 'malloc'):.3f}×", p.stdout)
        # pymalloc rows alone, memory objective: the winner runs under pymalloc, no PYTHONMALLOC=malloc
        p = tt.pyalloc(["recommend", self.pymalloc_only, "--objective", "peak"])
        self.assertEqual(p.returncode, 0, p.stderr)
        deploy = p.stdout.split("Deploy")[1]
        self.assertNotIn("PYTHONMALLOC", deploy.splitlines()[1])

    def test_bad_program_runs(self):
        p = tt.pyalloc(["recommend", self.replay, "--program", self.replay])  # not a try run
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a `pyalloc try` run", p.stderr)
        other = write_try(self.tmp.name, "try-jemalloc", try_rows("tj", configs=("jemalloc",)))
        p = tt.pyalloc(["recommend", self.replay, "--program", other])  # lacks the recorded configuration
        self.assertEqual(p.returncode, 2)
        self.assertIn("no ok rows of glibc with layer=malloc", p.stderr)
        p = tt.pyalloc(["recommend", self.pymalloc_only, "--program", self.program])  # lacks glibc at layer=malloc
        self.assertEqual(p.returncode, 2)
        self.assertIn("layer=malloc", p.stderr)
        two = replay_rows("two") + [dict(r, params=r["params"].replace(TRACE, "/nonexistent/other.pabt"))
                                   for r in replay_rows("two")]
        p = tt.pyalloc(["recommend", synth.write_run(self.tmp.name, "two-traces", two), "--program", self.program])
        self.assertEqual(p.returncode, 2)
        self.assertIn("the replay rows hold 2 traces", p.stderr)
        mixed = synth.write_run(self.tmp.name, "mixed", replay_rows("mx") + synth.standard_rows("mx", 3, failed=False))
        p = tt.pyalloc(["recommend", mixed, "--program", self.program])
        self.assertEqual(p.returncode, 2)
        self.assertIn("--workloads replay", p.stderr)
        p = tt.pyalloc(["recommend", mixed, "--program", self.program, "--workloads", "replay"])
        self.assertEqual(p.returncode, 0, p.stderr)
        p = tt.pyalloc(["recommend", self.replay, self.program])  # a try run is not a replay run to join
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)


def both_rows(run_id):
    """small_churn through the C model (jemalloc + malloc 30 % faster) and as its CPython twin (the program: 2 %)."""
    rows = []
    for rnd in ROUND:
        for c, c_factor, py_factor in (("glibc", 1.0, 1.0), ("jemalloc", 0.7, 0.98)):
            for layer in ("malloc", "pymalloc"):
                cf, pf = (c_factor, py_factor) if layer == "malloc" else (0.99, 0.995) if c != "glibc" else (1, 1)
                rows.append(_row(run_id, c, "small_churn", f"layer={layer};live=1K", rnd, 0.01 * cf, 30))
                rows.append(_row(run_id, c, "small_churn", f"layer={layer};live=1K;runtime=cpython", rnd, 0.05 * pf,
                                 40))
            rows.append(_row(run_id, c, "threaded_churn", "threads=2", rnd, 0.02 * c_factor, 20))
    return rows


class CPythonLeads(tt.TmpCase):
    def test_cpython_ratio_first_c_model_labelled(self):
        run = synth.write_run(self.tmp.name, "both", both_rows("both"))
        p = tt.pyalloc(["recommend", run])
        self.assertEqual(p.returncode, 0, p.stderr)
        small = p.stdout.split("\n  small_churn:")[1].split("\n  threaded_churn:")[0]
        self.assertIn("time 0.980×", small)  # the CPython twin's ratio leads
        self.assertIn("C model, the allocator alone: allocator time (C model) 0.700×", small)
        self.assertIn("C model only", p.stdout.split("\n  threaded_churn:")[1].splitlines()[0])
        overall = p.stdout.split("Overall")[1]
        self.assertIn("time 0.980×", overall)
        self.assertNotIn("0.700×", overall.split("Deploy")[0])
        self.assertIn("(1 workload", p.stdout.split("Overall")[1].splitlines()[0])  # threaded_churn left out
        # what pymalloc changes is said from the CPython rows (0.5 %), not from the C model's (1 %)
        self.assertIn("at most 0.5 % in time", p.stdout)

    def test_c_model_only_says_allocator_time(self):
        run = synth.write_run(self.tmp.name, "c-only", [r for r in both_rows("c") if "runtime" not in r["params"]])
        p = tt.pyalloc(["recommend", run])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("allocator time (C model) 0.700×", p.stdout)
        self.assertIn("in allocator time (C model)", p.stdout)


class FidelityAgainstTry(tt.TmpCase):
    def test_side_by_side(self):
        replay = synth.write_run(self.tmp.name, "replay", replay_rows("replay"))
        program = write_try(self.tmp.name, "try", try_rows("try"))
        p = tt.pyalloc(["fidelity", "--try", program, replay])
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = {tuple(line.split()[:2]): line for line in p.stdout.splitlines()
                if re.match(r"(glibc|jemalloc|glibc-trim) +(malloc|pymalloc) ", line)}
        self.assertEqual(len(rows), 6, p.stdout)
        jm = rows["jemalloc", "malloc"].split()
        # retained in try, in replay, their ratio, and replay's + the recorded run's offset (104 - 100 MiB) over try's
        self.assertEqual(jm[2:6], ["92.0", "90.0", "0.98", "1.02"])
        self.assertEqual(jm[6:8], ["-14.0", "%"])  # try: 1.72 / 2.0
        self.assertIn("-15.0 %", rows["jemalloc", "malloc"])  # projected: (2.0 + 0.3 - 0.6) / 2.0
        self.assertIn("-1.0 pp", rows["jemalloc", "malloc"])
        self.assertIn("retained 2.00x", rows["glibc-trim", "malloc"])  # 40 MiB replayed, 20 MiB kept
        self.assertIn("ok", rows["jemalloc", "malloc"])
        summary = p.stdout.split("\n\n")[-1]
        # malloc layer: try's spread 2.3 - 1.72 = 29 pp of 2.0; errors: jemalloc 1 pp, glibc-trim 3 - 15 = 12 pp
        self.assertRegex(summary, r"layer malloc: retained rho 1\.00; time: try's spread 29\.0 pp, projection's "
                                  r"largest error 12\.0 pp, goal 9\.7 pp \(MISS\)")
        self.assertIn("layer pymalloc: retained rho 0.50 (MISS: below 0.9)", summary)
        self.assertIn("retained 0.77x", rows["jemalloc", "pymalloc"])
        self.assertIn("retained within 20% (or 1 MiB) of the program's, replay's growth: 4 of 6", summary)
        self.assertIn("projected (replay's + the recorded run's offset): 5 of 6", summary)
        self.assertIn("recommend by time: from try jemalloc + PYTHONMALLOC=malloc (1.720 s): same pick", summary)
        self.assertIn("recommend by retained: from try glibc-trim + PYTHONMALLOC=malloc (20.0 MiB): same pick", summary)
        # the layer switch: try 1.8 / 2.0, which the projection takes from try; replay alone (2.0 - 0.2) / 2.0
        self.assertIn("try -10.0 %, the projection takes it from try; replay alone would say -10.0 %", summary)

    def test_bad_input(self):
        replay = synth.write_run(self.tmp.name, "replay2", replay_rows("r2"))
        p = tt.pyalloc(["fidelity", "--try", replay, replay])
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a `pyalloc try` run", p.stderr)
        program = write_try(self.tmp.name, "try2", try_rows("t2"))
        p = tt.pyalloc(["fidelity", "--try", program])
        self.assertEqual(p.returncode, 2)
        self.assertIn("needs the replay run", p.stderr)


class EvidenceLine(tt.TmpCase):
    def test_trace_layer_and_mark_named(self):
        trace = os.path.join(self.tmp.name, "app.pabt")
        code = ("import gc, pyalloc_mark; d = [str(i) * 3 for i in range(20000)]; del d; gc.collect(); "
                "pyalloc_mark.mark('after_spike')")
        p = tt.pyalloc(["record", "--out", trace, "--", tt.PY, "-c", code], PYTHONMALLOC="malloc")
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [dict(r, params=r["params"].replace(TRACE, trace)) for r in replay_rows("ev")]
        run = synth.write_run(self.tmp.name, "ev", rows)
        p = tt.pyalloc(["recommend", run])
        self.assertEqual(p.returncode, 0, p.stderr)
        line = re.search(r"Evidence: replay of app\.pabt \(recorded under PYTHONMALLOC=malloc, ([0-9.]+) K events\), "
                         r"layer pymalloc, after free at mark `after_spike`", p.stdout)
        self.assertIsNotNone(line, p.stdout)
        self.assertGreater(float(line.group(1)), 40)  # 20000 strings and the list: more than 40 K calls
        self.assertIn("layer malloc, after free at mark `after_spike`", p.stdout)
        # the deploy line's command is the recorded one
        self.assertIn(f"{tt.PY} -c ", p.stdout.split("Deploy")[1])
        p = tt.pyalloc(["report", "--no-charts", run])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(run, "report.md")) as f:
            md = f.read()
        self.assertIn("Evidence: replay of app.pabt (recorded under PYTHONMALLOC=malloc", md)
        self.assertIn("Replay times the allocator's calls alone", md)
        # a trace that is not here any more: said so, with the layer and mark the rows hold
        p = tt.pyalloc(["recommend", synth.write_run(self.tmp.name, "gone", replay_rows("gone"))])
        self.assertIn("replay of app.pabt (the trace is not readable here, so how it was recorded is not known), "
                      "layer pymalloc, after free at mark `after_spike`", p.stdout)


if __name__ == "__main__":
    unittest.main()
