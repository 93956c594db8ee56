# Facts about the machine and the source tree, recorded once in meta.json and repeated in every CSV row
# (docs/design.md §6: host, cpu_model, cores, mem_total_bytes, kernel, thp, glibc_version, git_rev).
import os
import platform
import re
import socket
import subprocess

from .binary import REPO


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def meminfo(key):
    """A /proc/meminfo field in bytes (0 when absent)."""
    m = re.search(rf"^{key}:\s+(\d+) kB", read_text("/proc/meminfo"), re.MULTILINE)
    return int(m.group(1)) * 1024 if m else 0


def _cpu_model():
    m = re.search(r"^model name\s*:\s*(.+)$", read_text("/proc/cpuinfo"), re.MULTILINE)
    return m.group(1).strip() if m else platform.processor() or platform.machine()


def thp():
    m = re.search(r"\[(\w+)\]", read_text("/sys/kernel/mm/transparent_hugepage/enabled"))
    return m.group(1) if m else "unknown"


def _glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").split()[-1]
    except (ValueError, OSError, AttributeError, IndexError):
        return platform.libc_ver()[1] or "unknown"


def _git_rev():
    try:
        p = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty", "--abbrev=12"],
                           capture_output=True, text=True, timeout=10)
        return p.stdout.strip() if p.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def facts():
    return {
        "host": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count() or 1,
        "mem_total_bytes": meminfo("MemTotal"),
        "kernel": platform.release(),
        "thp": thp(),
        "glibc_version": _glibc(),
        "git_rev": _git_rev(),
    }
