"""Out-of-core training through dask-ml's ``Incremental``: memory, speed and quality.

Usage::

    pip install -e ".[dask]"
    python benchmarks/out_of_core.py                      # 2,000,000 x 64 float32
    # what tests/test_dask.py runs: a smaller table and network, no reference fit
    python benchmarks/out_of_core.py --rows 1000000 --small --no-reference --json

A dask array of ``--rows`` x 64 float32 rows is made lazily in chunks of 100,000 rows
(nothing holds it whole), with two binary tasks, given as a dask DataFrame (see
``docs/user_guide/scale.rst``). ``Incremental(MMoEClassifier(...))`` passes the chunks
to ``partial_fit`` one after another, under dask's synchronous scheduler (each chunk
made when its ``partial_fit`` call needs it; the default threaded scheduler lets spare
threads make chunks ahead of the sequential chain and hold them, which ``--scheduler
threads`` measures). Measured in a fresh subprocess: the peak RSS growth
of that fit over the RSS after a warm-up fit (ru_maxrss, so an upper bound), against
the data's size (target: at most half), rows per second, and ROC AUC per task on
20,000 held-out rows against the same estimator's ``fit`` on the first 200,000 rows in
memory.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

N_FEATURES = 64
CHUNK = 100_000
PARAMS = dict(batch_size=1024, random_state=0)
SMALL = dict(n_experts=2, expert_units=(8,), tower_units=(8,))


def make_data(n_rows, seed=0):
    """Lazy ``X`` (dask array) and ``y`` (dask DataFrame, tasks "sum" and "mixed")."""
    import dask.array as da
    import dask.dataframe as dd

    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n_rows, N_FEATURES), chunks=(CHUNK, N_FEATURES))
    X = X.astype(np.float32)
    Y = da.stack([X[:, 0] + X[:, 1] > 0, X[:, 2] - X[:, 3] + X[:, 0] / 2 > 0], axis=1)
    y = dd.from_dask_array(Y.astype(np.int64), columns=["sum", "mixed"])
    return X, y


def held_out(n_rows=20_000):
    rng = np.random.default_rng(12345)
    X = rng.standard_normal((n_rows, N_FEATURES), dtype=np.float32)
    Y = np.column_stack([X[:, 0] + X[:, 1] > 0, X[:, 2] - X[:, 3] + X[:, 0] / 2 > 0])
    Y = Y.astype(int)
    return X, Y


def aucs(estimator, X, Y):
    from sklearn.metrics import roc_auc_score

    proba = estimator.predict_proba(X)
    return [float(roc_auc_score(Y[:, t], p[:, 1])) for t, p in enumerate(proba)]


def child(n_rows, scheduler, small, reference):
    import dask
    from dask_ml.wrappers import Incremental

    from sklearn_mmoe import MMoEClassifier

    warnings.simplefilter("ignore")
    params = dict(PARAMS, **(SMALL if small else {}))
    classes = [[0, 1], [0, 1]]
    with dask.config.set(scheduler=scheduler):
        # Warm up: libraries loaded, thread pools started, two chunks trained.
        X, y = make_data(2 * CHUNK, seed=1)
        Incremental(MMoEClassifier(**params)).fit(X, y, classes=classes)
        before = _rss_mb()
        X, y = make_data(n_rows)
        inc = Incremental(MMoEClassifier(**params), random_state=0)
        start = time.perf_counter()
        inc.fit(X, y, classes=classes)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    X_test, Y_test = held_out()
    in_memory = min(n_rows, 200_000)
    auc_in_memory = None
    if reference:
        X_mem = X[:in_memory].compute()
        Y_mem = y.head(in_memory, npartitions=-1).to_numpy()
        fitted = MMoEClassifier(**params).fit(X_mem, Y_mem)
        auc_in_memory = aucs(fitted, X_test, Y_test)
    result = dict(
        scheduler=scheduler,
        rows=n_rows,
        data_mb=n_rows * N_FEATURES * 4 / 2**20,
        peak_growth_mb=peak - before,
        seconds=seconds,
        rows_per_second=n_rows / seconds,
        chunks=len(inc.estimator_.net_.history),
        auc_incremental=aucs(inc.estimator_, X_test, Y_test),
        auc_in_memory=auc_in_memory,
        in_memory_rows=in_memory,
    )
    print(json.dumps(result))


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024


def measure(n_rows, scheduler="synchronous", small=False, reference=True):
    """Run the child in a fresh process; its figures as a dict."""
    flags = ["--small"] * small + ["--no-reference"] * (not reference)
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--rows", str(n_rows)]
        + ["--scheduler", scheduler]
        + flags,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--scheduler", default="synchronous")
    parser.add_argument("--small", action="store_true", help="2 experts of 8 units")
    parser.add_argument("--no-reference", action="store_true", help="no in-memory fit")
    parser.add_argument("--json", action="store_true", help="print the raw figures")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.rows, args.scheduler, args.small, not args.no_reference)
    r = measure(args.rows, args.scheduler, args.small, not args.no_reference)
    if args.json:
        return print(json.dumps(r))
    ratio = r["peak_growth_mb"] / r["data_mb"]
    print(
        f"Incremental(MMoEClassifier) on {r['rows']:,} x {N_FEATURES} float32 "
        f"({r['data_mb']:.0f} MB, {r['chunks']} chunks of {CHUNK:,} rows): peak RSS "
        f"growth under the {r['scheduler']} scheduler {r['peak_growth_mb']:.0f} MB, "
        f"ratio {ratio:.3f} (target <= 0.5: "
        f"{'meets' if ratio <= 0.5 else 'MISSES'}); {r['seconds']:.1f} s, "
        f"{r['rows_per_second']:,.0f} rows/s"
    )
    for t, name in enumerate(["sum", "mixed"]):
        reference = r["auc_in_memory"]
        print(
            f"  task {name}: AUC {r['auc_incremental'][t]:.4f} streamed"
            + (
                ""
                if reference is None
                else f", {reference[t]:.4f} fit in memory on the first "
                f"{r['in_memory_rows']:,} rows"
            )
        )


if __name__ == "__main__":
    main()
