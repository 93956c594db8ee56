# Programs for the `pyalloc try` tests (tests/cli/test_try*.py): `prog.py MODE [ARGS]`, each a known memory story or a
# known misbehaviour, so a test can tell where the probe measured and what became of the run.
import gc
import os
import signal
import subprocess
import sys
import time

import pyalloc_mark

MIB = 1 << 20
HELD = []  # module-level, as a program's globals: alive until the interpreter's teardown


def spike(hold_mib=100, peak_mib=300):
    """Peaks at peak_mib of 1 MiB buffers (glibc serves each with mmap) and keeps hold_mib of them in HELD."""
    big = [bytes([i % 251]) * MIB for i in range(peak_mib)]
    HELD.extend(big[:hold_mib])
    del big
    gc.collect()


def wait_for(path, seconds=20):
    end = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.01)


def main(mode, args):
    malloc_layer = os.environ.get("PYTHONMALLOC") == "malloc"
    if mode == "spike":                      # [mark]: holds 100 MiB to its end, marks after_spike when asked
        spike()
        if args[:1] == ["mark"]:
            pyalloc_mark.mark("after_spike")
        assert all(len(b) == MIB for b in HELD)
    elif mode == "signal":                   # DIR: holds 100 MiB until signalled from outside, then drops it
        spike()
        ready = os.path.join(args[0], str(os.getpid()))
        open(ready + ".ready", "w").close()
        wait_for(ready + ".sent")
        time.sleep(0.05)                     # the handler runs between bytecodes, on the main thread
        HELD.clear()
    elif mode == "steps":                    # N [N under PYTHONMALLOC=malloc]: marks `step` N times
        n = int(args[1] if malloc_layer and len(args) > 1 else args[0])
        for _ in range(n):
            pyalloc_mark.mark("step")
    elif mode == "heap":                     # 3 x: 60 MB of small strings on the heap, one survivor above them, freed
        keep = []
        for i in range(3):
            strings = [str(i) * 200 + str(k) for k in range(300000)]
            keep.append(str(i) * 300)        # allocated after them: glibc cannot trim the heap top
            assert len(strings) == 300000
            del strings
            gc.collect()
            pyalloc_mark.mark("step")
    elif mode == "misbehave":                # exit|crash|hang, only under PYTHONMALLOC=malloc
        if malloc_layer:
            if args[0] == "exit":
                sys.exit("failing on purpose under PYTHONMALLOC=malloc")
            if args[0] == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            if args[0] == "hang":
                time.sleep(3600)
    elif mode == "fork":                     # a forked child allocates 200 MiB and marks; the parent holds 100 MiB
        spike(100, 120)
        pid = os.fork()
        if pid == 0:
            spike(200, 200)
            pyalloc_mark.mark("child_mark")
            sys.exit(0)                      # runs the child's atexit (an `exit` mark the probe must ignore)
        os.waitpid(pid, 0)
        pyalloc_mark.mark("after_spike")
    elif mode == "subprocess":               # a child python (fork + exec, inheriting the preload) spikes to 300 MiB
        subprocess.run([sys.executable, __file__, "spike", "mark"], check=True)
        pyalloc_mark.mark("parent_mark")
    elif mode == "exec":                     # marks, then becomes `spike mark` by exec: the same process, measured
        pyalloc_mark.mark("before_exec")
        os.execv(sys.executable, [sys.executable, __file__, "spike", "mark"])
    elif mode == "drop_preload":             # re-execs itself with LD_PRELOAD cut to the probe alone
        if "again" not in args:
            env = dict(os.environ, LD_PRELOAD=":".join(p for p in os.environ["LD_PRELOAD"].split(":")
                                                       if "pab-probe" in p))
            os.execve(sys.executable, [sys.executable, __file__, mode, "again"], env)
    else:
        sys.exit(f"prog.py: unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
