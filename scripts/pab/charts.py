# PNG charts for `pyalloc report` (matplotlib, Agg): per workload one time chart, one memory chart and, when the run
# recorded --timeline, one RSS-over-time chart. 900 px wide, glibc = 1.0 marked, one colour per configuration.

import zlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

WIDTH_IN, DPI = 9.0, 100  # 900 px: GitHub's content column
PHASES = (("peak", "peak"), ("after_free", "after free"), ("after_release", "after release"))


def colours(configs):
    """One colour per configuration, from its name alone where the palette allows (the same name gets the same
    colour in every report); names whose slot is taken move to the next free one, in name order."""
    palette, taken, out = plt.get_cmap("tab20").colors, set(), {}
    for c in sorted(configs):
        slot = zlib.crc32(c.encode()) % len(palette)
        while slot in taken and len(taken) < len(palette):
            slot = (slot + 1) % len(palette)
        taken.add(slot)
        out[c] = matplotlib.colors.to_hex(palette[slot])
    return out


def _baseline(ax, text="glibc = 1.0 (baseline)"):
    ax.axhline(1.0, color="black", linewidth=1.2, linestyle="--", zorder=1, label=text)


def _bars(ax, groups, configs, colour, values):
    """Grouped bars: groups along x, one bar per configuration; values[(group, config)] = (point, lo, hi) or None."""
    width = 0.8 / max(1, len(configs))
    for j, c in enumerate(configs):
        xs, ys, err = [], [], [[], []]
        for i, g in enumerate(groups):
            v = values.get((g, c))
            if not v or v[0] is None:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            ys.append(v[0])
            err[0].append(v[0] - v[1] if v[1] is not None else 0)
            err[1].append(v[2] - v[0] if v[2] is not None else 0)
        ax.bar(xs, ys, width * 0.92, color=colour[c], label=c, yerr=err, capsize=2, error_kw={"linewidth": 0.8},
               zorder=2)
        for x, y, up in zip(xs, ys, err[1]):  # the value on each bar: 0.90 vs 1.00 must read without a ruler
            ax.annotate(f"{y:.2f}", (x, y + up), xytext=(0, 2), textcoords="offset points", ha="center",
                        va="bottom", fontsize=6 if len(configs) > 5 else 7, rotation=90 if len(configs) > 7 else 0)
    ax.margins(y=0.12)
    ax.set_xticks(range(len(groups)))
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.set_xlim(-0.5, len(groups) - 0.5)


def _finish(fig, ax, path, ncol):
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 7), fontsize=8, frameon=False)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def time_chart(path, workload, groups, configs, colour, values):
    """groups: parameter-set labels; values[(group, config)] = (ratio, lo, hi) of time to glibc."""
    lines = max(g.count(";") + 1 for g in groups)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 4.2))
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.13 + 0.035 * lines)
    _bars(ax, groups, configs, colour, values)
    ax.set_xticklabels([g.replace(";", "\n") for g in groups], fontsize=8)
    _baseline(ax)
    ax.set_ylabel("time per cycle / glibc's\n(lower is faster)")
    ax.set_title(f"{workload}: time per cycle relative to glibc (median of rounds, 95 % CI)", fontsize=10)
    _finish(fig, ax, path, len(configs))


def memory_chart(path, workload, groups, configs, colour, values, glibc_mib):
    """One panel per parameter set; in each, peak / after free / after release relative to glibc's, with glibc's
    own MiB under each phase. values[(group, phase, config)] = (ratio, lo, hi); glibc_mib[(group, phase)] = MiB."""
    n = len(groups)
    fig, axes = plt.subplots(1, n, figsize=(WIDTH_IN, 4.4), squeeze=False, sharey=True)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.84, bottom=0.22, wspace=0.08)
    for ax, g in zip(axes[0], groups):
        phases = [p for p, _ in PHASES]
        _bars(ax, phases, configs, colour, {(p, c): values.get((g, p, c)) for p in phases for c in configs})
        ax.set_xticklabels([f"{label}\n(glibc {_mib(glibc_mib.get((g, p)))})" for p, label in PHASES], fontsize=7)
        _baseline(ax)
        if n > 1:
            ax.set_title(g.replace(";", " "), fontsize=8)
    axes[0][0].set_ylabel("RSS / glibc's RSS\n(lower is smaller)")
    fig.suptitle(f"{workload}: memory relative to glibc (median of rounds, 95 % CI)", fontsize=10)
    _finish(fig, axes[0][0], path, len(configs))


def _mib(v):
    return "n/a" if v is None else f"{v:.1f} MiB" if v < 100 else f"{v:.0f} MiB"


def timeline_chart(path, workload, groups, configs, colour, series):
    """One panel per parameter set: RSS (MiB) over the instrumented cycle (ms), one line per configuration (its
    first recorded round), phase marks as dots labelled once. series[(group, config)] = (ts_ms, mib, [(t, mib, ev)])."""
    n = len(groups)
    fig, axes = plt.subplots(n, 1, figsize=(WIDTH_IN, 1.0 + 2.6 * n), squeeze=False)
    fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.5 / (1.0 + 2.6 * n), bottom=0.9 / (1.0 + 2.6 * n) + 0.02,
                        hspace=0.45)
    for ax, g in zip(axes[:, 0], groups):
        for c in configs:
            s = series.get((g, c))
            if not s:
                continue
            ax.plot(s[0], s[1], color=colour[c], label=c, linewidth=1.3,
                    linestyle="--" if c == "glibc" else "-", zorder=3 if c == "glibc" else 2)
            marks, near = [], 0.02 * max(max(s[0], default=0), 1e-9)
            for t, mib, ev in sorted(s[2]):  # marks close together share one label ("release, end")
                if marks and t - marks[-1][0] < near:
                    marks[-1][2].append(ev)
                else:
                    marks.append([t, mib, [ev]])
            for t, mib, evs in marks:
                ax.plot([t], [mib], "o", color=colour[c], markersize=3.5, zorder=4)
                if c == configs[0]:
                    ax.annotate(", ".join(evs), (t, mib), xytext=(2, 4), textcoords="offset points", fontsize=7)
        ax.set_ylabel("RSS (MiB)")
        ax.grid(alpha=0.3)
        ax.set_title(g.replace(";", " "), fontsize=8)
        ax.set_ylim(bottom=0)
    axes[-1][0].set_xlabel("time since the cycle started (ms)")
    fig.suptitle(f"{workload}: RSS over one instrumented cycle (glibc dashed, dots = phase marks)", fontsize=10)
    _finish(fig, axes[0][0], path, len(configs))
