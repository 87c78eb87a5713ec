"""Models saved without pickle: sklearn_mmoe.save / load round-trip every estimator bit
for bit, and a crafted file is refused before anything in it runs."""

import json
import pickle

import numpy as np
import pytest
import torch
from _helpers import (
    BRIEF,
    MIXED_KINDS,
    fitted_recommender_funnel,
)
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression

from sklearn_mmoe import (
    MMoEClassifier,
    MMoEMultiTask,
    MMoERegressor,
    load,
    save,
)
from sklearn_mmoe._export.files import VERSION

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _same_predictions(a, b, X):
    pa, pb = a.predict(X), b.predict(X)
    assert pa.dtype == pb.dtype and np.array_equal(pa, pb)
    if hasattr(a, "predict_proba"):
        for qa, qb in zip(a.predict_proba(X), b.predict_proba(X)):
            assert (qa is None and qb is None) or np.array_equal(qa, qb)


def _roundtrip(model, tmp_path):
    path = tmp_path / "model.safetensors"
    save(model, path)
    return load(path)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"architecture": "omoe"},
        {"architecture": "shared_bottom"},
        {"architecture": "ple", "n_task_experts": 1, "n_levels": 2},
        {"gate_type": "attention", "top_k": 2, "balance_weight": 0.1},
        {"ensemble_size": 3, "task_weights": "uncertainty"},
        {"numeric_encoding": "robust", "ema_decay": 0.9},
        {"numeric_encoding": "standard", "expert_units": (8, 4)},
    ],
)
def test_a_mixed_model_predicts_bit_for_bit_after_loading(
    params, tmp_path, mixed_table
):
    X, Y = mixed_table
    model = MMoEMultiTask(
        **{**BRIEF, **params},
        task_types=MIXED_KINDS,
        random_state=0,
    ).fit(X, Y)
    loaded = _roundtrip(model, tmp_path)
    assert type(loaded) is MMoEMultiTask
    assert loaded.get_params() == model.get_params()
    for rows in (X.iloc[:1], X.iloc[:10], X):  # the NumPy and the torch paths
        _same_predictions(model, loaded, rows)
    assert np.array_equal(model.gate_weights(X), loaded.gate_weights(X))
    assert loaded.task_names_.tolist() == ["buys", "spend", "visits"]
    assert loaded.loss_curve_ == model.loss_curve_


@pytest.mark.parametrize("funnel", ["esmm", "aitm"])
def test_ids_interactions_and_a_funnel_predict_bit_for_bit_after_loading(
    funnel, tmp_path
):
    X, model = fitted_recommender_funnel(funnel)
    assert model.net_.module_.interactions.n_paired == 2  # "auto": two id columns
    loaded = _roundtrip(model, tmp_path)
    assert loaded.get_params() == model.get_params()
    assert loaded._funnel == model._funnel == ((0, 1),)
    for rows in (X.iloc[:1], X.iloc[:10], X):  # the NumPy and the torch paths
        _same_predictions(model, loaded, rows)


def test_classifiers_and_regressors_round_trip(tmp_path, two_task_data):
    X, Y, _, _ = two_task_data
    clf = MMoEClassifier(**BRIEF, random_state=0).fit(X, Y)
    loaded = _roundtrip(clf, tmp_path)
    _same_predictions(clf, loaded, X)
    assert [c.tolist() for c in loaded.classes_] == [c.tolist() for c in clf.classes_]
    reg = MMoERegressor(**BRIEF, loss="poisson", random_state=0).fit(X, X[:, :2] ** 2)
    _same_predictions(reg, _roundtrip(reg, tmp_path), X)
    one = MMoERegressor(**BRIEF, random_state=0).fit(X, X[:, 0])
    assert _roundtrip(one, tmp_path).predict(X[:3]).shape == (3,)


def test_a_loaded_model_keeps_learning(tmp_path, mixed_table):
    X, Y = mixed_table
    kinds = MIXED_KINDS
    model = MMoEMultiTask(**BRIEF, task_types=kinds, random_state=0).fit(X, Y)
    loaded = _roundtrip(model, tmp_path)
    before = loaded.predict(X)[:, 1].astype(float)
    loaded.partial_fit(X, Y)  # continues the saved weights
    assert not np.array_equal(before, loaded.predict(X)[:, 1].astype(float))
    assert len(loaded.loss_curve_) == len(model.loss_curve_) + 1
    clone(loaded).fit(X, Y)
    pickle.loads(pickle.dumps(loaded)).predict(X)


def test_a_random_state_instance_is_saved_as_none(tmp_path, mixed_table):
    X, Y = mixed_table
    rng = np.random.RandomState(0)
    model = MMoERegressor(**BRIEF, random_state=rng).fit(X[["age"]], Y["spend"])
    assert _roundtrip(model, tmp_path).random_state is None


def test_only_fitted_estimators_of_this_package_are_saved(tmp_path, mixed_table):
    with pytest.raises(NotFittedError):
        save(MMoERegressor(), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="save takes an MMoEClassifier"):
        save(LinearRegression().fit([[0], [1]], [0, 1]), tmp_path / "m.safetensors")


# -- crafted files
# ---------------------------------------------------------------------------


def _saved(tmp_path, mixed_table):
    X, Y = mixed_table
    kinds = MIXED_KINDS
    model = MMoEMultiTask(**BRIEF, task_types=kinds, random_state=0).fit(X, Y)
    path = tmp_path / "model.safetensors"
    save(model, path)
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = f.metadata()
    return path, tensors, metadata


class _Payload:
    """A pickle that, loaded, would write a file: what a hostile model file does."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))  # unpickling it creates the file


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(_Payload(str(target))))
    with pytest.raises(ValueError, match="is not a sklearn_mmoe model file"):
        load(path)
    assert not target.exists()


def test_a_tensor_of_the_wrong_shape_is_refused(tmp_path, mixed_table):
    path, tensors, metadata = _saved(tmp_path, mixed_table)
    name = next(k for k in tensors if k.startswith("module.") and tensors[k].ndim > 1)
    tensors[name] = torch.zeros(tensors[name].shape[0] + 1, *tensors[name].shape[1:])
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="do not fit the network"):
        load(path)


@pytest.mark.parametrize("change", ["missing", "extra", "extra array"])
def test_a_missing_or_extra_tensor_is_refused(change, tmp_path, mixed_table):
    path, tensors, metadata = _saved(tmp_path, mixed_table)
    if change == "missing":
        del tensors[next(k for k in tensors if k.startswith("module."))]
    elif change == "extra":
        tensors["module.backdoor"] = torch.zeros(3)
    else:
        tensors["array.999"] = torch.zeros(3)
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="does not hold a valid model"):
        load(path)


def test_a_file_of_a_later_format_version_is_refused(tmp_path, mixed_table):
    path, tensors, metadata = _saved(tmp_path, mixed_table)
    later = str(VERSION + 1)
    save_file(tensors, str(path), metadata={**metadata, "version": later})
    with pytest.raises(ValueError, match=f"version {later} by a later sklearn_mmoe"):
        load(path)


@pytest.mark.parametrize(
    "field, value", [("object", "posix.system"), ("estimator", "os.system")]
)
def test_a_file_naming_anything_else_is_refused(field, value, tmp_path, mixed_table):
    path, tensors, metadata = _saved(tmp_path, mixed_table)
    state = json.loads(metadata["state"])
    if field == "estimator":
        state["estimator"] = value
    else:
        state["fitted"]["dict"]["_tasks"][0]["object"] = value
    save_file(tensors, str(path), metadata={**metadata, "state": json.dumps(state)})
    with pytest.raises(ValueError, match="unknown"):
        load(path)


def test_another_safetensors_file_is_refused(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file({"weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(ValueError, match="its header does not name the format"):
        load(path)


def test_a_model_fitted_for_a_gpu_loads_on_the_cpu(tmp_path, mixed_table):
    """The weights are saved from the device they trained on and read onto the CPU:
    a file whose estimator names device='cuda' loads and predicts without one."""
    path, tensors, metadata = _saved(tmp_path, mixed_table)
    state = json.loads(metadata["state"])
    state["params"]["dict"]["device"] = "cuda"
    save_file(tensors, str(path), metadata={**metadata, "state": json.dumps(state)})
    model = load(path)
    assert model.device == "cuda" and model.net_.device == "cpu"
    X, _ = mixed_table
    assert model.predict(X).shape == (120, 3)


# -- paths
# ---------------------------------------------------------------------------


@pytest.fixture
def small_model():
    X = np.random.RandomState(0).normal(size=(60, 3))
    return MMoERegressor(**BRIEF, random_state=0).fit(X, X[:, :2]), X


def test_a_save_to_a_directory_or_a_missing_folder_names_the_path(
    small_model, tmp_path
):
    model, _ = small_model
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        save(model, tmp_path)
    missing = tmp_path / "no" / "model.safetensors"
    with pytest.raises(FileNotFoundError, match="the folder .* does not exist"):
        save(model, missing)
    with pytest.raises(TypeError, match="string, bytes or path-like; got int"):
        save(model, 3)
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load(tmp_path / "absent.safetensors")


def test_paths_are_taken_as_the_user_gives_them(small_model, tmp_path, monkeypatch):
    """bytes are a file name (os.fsdecode), not the text ``b'...'``."""
    model, X = small_model
    monkeypatch.chdir(tmp_path)
    save(model, b"model.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    np.testing.assert_array_equal(
        load(b"model.safetensors").predict(X), model.predict(X)
    )
    save(model, str(tmp_path / "as_str.safetensors"))
    assert load(tmp_path / "as_str.safetensors").n_features_in_ == 3


def test_a_save_that_fails_leaves_the_file_that_was_there(
    small_model, tmp_path, monkeypatch
):
    import safetensors.torch

    model, X = small_model
    path = tmp_path / "model.safetensors"
    save(model, path)
    before = path.read_bytes()

    def failing(tensors, filename, metadata=None):
        with open(filename, "wb") as file:
            file.write(b"half a model")
        raise KeyboardInterrupt  # a Ctrl-C while writing

    monkeypatch.setattr(safetensors.torch, "save_file", failing)
    with pytest.raises(KeyboardInterrupt):
        save(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_a_file_names_the_blocks_weights_by_their_paths_and_loads_as_saved(tmp_path):
    """Files are written with today's names (``experts.0.weight0``, not the flat
    ``level0_expert_weight0`` of earlier versions, which load through a mapping)."""
    X = np.random.RandomState(0).normal(size=(80, 3))
    model = MMoERegressor(
        architecture="ple", n_levels=2, gate_type="attention", **BRIEF
    ).fit(X, X[:, :2])
    path = tmp_path / "model.safetensors"
    save(model, path)
    with safe_open(str(path), "pt") as handle:
        names = set(handle.keys())
    assert {"module.experts.1.weight0", "module.gates.0.key"} <= names
    assert {"module.towers.weight0", "module.gates.1.weight0"} <= names
    assert not any("level0_expert" in n or "tower_" in n for n in names)
    _same_predictions(model, load(path), X)
