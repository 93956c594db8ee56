# `pyalloc allocators`: every configuration, the library it preloads, whether a child process proved that this
# allocator serves malloc under it, and its knobs as the allocator read them back (`pyalloc-bench --pab_identify`).
import sys

from . import binary, configs, knobs


def register(sub):
    p = sub.add_parser("allocators", help="list configurations and verify each in a child process",
                       description="List every configuration (allocators/configs.tsv plus --configs-file), the "
                       "library it preloads, its version, and whether a child process verified it.")
    configs.add_options(p, default="all")
    p.set_defaults(func=main)


def check(cfg):
    """(library, version, verdict, read back, failed) for one configuration, proven in a child process: who serves
    malloc, and each knob as the allocator reads it back (docs/design.md §13)."""
    try:
        lib = configs.resolve(cfg)
    except LookupError as e:
        return "-", "-", f"no: {e}", "-", True
    info, err = binary.identify(configs.child_env(cfg, lib), cfg.allocator, knobs.text(cfg))
    info = info or {}
    served, version, tuning = info.get("lib") or lib or "-", info.get("version") or "-", info.get("tuning") or "-"
    if err:
        return served, version, "no: " + err.removeprefix("pyalloc-bench: "), "-", True
    if not info.get("verified"):  # `other`: accepted, but no adapter can prove who it is
        return served, version, "unverified (other: no adapter for this library)", tuning, False
    return served, version, "yes", tuning, False


def main(args):
    chosen = configs.select(configs.load(args.configs_file), "all" if args.configs is None else args.configs)
    rows = [("config", "allocator", "release", "matrix", "env", "library", "version", "verified")]
    failed, read = 0, {}
    for c in chosen:
        lib, version, verdict, read[c.name], bad = check(c)
        failed += bad
        rows.append((c.name, c.allocator, c.release, c.matrix, c.env_text or "-", lib, version, verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1])
        if read.get(r[0], "-") != "-":  # what the allocator reports in force, knob by knob
            print("    read back: " + read[r[0]].replace(";", "; "))
    if failed:
        print(f"pyalloc: {failed} of {len(chosen)} configurations not verified", file=sys.stderr)
    return 1 if failed else 0
