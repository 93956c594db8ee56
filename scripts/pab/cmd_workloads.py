# `pyalloc workloads`: every workload the benchmark binary knows, what it shows and does, and its parameters
# with their types, defaults and allowed values (read from `pyalloc-bench --pab_list`).
from . import binary


def register(sub):
    p = sub.add_parser("workloads", help="list workloads, their parameters and defaults",
                       description="List every workload with what it shows, what one cycle does, and its parameters "
                       "(override them with `pyalloc run --param KEY=VALUE`).")
    p.set_defaults(func=main)


def _allowed(p):
    if p.get("choices"):
        return "|".join(p["choices"])
    lo, hi = p.get("min"), p.get("max")
    if lo is None and hi is None:
        return ""
    return f"{lo or 0}..{hi}" if hi else f">= {lo}"


def main(args):
    for name, w in sorted(binary.workloads().items()):
        print(f"{name}: {w['shows']}")
        print(f"  one cycle: {w['does']}")
        rows = [(p["name"], p["type"], p["default"], _allowed(p), p["help"]) for p in w["params"]]
        widths = [max([len(r[i]) for r in rows] + [0]) for i in range(4)]
        for r in rows:
            print("    " + "  ".join(cell.ljust(wd) for cell, wd in zip(r, widths)) + "  " + r[4])
        print()
    return 0
