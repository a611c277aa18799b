"""PNG of a `umalloc sim` comparison (matplotlib, no display needed)."""

from .errors import UserError


def draw(rows, out, with_min):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["trace"] for r in rows))
    allocs = list(dict.fromkeys(r["allocator"] for r in rows))
    by = {(r["trace"], r["allocator"]): r for r in rows}
    panels = [("min arena / peak live bytes (lower is better)", lambda r: r["ratio"])] if with_min else []
    panels += [("failed requests at the given arena", lambda r: r["failed"]),
               ("worst fragmentation (1 - largest/free)", lambda r: r["worst_frag"])]
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(6, 1.6 * len(names) * len(allocs) / 3 + 3),
                                                       3.2 * len(panels)), squeeze=False)
    width = 0.8 / len(allocs)
    for ax, (title, value) in zip(axes[:, 0], panels):
        for k, a in enumerate(allocs):
            xs = [i + (k - (len(allocs) - 1) / 2) * width for i in range(len(names))]
            ys = [value(by[(t, a)]) for t in names]
            bars = ax.bar(xs, ys, width, label=a)
            for b, y in zip(bars, ys):
                ax.annotate(("%.2f" % y) if isinstance(y, float) else str(y),
                            (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom", fontsize=7)
        ax.margins(y=0.15)                  # room for the value labels above the bars
        if with_min and value is panels[0][1]:
            ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
            ax.set_ylim(bottom=0.8)
        else:                               # counts and fractions start at 0 (all zero: 0..1)
            top = max(value(r) for r in rows)
            ax.set_ylim(0, top * 1.15 if top > 0 else 1)
            if isinstance(top, int):        # failed requests: whole numbers on the axis
                from matplotlib.ticker import MaxNLocator
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names)
        ax.set_title(title, fontsize=10)
    # the legend above the panels, where it covers no bar
    handles, labels = axes[0, 0].get_legend_handles_labels()
    rows_of_legend = (len(allocs) + 4) // 5
    fig.legend(handles, labels, loc="upper center", fontsize=8, ncol=min(5, len(allocs)), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.035 * rows_of_legend * 3 / len(panels)))
    try:
        fig.savefig(out, dpi=100)
    except OSError as exc:          # checked before the replays; this is what changed since
        raise UserError("--png %s: cannot write it (%s): choose a path you can write to"
                        % (out, exc.strerror or exc)) from None
    finally:
        plt.close(fig)
