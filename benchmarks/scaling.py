"""Scaling curves: seconds per epoch against rows, experts, tasks and numeric columns.

Usage::

    python benchmarks/scaling.py                 # prints the curves, writes the figure
    python benchmarks/scaling.py --quick         # fewer points, one repeat
    python benchmarks/scaling.py --curves columns  # some curves only (the others are
                                                   # kept from the record)

Starting from the set-up of ``bench_core.py`` (200,000 x 128 float32 rows, 2 binary
tasks, 8 experts of (32,), towers (16,), linear gates, batch 1024, constant rate, no
validation), one quantity varies at a time: rows 10,000 to 1,000,000, experts 2 to 64,
tasks 2 to 16 (numeric columns passed as they are, ``numeric_encoding=None``), and
numeric columns 16 to 512 with the default numeric encoding (``"auto"``, which at
200,000 rows bins every column: a piecewise-linear code of up to 32 inputs per column)
beside the same fit on the raw columns. A point is the best of ``--repeats`` fits of 2
epochs, divided by 2 (so a fit's fixed cost, about 0.05 s at 200,000 rows, is half
included); on the columns curve a point is the mean of the 2 epochs' own seconds, and
the fit's fixed cost (the bins' placement, one tree per column on 100,000 rows) is
reported beside it. Each curve's growth is the least-squares slope of log(seconds)
against log(size) over the curve's upper half (1: linear; below 1: a fixed cost per
epoch or per step still shows). The figures go to ``records/scaling.json``, which
the documentation draws (``draw``) when it is built.
"""

import argparse
import json
import time
import warnings

import numpy as np
import torch

from benchmarks.recording import RECORDS, command
from sklearn_mmoe import MMoEClassifier

warnings.simplefilter("ignore")  # ConvergenceWarning from the 2-epoch fits

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
CURVES = {
    "rows": [10_000, 30_000, 100_000, 300_000, 1_000_000],
    "experts": [2, 4, 8, 16, 32, 64],
    "tasks": [2, 4, 8, 16],
    "columns": [16, 32, 64, 128, 256, 512],
}


def make_data(n_rows, n_tasks, seed=0, n_features=N_FEATURES):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
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


def columns_point(n_columns, repeats=3):
    """On ``n_columns`` numeric columns: seconds per epoch with the default numeric
    encoding, the fixed cost of that fit (its seconds outside the epochs), and
    seconds per epoch on the raw columns; each the best of ``repeats`` fits."""
    X, Y = make_data(N_ROWS, N_TASKS, n_features=n_columns)
    encoded = dict(BASE)
    del encoded["numeric_encoding"]  # the default
    best = {"epoch": np.inf, "fixed": np.inf, "raw": np.inf}
    for _ in range(repeats):
        for key, params in (("epoch", encoded), ("raw", BASE)):
            clf = MMoEClassifier(**params)
            start = time.perf_counter()
            clf.fit(X, Y)
            total = time.perf_counter() - start
            epochs = [row["dur"] for row in clf.net_.history]
            best[key] = min(best[key], float(np.mean(epochs)))
            if key == "epoch":
                assert clf.net_.module_.encoder.numeric_kind == "piecewise"
                best["fixed"] = min(best["fixed"], total - float(np.sum(epochs)))
    return best


def growth(sizes, seconds):
    """log-log slope over the curve's upper half (the regime it grows into)."""
    half = len(sizes) // 2
    slope = np.polyfit(np.log(sizes[half:]), np.log(seconds[half:]), 1)[0]
    return float(slope)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--curves", nargs="+", choices=list(CURVES), default=list(CURVES)
    )
    args = parser.parse_args()
    path = RECORDS / "scaling.json"
    repeats = 1 if args.quick else args.repeats
    curves = {name: CURVES[name] for name in args.curves}
    if args.quick:
        curves = {k: v[::2] for k, v in curves.items()}
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; base: "
        f"{N_ROWS:,} x {N_FEATURES}, {N_TASKS} tasks, 8 experts of 32",
        flush=True,
    )
    seconds_per_epoch(20_000, repeats=1)  # load and warm everything first
    results = json.loads(path.read_text()) if path.exists() else {}
    for name, sizes in curves.items():
        if name == "columns":
            results[name] = columns_curve(sizes, repeats)
            continue
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
    # the curves not re-measured are kept from the record's run
    curves = {name: results[name] for name in CURVES if name in results}
    results = {"command": command("benchmarks.scaling"), **curves}
    path.write_text(json.dumps(results, indent=1) + "\n")


def columns_curve(sizes, repeats):
    points = []
    for size in sizes:
        points.append(point := columns_point(size, repeats))
        ratio = point["epoch"] / point["raw"]
        print(
            f"columns {size:>9,}: {point['epoch']:.3f} s per epoch with the default "
            f"encoding, {point['raw']:.3f} s raw ({ratio:.1f}x); fixed cost "
            f"{point['fixed']:.1f} s ({point['fixed'] / size:.3f} s per column)",
            flush=True,
        )
    seconds = [p["epoch"] for p in points]
    slope = growth(sizes, seconds)
    print(f"columns: growth exponent {slope:.2f} (1 = linear)", flush=True)
    return dict(
        sizes=sizes,
        seconds=seconds,
        growth=slope,
        raw_seconds=[p["raw"] for p in points],
        fixed_seconds=[p["fixed"] for p in points],
    )


def draw(results):
    """The curves of ``results`` (the record's) as a matplotlib figure: one panel per
    curve, two by two, each with its growth exponent and a linear reference."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(2, 2, figsize=(9, 7.2), constrained_layout=True)
    labels = {
        "rows": "training rows",
        "experts": "experts",
        "tasks": "tasks",
        "columns": "numeric columns (default encoding)",
    }
    curves = [(name, results[name]) for name in CURVES if name in results]
    for ax, (name, r) in zip(axes.flat, curves):
        sizes, seconds = np.array(r["sizes"]), np.array(r["seconds"])
        ax.loglog(sizes, seconds, "o-", label="measured")
        if "raw_seconds" in r:
            ax.loglog(sizes, r["raw_seconds"], "s--", label="raw columns")
        ref = seconds[0] * sizes / sizes[0]
        ax.loglog(sizes, ref, ":", color="grey", label="linear from the first point")
        ax.set_xticks(sizes, [f"{v:,}" for v in sizes], rotation=30 * (name == "rows"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(labels[name])
        ax.set_ylabel("fit seconds per epoch")
        ax.set_title(f"growth exponent {r['growth']:.2f}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("MMoEClassifier.fit on 2 CPU cores (benchmarks/scaling.py)")
    return fig


if __name__ == "__main__":
    main()
