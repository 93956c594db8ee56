# Presets (docs/design.md §7): bench/presets/<name>.preset, a readable list of cases plus the run's settings.
# `set KEY=VALUE ...` lines give settings; `case WORKLOAD key=value ...` lines give one case each.
import os
from dataclasses import dataclass, field

from .binary import REPO
from .errors import UsageError
from .units import pairs, parse_duration, parse_percent, parse_size, read_lines

DIR = os.path.join(REPO, "bench", "presets")


def _positive_int(text, what):
    if not str(text).strip().isdigit() or int(text) < 1:
        raise UsageError(f"{what}: {text!r} is not a positive integer")
    return int(text)


def _auto_or_positive(text, what):
    return "auto" if str(text).strip() == "auto" else _positive_int(text, what)


def _count(text, what):
    if not str(text).isdigit():
        raise UsageError(f"{what}: {text!r} is not a whole number")
    return int(text)


# setting -> (parser(text, what), default)
SETTINGS = {
    "rounds": (_auto_or_positive, 1),                  # or auto: until target_ci or budget (docs/design.md §12)
    "target_ci": (parse_percent, 0.03),                # rounds=auto: every time ratio within ±this
    "budget": (parse_duration, 600.0),                 # rounds=auto: stop adding rounds before this is spent
    "min_time": (parse_duration, 0.1),                 # cycles=auto: timed cycles last about this long
    "cycles": (_auto_or_positive, 5),                  # timed cycles per process, or auto (docs/design.md §12)
    "warmup": (_count, 1),                             # untimed cycles before them
    "timeout": (parse_duration, 120.0),
    "min_memory": (parse_size, 0),
}


@dataclass
class Case:
    workload: str
    params: dict = field(default_factory=dict)  # the parameters the preset (or --param) sets; others default

    def key(self):
        """A hashable identity of the case (the dataclass itself is not hashable)."""
        return self.workload, tuple(sorted(self.params.items()))

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
                settings[k] = SETTINGS[k][0](v, k)
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
