"""sample_weight in fit, and the distinct-row view of the data that makes it exact."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _helpers import FAST, normal_tasks

from sklearn_mmoe import MMoEClassifier, MMoERegressor
from sklearn_mmoe._inputs.rows import collapse, task_row_weights
from sklearn_mmoe._inputs.tensors import BatchIterator, TensorData

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# Fifteen epochs of 16-row batches at a high rate, every row training
# (early_stopping='auto' holds out rows: tests/test_defaults.py).
SMALL_BATCHES = dict(
    FAST, max_epochs=15, learning_rate=1e-2, batch_size=16, early_stopping=False
)
both = pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor])


def _predictions(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@both
@pytest.mark.parametrize("early_stopping", [False, True])
def test_integer_weights_fit_exactly_as_repeated_rows(Est, early_stopping):
    X, Y = normal_tasks(Est, n_features=3)
    w = np.random.RandomState(1).randint(0, 4, size=len(X))
    params = dict(SMALL_BATCHES, early_stopping=early_stopping)
    weighted = Est(**params).fit(X, Y, sample_weight=w)
    repeated = Est(**params).fit(X.repeat(w, axis=0), Y.repeat(w, axis=0))
    np.testing.assert_array_equal(
        np.asarray(_predictions(weighted, X)), np.asarray(_predictions(repeated, X))
    )


@both
def test_a_zero_weight_is_an_absent_row(Est):
    X, Y = normal_tasks(Est, n_features=3)
    w = np.ones(len(X))
    w[::4] = 0
    weighted = Est(**SMALL_BATCHES).fit(X, Y, sample_weight=w)
    absent = Est(**SMALL_BATCHES).fit(X[w > 0], Y[w > 0])
    np.testing.assert_array_equal(weighted.predict(X), absent.predict(X))


@both
def test_the_fit_does_not_depend_on_the_order_of_the_rows(Est):
    X, Y = normal_tasks(Est, n_features=3)
    order = np.random.RandomState(2).permutation(len(X))
    a = Est(**SMALL_BATCHES).fit(X, Y)
    b = Est(**SMALL_BATCHES).fit(X[order], Y[order])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@both
def test_constant_weights_are_no_weights(Est):
    X, Y = normal_tasks(Est, n_features=3)
    a = Est(**SMALL_BATCHES).fit(X, Y, sample_weight=np.full(len(X), 2.5))
    b = Est(**SMALL_BATCHES).fit(X, Y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_a_uniform_fractional_weight_changes_nothing():
    """0.1 everywhere used to change every prediction of the defaults (sums of
    weights of 0.1 round differently from counts, in the statistics, the validation
    loss and the shrinkage's choice): scikit-learn's convention is that a uniform
    weight changes nothing."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    X[rng.rand(300) < 0.2, 1] = np.nan
    y = np.nan_to_num(X[:, 0] + X[:, 1])
    a = MMoERegressor(random_state=0).fit(X, y, sample_weight=np.full(300, 0.1))
    b = MMoERegressor(random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_weights_pull_the_prediction_towards_the_heavier_rows():
    # Every x appears with target 0 and with target 1; weights 3:1 make the best
    # prediction 0.25, and 1:3 make it 0.75.
    X = np.tile(np.linspace(-1, 1, 20)[:, None], (2, 1))
    y = np.repeat([0.0, 1.0], 20)
    params = dict(SMALL_BATCHES, max_epochs=300, batch_size=40, n_iter_no_change=300)
    for w0, expected in ((3.0, 0.25), (1.0 / 3.0, 0.75)):
        w = np.where(y == 0, w0, 1.0)
        pred = MMoERegressor(**params).fit(X, y, sample_weight=w).predict(X)
        np.testing.assert_allclose(pred, expected, atol=0.01)


def test_weights_shift_the_classifier_probabilities():
    X = np.tile(np.linspace(-1, 1, 20)[:, None], (2, 1))
    y = np.repeat([0, 1], 20)
    params = dict(SMALL_BATCHES, max_epochs=300, batch_size=40, n_iter_no_change=300)
    proba = MMoEClassifier(**params).fit(X, y, sample_weight=np.where(y, 4.0, 1.0))
    np.testing.assert_allclose(proba.predict_proba(X)[:, 1], 0.8, atol=0.01)


def test_the_validation_loss_is_the_weighted_mean_over_its_rows():
    X, Y = normal_tasks(MMoEClassifier, n_features=3)
    clf = MMoEClassifier(**SMALL_BATCHES).fit(X, Y)
    net = clf.net_
    w = np.random.RandomState(3).randint(1, 5, size=len(X)).astype(np.float64)
    present = np.ones(Y.shape, dtype=bool)
    present[::3, 1] = False
    W = task_row_weights(w, present)
    data = TensorData(
        torch.from_numpy(X.astype(np.float32)),
        torch.from_numpy(Y),
        torch.from_numpy(W),
    )
    net.run_single_epoch(
        BatchIterator(data, 7),
        training=False,
        prefix="check",
        step_fn=net.validation_step,
    )
    with torch.no_grad():
        losses = net.criterion_(net.module_(data.X).outputs, data.Y).numpy()
    expected = [np.average(losses[p, t], weights=w[p]) for t, p in enumerate(present.T)]
    np.testing.assert_allclose(
        net.history[-1]["check_task_losses"], expected, rtol=1e-5
    )
    np.testing.assert_allclose(net.history[-1]["check_loss"], sum(expected), rtol=1e-5)


@both
def test_bad_sample_weights_are_clear_errors(Est):
    X, Y = normal_tasks(Est, n_features=3)
    with pytest.raises(ValueError, match="Negative values"):
        Est(**SMALL_BATCHES).fit(X, Y, sample_weight=-np.ones(len(X)))
    # scikit-learn's own message from 1.7 on, this package's below it
    all_zero = "at least one (non-zero|sample needs a positive)"
    with pytest.raises(ValueError, match=all_zero):
        Est(**SMALL_BATCHES).fit(X, Y, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match=r"sample_weight.shape"):
        Est(**SMALL_BATCHES).fit(X, Y, sample_weight=np.ones(len(X) + 1))
    with pytest.raises(ValueError, match="NaN"):
        Est(**SMALL_BATCHES).fit(X, Y, sample_weight=np.full(len(X), np.nan))


def test_a_class_seen_only_with_zero_weight_is_not_a_class():
    X, Y = normal_tasks(MMoEClassifier, n_features=3)
    y = Y[:, 0].copy()
    y[:5] = 7
    w = np.where(y == 7, 0.0, 1.0)
    clf = MMoEClassifier(**SMALL_BATCHES).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(clf.classes_, [0, 1])


# -- the distinct rows
# ------------------------------------------------------------------------------


def _collapse(X, targets, weight=None):
    n = X.shape[0]
    present = np.ones(targets.shape, dtype=bool)
    weight = np.ones(n) if weight is None else weight
    return collapse(X, np.arange(n), targets, present, weight)


def test_duplicate_rows_merge_and_their_weights_add_up():
    X = np.array([[1, 2], [3, 4], [1, 2], [1, 2], [3, 5]], dtype=np.float32)
    targets = np.array([[0], [1], [0], [1], [1]], dtype=np.int64)
    positions, weight = _collapse(X, targets, np.array([1.0, 2.0, 0.5, 1.0, 1.0]))
    merged = {
        (tuple(X[p]), int(targets[p, 0])): float(w) for p, w in zip(positions, weight)
    }
    assert merged == {
        ((1, 2), 0): 1.5,  # rows 0 and 2
        ((3, 4), 1): 2.0,
        ((1, 2), 1): 1.0,  # same x, another label: its own row
        ((3, 5), 1): 1.0,
    }


def test_the_order_of_the_distinct_rows_depends_on_their_content_only():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 4)).astype(np.float32)
    targets = rng.randint(0, 3, size=(50, 2)).astype(np.int64)
    positions, _ = _collapse(X, targets)
    perm = rng.permutation(50)
    positions_perm, _ = _collapse(X[perm], targets[perm])
    np.testing.assert_array_equal(X[positions], X[perm][positions_perm])
    assert not np.array_equal(positions, np.arange(50))


def test_sparse_rows_hash_as_their_dense_values():
    dense = np.array([[0, 1.5, 0], [2, 0, 0], [0, 1.5, 0]], dtype=np.float32)
    X = sp.csr_matrix(dense)
    # an explicitly stored zero is the same row as one without it
    X_explicit = sp.csr_matrix(
        (np.array([0.0, 1.5, 2.0, 1.5], np.float32), [0, 1, 0, 1], [0, 2, 3, 4]),
        shape=(3, 3),
    )
    targets = np.zeros((3, 1), dtype=np.int64)
    for matrix in (X, X_explicit, sp.csr_array(X_explicit)):
        positions, weight = _collapse(matrix, targets)
        np.testing.assert_array_equal(sorted(weight), [1.0, 2.0])
        dense_positions, _ = _collapse(dense, targets)
        np.testing.assert_array_equal(
            matrix[positions].toarray(), dense[dense_positions]
        )


def test_task_row_weights_average_one_per_task_and_vanish_where_missing():
    present = np.array([[1, 1], [1, 0], [1, 1], [0, 1]], dtype=bool)
    W = task_row_weights(np.array([1.0, 2.0, 3.0, 2.0]), present)
    np.testing.assert_allclose(W.mean(axis=0), 1.0)
    assert W[1, 1] == 0 and W[3, 0] == 0
    np.testing.assert_allclose(W[:, 0], np.array([1, 2, 3, 0]) / 1.5)
    assert task_row_weights(np.full(4, 3.0), np.ones((4, 2), dtype=bool)) is None
