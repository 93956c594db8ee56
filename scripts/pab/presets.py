# Presets (docs/design.md §7): bench/presets/<name>.preset, a readable list of cases plus the run's settings.
# `set KEY=VALUE ...` lines give settings; `case WORKLOAD key=value ...` lines give one case each.
import os
from dataclasses import dataclass, field

from .binary import REPO
from .errors import UsageError
from .units import pairs, parse_duration, parse_size, read_lines

DIR = os.path.join(REPO, "bench", "presets")
# setting -> (parser, default)
SETTINGS = {
    "rounds": (lambda v: _positive_int(v, "rounds"), 1),
    "min_time": (lambda v: parse_duration(v, "min_time"), 0.1),
    "cycles": (lambda v: _positive_int(v, "cycles"), 5),   # timed cycles per process (docs/design.md §12)
    "warmup": (lambda v: _count(v, "warmup"), 1),          # untimed cycles before them
    "timeout": (lambda v: parse_duration(v, "timeout"), 120.0),
    "min_memory": (lambda v: parse_size(v, "min_memory"), 0),
}


def _positive_int(text, what):
    if not str(text).isdigit() or int(text) < 1:
        raise UsageError(f"{what}: {text!r} is not a positive integer")
    return int(text)


def _count(text, what):
    if not str(text).isdigit():
        raise UsageError(f"{what}: {text!r} is not a whole number")
    return int(text)


@dataclass
class Case:
    workload: str
    params: dict = field(default_factory=dict)  # the parameters the preset (or --param) sets; others default

    def label(self):
        """'small_churn/live=10K,ops=20K': the workload and what the case sets, for progress lines."""
        if not self.params:
            return self.workload
        return self.workload + "/" + ",".join(f"{k}={v}" for k, v in self.params.items())


@dataclass
class Preset:
    name: str
    path: str
    settings: dict
    cases: list


def parse(path, name=None):
    lines = read_lines(path, "preset")
    settings = {k: d for k, (_, d) in SETTINGS.items()}
    cases = []
    for n, line in enumerate(lines, start=1):
        words = line.split("#", 1)[0].split()
        where = f"{path}:{n}"
        if not words:
            continue
        if words[0] == "set":
            for k, v in pairs(words[1:], where).items():
                if k not in SETTINGS:
                    raise UsageError(f"{where}: unknown setting {k!r} (known: {', '.join(SETTINGS)})")
                settings[k] = SETTINGS[k][0](v)
        elif words[0] == "case" and len(words) >= 2:
            cases.append(Case(words[1], pairs(words[2:], where)))
        else:
            raise UsageError(f"{where}: expected `set KEY=VALUE ...` or `case WORKLOAD key=value ...`")
    return Preset(name or os.path.splitext(os.path.basename(path))[0], os.path.abspath(path), settings, cases)


def names():
    try:
        return sorted(f[: -len(".preset")] for f in os.listdir(DIR) if f.endswith(".preset"))
    except OSError:
        return []


def load(name):
    """A preset by name (bench/presets/NAME.preset) or by path to a .preset file."""
    if os.sep in name or name.endswith(".preset"):
        return parse(name)
    path = os.path.join(DIR, f"{name}.preset")
    if not os.path.exists(path):
        raise UsageError(f"unknown preset {name!r} (known: {', '.join(names())}, or a path to a .preset file)")
    return parse(path, name)
