"""ONNX export: onnxruntime serving the graph of ``to_onnx`` agrees with ``predict``
and ``predict_proba`` for every architecture, gate type and task kind, on one row and
on 10,000, from what ``onnx_inputs`` makes of the inputs ``predict`` accepts."""

import json

import numpy as np
import onnx
import onnxruntime
import pandas as pd
import pytest
import scipy.sparse as sp
from _helpers import (
    BRIEF,
    HASHED_USERS,
    MIXED_KINDS,
    fitted_recommender_funnel,
    reviews_frame,
    users_frame,
)
from sklearn.exceptions import NotFittedError

from sklearn_mmoe import (
    MMoEClassifier,
    MMoEMultiTask,
    MMoERegressor,
    load,
    onnx_inputs,
    save,
    to_onnx,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
TOL = 1e-5


def _session(model, tmp_path):
    """An onnxruntime session on the graph of ``model``."""
    path = to_onnx(model, tmp_path / "model.onnx")
    return onnxruntime.InferenceSession(str(path))


def _served(model, tmp_path, X):
    """The graph's outputs for ``X``, one array per task."""
    return _session(model, tmp_path).run(None, onnx_inputs(model, X))


def _assert_serves_as_predicted(model, tmp_path, X):
    """Every task's graph output against ``predict_proba`` (classification) or
    ``predict`` (values), on ``X``'s first row and on all of it."""
    session = _session(model, tmp_path)
    for rows in (X[:1], X):
        outputs = session.run(None, onnx_inputs(model, rows))
        predicted = np.asarray(model.predict(rows)).reshape(len(rows), -1)
        proba = model.predict_proba(rows) if hasattr(model, "predict_proba") else None
        if proba is not None and not isinstance(proba, list):
            proba = [proba]
        assert len(outputs) == len(model._tasks)
        for t, (task, out) in enumerate(zip(model._tasks, outputs)):
            assert out.dtype == np.float64 and out.shape[0] == len(rows)
            if task.has_proba:
                np.testing.assert_allclose(out, proba[t], rtol=0, atol=TOL)
            else:
                expected = predicted[:, t].astype(float)
                np.testing.assert_allclose(out, expected, rtol=TOL, atol=TOL)


def _many(X, n=10_000):
    """``n`` rows drawn from ``X``, with some numeric values missing and some
    categories unseen in training."""
    rng = np.random.RandomState(1)
    big = X.iloc[rng.randint(0, len(X), n)].reset_index(drop=True)
    big.loc[rng.rand(n) < 0.05, "age"] = np.nan
    city = big["city"].astype(object)
    city[rng.rand(n) < 0.05] = "Rome"  # a category the model never saw
    city[rng.rand(n) < 0.05] = np.nan
    big["city"] = pd.Categorical(city)
    return big


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"architecture": "omoe", "numeric_encoding": "robust"},
        {"architecture": "shared_bottom", "numeric_encoding": "standard"},
        {"architecture": "ple", "n_task_experts": 1, "n_levels": 2, "top_k": 2},
        {"gate_type": "attention", "gate_units": (4,), "expert_units": (8, 4)},
        {"ensemble_size": 3, "activation": "gelu"},
        # a cross-fitted ensemble: one graph that combines its members
        {"n_cv": 3, "numeric_encoding": "piecewise"},
        # Transformer experts: the tokenizer's gather, the pooled single block, on
        # batches large enough for onnxruntime to run in parallel threads
        {"expert_type": "transformer", "token_dim": 8, "n_heads": 2},
        {
            "expert_type": "transformer",
            "architecture": "ple",
            "n_levels": 2,
            "n_blocks": 2,
            "token_dim": 8,
            "n_heads": 2,
            "numeric_encoding": "piecewise",
        },
    ],
)
def test_a_mixed_model_serves_its_predictions(params, tmp_path, mixed_table):
    X, Y = mixed_table
    model = MMoEMultiTask(**{**BRIEF, **params}, task_types=MIXED_KINDS, random_state=0)
    model.fit(X, Y)
    _assert_serves_as_predicted(model, tmp_path, _many(X))


@pytest.mark.parametrize("funnel", ["esmm", "aitm"])
def test_ids_interactions_and_a_funnel_serve_their_predictions(funnel, tmp_path):
    X, model = fitted_recommender_funnel(funnel)
    rows = X.sample(10_000, replace=True, random_state=1).reset_index(drop=True)
    users = rows["user_id"].astype(object)
    users[::7] = "a user never seen"
    rows["user_id"] = pd.Categorical(users)
    _assert_serves_as_predicted(model, tmp_path, rows)


def test_classifier_and_regressor_graphs_serve_arrays(tmp_path, two_task_data):
    X, Y, _, _ = two_task_data  # a binary and a 3-class task
    clf = MMoEClassifier(**BRIEF, random_state=0).fit(X, Y)
    big = np.random.RandomState(0).normal(size=(10_000, X.shape[1]))
    _assert_serves_as_predicted(clf, tmp_path, big)
    reg = MMoERegressor(**BRIEF, loss="poisson", random_state=0)
    _assert_serves_as_predicted(reg.fit(X, X[:, :2] ** 2), tmp_path, big)
    one = MMoERegressor(**BRIEF, numeric_encoding=None, random_state=0)
    one.fit(X, 100 * X[:, 0] + 50)  # values on their own scale, 1-D y
    (value,) = _served(one, tmp_path, big)
    assert value.shape == (10_000,)
    np.testing.assert_allclose(value, one.predict(big), rtol=TOL)


def test_a_model_of_categorical_columns_only_takes_codes(tmp_path):
    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {c: pd.Categorical(rng.choice(list("abcd"), 300)) for c in ("u", "v")}
    )
    y = (X["u"] == "a").astype(int) + (X["v"] == "b")
    model = MMoEClassifier(**BRIEF, random_state=0).fit(X, y)
    inputs = onnx_inputs(model, X)
    assert list(inputs) == ["categorical"] and inputs["categorical"].dtype == np.int64
    _assert_serves_as_predicted(model, tmp_path, X)


def test_the_graph_describes_its_inputs_and_outputs(tmp_path, mixed_table):
    X, Y = mixed_table
    model = MMoEMultiTask(**BRIEF, task_types=MIXED_KINDS, random_state=0).fit(X, Y)
    path = to_onnx(model, tmp_path / "model.onnx")
    graph = onnx.load(str(path))
    assert [i.name for i in graph.graph.input] == ["numeric", "categorical"]
    assert [o.name for o in graph.graph.output] == ["buys", "spend", "visits"]
    meta = json.loads({p.key: p.value for p in graph.metadata_props}["sklearn_mmoe"])
    assert meta["inputs"]["numeric"] == ["age", "income"]
    (city,) = meta["inputs"]["categorical"]
    assert city["column"] == "city" and city["categories"] == ["Lyon", "Oslo", "Pune"]
    # the codes a server in another language derives from the metadata
    codes = [
        city["categories"].index(c) + city["first_code"] for c in X["city"].astype(str)
    ]
    assert onnx_inputs(model, X)["categorical"][:, 0].tolist() == codes
    assert [t["kind"] for t in meta["tasks"]] == MIXED_KINDS
    assert meta["tasks"][0]["classes"] == ["no", "yes"]


def test_a_loaded_model_and_sparse_inputs_export_alike(tmp_path, two_task_data):
    X, Y, _, _ = two_task_data
    model = MMoEClassifier(**BRIEF, random_state=0).fit(X, Y)
    save(model, tmp_path / "model.safetensors")
    loaded = load(tmp_path / "model.safetensors")
    sparse = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    for a, b in zip(
        _served(model, tmp_path, sparse), _served(loaded, tmp_path, sparse)
    ):
        np.testing.assert_array_equal(a, b)


def test_export_errors_name_the_problem(tmp_path, mixed_table):
    with pytest.raises(NotFittedError):
        to_onnx(MMoERegressor(), tmp_path / "m.onnx")
    with pytest.raises(NotFittedError):
        onnx_inputs(MMoERegressor(), [[0.0]])
    X, Y = mixed_table
    clash = Y.rename(columns={"spend": "numeric"})
    model = MMoEMultiTask(**BRIEF, task_types=MIXED_KINDS, random_state=0).fit(X, clash)
    with pytest.raises(ValueError, match="rename the task"):
        to_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="Feature names seen at fit time"):
        onnx_inputs(model, X.iloc[:, :2])


def test_task_names_onnx_cannot_carry_are_refused(tmp_path):
    """An empty name marks an omitted output in ONNX: the graph exported, and
    onnxruntime could not load it. Names of any other characters serve."""
    X = np.random.RandomState(0).normal(size=(50, 2))
    Y = pd.DataFrame(X[:, :2] + 1, columns=["", "b"])
    model = MMoERegressor(max_epochs=2, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match=r"Task\(s\) \[0\] have an empty name"):
        to_onnx(model, tmp_path / "model.onnx")
    Y.columns = ["a b/ü", "🙂:1"]
    model = MMoERegressor(max_epochs=2, random_state=0).fit(X, Y)
    path = to_onnx(model, tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(path))
    assert [o.name for o in session.get_outputs()] == ["a b/ü", "🙂:1"]
    values = session.run(None, onnx_inputs(model, X))
    np.testing.assert_allclose(np.c_[values[0], values[1]], model.predict(X), atol=1e-5)


def test_a_hashed_column_serves_its_predictions_and_states_its_hash(tmp_path):
    X, y = users_frame()
    model = MMoERegressor(**BRIEF, hash_buckets=HASHED_USERS, random_state=0).fit(X, y)
    session = _session(model, tmp_path)
    (served,) = session.run(None, onnx_inputs(model, X))
    np.testing.assert_allclose(served, model.predict(X), rtol=1e-4, atol=1e-4)
    meta = json.loads(session.get_modelmeta().custom_metadata_map["sklearn_mmoe"])
    user, city = meta["inputs"]["categorical"]
    assert user["hash_buckets"] == HASHED_USERS["user"]
    assert "SipHash-2-4" in user["hash"]
    assert "categories" not in user and city["categories"] == ["Lyon", "Oslo"]


@pytest.mark.parametrize(
    "params",
    [{}, dict(expert_type="transformer", token_dim=8, n_heads=2)],
    ids=["mlp", "transformer-over-tokens"],
)
def test_the_onnx_graph_takes_token_ids_and_has_no_loop(tmp_path, params):
    """A text model's graph: the texts' token ids as a third input, the bag of
    words as a gather and a masked mean (ONNX has no embedding bag: torch would
    export a loop); a Transformer expert's attention over the tokens, their
    padding masked (the graph keeps every slot; PyTorch cuts a batch's)."""
    X, Y = reviews_frame(200)
    model = MMoEMultiTask(
        **BRIEF,
        **params,
        task_types=["classification", "regression"],
        text_features=["review"],
        random_state=0,
    ).fit(X, Y)
    path = to_onnx(model, tmp_path / "model.onnx")
    graph = onnx.load(path).graph
    assert "Loop" not in {node.op_type for node in graph.node}
    inputs = onnx_inputs(model, X)
    assert sorted(inputs) == ["categorical", "numeric", "text"]
    assert inputs["text"].shape == (len(X), model._encoder.n_slots)
    proba, stars = onnxruntime.InferenceSession(path).run(None, inputs)
    np.testing.assert_allclose(proba, model.predict_proba(X)[0], atol=1e-5)
    expected = model.predict(X)[:, 1].astype(float)
    np.testing.assert_allclose(stars, expected, rtol=1e-4, atol=1e-4)
