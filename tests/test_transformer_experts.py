"""Transformer experts (``expert_type="transformer"``): every input column one token,
all experts batched, the same predictions on every inference path, validated sizes,
and every architecture, gate and option around them."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import AROUND_EXPERTS, BRIEF
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mmoe import (
    MMoEClassifier,
    MMoEMultiTask,
    MMoERegressor,
    load,
    save,
)
from sklearn_mmoe._estimators.inference import _dense
from sklearn_mmoe._inputs.validation import validate_X
from sklearn_mmoe._network.memory import rows_per_chunk
from sklearn_mmoe._network.ops import _NumpyOps, _TorchOps

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = dict(expert_type="transformer", token_dim=8, n_heads=2)


def _table(n=300, seed=0):
    """Numeric columns (one with missing values) and a categorical one; two tasks
    that need the interaction of two columns."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    X.loc[rng.rand(n) < 0.1, "b"] = np.nan
    X["city"] = pd.Categorical(rng.choice(["x", "y", "z"], n))
    Y = np.column_stack([X["a"] * X["c"] > 0, (X["c"] > 0) ^ (X["city"] == "x")])
    return X, Y.astype(int)


def _tokens(model, X):
    """The first level's tokens ``(n, N, d)`` of ``X``, without their bias."""
    module = model.net_.module_
    x = torch.as_tensor(_dense(validate_X(model, X)), dtype=torch.float32)
    p = module._tensors()
    with torch.no_grad():
        encoded = module.encoder.encode(p, x, _TorchOps("relu", 0.0))
        experts = module.experts["0"]
        return module._expert._tokens(experts, p, _TorchOps("relu", 0.0), encoded)


@pytest.mark.parametrize("encoding", ["piecewise", "robust"])
def test_every_input_column_is_one_token_of_its_own_values(encoding):
    """Bins, a missing-value indicator and an embedding all feed their column's token;
    changing one column's values moves that token and no other."""
    X, Y = _table()
    model = MMoEClassifier(**BRIEF, **SMALL, numeric_encoding=encoding).fit(X, Y)
    module = model.net_.module_
    assert module.experts["0"].token_inputs.shape[0] == X.shape[1]  # tokens
    columns = module.encoder.columns()
    assert len(columns) == module.encoder.width
    assert set(columns) == {0, 1, 2, 3}
    if encoding == "piecewise":
        assert (columns == 0).sum() > 1  # a column's bins are one token
    assert (columns == 1).sum() >= 2  # "b": its values and its indicator
    before = _tokens(model, X[:20])
    for j, name in enumerate(X.columns):
        changed = X[:20].copy()
        if name == "city":
            changed[name] = changed[name].map({"x": "y", "y": "z", "z": "x"})
        else:
            changed[name] = changed[name].fillna(0.0) + 1.5
        moved = (_tokens(model, changed) - before).abs().amax(dim=(0, 2)) > 0
        assert moved.tolist() == [k == j for k in range(X.shape[1])]


def test_transformer_experts_learn_an_interaction_of_two_columns():
    X, Y = _table(n=1200)
    model = MMoEClassifier(**SMALL, max_epochs=60, random_state=0)
    model.fit(X[:900], Y[:900])
    proba = model.predict_proba(X[900:])
    aucs = [roc_auc_score(Y[900:, t], proba[t][:, 1]) for t in range(2)]
    assert min(aucs) > 0.9, aucs


@pytest.mark.parametrize(
    "params",
    [
        dict(numeric_encoding="piecewise"),
        dict(n_blocks=2, ensemble_size=2),
        dict(architecture="ple", n_levels=2, n_task_experts=1),
    ],
    ids=["piecewise", "two-blocks-ensemble", "ple-2-levels"],
)
def test_numpy_and_torch_inference_agree_row_for_row(params):
    """Up to 32 rows predict in float64 NumPy, more in PyTorch: the same
    probabilities for the same rows, whichever path a batch takes."""
    X, Y = _table()
    model = MMoEClassifier(**BRIEF, **SMALL, **params, random_state=0).fit(X, Y)
    assert model.net_.module_.runs_numpy
    many = model.predict_proba(X)
    for start in (0, 100):
        few = model.predict_proba(X[start : start + 5])
        for t in range(2):
            np.testing.assert_allclose(few[t], many[t][start : start + 5], atol=1e-6)


@pytest.mark.parametrize(
    "params",
    [*AROUND_EXPERTS.values(), dict(n_blocks=2, attention_dropout=0.2, dropout=0.1)],
    ids=[*AROUND_EXPERTS.keys(), "two-blocks-dropout"],
)
def test_transformer_experts_work_with_every_architecture_and_gate(params):
    X, Y = _table(n=120)
    model = MMoEClassifier(**BRIEF, **SMALL, **params, random_state=0).fit(X, Y)
    proba = model.predict_proba(X)
    assert all(np.isfinite(p).all() and p.shape == (120, 2) for p in proba)
    weights = model.gate_weights(X)
    assert weights.shape[:2] == (120, 2)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    again = clone(model).fit(X, Y)  # attention dropout is drawn from the fit's seed
    np.testing.assert_array_equal(again.predict_proba(X)[0], proba[0])


def test_regression_and_mixed_tasks_train_transformer_experts(mixed_table):
    X, Y = mixed_table
    kinds = ["classification", "regression", "count"]
    multi = MMoEMultiTask(**BRIEF, **SMALL, task_types=kinds, random_state=0)
    multi.fit(X, Y)
    assert multi.predict(X).shape == Y.shape
    reg = MMoERegressor(**BRIEF, **SMALL, random_state=0).fit(X, Y[["spend"]])
    assert np.isfinite(reg.predict(X)).all()


def test_token_dim_that_is_not_a_multiple_of_n_heads_is_refused():
    X, Y = _table(n=60)
    model = MMoEClassifier(**BRIEF, expert_type="transformer", token_dim=10, n_heads=4)
    with pytest.raises(
        ValueError, match="token_dim=10 must be a multiple of n_heads=4"
    ):
        model.fit(X, Y)
    assert not hasattr(model, "net_")


@pytest.mark.parametrize(
    "name, value",
    [("token_dim", 0), ("n_blocks", 0), ("n_heads", 0), ("attention_dropout", 1.0)],
)
def test_the_size_parameters_are_validated(name, value):
    X, Y = _table(n=60)
    model = MMoEClassifier(**BRIEF, expert_type="transformer", **{name: value})
    with pytest.raises(InvalidParameterError, match=name):
        model.fit(X, Y)


def test_the_transformer_parameters_do_not_touch_mlp_experts():
    X, Y = _table(n=120)
    plain = MMoEClassifier(**BRIEF, random_state=0).fit(X, Y)
    other = MMoEClassifier(
        **BRIEF, random_state=0, token_dim=64, n_blocks=3, n_heads=8
    ).fit(X, Y)
    np.testing.assert_array_equal(plain.predict_proba(X)[0], other.predict_proba(X)[0])


def test_a_transformer_model_is_saved_and_pickled(tmp_path):
    """Saved without pickle, and pickled: the same predictions on both inference
    paths (``tests/test_onnx.py`` serves such models through ONNX)."""
    X, Y = _table()
    model = MMoEClassifier(
        **BRIEF, **SMALL, numeric_encoding="piecewise", random_state=0
    ).fit(X, Y)
    save(model, tmp_path / "model.safetensors")
    loaded = load(tmp_path / "model.safetensors")
    expected = model.predict_proba(X)
    np.testing.assert_array_equal(loaded.predict_proba(X)[0], expected[0])
    assert loaded.get_params()["token_dim"] == 8
    unpickled = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(unpickled.predict_proba(X)[0], expected[0])
    few = model.predict_proba(X[:5])[0]  # the NumPy path
    np.testing.assert_array_equal(unpickled.predict_proba(X[:5])[0], few)
    np.testing.assert_array_equal(loaded.predict_proba(X[:5])[0], few)


def test_a_wide_transformer_predicts_in_chunks_its_attention_fits_in():
    """Two blocks over 300 columns: a chunk of 8,192 rows held every row's
    attention at once (about 6 GB) and died in the allocator. A chunk holds what
    256 MB of activations allow, and predicts what one pass over all rows does."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 300))
    y = X[:, 0] + X[:, 1]
    params = dict(n_experts=2, token_dim=8, n_heads=2, n_blocks=2, max_epochs=1)
    reg = MMoERegressor(expert_type="transformer", **params, random_state=0)
    reg.fit(X, y)
    module = reg.net_.module_
    rows = rows_per_chunk(module)
    assert 1 <= rows < 120
    assert rows * module.floats_per_row() * 4 <= 256 * 2**20
    with torch.inference_mode():
        whole = module(torch.from_numpy(X.astype(np.float32))).outputs[:, 0, 0]
    expected = reg._tasks[0].predict(whole[:, None].numpy(), _NumpyOps("identity"))
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(token_dim=2**40, n_heads=1), "too large for any machine"),
        (dict(token_dim=2**20, n_heads=1), "would need about .* TB to train"),
    ],
)
def test_sizes_no_machine_can_allocate_are_refused_before_building(params, match):
    """token_dim=2**40 passed validation, then torch tried to allocate 13 TB."""
    X = np.random.RandomState(0).normal(size=(40, 3))
    reg = MMoERegressor(expert_type="transformer", **params)
    with pytest.raises(ValueError, match=match):
        reg.fit(X, X[:, 0])
    assert not hasattr(reg, "net_")
