# Runs one case (configuration, workload, parameters, round) as a fresh child process in its own process group,
# and turns what it left behind (libbenchmark's JSON, its exit status, its stderr) into the measured CSV fields.
import json
import os
import signal
import subprocess
from dataclasses import dataclass

from . import binary, configs, cpython, knobs, schema
from .configs import Config
from .presets import Case


@dataclass
class Job:
    round: int
    config: Config
    case: Case


def one_line(text):
    return " ".join(str(text).split())


def command(exe, job, seed, protocol, out_json, timeline=None):
    """The child's argv (bench/CONTRACT.md).  protocol: {"cycles": timed cycles, "warmup": cycles before them}."""
    argv = [exe, f"--pab_workload={job.case.workload}"]
    argv += [f"--pab_param={k}={v}" for k, v in job.case.params.items()]
    argv += [f"--pab_expect={job.config.allocator}", f"--pab_release={job.config.release}", f"--pab_seed={seed}",
             f"--pab_cycles={protocol['cycles']}", f"--pab_warmup={protocol['warmup']}",
             f"--benchmark_out={out_json}", "--benchmark_out_format=json"]
    asked = knobs.text(job.config)
    if asked:  # read back in the child before the base RSS: a knob refused fails the case
        argv.append(f"--pab_knobs={asked}")
    if timeline:
        argv.append(f"--pab_timeline={timeline}")
    return argv


def job_command(exe, job, seed, protocol, lib, out_json, timeline=None):
    """(argv, env) of one job: the C binary, or the CPython twin for a CPython case (which has no timeline: a
    sampler thread would fight the GIL).  lib: the configuration's resolved library."""
    env = configs.child_env(job.config, lib)
    if cpython.is_cpython(job.case):
        return cpython.command(job.case, job.config, seed, protocol, out_json, env)
    return command(exe, job, seed, protocol, out_json, timeline), env


def outcome(status, error="", **fields):
    return dict(fields, status=status, error=one_line(error))


def from_json(data):
    """libbenchmark's JSON of one case -> the measured fields of its row (docs/design.md §5/§6): every counter named
    like a CSV column goes to that column (bench/harness/case.c's counter table); `cycles` is `iterations`."""
    ctx, b = data.get("context", {}), (data.get("benchmarks") or [{}])[0]
    known = {
        "allocator_lib": ctx.get("pab_allocator_lib", ""),
        "allocator_version": ctx.get("pab_allocator_version", ""),
        "verified": int(ctx.get("pab_verified", "0") or 0),
        "tuning": ctx.get("pab_tuning", ""),
    }
    if ctx.get("pab_params"):
        known["params"] = ctx["pab_params"]
    if not b:
        return outcome("failed", "no benchmark in the JSON output", **known)
    if b.get("error_occurred"):
        msg = b.get("error_message", "failed without a message")
        return outcome("skipped" if msg.startswith("skipped:") else "failed", msg, **known)
    fields = dict(known, threads=int(b.get("threads", 1)), real_ns=int(round(float(b["real_time"]))), cpu_ns=int(round(float(b["cpu_time"]))), mark=b.get("label"))
    fields.update({k: int(round(float(b[k]))) for k in schema.COLUMNS if k in b and schema.TYPES[k] is int})
    fields["iterations"] = int(b.get("cycles", b["iterations"]))  # the timed cycles, not libbenchmark's warmup+cycles
    real, ops = fields["real_ns"], float(b.get("ops_per_cycle", 0))
    if ops > 0 and real > 0:
        fields["ops_per_s"] = round(ops * 1e9 / real, 1)
        fields["ns_per_op"] = round(real / ops, 4)
    grown, live = fields.get("rss_peak_bytes", 0) - fields.get("rss_base_bytes", 0), fields.get("live_peak_bytes", 0)
    if live:
        fields["overhead_ratio"] = round(grown / live, 4)
    return outcome("ok", **fields)


def from_exit(rc, stderr):
    """A child that did not exit 0 -> status and error."""
    if rc < 0:
        if -rc == signal.SIGKILL:
            return outcome("oom", "killed by SIGKILL (as the OOM killer does)")
        try:
            return outcome("failed", f"killed by {signal.Signals(-rc).name}")
        except ValueError:
            return outcome("failed", f"killed by signal {-rc}")
    line = binary.last_line(stderr).removeprefix("pyalloc-bench: ")
    return outcome("failed", line or f"exit status {rc}")


def _kill(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def run(argv, env, timeout, out_json):
    """Runs the child, returns the measured fields.  Kills its whole group on timeout or when interrupted."""
    try:
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, errors="replace", start_new_session=True)
    except OSError as e:
        return outcome("failed", f"cannot start {argv[0]}: {e.strerror}")
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(p)
        p.communicate()
        return outcome("timeout", f"timed out after {timeout:g} s (the whole process group was killed)")
    except BaseException:
        _kill(p)
        raise
    if p.returncode != 0:
        return from_exit(p.returncode, err)
    try:
        with open(out_json) as f:
            return from_json(json.load(f))
    except (OSError, ValueError) as e:
        return outcome("failed", f"no usable JSON from the benchmark ({e}); stderr: {binary.last_line(err)}")
