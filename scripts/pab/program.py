# One process of the user's own command under the probe (`pyalloc try`, docs/try.md): its environment, the process in
# its own group timed from outside (wall clock, CPU from os.wait4), and what the probe wrote turned into row fields.
import hashlib
import json
import os
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import time
from dataclasses import dataclass, field

from . import binary, configs, knobs, runner

PYSITE = os.path.join(binary.REPO, "bench", "pysite")  # pyalloc_mark + the sitecustomize that sets the `exit` mark
PID_CLAIM = "0" * 10     # PAB_PROBE_PID: the first process writes its pid over it (bench/probe/probe.c)
AUTOMATIC = ("exit", "end", "signal")  # the probe's own marks; any other is a mark the program makes


def probe_path():
    return os.path.join(binary.build_dir(), "bench", "libpab-probe.so")


def is_python_name(path):
    return re.match(r"^python[0-9.]*$", os.path.basename(path)) is not None


def command_id(argv):
    """A short stable id of the command for the params cell: the script (or program) name and a hash of argv."""
    name = argv[0]
    if is_python_name(argv[0]):
        rest = [a for a in argv[1:] if a != "-m"]
        name = next((a for a in rest if not a.startswith("-")), argv[0])
    base = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(name))[:40] or "cmd"
    return f"{base}-{hashlib.sha1(chr(0).join(argv).encode()).hexdigest()[:8]}"


def pythonpath(base):
    """bench/pysite first (the marks and the exit hook), then the user's own PYTHONPATH as it was."""
    return os.pathsep.join(x for x in (PYSITE, base.get("PYTHONPATH")) if x)


def environment(config, lib, layer, probe_vars, base):
    """The child's environment: the user's (allocator knobs stripped) + the configuration's, LD_PRELOAD = the
    configuration's library then the probe, PYTHONMALLOC=malloc for layer=malloc, bench/pysite first on PYTHONPATH."""
    env = configs.child_env(config, lib, base)
    env["LD_PRELOAD"] = ":".join(x for x in (lib, probe_path()) if x)
    env.pop("PYTHONMALLOC", None)
    if layer == "malloc":
        env["PYTHONMALLOC"] = "malloc"
    env["PYTHONPATH"] = pythonpath(base)
    env.update(probe_vars)
    asked = knobs.text(config)
    if asked:  # read back by the probe before the program starts (docs/design.md §13)
        env["PAB_PROBE_KNOBS"] = asked
    return env


def probe_vars(out, expect, release, mark, at, timeline=None, sig=None):
    """What the probe reads (bench/probe/probe.c) and the sitecustomize's PAB_MARK_SIGNAL; sig: (number, name)."""
    v = {"PAB_PROBE_OUT": out, "PAB_PROBE_PID": PID_CLAIM, "PAB_PROBE_EXPECT": expect, "PAB_PROBE_RELEASE": release,
         "PAB_PROBE_MARK": mark or "", "PAB_PROBE_AT": str(at)}
    if timeline:
        v["PAB_PROBE_TIMELINE"] = timeline
    if sig:
        v.update(PAB_PROBE_SIGNAL=str(sig[0]), PAB_MARK_SIGNAL=sig[1])
    return v


@dataclass
class Process:
    """What one run of the command left: how it ended, its times, its stderr's last line, the probe's JSON."""
    start_error: str = ""
    timed_out: bool = False
    returncode: int = 0
    wall_ns: int = 0
    cpu_ns: int = 0
    stderr: str = ""
    probe: dict = field(default_factory=dict)


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(argv, env, timeout, tmp, on_start=None):
    """Runs argv in its own process group (stdin and stdout closed to /dev/null, stderr kept in a file) until it
    ends or timeout seconds pass (then the whole group is killed); what the group leaves behind is killed too."""
    out, err_path = env["PAB_PROBE_OUT"], os.path.join(tmp, "stderr")
    for f in (out, out + ".tmp"):
        if os.path.exists(f):
            os.remove(f)
    res = Process()
    with open(err_path, "w+b") as err:
        t0 = time.monotonic_ns()
        try:
            p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                 start_new_session=True)
        except OSError as e:
            res.start_error = f"cannot start {argv[0]}: {e.strerror}"
            return res
        try:
            if on_start:
                on_start(p.pid)
            status, usage, res.wall_ns, res.timed_out = _wait(p.pid, timeout, t0)
        except BaseException:
            _kill_group(p.pid)
            p.wait()
            raise
        finally:
            _kill_group(p.pid)
        p.returncode = res.returncode = os.waitstatus_to_exitcode(status)
        res.cpu_ns = int((usage.ru_utime + usage.ru_stime) * 1e9)
        err.seek(max(0, os.fstat(err.fileno()).st_size - 8192))
        res.stderr = binary.last_line(err.read().decode(errors="replace"))
    try:
        with open(out) as f:
            res.probe = json.load(f)
    except (OSError, ValueError):
        res.probe = {}
    return res


def _wait(pid, timeout, t0):
    """(wait status, rusage, wall ns, timed out): a pidfd wakes us the moment the process ends, then os.wait4 reaps it
    with its CPU times (its own and those of the children it waited for)."""
    fd = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        ready = poller.poll(None if timeout is None else int(timeout * 1000))
        wall = time.monotonic_ns() - t0
        if not ready:
            _kill_group(pid)
    finally:
        os.close(fd)
    _, status, usage = os.wait4(pid, 0)
    return status, usage, wall, not ready


def fields(res, expect, point, timeout, argv, env):
    """The measured fields of a row (status ok, or why not).  point = (mark, occurrence, exact): the measuring point;
    exact: the mark must occur exactly `occurrence` times (the last one, as the warm-up counted)."""
    if res.start_error:
        return runner.outcome("failed", res.start_error)
    if res.timed_out:
        return runner.outcome("timeout", f"timed out after {timeout:g} s (the whole process group was killed)")
    data, ident = res.probe, res.probe.get("identity") or {}
    known = {"allocator_version": ident.get("version", ""), "verified": int(bool(ident.get("verified"))),
             "tuning": ident.get("tuning", "")}
    if ident.get("lib"):
        known["allocator_lib"] = ident["lib"]
    if ident and ident.get("allocator") != expect:
        return runner.outcome("failed", f"wrong allocator: expected {expect}, but malloc is served by "
                                        f"{ident.get('allocator')} ({ident.get('lib')})", **known)
    if res.returncode < 0:
        return dict(runner.from_exit(res.returncode, ""), **known)
    if res.returncode > 0:
        return runner.outcome("failed", f"exit status {res.returncode}" + (f": {res.stderr}" if res.stderr else ""),
                              **known)
    if not data:
        return runner.outcome("failed", why_no_probe(argv, env))
    if data.get("stage") != "end":
        return runner.outcome("failed", "the program ended without running its exit handlers (os._exit?): the probe "
                                        "could not take its figures", **known)
    mark, at, exact = point
    seen = (data.get("marks") or {}).get(mark, 0)
    measured = data.get("measured")
    if not measured:
        return runner.outcome("failed", f"never reached the measuring point, occurrence {at} of mark `{mark}`: this "
                                        f"run made it {seen} time(s)", **known)
    if exact and seen != at:
        return runner.outcome("failed", f"mark `{mark}` occurred {seen} times, the warm-up run {at}: its count varies "
                                        f"between runs, so its last occurrence is no fixed point (name another mark)",
                              **known)
    return runner.outcome("ok", **known, iterations=1, real_ns=res.wall_ns, cpu_ns=res.cpu_ns, mark=measured["mark"],
                          **{k: data.get(k) for k in ("rss_base_bytes", "rss_peak_bytes", "minor_faults",
                                                      "major_faults")},
                          **{k: measured.get(k) for k in ("rss_after_free_bytes", "rss_after_release_bytes",
                                                          "release_ns")})


def program_marks(marks):
    """{name: count} of the marks the program itself made (the probe's own `exit`, `end`, `signal` left out)."""
    return {k: v for k, v in (marks or {}).items() if k not in AUTOMATIC}


# --- why the probe never entered a process: the dynamic linker ignores LD_PRELOAD for static and setuid programs

def _entry(argv, env):
    """The file the kernel runs for argv: the command itself, or its #! interpreter (through `env NAME`)."""
    exe = shutil.which(argv[0], path=env.get("PATH")) if os.sep not in argv[0] else argv[0]
    try:
        with open(exe, "rb") as f:
            head = f.read(256)
    except (OSError, TypeError):
        return exe
    if head.startswith(b"#!"):
        words = head[2:].split(b"\n", 1)[0].decode(errors="replace").split()
        if words and os.path.basename(words[0]) == "env" and len(words) > 1:
            return _entry(words[1:], env)
        if words:
            return words[0]
    return exe


def _has_interpreter(path):
    """False for a static ELF executable (no PT_INTERP: nothing reads LD_PRELOAD); None when it cannot tell."""
    try:
        with open(path, "rb") as f:
            h = f.read(64)
            if h[:4] != b"\x7fELF" or h[4] != 2:
                return None
            end = "<" if h[5] == 1 else ">"
            phoff, = struct.unpack(end + "Q", h[32:40])
            phentsize, phnum = struct.unpack(end + "HH", h[54:58])
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return None
    return any(struct.unpack(end + "I", table[i * phentsize:i * phentsize + 4])[0] == 3 for i in range(phnum))


def why_no_probe(argv, env):
    exe = _entry(argv, env)
    try:
        mode = os.stat(exe).st_mode if exe else 0
    except OSError:
        mode = 0
    if mode & (stat.S_ISUID | stat.S_ISGID):
        return (f"the probe could not enter: {exe} is setuid/setgid, and the dynamic linker ignores LD_PRELOAD for "
                f"it (so the configuration's allocator did not load either)")
    if exe and _has_interpreter(exe) is False:
        return (f"the probe could not enter: {exe} is statically linked, so LD_PRELOAD does not apply (neither the "
                f"probe nor the configuration's allocator loaded)")
    return ("the probe never reported: the program cleared LD_PRELOAD, or it ran a static or setuid program in "
            "its place")
