"""What every estimator refuses, and how it says so: parameters it cannot take
(caught at fit, not at ``__init__``), ``X`` and ``y`` it cannot read, and a call
out of order; each error names what is wrong. A feature's own errors (a
classifier's labels, sample weights, categorical columns, missing labels, saved
files) stay beside that feature's tests."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from _helpers import FAST, FAST_EVERY_ROW, normal_tasks
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mmoe import MMoEClassifier, MMoERegressor

both = pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor])
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# -- parameters ----------------------------------------------------------------------


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
        ({"ensemble_size": 0}, "ensemble_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"ema_decay": 1.0}, "ema_decay"),
        ({"ema_decay": -0.5}, "ema_decay"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"activation": "softplus"}, "activation"),
        ({"device": "not-a-device"}, "not a valid torch device"),
        ({"task_weights": [1.0, -1.0]}, "task_weights"),
        # the family's: gates, top-k, the balance loss, PLE
        ({"gate_type": "dot"}, "gate_type"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"balance_weight": -1.0}, "balance_weight"),
        ({"n_task_experts": -1}, "n_task_experts"),
        ({"n_levels": 0}, "n_levels"),
    ],
)
def test_invalid_parameters_are_caught_at_fit_not_init(Est, params, match):
    X, Y = normal_tasks(Est)
    est = Est(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y)


@pytest.mark.parametrize("architecture", ["mmoe", "ple"])
def test_top_k_larger_than_the_experts_is_a_value_error_at_fit(architecture):
    X, Y = normal_tasks(MMoERegressor)
    est = MMoERegressor(architecture=architecture, n_experts=2, top_k=5)
    with pytest.raises(ValueError, match="top_k=5 must be between 1 and"):
        est.fit(X, Y)


@pytest.mark.parametrize("name", ["n_experts", "batch_size", "max_epochs", "top_k"])
def test_a_bool_is_not_taken_for_an_int(name):
    X, Y = normal_tasks(MMoEClassifier)
    with pytest.raises(InvalidParameterError, match=f"'{name}'.*not a bool"):
        MMoEClassifier(**{**FAST, name: True}).fit(X, Y)


@pytest.mark.parametrize("device", ["meta", "xpu"])
def test_devices_the_estimators_do_not_train_on_are_named(device):
    X, Y = normal_tasks(MMoEClassifier)
    with pytest.raises(ValueError, match=f"device='{device}'.*'cpu', 'cuda'"):
        MMoEClassifier(**FAST, device=device).fit(X, Y)


def test_an_unavailable_device_is_named(monkeypatch):
    X, Y = normal_tasks(MMoERegressor)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        MMoERegressor(device="cuda").fit(X, Y)


@pytest.mark.parametrize("weights", [["a", "b"], [[1.0], [2.0, 3.0]], {"x": 1}])
def test_task_weights_that_are_not_numbers_are_named(weights):
    X, Y = normal_tasks(MMoEClassifier)
    with pytest.raises((ValueError, InvalidParameterError), match="task_weights"):
        MMoEClassifier(**FAST, task_weights=weights).fit(X, Y)


# -- X -------------------------------------------------------------------------------


@both
@pytest.mark.parametrize(
    "bad, params",
    [(np.inf, {}), (-np.inf, {}), (np.nan, {"numeric_encoding": None})],
    ids=["inf", "-inf", "nan-unencoded"],
)
def test_non_finite_inputs_are_refused(Est, bad, params):
    """Infinity always; NaN where the numeric columns are not encoded (an encoding
    fills missing values: tests/test_missing_values.py)."""
    X, Y = normal_tasks(Est)
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        Est(**FAST_EVERY_ROW, **params).fit(X, Y)
    X[3, 1] = 0
    est = Est(**FAST_EVERY_ROW, **params).fit(X, Y)
    X[0, 0] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        est.predict(X)


@both
def test_shape_mistakes_are_refused(Est):
    X, Y = normal_tasks(Est)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Est(**FAST_EVERY_ROW).fit(X, Y[:-1])
    est = Est(**FAST_EVERY_ROW).fit(X, Y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4"):
        est.predict(X[:, :3])
    with pytest.raises(ValueError, match="dim 3"):
        Est(**FAST_EVERY_ROW).fit(X, Y[:, :, None])


def test_a_series_as_X_gets_scikit_learns_2d_error():
    X, Y = normal_tasks(MMoEClassifier)
    with pytest.raises(ValueError, match="2-dimensional|2D array"):
        MMoEClassifier(**FAST).fit(pd.Series(X[:, 0]), Y[:, 0])


def test_a_model_with_categorical_columns_reads_lists_and_refuses_the_rest():
    X, Y = normal_tasks(MMoEClassifier)
    df = pd.DataFrame(X[:, :2], columns=["a", "b"])
    df["colour"] = pd.Categorical(np.where(X[:, 2] > 0, "red", "blue"))
    est = MMoEClassifier(**FAST).fit(df, Y)
    rows = df.astype(object).to_numpy().tolist()
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_rows = est.predict(rows)
    np.testing.assert_array_equal(from_rows, est.predict(df))
    with pytest.raises(TypeError, match="text features, which need dense X"):
        est.predict(sp.csr_matrix(np.ones((3, 3))))
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.predict(df.to_numpy()[0])


# -- y and the rows ------------------------------------------------------------------


def test_non_finite_regression_targets_are_refused():
    X, Y = normal_tasks(MMoERegressor)
    Y[2, 1] = np.inf
    with pytest.raises(ValueError, match="Input y contains infinity"):
        MMoERegressor(**FAST_EVERY_ROW).fit(X, Y)


def test_task_names_that_are_one_string_twice_are_refused():
    """Columns 0 and "0" both name a task "0": predictions, scores and an ONNX
    graph's outputs could not tell them apart."""
    X = np.random.RandomState(0).normal(size=(30, 2))
    Y = pd.DataFrame(X, columns=[0, "0"])
    with pytest.raises(ValueError, match=r"\['0'\] names more than one of them"):
        MMoERegressor(max_epochs=2).fit(X, Y)


def test_score_names_a_task_without_any_label():
    X, Y = normal_tasks(MMoEClassifier)
    est = MMoEClassifier(**FAST, missing_labels="ignore").fit(X, Y)
    Y_test = Y.astype(float)
    Y_test[:, 1] = np.nan
    with pytest.raises(ValueError, match="Task 1.*no sample has a label"):
        est.score(X, Y_test)


def test_early_stopping_counts_the_distinct_rows_it_splits():
    X = np.ones((100, 3))
    with pytest.raises(
        ValueError, match=r"1 of its 1 sample\(s\) \(distinct rows.*merged"
    ):
        MMoERegressor(**FAST, early_stopping=True).fit(X, np.ones(100))
    X, Y = normal_tasks(MMoEClassifier, n=100)
    with pytest.raises(
        ValueError, match=r"0.999 of the training data: 100 of its 100 sample"
    ):
        MMoEClassifier(**FAST, early_stopping=True, validation_fraction=0.999).fit(X, Y)


# -- calls out of order --------------------------------------------------------------


@both
def test_predict_before_fit_is_refused(Est):
    X, _ = normal_tasks(Est)
    with pytest.raises(NotFittedError):
        Est().predict(X)
