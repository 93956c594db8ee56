# The project documents itself: no tracked file cites a document outside the repository, every cited document and
# section exists (docs/design.md §N, docs/cpython-facts.md "Section"), and pab_workload.h's worked example compiles.
import os
import re
import subprocess
import unittest

import repo

OUTSIDE = re.compile(r"DESIGN §|DESIGN\.md|CPYTHON-FACTS|\.\./shared|\bshared/")
CITED_DOC = re.compile(r"\b((?:docs|bench|results|scripts|tests|allocators)/[\w./-]*\.md)\b")
DESIGN_SECTION = re.compile(r"docs/design\.md`? (§\d+)((?:[/, ]+§\d+)*)")
FACTS_SECTION = re.compile(r'docs/cpython-facts\.md`? "([^"]+)"')


def texts():
    """(path, text) of every tracked text file but this one (its patterns are not citations)."""
    for f in repo.files():
        if f == "tests/cli/test_docs.py":
            continue
        try:
            with open(os.path.join(repo.SOURCE, f), encoding="utf-8") as fh:
                yield f, fh.read()
        except UnicodeDecodeError:
            continue  # a binary file cites nothing


def headings(doc):
    with open(os.path.join(repo.SOURCE, doc)) as f:
        return [ln[3:].strip() for ln in f if ln.startswith("## ")]


class Docs(unittest.TestCase):
    def test_no_file_cites_a_document_outside_the_repository(self):
        found = [f"{path}:{n}: {line.strip()}" for path, text in texts()
                 for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
        self.assertEqual(found, [])

    def test_every_cited_document_and_section_exists(self):
        sections = {h.split()[0] for h in headings("docs/design.md")}
        facts = set(headings("docs/cpython-facts.md"))
        self.assertEqual(sorted(sections), sorted(f"§{n}" for n in range(1, 16)), "design.md numbers §1..§15")
        missing = []
        for path, text in texts():
            for doc in CITED_DOC.findall(text):
                if not os.path.exists(os.path.join(repo.SOURCE, doc)):
                    missing.append(f"{path}: {doc}")
            for first, more in DESIGN_SECTION.findall(text):
                missing += [f"{path}: docs/design.md {s}" for s in [first] + re.findall(r"§\d+", more)
                            if s not in sections]
            missing += [f'{path}: docs/cpython-facts.md "{s}"' for s in FACTS_SECTION.findall(text) if s not in facts]
        self.assertEqual(missing, [])

    def test_the_worked_example_of_pab_workload_h_compiles(self):
        header = os.path.join(repo.SOURCE, "bench", "include", "pab_workload.h")
        with open(header) as f:
            comment = f.read().split("*/")[0].splitlines()
        code = "\n".join(ln[7:] for ln in comment if ln.startswith(" *     "))
        self.assertIn("PAB_WORKLOAD(", code)
        p = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
                            "-fsyntax-only", "-I", os.path.dirname(header), "-x", "c", "-"], input=code, text=True,
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
