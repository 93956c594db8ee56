# Knobs (docs/design.md §13): the knob text a case asks its allocator to read back (--pab_knobs), and the `tuning`
# text it reads back, parsed.  Which allocator reads which variable is the adapters' fact (allocators/<name>.c).
import re

from . import native

_ITEM = re.compile(r"^(?P<key>[^=]+)=(?P<applied>.*?)(?: \(asked (?P<asked>[^)]*)\))?(?: \((?P<note>.*)\))?$")


def text(config):
    """The configuration's environment items that some allocator reads, as the benchmark's --pab_knobs text
    ("KEY=VALUE;..."); '' when it sets none.  Other variables (PYTHONMALLOC, ...) are not knobs."""
    return ";".join(f"{k}={v}" for k, v in config.env.items() if native.knob_owner(k))


def parse(tuning):
    """A `tuning` cell -> {key: {"applied", "asked" (None: as asked), "note" (None)}}, in order."""
    out = {}
    for item in (tuning or "").split(";"):
        m = _ITEM.match(item)
        if m:
            out[m["key"]] = {"applied": m["applied"], "asked": m["asked"], "note": m["note"]}
    return out
