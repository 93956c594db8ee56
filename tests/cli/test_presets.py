# Presets (bench/presets/*.preset) and the units they use: the shipped presets parse, `set`/`case` lines mean
# what the header says, and a malformed line or size is one UsageError naming the file and line.
import os
import sys
import unittest

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
from pab import presets, units  # noqa: E402
from pab.errors import UsageError  # noqa: E402
from tmpfiles import temp_file  # noqa: E402


class Presets(unittest.TestCase):
    def preset(self, text):
        return temp_file(self, text, ".preset")

    def test_shipped(self):
        self.assertLessEqual({"quick", "default", "full"}, set(presets.names()))
        for name in ("quick", "default", "full"):
            with self.subTest(name):
                p = presets.load(name)
                self.assertTrue(p.cases)
                self.assertIn("small_churn", [c.workload for c in p.cases])
        self.assertEqual(len([c for c in presets.load("quick").cases if c.workload == "small_churn"]), 1)
        full = [(c.workload, c.params.get("size")) for c in presets.load("full").cases]
        self.assertIn(("large_buffer", "25G"), full)  # the seed's scale; the memory guard decides per case

    def test_format(self):
        p = presets.parse(self.preset("# c\nset rounds=4 timeout=2m\n\ncase a x=1 y=2K  # why\ncase b\n"), "mine")
        self.assertEqual(p.settings["rounds"], 4)
        self.assertEqual(p.settings["timeout"], 120)
        self.assertEqual(p.settings["min_time"], 0.1)  # default
        self.assertEqual([(c.workload, c.params) for c in p.cases], [("a", {"x": "1", "y": "2K"}), ("b", {})])
        self.assertEqual(p.cases[0].label(), "a/x=1,y=2K")
        self.assertEqual(p.cases[1].label(), "b")
        self.assertEqual(presets.load(self.preset("case z\n")).cases[0].workload, "z")  # by path

    def test_bad(self):
        for text in ("set rounds=0\n", "set colour=red\n", "case\n", "case a x\n", "run a\n", "set min_memory=9X\n"):
            with self.subTest(text=text):
                with self.assertRaises(UsageError) as e:
                    presets.parse(self.preset(text))
                self.assertNotIn("\n", str(e.exception))
        with self.assertRaisesRegex(UsageError, "unknown preset 'nope'"):
            presets.load("nope")

    def test_units(self):
        self.assertEqual(units.parse_size("64K"), 64 << 10)
        self.assertEqual(units.parse_size("25g"), 25 << 30)
        self.assertEqual(units.parse_size("7"), 7)
        for bad in ("25X", "-1", "", "1.5G"):
            with self.assertRaises(UsageError):
                units.parse_size(bad)
        self.assertEqual(units.parse_duration("90"), 90)
        self.assertEqual(units.parse_duration("1.5m"), 90)
        for bad in ("0", "x", "-3", "5d"):
            with self.assertRaises(UsageError):
                units.parse_duration(bad)
        self.assertEqual(units.format_duration(1.83), "1.8 s")
        self.assertEqual(units.format_duration(130), "2m10s")


if __name__ == "__main__":
    unittest.main()
