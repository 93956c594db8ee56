# The plan of a `pyalloc try` (docs/try.md): the command and the environment it may run in, its Python layers, the
# mark signal, the configurations, and the warm-up run that finds whether it is Python and how often it marks.
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field

from . import configs, program, runner, schema
from .errors import UsageError
from .units import format_duration, split_list

NO_LAYER = "none"                 # --layers none: no layer parameter (a program that is not Python)
PYTHON_KNOBS = ("PYTHONMALLOC", "PYTHONMALLOCSTATS", "PYTHONDEVMODE")  # they change the Python allocator layer
# Signals --mark-signal cannot be: uncatchable, raised by faults, or sent by the system on its own.
NOT_A_MARK = {signal.SIGKILL: "cannot be caught", signal.SIGSTOP: "cannot be caught",
              signal.SIGINT: "ends the program (Ctrl-C)", signal.SIGTERM: "ends the program",
              **{s: "is raised by faults, not sent" for s in (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE,
                                                              signal.SIGILL, signal.SIGTRAP, signal.SIGSYS)},
              **{s: "is sent by the system on its own" for s in (signal.SIGCHLD, signal.SIGCONT, signal.SIGWINCH,
                                                                 signal.SIGURG, signal.SIGPIPE, signal.SIGTSTP,
                                                                 signal.SIGTTIN, signal.SIGTTOU)}}


def command(words, verb="try"):
    """The user's command after `--` (try's and record's); refused in one line when there is none."""
    cmd = words[1:] if words[:1] == ["--"] else list(words)
    if not cmd:
        raise UsageError(f"give the command to {verb} after --, e.g. pyalloc {verb} -- python3 app.py")
    return cmd


def refuse_environment(env):
    """try sets the allocator, its knobs and the Python layer per configuration: the same set in the caller's
    environment would make every configuration something else, so it is refused, never merged."""
    names = sorted(k for k in env if configs.allocator_knob(k) or k in PYTHON_KNOBS)
    if names:
        raise UsageError(f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} set in your environment, and try "
                         f"sets the allocator, its knobs and the Python layer itself: unset "
                         f"{'it' if len(names) == 1 else 'them'} and express the setting as a configuration "
                         f"(--configs-file with library= and env= columns, as allocators/configs.tsv) or a layer "
                         f"(--layers malloc)")


def layers(text):
    """--layers -> [layer, ...] ('none' alone: [None]); None when not given (then the warm-up decides)."""
    if text is None:
        return None
    items = split_list(text, "--layers")
    if items == [NO_LAYER]:
        return [None]
    for x in items:
        if x not in schema.LAYERS:
            raise UsageError(f"--layers: unknown layer {x!r} (pymalloc, malloc, or none alone)")
    return list(dict.fromkeys(items))


def mark_signal(text, mark=None):
    """--mark-signal USR2 / SIGUSR2 / 12 -> (number, name); None when not given."""
    if text is None:
        return None
    if mark:
        raise UsageError("give --mark or --mark-signal, not both: either names the measuring point")
    word = text.strip().upper()
    try:
        sig = signal.Signals(int(word)) if word.isdigit() else signal.Signals[word if word.startswith("SIG") else
                                                                             "SIG" + word]
    except (KeyError, ValueError):
        raise UsageError(f"--mark-signal {text}: not a signal name or number (e.g. USR2)")
    if sig in NOT_A_MARK:
        raise UsageError(f"--mark-signal {text}: {sig.name} {NOT_A_MARK[sig]}; use one the program does not use "
                         f"otherwise, e.g. USR2")
    return int(sig), sig.name


def without_release_twins(chosen, marks):
    """release=cycle releases at every mark the program makes; with none it is its release=none twin (same
    allocator, library and knobs) and is dropped when that twin is tried too.  Returns (kept, [(config, why)])."""
    if marks:
        return chosen, []
    kept, dropped = [], []
    for c in chosen:
        twin = next((b for b in chosen if b.release == "none" and (b.allocator, b.library, b.env) ==
                     (c.allocator, c.library, c.env)), None) if c.release == "cycle" else None
        if twin:
            dropped.append((c, f"the program makes no marks, so releasing at every mark never releases: it equals "
                               f"{twin.name}"))
        else:
            kept.append(c)
    return kept, dropped


@dataclass
class Warmup:
    """The run before the measured ones (not a row): page cache warm, and what the program is."""
    entered: bool = False
    python: bool = False
    marks: dict = field(default_factory=dict)
    wall_s: float = 0.0
    note: str = ""


def warm_up(argv, base, cfg, timeout, sig=None, on_start=None):
    """Runs the command once under `cfg` (glibc: what the user runs today), pymalloc, counting marks only."""
    tmp = tempfile.mkdtemp(prefix="pab-try-warmup-")
    try:
        out = os.path.join(tmp, "probe.json")
        probe = program.probe_vars(out, cfg.allocator, "none", "", 0, None, sig)
        env = program.environment(cfg, "", "pymalloc", probe, base)
        res = program.run(argv, env, timeout, tmp, on_start)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    what = f"the warm-up run of `{' '.join(argv)}`"
    if res.start_error:
        raise UsageError(res.start_error)
    if res.timed_out:
        raise UsageError(f"{what} did not end within --timeout {timeout:g} s", status=1)
    if res.returncode:
        how = f"was {runner.from_exit(res.returncode, '')['error']}" if res.returncode < 0 else \
            f"exited with status {res.returncode}"
        raise UsageError(f"{what} {how}{': ' + res.stderr if res.stderr else ''} (under glibc, as you run it "
                         f"today: try measures a program that works)", status=1)
    w = Warmup(entered=bool(res.probe), python=bool(res.probe.get("python")), marks=res.probe.get("marks") or {},
               wall_s=res.wall_ns / 1e9)
    if not w.entered:
        w.note = program.why_no_probe(argv, env) + "; every run will be a failed row"
    return w


def measuring_point(mark, sig, warm):
    """(mark, occurrence, exact, rule): where after_free is taken (docs/try.md, the measuring point)."""
    if sig:
        return "signal", 1, False, f"the first {sig[1]} sent to the program (mark `signal`)"
    if mark:
        if mark == "signal":
            raise UsageError("--mark signal: the `signal` mark comes from --mark-signal SIG")
        n = warm.marks.get(mark, 0)
        if not n:
            made = ", ".join(f"{k}×{v}" for k, v in warm.marks.items()) or "none"
            raise UsageError(f"--mark {mark}: the warm-up run never reached it (marks it made: {made})")
        return mark, n, mark not in program.AUTOMATIC, f"the last `{mark}` (occurrence {n}, as the warm-up counted)"
    if warm.marks.get("exit"):
        return "exit", 1, False, "the program's end before the interpreter's teardown (mark `exit`)"
    return "end", 1, False, "the program's end (mark `end`, the probe's C atexit handler)" + (
        ": NOTE the Python `exit` mark never came (-I, -E or -S ignore bench/pysite), so this is after teardown"
        if warm.python else "")


def describe_warmup(w):
    if not w.entered:
        return f"warm-up {format_duration(w.wall_s)}: {w.note}"
    marks = ", ".join(f"{k}×{v}" for k, v in w.marks.items()) or "none"
    return f"warm-up {format_duration(w.wall_s)}: {'a Python' if w.python else 'not a Python'} program; marks: {marks}"


def note(text):
    print(f"pyalloc: note: {text}", file=sys.stderr)
