"""What the default numeric encoding costs: its binning, and its epoch by table width.

Usage:
    python benchmarks/numeric_cost.py [binning|suite|width|all]

- binning: seconds to place the piecewise-linear encoding's bins on 200,000 x 128
  float32 (2 binary tasks), against HistGradientBoosting's own binning of the same
  table and against the exact trees the bins were placed by before (one
  DecisionTreeRegressor per column on 100,000 rows), in the same run.
- suite: per case of the defaults suite (``benchmarks/defaults.py``), the first split
  of seed 0, a default fit timed whole and its numeric encoding's fit (the binning,
  where "auto" bins) timed inside it: what the binning costs on real tables, the
  encoding "auto" picked and its code's width.
- width: seconds per epoch of a default MMoEClassifier (every parameter default but
  ``numeric_encoding``) on 50,000 rows of 4 to 128 numeric columns, piecewise-linear
  against robust scaling, in the same run: where the code's epoch costs what, which
  ``numeric_encoding="auto"``'s rule on the number of numeric columns follows.

Each figure is printed and kept in ``records/numeric_cost.json`` under its key
(a run of one part replaces that part's figures only), with the command, the date and
the machine.
"""

import os
import sys
import time
import warnings

import numpy as np
from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
from sklearn.tree import DecisionTreeRegressor

from benchmarks.bench_core import write_record
from benchmarks.recording import RECORDS
from sklearn_mmoe import MMoEClassifier
from sklearn_mmoe._inputs.numeric import fit_numeric, tree_targets

warnings.simplefilter("ignore")  # ConvergenceWarning from the deliberately short fits

RECORD = os.path.join(RECORDS, "numeric_cost.json")
N_ROWS, N_FEATURES = 200_000, 128
WIDTHS = (4, 8, 16, 32, 64, 128)
WIDTH_ROWS, WIDTH_EPOCHS = 50_000, 3
MEASURED = {}


def make_data(n_rows, n_features, seed=0):
    """Standard normal columns; two binary tasks on the first four."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    Y = np.column_stack([X[:, 0] + X[:, 1] > 0, X[:, 2] * X[:, 3] > 0])
    return X, Y.astype(np.int64)


def best_of(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_binning():
    X, Y = make_data(N_ROWS, N_FEATURES)
    rows, weight = np.arange(N_ROWS), np.ones(N_ROWS)
    kinds = ["classification"] * 2

    def ours():
        fit_numeric(X, rows, weight, N_FEATURES, "piecewise", targets=(Y, kinds))

    def boosting():
        _BinMapper(n_bins=256, subsample=200_000, random_state=0).fit_transform(X)

    def exact_trees():  # the former placement: one exact tree per column
        sample = np.random.default_rng(0).choice(N_ROWS, 100_000, replace=False)
        values, targets = X[np.sort(sample)].astype(np.float64), Y[np.sort(sample)]
        targets = tree_targets(values, targets, kinds)
        for column in values.T:
            tree = DecisionTreeRegressor(max_leaf_nodes=32, random_state=0)
            tree.fit(column[:, None], targets)

    seconds = {"ours": best_of(ours), "boosting": best_of(boosting)}
    seconds["exact_trees"] = best_of(exact_trees, repeat=1)
    for name, value in seconds.items():
        print(f"binning 200,000 x 128, {name}: {value:.3f} s", flush=True)
    print(
        f"ours / boosting's binning: {seconds['ours'] / seconds['boosting']:.2f}; "
        f"exact trees / ours: {seconds['exact_trees'] / seconds['ours']:.1f}",
        flush=True,
    )
    MEASURED["binning"] = dict(what="binning 200,000 x 128 (s)", **seconds)


def bench_suite():
    from benchmarks.suite.cases import CASES, subset
    from benchmarks.suite.competitors import fitted_mmoe, make_model
    from sklearn_mmoe._training import engine as _engine

    spent = []
    fit_numeric_of = _engine.fit_numeric

    def timed(*args, **kwargs):
        start = time.perf_counter()
        described = fit_numeric_of(*args, **kwargs)
        spent.append(time.perf_counter() - start)
        return described

    _engine.fit_numeric = timed
    rows = []
    try:
        for name, case in CASES.items():
            X, Y = case.load()
            kinds = case.task_kinds(Y)
            params = {"missing_labels": "ignore"} if case.kind == "mixed" else {}
            train, _ = case.splits(X, Y, 0)[0]
            model = make_model("MMoE", case.kind, X, 0, params, kinds)
            spent.clear()
            start = time.perf_counter()
            model.fit(subset(X, train), subset(Y, train))
            fit = time.perf_counter() - start
            encoder = fitted_mmoe(model).net_.module_.encoder
            row = dict(
                case=name,
                rows=len(train),
                encoding=encoder.numeric_kind,
                code_width=int(encoder.code_width),
                encoding_seconds=sum(spent),
                fit_seconds=fit,
            )
            rows.append(row)
            print(
                f"{name:<16} {row['rows']:>7,} rows, {row['encoding']} "
                f"({row['code_width']} inputs): encoding {sum(spent):.3f} s of a "
                f"{fit:.1f} s fit",
                flush=True,
            )
    finally:
        _engine.fit_numeric = fit_numeric_of
    MEASURED["suite"] = dict(what="the numeric encoding's fit per case", rows=rows)


def _epoch(X, Y, encoding):
    """The fastest epoch (validation pass included) of a default fit."""
    clf = MMoEClassifier(
        numeric_encoding=encoding, max_epochs=WIDTH_EPOCHS, random_state=0
    )
    clf.fit(X, Y)
    return min(row["dur"] for row in clf.net_.history)


def bench_width():
    rows = []
    _epoch(*make_data(5_000, 8), "piecewise")  # warm-up
    for width in WIDTHS:
        X, Y = make_data(WIDTH_ROWS, width)
        piecewise, robust = _epoch(X, Y, "piecewise"), _epoch(X, Y, "robust")
        rows.append(dict(columns=width, piecewise=piecewise, robust=robust))
        print(
            f"{width:4d} numeric columns: piecewise {piecewise:.3f} s, robust "
            f"{robust:.3f} s per epoch, ratio {piecewise / robust:.2f}",
            flush=True,
        )
    MEASURED["width"] = dict(
        what=f"seconds per default epoch, {WIDTH_ROWS:,} rows", rows=rows
    )


def main(argv):
    which = argv[1] if len(argv) > 1 else "all"
    parts = {"binning": bench_binning, "suite": bench_suite, "width": bench_width}
    if which not in {*parts, "all"}:  # before the record is touched
        sys.exit(f"usage: python -m benchmarks.numeric_cost [{'|'.join(parts)}|all]")
    for name, run in parts.items():
        if which in (name, "all"):
            run()
    write_record(which, RECORD, MEASURED, "numeric_cost")


if __name__ == "__main__":
    main(sys.argv)
