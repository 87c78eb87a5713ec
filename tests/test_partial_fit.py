"""partial_fit: one pass per call, continuing weights and optimiser state; the first
call fixes the tasks, classes and scaling; a call that fails changes nothing."""

from functools import partial

import numpy as np
import pandas as pd
import pytest
from _helpers import normal_tasks
from sklearn.metrics import r2_score, roc_auc_score

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor

SMALL = dict(n_experts=3, expert_units=(16,), tower_units=(8,), random_state=0)


def _sum_and_product_signs(X):
    return np.column_stack([X[:, 0] + X[:, 1] > 0, X[:, 2] * X[:, 0] > 0]).astype(int)


# The shared table of a classifier's two tasks, on five columns (the AUCs below were
# set on them); each test names its number of rows.
_data = partial(
    normal_tasks, MMoEClassifier, n_features=5, labels=_sum_and_product_signs
)


def _stream(est, X, Y, passes, chunk, **kwargs):
    for _ in range(passes):
        for start in range(0, len(X), chunk):
            est.partial_fit(
                X[start : start + chunk], Y[start : start + chunk], **kwargs
            )
    return est


def test_a_stream_of_chunks_matches_one_fit_on_the_same_rows():
    X, Y = _data(3000)
    X_test, Y_test = _data(1000, seed=1)
    full = MMoEClassifier(**SMALL, early_stopping=False).fit(X, Y)
    # The same number of optimiser steps, batch by batch in chunks of 500 rows.
    stream = MMoEClassifier(**SMALL, batch_size=256)
    _stream(stream, X, Y, passes=full.n_iter_, chunk=500, classes=[[0, 1], [0, 1]])

    def aucs(m):
        return [
            roc_auc_score(Y_test[:, t], p[:, 1])
            for t, p in enumerate(m.predict_proba(X_test))
        ]

    for a_stream, a_full in zip(aucs(stream), aucs(full)):
        assert a_stream > a_full - 0.01
    assert stream.n_iter_ == full.n_iter_ * 6  # one epoch per call


def test_a_regression_stream_learns_and_keeps_the_first_calls_scaling():
    X, _ = _data(2000)
    Y = np.column_stack([3 * X[:, 0] + 10, X[:, 1] * X[:, 2]])
    reg = MMoERegressor(**SMALL, batch_size=64)
    reg.partial_fit(X[:500], Y[:500])
    scaling = [(t.mean, t.scale) for t in reg._tasks]
    _stream(reg, X[500:], Y[500:] * 1.0, passes=10, chunk=500)
    assert [(t.mean, t.scale) for t in reg._tasks] == scaling
    assert r2_score(Y[:, 0], reg.predict(X)[:, 0]) > 0.95


def test_the_first_call_needs_the_classes_and_later_labels_stay_within_them():
    X, Y = _data(200)
    clf = MMoEClassifier(**SMALL)
    with pytest.raises(ValueError, match="one array for a single task or a list"):
        clf.partial_fit(X, Y)
    # A chunk may miss a class that the classes name.
    clf.partial_fit(X[Y[:, 0] == 0], Y[Y[:, 0] == 0], classes=[[0, 1], [0, 1]])
    assert [c.tolist() for c in clf.classes_] == [[0, 1], [0, 1]]
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match=r"labels \[2\] are not among the classes"):
        clf.partial_fit(X, Y + np.array([2, 0]) * (Y == 0))
    for a, b in zip(clf.predict_proba(X), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "bad",
    [lambda X, Y: (X[:, :3], Y), lambda X, Y: (X, Y[:, 0])],
    ids=["features", "tasks"],
)
def test_a_call_with_another_layout_changes_nothing(bad):
    X, Y = _data(200)
    reg = MMoERegressor(**SMALL).partial_fit(X, Y.astype(float))
    before, n_iter = reg.predict(X), reg.n_iter_
    with pytest.raises(ValueError, match="features|tasks"):
        reg.partial_fit(*bad(X, Y.astype(float)))
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.n_iter_ == n_iter


def test_an_interrupted_call_puts_the_weights_and_optimiser_back(
    monkeypatch, interrupt_after
):
    X, Y = _data(400)
    clf = MMoEClassifier(**SMALL, batch_size=32).partial_fit(X, Y, classes=[[0, 1]] * 2)
    before = clf.predict_proba(X)
    steps = clf.net_.optimizer_.state_dict()["state"][0]["step"].clone()
    interrupt_after(5)
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, Y)
    monkeypatch.undo()
    for a, b in zip(clf.predict_proba(X), before):
        np.testing.assert_array_equal(a, b)
    assert clf.net_.optimizer_.state_dict()["state"][0]["step"] == steps
    assert clf.n_iter_ == 1 and len(clf.net_.history) == 1


def test_partial_fit_continues_a_fitted_model_and_repeats_with_a_seed():
    X, Y = _data(300)
    clf = MMoEClassifier(**SMALL, max_epochs=5).fit(X, Y)
    clf.partial_fit(X, Y)
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    a = _stream(
        MMoEClassifier(**SMALL, dropout=0.2), X, Y, 3, 100, classes=[[0, 1]] * 2
    )
    b = _stream(
        MMoEClassifier(**SMALL, dropout=0.2), X, Y, 3, 100, classes=[[0, 1]] * 2
    )
    for pa, pb in zip(a.predict_proba(X), b.predict_proba(X)):
        np.testing.assert_array_equal(pa, pb)


def test_mixed_tasks_stream_with_classes_from_the_first_chunk():
    X, Y = _data(1000)
    frame = pd.DataFrame({"buys": Y[:, 0] == 1, "amount": 2 * X[:, 3] + 1})
    model = MMoEMultiTask(**SMALL, batch_size=32, learning_rate=3e-3)
    for _ in range(10):
        for start in range(0, 1000, 250):
            model.partial_fit(X[start : start + 250], frame.iloc[start : start + 250])
    assert model.task_types_ == ["classification", "regression"]
    assert model.classes_[0].tolist() == [False, True] and model.classes_[1] is None
    assert model.task_names_.tolist() == ["buys", "amount"]
    assert model.score(X, frame) > 0.9
    with pytest.raises(ValueError, match="regression task has no classes"):
        MMoEMultiTask(**SMALL).partial_fit(X, frame, classes=[[False, True], [0, 1]])


@pytest.mark.parametrize(
    "classes, error, match",
    [
        (5, TypeError, "classes must be an array of every label"),
        ("ab", TypeError, "classes must be an array of every label"),
        ([[0, 1], 7], TypeError, r"classes\[1\] must be a 1-D array"),
        ([[0.0, 1.0, np.nan], [0, 1]], ValueError, "classes holds a missing value"),
        ([[0, 1, None], [0, 1]], ValueError, "classes holds a missing value"),
        ([[0, "a"], [0, 1]], TypeError, "classes: labels must be all strings"),
        ([[0, 1]], ValueError, r"classes must hold one array of labels per task \(2\)"),
    ],
)
def test_bad_classes_are_refused_naming_classes(classes, error, match):
    X, Y = _data(100)
    clf = MMoEClassifier(**SMALL, missing_labels="ignore")
    with pytest.raises(error, match=match):
        clf.partial_fit(X, Y, classes=classes)
    assert not hasattr(clf, "net_")


def test_classes_from_np_unique_of_labels_with_nan_are_refused():
    """np.unique keeps NaN: classes=[0., 1., nan] used to be accepted, and then some
    rows were predicted NaN."""
    X, Y = _data(200)
    y = Y[:, 0].astype(float)
    y[::10] = np.nan
    clf = MMoEClassifier(**SMALL, missing_labels="ignore")
    with pytest.raises(ValueError, match="classes holds a missing value"):
        clf.partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y, classes=[0.0, 1.0])
    assert not np.isnan(clf.predict(X).astype(float)).any()


def _linear(X):
    return 2 * X[:, 0] + X[:, 1]


# The shared table with one linear regression task (the R2s below were set on it).
_learnable = partial(normal_tasks, MMoERegressor, values=_linear)


@pytest.mark.parametrize("first", ["one row", "zeros"])
def test_a_stream_whose_first_chunk_has_a_constant_target_still_learns(first):
    """The first chunk used to fix a scale of 0: every later prediction was that
    constant (R2 -3.4 where SGDRegressor reaches 1)."""
    X, y = _learnable(2000)
    reg = MMoERegressor(**SMALL, learning_rate=0.01)
    if first == "one row":
        reg.partial_fit(X[:1], y[:1])
    else:
        reg.partial_fit(X[:100], np.zeros(100))
    np.testing.assert_array_equal(reg.predict(X[:5]), y[0] if first == "one row" else 0)
    # batches of 256 rows whatever the first chunk's size (one row used to fix 1)
    assert reg.partial_fit(X[:500], y[:500]).net_.batch_size == 256
    _stream(reg, X, y, passes=20, chunk=500)
    assert r2_score(y, reg.predict(X)) > 0.95


def test_a_warm_start_after_a_constant_target_learns_the_next_one():
    X, y = _learnable(1000)
    reg = MMoERegressor(**SMALL, warm_start=True).fit(X, np.full(1000, 3.0))
    np.testing.assert_array_equal(reg.predict(X[:5]), 3.0)
    assert r2_score(y, reg.fit(X, y).predict(X)) > 0.9


def test_counts_after_a_first_chunk_of_zeros_are_learned():
    X, _ = _learnable(2000)
    counts = np.random.RandomState(1).poisson(np.exp(np.clip(X[:, 0], -2, 2)))
    reg = MMoERegressor(**SMALL, learning_rate=0.01, loss="poisson").partial_fit(
        X[:100], np.zeros(100)
    )
    np.testing.assert_array_equal(reg.predict(X[:5]), 0.0)
    _stream(reg, X, counts, passes=8, chunk=500)
    assert r2_score(counts, reg.predict(X)) > 0.4


@pytest.mark.parametrize("encoding", ["robust", "standard", "piecewise"])
def test_a_column_constant_in_the_first_chunk_is_learned_later(encoding):
    """Its statistics came from the first chunk: a spread of 0 made it read 0 for
    good, under every encoding."""
    X, _ = _learnable(2000)
    X[:500, 0] = 0.0
    y = 2 * X[:, 0] + X[:, 1]
    reg = MMoERegressor(**SMALL, learning_rate=0.01, numeric_encoding=encoding)
    _stream(reg, X, y, passes=6, chunk=500)
    assert r2_score(y, reg.predict(X)) > 0.9
    moved = X.copy()
    moved[:, 0] += 1.0
    assert np.mean(reg.predict(moved) - reg.predict(X)) > 1.0  # about 2


@pytest.mark.parametrize("encoding", ["piecewise", "robust", "standard"])
def test_a_column_constant_at_first_is_learned_far_from_that_constant(encoding):
    """A first chunk where a column is 0 fitted its encoding on that one value;
    later values about 50 all read as the encoding's edge (piecewise: exactly, so
    moving the column changed no prediction of either task after ten passes).
    The first rows where it varies encode it anew."""
    rng = np.random.RandomState(1)

    def chunk(first, n=500):
        X = rng.normal(size=(n, 3))
        X[:, 0] = 0.0 if first else rng.normal(50, 10, n)
        centred = X[:, 0] - (0.0 if first else 50.0)
        Y = np.c_[centred / 10 + X[:, 1] > 0, 0.2 * X[:, 0] + X[:, 2]]
        return X, Y.astype(object)

    model = MMoEMultiTask(
        **SMALL,
        numeric_encoding=encoding,
        task_types=["classification", "regression"],
        learning_rate=0.01,
    )
    for i in range(40):
        model.partial_fit(*chunk(i == 0))
    assert not model._numeric["constant"][0]
    X, _ = chunk(False)
    moved = X.copy()
    moved[:, 0] += 5.0
    shift = model.predict(moved)[:, 1] - model.predict(X)[:, 1]
    assert np.mean(shift.astype(float)) > 0.3  # 1.0 in the target; 0.0 before


def test_a_warm_refit_after_a_constant_target_rescales_it():
    """Five rows of 3.0 scaled the task by 3 about 3; a warm refit on 5 x0 + 10
    kept that scaling and learned the new target badly (R2 0.72 here, and a
    prediction of 3.0 for every row in another run). A scaling learned from one
    value is learned again."""
    rng = np.random.RandomState(1)
    X = rng.normal(size=(200, 3))
    y = 5 * X[:, 0] + 10
    model = MMoERegressor(warm_start=True, random_state=0)
    model.fit(X[:5], np.full(5, 3.0))
    model.fit(X, y)
    task = model._tasks[0]
    assert task.mean == pytest.approx(y.mean()) and task.scale == pytest.approx(y.std())
    fresh = MMoERegressor(random_state=0).fit(X, y)
    assert r2_score(y, model.predict(X)) > r2_score(y, fresh.predict(X)) - 0.02


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_warm_refit_keeps_a_scaling_learned_from_targets_that_vary():
    X, y = _learnable(300)
    model = MMoERegressor(**SMALL, max_epochs=3, warm_start=True).fit(X, y)
    mean, scale = model._tasks[0].mean, model._tasks[0].scale
    model.fit(X, 10 * y + 100)
    assert (model._tasks[0].mean, model._tasks[0].scale) == (mean, scale)
