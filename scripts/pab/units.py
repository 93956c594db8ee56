# Units on the command line and in progress lines: sizes with K/M/G/T (powers of 1024) and durations.
# Parsing raises UsageError (one line); formatting keeps progress lines short ("1.8 s", "2m10s").
import re

from .errors import UsageError

_SIZE = re.compile(r"^([0-9]+)([KMGT]?)$", re.IGNORECASE)  # ASCII digits only, as the C parser
_SHIFT = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}
_LARGEST = (2**64 - 1) >> 2  # beyond any machine, as bench/harness/units.c
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")
_SECONDS = {None: 1, "s": 1, "m": 60, "h": 3600}


def parse_size(text, what="size"):
    """'64K' -> 65536; digits with an optional K, M, G or T suffix (powers of 1024)."""
    m = _SIZE.match(str(text).strip())
    shift = _SHIFT[m.group(2).upper()] if m else 0
    if not m or int(m.group(1)) > _LARGEST >> shift:
        raise UsageError(f"{what}: {text!r} is not a size (digits with an optional K, M, G or T suffix)")
    return int(m.group(1)) << shift


def parse_duration(text, what="duration"):
    """'90', '90s', '2m', '1.5h' -> seconds (float, > 0)."""
    m = _DURATION.match(str(text).strip())
    if not m or float(m.group(1)) <= 0:
        raise UsageError(f"{what}: {text!r} is not a positive duration (seconds, or with an s, m or h suffix)")
    return float(m.group(1)) * _SECONDS[m.group(2)]


_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)\s*%?$")


def parse_percent(text, what="percentage"):
    """'3%' or '3' -> 0.03 (a positive percentage below 100)."""
    m = _PERCENT.match(str(text).strip())
    if not m or not 0 < float(m.group(1)) < 100:
        raise UsageError(f"{what}: {text!r} is not a percentage between 0 and 100 (write 3% or 3)")
    return float(m.group(1)) / 100


def format_duration(seconds):
    """Short human durations: '0.04 s', '1.8 s', '12 s', '2m10s', '1h05m'."""
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def format_size(n):
    """Bytes -> '1.5 GiB' style, for messages."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} B"


def read_lines(path, what):
    """The lines of a text table (configurations, presets); one line of UsageError when it cannot be read as text."""
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror}")
    except UnicodeDecodeError as e:
        raise UsageError(f"{what} {path} is not a text file ({e.reason} at byte {e.start})")


def pairs(items, where):
    """KEY=VALUE words (a preset line's, --param's) -> dict, in order; one line of UsageError naming where for a word
    that is not one, or for a key given twice with two values."""
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        k, v = k.strip(), v.strip()
        if not sep or not k or not v:
            raise UsageError(f"{where}: {item!r} is not key=value")
        if out.get(k, v) != v:
            raise UsageError(f"{where}: {k} is given twice, as {out[k]} and as {v}")
        out[k] = v
    return out


def split_list(text, what):
    """'a,b' -> ['a', 'b'] for a list option; an empty list or an empty item ('a,,b', '') is refused, never read
    as "the default"."""
    items = [w.strip() for w in str(text).split(",")]
    if not any(items):
        raise UsageError(f"{what}: empty list (name at least one, separated by commas)")
    if not all(items):
        raise UsageError(f"{what} {text!r}: an empty item between commas")
    return items


def columns(rows, sep="  "):
    """Rows of cells (str() of each) as lines of left-aligned columns, trailing blanks cut."""
    rows = [[str(cell) for cell in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []
    return [sep.join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
