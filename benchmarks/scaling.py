"""Scaling curves: fit seconds per epoch against rows, experts and tasks.

Usage::

    python benchmarks/scaling.py                 # prints the curves, writes the figure
    python benchmarks/scaling.py --quick         # fewer points, one repeat

Starting from the set-up of ``bench_core.py`` (200,000 x 128 float32 rows, 2 binary
tasks, 8 experts of (32,), towers (16,), linear gates, batch 1024, constant rate, no
validation), one quantity varies at a time: rows 10,000 to 1,000,000, experts 2 to 64,
tasks 2 to 16. A point is the best of ``--repeats`` fits of 2 epochs, divided by 2
(so a fit's fixed cost, about 0.05 s at 200,000 rows, is half included). Each curve's
growth is the least-squares slope of log(seconds) against log(size) over the curve's
upper half (1: linear; below 1: a fixed cost per epoch or per step still shows).
The figure goes to ``docs/_static/scaling.png`` and the figures to
``benchmarks/scaling.json``.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from sklearn_mmoe import MMoEClassifier

warnings.simplefilter("ignore")  # ConvergenceWarning from the 2-epoch fits

HERE = Path(__file__).parent
FIGURE = HERE.parent / "docs" / "_static" / "scaling.png"
BASE = dict(
    n_experts=8,
    expert_units=(32,),
    tower_units=(16,),
    gate_units=(),
    numeric_encoding=None,
    learning_rate_schedule="constant",
    early_stopping=False,
    batch_size=1024,
    max_epochs=2,
    random_state=0,
)
N_ROWS, N_FEATURES, N_TASKS = 200_000, 128, 2


def make_data(n_rows, n_tasks, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, N_FEATURES), dtype=np.float32)
    Y = np.column_stack([X[:, t] + X[:, t + 1] > 0 for t in range(n_tasks)])
    return X, Y.astype(np.int64)


def seconds_per_epoch(n_rows=N_ROWS, n_experts=8, n_tasks=N_TASKS, repeats=3):
    X, Y = make_data(n_rows, n_tasks)
    clf = MMoEClassifier(**dict(BASE, n_experts=n_experts))
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        clf.fit(X, Y)
        best = min(best, time.perf_counter() - start)
    return best / BASE["max_epochs"]


def growth(sizes, seconds):
    """log-log slope over the curve's upper half (the regime it grows into)."""
    half = len(sizes) // 2
    slope = np.polyfit(np.log(sizes[half:]), np.log(seconds[half:]), 1)[0]
    return float(slope)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plot-only", action="store_true", help="from scaling.json")
    args = parser.parse_args()
    if args.plot_only:
        return plot(json.loads((HERE / "scaling.json").read_text()))
    repeats = 1 if args.quick else args.repeats
    curves = {
        "rows": [10_000, 30_000, 100_000, 300_000, 1_000_000],
        "experts": [2, 4, 8, 16, 32, 64],
        "tasks": [2, 4, 8, 16],
    }
    if args.quick:
        curves = {k: v[::2] for k, v in curves.items()}
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; base: "
        f"{N_ROWS:,} x {N_FEATURES}, {N_TASKS} tasks, 8 experts of 32",
        flush=True,
    )
    seconds_per_epoch(20_000, repeats=1)  # load and warm everything first
    results = {}
    for name, sizes in curves.items():
        seconds = []
        for size in sizes:
            kwargs = {"rows": "n_rows", "experts": "n_experts", "tasks": "n_tasks"}
            seconds.append(seconds_per_epoch(**{kwargs[name]: size}, repeats=repeats))
            per = seconds[-1] / size * (1e6 if name == "rows" else 1)
            unit = "s per million rows" if name == "rows" else f"s per {name[:-1]}"
            print(
                f"{name} {size:>9,}: {seconds[-1]:.3f} s per epoch ({per:.3f} {unit})",
                flush=True,
            )
        slope = growth(sizes, seconds)
        print(f"{name}: growth exponent {slope:.2f} (1 = linear)", flush=True)
        results[name] = dict(sizes=sizes, seconds=seconds, growth=slope)
    (HERE / "scaling.json").write_text(json.dumps(results, indent=1) + "\n")
    plot(results)


def plot(results):
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), constrained_layout=True)
    labels = {"rows": "training rows", "experts": "experts", "tasks": "tasks"}
    for ax, (name, r) in zip(axes, results.items()):
        sizes, seconds = np.array(r["sizes"]), np.array(r["seconds"])
        ax.loglog(sizes, seconds, "o-", label="measured")
        ref = seconds[0] * sizes / sizes[0]
        ax.loglog(sizes, ref, ":", color="grey", label="linear from the first point")
        ax.set_xticks(sizes, [f"{v:,}" for v in sizes], rotation=30 * (name == "rows"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(labels[name])
        ax.set_title(f"growth exponent {r['growth']:.2f}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("fit seconds per epoch")
    axes[0].legend(fontsize=8)
    fig.suptitle("MMoEClassifier.fit, 2 CPU cores (benchmarks/scaling.py)")
    FIGURE.parent.mkdir(exist_ok=True)
    fig.savefig(FIGURE, dpi=110)
    print(f"figure: {FIGURE.relative_to(HERE.parent)}", flush=True)


if __name__ == "__main__":
    main()
