"""Shared-Bottom, OMoE, MMoE and PLE side by side as block diagrams (user guide)."""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

COLOURS = {
    "input": "#d9d9d9",
    "shared": "#9ecae1",
    "task": "#fdae6b",
    "gate": "#a1d99b",
    "tower": "#fdd0a2",
}


def box(ax, x, y, text, kind, w=0.9, h=0.5):
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            fc=COLOURS[kind],
            ec="#444444",
            lw=0.8,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=10)
    return x, y


def arrow(ax, start, end, dy=0.25):
    ax.annotate(
        "",
        xy=(end[0], end[1] - dy),
        xytext=(start[0], start[1] + dy),
        arrowprops=dict(arrowstyle="->", lw=0.6, color="#555555"),
    )


def towers(ax, sources, xs=(0.8, 3.2)):
    for i, (x, source) in enumerate(zip(xs, sources)):
        tower = box(ax, x, 4.0, f"tower {i}", "tower")
        arrow(ax, source, tower)
        ax.text(x, 4.6, f"task {i}", ha="center", fontsize=10)


def shared_bottom(ax):
    x = box(ax, 2, 0, "x", "input")
    bottom = box(ax, 2, 1.5, "shared bottom", "shared", w=2.6)
    arrow(ax, x, bottom)
    towers(ax, [bottom, bottom])


def mixture(ax, n_gates):
    x = box(ax, 2, 0, "x", "input")
    experts = [box(ax, 0.5 + 1.5 * e, 1.4, f"expert {e}", "shared") for e in range(3)]
    for expert in experts:
        arrow(ax, x, expert)
    if n_gates == 1:
        gate = box(ax, 2, 2.7, "gate", "gate", w=1.1)
        for expert in experts:
            arrow(ax, expert, gate)
        towers(ax, [gate, gate])
        return
    gates = [box(ax, gx, 2.7, f"gate {i}", "gate") for i, gx in enumerate((0.8, 3.2))]
    for gate in gates:
        for expert in experts:
            arrow(ax, expert, gate)
    towers(ax, gates)


def ple(ax):
    x = box(ax, 2, 0, "x", "input")
    experts = [
        box(ax, 0.1, 1.4, "task 0\nexperts", "task", w=0.8),
        box(ax, 2, 1.4, "shared\nexperts", "shared", w=1.0),
        box(ax, 3.9, 1.4, "task 1\nexperts", "task", w=0.8),
    ]
    for expert in experts:
        arrow(ax, x, expert)
    gates = [box(ax, 0.8, 2.7, "gate 0", "gate"), box(ax, 3.2, 2.7, "gate 1", "gate")]
    for gate, own in zip(gates, (experts[0], experts[2])):
        arrow(ax, own, gate)
        arrow(ax, experts[1], gate)
    towers(ax, gates)


# Two by two, so that each diagram is read at the width of the text column.
fig, axes = plt.subplots(2, 2, figsize=(9, 8))
for ax, (title, draw) in zip(
    axes.ravel(),
    [
        ("Shared-Bottom", shared_bottom),
        ("OMoE: one gate", lambda ax: mixture(ax, 1)),
        ("MMoE: one gate per task", lambda ax: mixture(ax, 2)),
        ("PLE: own + shared experts", ple),
    ],
):
    draw(ax)
    ax.set_title(title, fontsize=12)
    ax.set_xlim(-0.5, 4.5)
    ax.set_ylim(-0.5, 4.9)
    ax.axis("off")
fig.tight_layout()
