# Every comma-list option of every subcommand (found in the parser itself, so a new one cannot be missed) refuses an
# empty list and an empty item in one line, exit 2, writing nothing: '' never silently means "the default".
import os
import re
import sys
import tempfile
import unittest

from repo import SOURCE, pyalloc

sys.path.insert(0, os.path.join(SOURCE, "tests", "cli"))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
import synth  # noqa: E402
from pab import cli  # noqa: E402

BASE = {  # what each command needs besides the option; {run} is a synthetic run directory
    "run": ["--preset", "quick"], "allocators": [], "recommend": ["{run}"], "compare": ["{run}", "{run}"],
    "plan": ["--preset", "quick"], "try": ["--", "/bin/true"],
}


def list_options():
    """(command, option) for every option whose help or metavar says it takes a comma-separated list."""
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    out = []
    for name, parser in sub.choices.items():
        for a in parser._actions:
            text = f"{a.help or ''} {a.metavar or ''}"
            if a.option_strings and (re.search(r"\bcomma\b", text) or "," in str(a.metavar or "")):
                out.append((name, a.option_strings[-1]))
    return out


class EmptyLists(unittest.TestCase):
    def test_the_survey_finds_the_known_ones(self):
        found = list_options()
        for known in (("run", "--configs"), ("run", "--workloads"), ("allocators", "--configs"),
                      ("recommend", "--workloads"), ("recommend", "--weights"),
                      ("try", "--layers")):
            self.assertIn(known, found)

    def test_each_refuses_empty(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = synth.write_run(tmp, "r", synth.standard_rows("r", rounds=3))
            for cmd, opt in list_options():
                self.assertIn(cmd, BASE, f"{cmd} {opt}: add what `pyalloc {cmd}` needs to BASE")
                for value, says in (("", f"{opt}: empty list"), ("a,,b", "empty item")):
                    with self.subTest(command=cmd, option=opt, value=value):
                        out = os.path.join(tmp, "out")
                        argv = [cmd] + [a.format(run=run) for a in BASE[cmd]]
                        argv[1:1] = [f"{opt}={value}"] + (["--out", out] if cmd in ("run", "try") else [])
                        before = sorted(os.listdir(tmp))
                        p = pyalloc(argv)
                        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
                        self.assertEqual((p.returncode, len(lines)), (2, 1), p.stderr[-400:])
                        self.assertIn(says, lines[0])
                        self.assertEqual(sorted(os.listdir(tmp)), before, "a refused command wrote files")


if __name__ == "__main__":
    unittest.main()
