# The exact way to deploy a configuration in a Python service: the LD_PRELOAD line (with the configuration's
# environment and PYTHONMALLOC=malloc where the evidence needs it) and, for release=cycle, the allocator's own call
# (its adapter's release_py, allocators/<name>.c) and where it goes.
import shlex

from . import native


LAYER_WORDS = {"pymalloc": "pymalloc", "malloc": "PYTHONMALLOC=malloc"}  # how a layer is said after a configuration


def with_layer(config, layer, name_pymalloc=True):
    """'jemalloc + PYTHONMALLOC=malloc', 'glibc + pymalloc' (or plain 'glibc' with name_pymalloc=False), or the
    configuration alone for a program without layers."""
    if layer not in LAYER_WORDS or (layer == "pymalloc" and not name_pymalloc):
        return config
    return f"{config} + {LAYER_WORDS[layer]}"


def line(row, pymalloc_off=False, program="python3 app.py"):
    """row: any row of the configuration (allocator, allocator_lib, env). glibc needs no preload."""
    words = []
    if row.get("allocator") not in ("glibc", "", None) and row.get("allocator_lib"):
        words.append("LD_PRELOAD=" + shlex.quote(row["allocator_lib"]))
    for item in (row.get("env") or "").split(" "):
        if "=" in item:
            k, v = item.split("=", 1)
            words.append(f"{k}={shlex.quote(v)}")
    if pymalloc_off:
        words.append(LAYER_WORDS["malloc"])
    return " ".join(words + [program])


def release_call(row, where="after each batch of work"):
    """What the application must call, for release_policy=cycle configurations; None otherwise.  Under a preloaded
    allocator glibc's malloc_trim only trims glibc's unused heap, so each allocator's own call is named."""
    if row.get("release_policy") != "cycle":
        return None
    a = native.allocator(row.get("allocator") or "")
    if not a or a["name"] == "other":
        return f"call {row.get('allocator')}'s own release function {where} (no adapter knows it)"
    return f"{where}: `import ctypes, gc; gc.collect(); {a['release_py']}`"
