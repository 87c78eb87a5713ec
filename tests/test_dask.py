"""Out-of-core training through dask-ml's ``Incremental`` and hyper-parameter search
on a Dask cluster (the ``dask`` extra, installed with the ``tests`` one)."""

import json
import subprocess
import sys
from pathlib import Path

import dask
import dask.array as da
import dask.dataframe as dd
import joblib
import numpy as np
import pandas as pd
import pytest
from dask_ml.wrappers import Incremental
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor

_BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "out_of_core.py"
SMALL = dict(n_experts=2, expert_units=(8,), tower_units=(8,), random_state=0)


def _lazy_two_tasks(n_rows, chunk, seed=0):
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n_rows, 6), chunks=(chunk, 6)).astype(np.float32)
    Y = da.stack([X[:, 0] + X[:, 1] > 0, X[:, 2] > 0.3], axis=1).astype(np.int64)
    return X, dd.from_dask_array(Y, columns=["click", "buy"])


def test_incremental_streams_dask_chunks_through_partial_fit():
    X, y = _lazy_two_tasks(6_000, 1_500)
    # One pass per chunk, four in all: a rate that learns the tasks in four passes
    # (the default's ends between 0.83 and 0.95 by the seed of the data).
    clf = MMoEClassifier(**SMALL, batch_size=128, learning_rate=0.01)
    inc = Incremental(clf, random_state=0)
    with dask.config.set(scheduler="synchronous"):
        inc.fit(X, y, classes=[[0, 1], [0, 1]])
    model = inc.estimator_
    assert len(model.net_.history) == 4  # one pass per chunk
    assert list(model.task_names_) == ["click", "buy"]
    X_test, Y_test = X[:1_000].compute(), y.head(1_000, npartitions=-1).to_numpy()
    assert model.score(X_test, Y_test) > 0.85
    assert inc.predict(X[:100]).compute().shape == (100, 2)


def test_incremental_takes_a_1d_regression_target_and_a_mixed_model():
    X, y = _lazy_two_tasks(3_000, 1_000)
    target = X[:, 0] * 2 + X[:, 1]
    inc = Incremental(MMoERegressor(**SMALL, batch_size=128), random_state=0)
    with dask.config.set(scheduler="synchronous"):
        inc.fit(X, target)
    assert inc.estimator_.n_outputs_ == 1 and len(inc.estimator_.net_.history) == 3
    mixed = dd.from_dask_array(
        da.stack([X[:, 0] > 0, target], axis=1), columns=["click", "watch"]
    )
    inc = Incremental(MMoEMultiTask(**SMALL, batch_size=128), random_state=0)
    with dask.config.set(scheduler="synchronous"):
        inc.fit(X, mixed, classes=[[0.0, 1.0], None])
    assert list(inc.estimator_.task_types_) == ["classification", "regression"]


def test_a_2d_dask_array_target_gets_a_clear_error():
    # dask-ml's Incremental hands partial_fit a block's key, not the block, when y is
    # a 2-D dask array: the error says what happened and what to pass instead.
    X, _ = _lazy_two_tasks(2_000, 1_000)
    Y = da.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(np.int64)
    inc = Incremental(MMoEClassifier(**SMALL))
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match="dask DataFrame"):
            inc.fit(X, Y, classes=[[0, 1], [0, 1]])
    # ... while a tuple of labels is still labels
    two = MMoEClassifier(**SMALL, max_epochs=1).fit([[0.0], [1.0]], ("cat", "dog"))
    assert list(two.classes_) == ["cat", "dog"]


def test_incremental_training_memory_stays_under_half_the_data():
    # 1,000,000 x 64 float32 (244 MB) made lazily, in a fresh process; the benchmark
    # measures 2,000,000 rows with the default network.
    out = subprocess.run(
        [sys.executable, str(_BENCHMARK), "--rows", "1000000", "--small"]
        + ["--no-reference", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["chunks"] == 10
    assert figures["peak_growth_mb"] <= 0.5 * figures["data_mb"], figures
    assert min(figures["auc_incremental"]) > 0.97, figures


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 epochs
def test_search_on_a_dask_cluster_matches_n_jobs_2():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 5)).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    search = GridSearchCV(
        MMoEClassifier(**SMALL, max_epochs=3, batch_size=32),
        {"n_experts": [1, 2], "learning_rate": [1e-3, 1e-2]},
        cv=2,
        n_jobs=2,
    )
    local = search.fit(X, Y).cv_results_
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        on_dask = search.fit(X, Y).cv_results_
    for key in local:
        if "time" in key:
            continue
        np.testing.assert_array_equal(np.asarray(on_dask[key]), np.asarray(local[key]))


def test_the_scale_pages_search_script_runs_as_printed(tmp_path, docs_code):
    page = Path(__file__).parents[1] / "docs" / "user_guide" / "scale.rst"
    (script,) = [code for lang, code in docs_code(page) if lang == "python"]
    path = tmp_path / "search_on_dask.py"
    path.write_text(script)
    done = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'n_experts'" in done.stdout and "accuracy 0." in done.stdout


def test_incremental_scores_a_dask_dataframe_of_mixed_task_kinds():
    """Its score used to raise AttributeError: 'DataFrame' object has no attribute
    'to_numpy' from inside the package."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1_200, 4)).astype(np.float32)
    Y = pd.DataFrame({"click": X[:, 0] > 0, "watch": X[:, 1] * 2.0})
    X_dask = da.from_array(X, chunks=(400, 4))
    Y_dask = dd.from_pandas(Y, npartitions=3)
    inc = Incremental(MMoEMultiTask(**SMALL, batch_size=128))
    with dask.config.set(scheduler="synchronous"):
        inc.fit(X_dask, Y_dask)
        score = inc.score(X_dask, Y_dask)
    assert score == inc.estimator_.score(X, Y)
