"""Behaviour both estimators share: seeding, early stopping, warm start, errors."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError

from sklearn_mmoe import MMoEClassifier, MMoERegressor
from sklearn_mmoe._data import TensorData

FAST = dict(
    n_experts=3, expert_units=(8,), tower_units=(4,), max_epochs=5, random_state=0
)


def _data(estimator_class, n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    if estimator_class is MMoEClassifier:
        return X, np.column_stack([X[:, 0] > 0, np.digitize(X[:, 1], [-0.5, 0.5])])
    return X, np.column_stack([X[:, 0] + X[:, 1], X[:, 2] * 3.0])


both = pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor])
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@both
def test_same_random_state_refits_bit_for_bit(Est):
    X, Y = _data(Est)
    a = Est(**FAST, dropout=0.2).fit(X, Y)
    b = Est(**FAST, dropout=0.2).fit(X, Y)
    for pa, pb in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
        assert torch.equal(pa, pb)
    assert a.loss_curve_ == b.loss_curve_
    c = Est(**{**FAST, "random_state": 1}, dropout=0.2).fit(X, Y)
    assert c.loss_curve_ != a.loss_curve_


@both
def test_fitting_leaves_the_callers_torch_random_state_alone(Est):
    X, Y = _data(Est)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Est(**FAST).fit(X, Y)
    Est(**{**FAST, "random_state": None}).fit(X, Y)
    assert torch.equal(torch.rand(3), expected)


@both
def test_fitted_attributes_describe_the_training(Est):
    X, Y = _data(Est)
    est = Est(**FAST).fit(X, Y)
    assert est.n_features_in_ == 4 and est.n_outputs_ == 2
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert not hasattr(est, "validation_scores_")
    assert len(est.net_.history[-1]["train_task_losses"]) == 2


@both
def test_early_stopping_restores_the_best_epoch(Est):
    X, Y = _data(Est, n=200)
    est = Est(
        **{**FAST, "max_epochs": 300},
        early_stopping=True,
        n_iter_no_change=3,
        validation_fraction=0.3,
        learning_rate=0.05,
    ).fit(X, Y)
    scores = est.validation_scores_
    assert est.n_iter_ == len(scores) < 300
    assert est.best_validation_score_ == max(scores)
    # stopped exactly n_iter_no_change epochs after the last improvement above tol
    best, last_counted = -np.inf, None
    for epoch, score in enumerate(scores):
        if score > best + est.tol:
            last_counted = epoch
        best = max(best, score)
    assert est.n_iter_ - 1 - last_counted == 3
    # the kept weights are the best epoch's: recompute the validation loss with them
    net = est.net_
    X = X.astype(np.float32)
    rows, Z = _rows_and_targets_as_trained(est, X, Y)
    _, valid = net.train_split(TensorData(torch.from_numpy(X), Z, None, rows))
    Xv, Yv, _ = valid.take(slice(0, len(valid)))
    with torch.no_grad():
        losses = net.criterion_(net.module_(Xv), Yv)
        loss = net.criterion_.total(net.criterion_.task_means(losses))
    assert -float(loss) == pytest.approx(est.best_validation_score_, rel=1e-5)


def _rows_and_targets_as_trained(est, X, Y):
    """The distinct rows, in the order fit trains on them, and their encoded targets."""
    if isinstance(est, MMoERegressor):
        targets = Y.astype(np.float64)
    else:
        codes = [np.searchsorted(c, Y[:, t]) for t, c in enumerate(est.classes_)]
        targets = np.column_stack(codes).astype(np.int64)
    ones = np.ones(Y.shape, dtype=bool)
    rows, targets, _, _ = est._distinct_rows(
        X, np.arange(len(X)), targets, ones, np.ones(len(X))
    )
    if isinstance(est, MMoERegressor):
        targets = ((targets - est._y_mean) / est._y_scale).astype(np.float32)
    return torch.from_numpy(rows), torch.from_numpy(targets)


def test_early_stopping_holds_out_rows_of_a_multiclass_multioutput_y():
    X, Y = _data(MMoEClassifier, n=60)
    Y = Y.astype(object)
    Y[:, 1] = np.array(["a", "b", "c"])[Y[:, 1].astype(int)]
    est = MMoEClassifier(**FAST, early_stopping=True).fit(X, Y)
    assert len(est.validation_scores_) == est.n_iter_


@both
def test_verbose_prints_one_line_per_epoch(Est, capsys):
    X, Y = _data(Est)
    Est(**{**FAST, "max_epochs": 4}, verbose=1, early_stopping=True).fit(X, Y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    pattern = r"epoch +\d+: train loss [\d.]+, valid loss [\d.]+, [\d.]+ s"
    assert all(re.fullmatch(pattern, line) for line in lines), lines


@both
def test_silent_by_default(Est, capsys):
    X, Y = _data(Est)
    Est(**FAST).fit(X, Y)
    assert capsys.readouterr().out == ""


@both
def test_warm_start_continues_from_the_previous_weights(Est):
    X, Y = _data(Est)
    cold = Est(**FAST).fit(X, Y)
    warm = Est(**FAST, warm_start=True).fit(X, Y).fit(X, Y)
    assert warm.n_iter_ == 10 and len(warm.loss_curve_) == 10
    assert warm.loss_curve_[:5] == cold.loss_curve_
    assert warm.loss_curve_[5] < cold.loss_curve_[0]
    # without warm_start a refit starts over
    assert Est(**FAST).fit(X, Y).fit(X, Y).loss_curve_ == cold.loss_curve_


@both
def test_warm_start_refuses_another_network(Est):
    X, Y = _data(Est)
    est = Est(**FAST, warm_start=True).fit(X, Y)
    with pytest.raises(ValueError, match="warm_start"):
        est.set_params(n_experts=5).fit(X, Y)


@both
def test_sparse_input_trains_like_the_dense_matrix(Est):
    X, Y = _data(Est)
    X[np.abs(X) < 0.8] = 0
    dense = Est(**FAST).fit(X, Y)
    sparse = Est(**FAST).fit(sp.csr_matrix(X), Y)
    np.testing.assert_array_equal(dense.predict(X), sparse.predict(sp.csr_matrix(X)))
    assert dense.loss_curve_ == sparse.loss_curve_


@both
def test_dropout_is_off_at_predict_time(Est):
    X, Y = _data(Est)
    est = Est(**FAST, dropout=0.5).fit(X, Y)
    np.testing.assert_array_equal(est.predict(X), est.predict(X))
    assert Est(**FAST).fit(X, Y).loss_curve_ != est.loss_curve_


@both
@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_experts": 0}, "n_experts"),
        ({"architecture": "moe"}, "architecture"),
        ({"expert_units": ()}, "expert_units must be a non-empty tuple"),
        ({"expert_units": (8, 0)}, "expert_units"),
        ({"gate_units": (2.5,)}, "gate_units"),
        ({"tower_units": 3}, "tower_units"),
        ({"dropout": 1.0}, "dropout"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"activation": "softplus"}, "activation"),
        ({"device": "not-a-device"}, "not a valid torch device"),
        ({"task_weights": [1.0, -1.0]}, "task_weights"),
    ],
)
def test_invalid_parameters_are_caught_at_fit_not_init(Est, params, match):
    X, Y = _data(Est)
    est = Est(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y)


def test_an_unavailable_device_is_named(monkeypatch):
    X, Y = _data(MMoERegressor)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        MMoERegressor(device="cuda").fit(X, Y)


@both
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_inputs_are_refused(Est, bad):
    X, Y = _data(Est)
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        Est(**FAST).fit(X, Y)
    X[3, 1] = 0
    est = Est(**FAST).fit(X, Y)
    X[0, 0] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        est.predict(X)


def test_non_finite_regression_targets_are_refused():
    X, Y = _data(MMoERegressor)
    Y[2, 1] = np.inf
    with pytest.raises(ValueError, match="Input y contains infinity"):
        MMoERegressor(**FAST).fit(X, Y)


@both
def test_shape_mistakes_are_refused(Est):
    X, Y = _data(Est)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Est(**FAST).fit(X, Y[:-1])
    est = Est(**FAST).fit(X, Y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4"):
        est.predict(X[:, :3])
    with pytest.raises(ValueError, match="dim 3"):
        Est(**FAST).fit(X, Y[:, :, None])


@both
def test_predict_before_fit_is_refused(Est):
    X, _ = _data(Est)
    with pytest.raises(NotFittedError):
        Est().predict(X)


def test_a_diverging_fit_is_refused_instead_of_predicting_nan():
    X, Y = _data(MMoERegressor)
    with pytest.raises(ValueError, match="diverged"):
        MMoERegressor(**FAST, learning_rate=1e30).fit(X * 1e30, Y)
