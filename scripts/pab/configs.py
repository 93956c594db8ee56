# Configurations (docs/design.md §3): allocators/configs.tsv plus a user's --configs-file, parsed into Config records,
# with each library spec (-, @name, or a path) resolved to the file a child process will LD_PRELOAD.
import os
import re
from dataclasses import dataclass, field

from . import native
from .binary import REPO
from .errors import UsageError
from .units import read_lines, split_list

COLUMNS = ("name", "allocator", "library", "release", "env", "matrix", "description")
RELEASES = ("none", "cycle")
MATRICES = ("default", "opt-in")
RESERVED = ("default", "all")  # words --configs understands as sets of configurations
TABLE = os.path.join(REPO, "allocators", "configs.tsv")
_SPLIT = re.compile(r"\t+| {2,}")  # columns: tabs, or two or more spaces
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass
class Config:
    name: str
    allocator: str
    library: str  # '-', '@jemalloc', or an absolute path
    release: str
    env: dict = field(default_factory=dict)
    matrix: str = "default"
    description: str = ""

    @property
    def env_text(self):
        return " ".join(f"{k}={v}" for k, v in self.env.items())


def _parse_env(text, where):
    if text == "-":
        return {}
    env = {}
    for item in text.split():
        k, sep, v = item.partition("=")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
            raise UsageError(f"{where}: env item {item!r} is not NAME=VALUE (separate several with one space)")
        env[k] = v
    return env


def _parse_row(cells, where, base):
    row = dict(zip(COLUMNS, cells))
    for col, allowed in (("allocator", native.names()), ("release", RELEASES), ("matrix", MATRICES)):
        if row[col] not in allowed:
            raise UsageError(f"{where}: unknown {col} {row[col]!r} (one of {', '.join(allowed)})")
    if not _NAME.match(row["name"]) or row["name"] in RESERVED:
        raise UsageError(f"{where}: {row['name']!r} cannot name a configuration")
    lib = row["library"]
    if lib != "-" and not lib.startswith("@"):
        lib = os.path.normpath(os.path.join(base, os.path.expanduser(lib)))
    desc = "" if row["description"] == "-" else row["description"]
    env = _parse_env(row["env"], where)
    return Config(row["name"], row["allocator"], lib, row["release"], env, row["matrix"], desc)


def parse(path):
    """Configs of one table, in file order.  The first non-comment line is the header naming the columns."""
    lines = read_lines(path, "configurations file")
    base = os.path.dirname(os.path.abspath(path))
    out, header = {}, None
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = _SPLIT.split(line.strip(), maxsplit=len(COLUMNS) - 1)  # the description keeps its spaces
        where = f"{path}:{n}"
        if header is None:
            if tuple(cells) != COLUMNS:
                raise UsageError(f"{where}: the header must name the columns {' '.join(COLUMNS)}")
            header = cells
            continue
        if len(cells) != len(COLUMNS):
            raise UsageError(f"{where}: {len(cells)} columns, expected {len(COLUMNS)} ({' '.join(COLUMNS)})")
        c = _parse_row(cells, where, base)
        out[c.name] = c
    if header is None:
        raise UsageError(f"{path}: no header line ({' '.join(COLUMNS)})")
    return out


def load(extra=None):
    """The shipped table, then the user's file: it adds configurations or replaces same-named ones."""
    configs = parse(TABLE)
    if extra:
        configs.update(parse(extra))
    return configs


def add_options(parser, default="default"):
    """--configs and --configs-file, the same for every command that picks configurations."""
    parser.add_argument("--configs", help=f"comma-separated configuration names, 'default' or 'all' (default: {default})")
    parser.add_argument("--configs-file", metavar="F", help="a table like allocators/configs.tsv that adds or overrides")


def select(configs, spec):
    """'jemalloc,glibc' / 'default' / 'all' (or None: the default matrix) -> [Config], in the order given."""
    chosen = []
    for name in split_list(spec, "--configs") if spec is not None else ["default"]:
        if name == "all":
            picked = list(configs.values())
        elif name == "default":
            picked = [c for c in configs.values() if c.matrix == "default"]
        elif name in configs:
            picked = [configs[name]]
        else:
            raise UsageError(f"unknown configuration {name!r} (known: {', '.join(configs)}, or default, all)")
        chosen += [c for c in picked if c not in chosen]
    return chosen


def resolve(config):
    """The file to LD_PRELOAD ('' for none), or raise LookupError('library not found: ...')."""
    lib = config.library
    if lib == "-":
        return ""
    if lib.startswith("@"):
        lib = native.library(lib[1:])  # $PAB_LIB_<NAME>, else the adapter's soname where the dynamic linker looks
    if not os.path.isfile(lib):
        raise LookupError(f"library not found: {lib}")
    return lib


def allocator_knob(name):
    """Whether an environment variable is one child_env strips: LD_PRELOAD or a variable some allocator's adapter
    reads (its knob_env, allocators/<name>.c)."""
    return name == "LD_PRELOAD" or native.knob_owner(name) is not None


def child_env(config, lib, base=None):
    """The environment of a case: the caller's, without inherited allocator knobs, plus the config's."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not allocator_knob(k)}
    env.update(config.env)
    if lib:
        env["LD_PRELOAD"] = lib
    return env
