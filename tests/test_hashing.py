"""Hashed categorical columns (hash_buckets): open vocabularies in a fixed number of
codes, the same in every process, through fitting, streaming, files and ONNX."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _helpers import BRIEF, HASHED_USERS, users_frame
from safetensors import safe_open
from safetensors.torch import save_file

from sklearn_mmoe import MMoERegressor, load, onnx_inputs, save
from sklearn_mmoe._inputs import categorical as _categorical
from sklearn_mmoe._inputs.hashing import bucket_of

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
BUCKETS = HASHED_USERS["user"]


@pytest.fixture(scope="module")
def hashed():
    X, y = users_frame()
    model = MMoERegressor(**BRIEF, hash_buckets=HASHED_USERS, random_state=0)
    return model.fit(X, y), X


def test_a_hashed_columns_codes_are_its_buckets_and_missing_its_own(hashed):
    model, X = hashed
    new = X.head(4).assign(user=["someone new", "user1", None, "user1"])
    codes = onnx_inputs(model, new)["categorical"][:, 0]
    buckets = bucket_of(np.array(["someone new", "user1"], dtype=object), BUCKETS)
    assert codes.tolist() == [2 + buckets[0], 2 + buckets[1], 1, 2 + buckets[1]]


def test_a_hashed_column_learns_no_categories_and_has_its_buckets(hashed):
    model, _ = hashed
    encoder = model._encoder
    assert encoder.buckets == [BUCKETS, 0]
    assert len(encoder.categories[0]) == 0 and len(encoder.categories[1]) == 2
    assert encoder.n_codes == [BUCKETS + 2, 4]


def test_the_buckets_are_the_same_in_another_process():
    values = ["user1", "a film", "42", "é"]
    code = (
        "import numpy as np; from sklearn_mmoe._inputs.hashing import bucket_of; "
        f"print(bucket_of(np.array({values!r}, dtype=object), 1000).tolist())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    here = bucket_of(np.array(values, dtype=object), 1000).tolist()
    assert json.loads(out.stdout) == here


def test_a_stream_learns_users_it_meets_after_its_first_call():
    """Two users first seen by a later partial_fit, of opposite targets: hashed,
    each trains its own code; as learned categories both are the unseen code."""
    X, y = users_frame()
    new = pd.DataFrame(
        {
            "user": ["newA", "newB"] * 50,
            "city": pd.Categorical(["Lyon"] * 100, categories=["Lyon", "Oslo"]),
            "x": np.zeros(100),
        }
    )
    target = np.tile([3.0, -3.0], 50)
    predictions = {}
    for name, extra in {"hashed": {"hash_buckets": {"user": 4096}}, "kept": {}}.items():
        model = MMoERegressor(**BRIEF, random_state=0, learning_rate=1e-2, **extra)
        model.partial_fit(X, y)
        for _ in range(30):
            model.partial_fit(new, target)
        predictions[name] = model.predict(new.head(2))
    assert predictions["hashed"][0] - predictions["hashed"][1] > 2
    assert predictions["kept"][0] == predictions["kept"][1]


def test_a_hashed_model_file_round_trips_bit_exactly(hashed, tmp_path):
    model, X = hashed
    path = tmp_path / "m.safetensors"
    save(model, path)
    assert np.array_equal(load(path).predict(X), model.predict(X))


def _with_encoder_changed(model, tmp_path, change):
    """``model``'s file with ``change`` applied to its categorical encoder's state."""
    path = tmp_path / "m.safetensors"
    save(model, path)
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = f.metadata()
    state = json.loads(metadata["state"])
    change(state["fitted"]["dict"]["_encoder"]["state"]["dict"])
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata={**metadata, "state": json.dumps(state)})
    return bad


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("buckets"), "lacks|buckets"),
        (lambda s: s.update(buckets=[BUCKETS]), "one number of hash buckets"),
        (lambda s: s.update(buckets="64"), "one number of hash buckets"),
        (lambda s: s.update(buckets=[-1, 0]), "hash buckets"),
        (lambda s: s.update(buckets=[True, 0]), "hash buckets"),
        (lambda s: s.update(buckets=[2**24, 0]), "hash buckets"),
        (lambda s: s.update(buckets=[0, 0]), "fit_config_.embeddings is not what"),
    ],
)
def test_a_file_whose_buckets_a_fit_cannot_give_is_refused(
    hashed, tmp_path, change, message
):
    bad = _with_encoder_changed(hashed[0], tmp_path, change)
    with pytest.raises(ValueError, match=message):
        load(bad)


def test_categories_on_a_hashed_column_are_refused(hashed, tmp_path):
    def learned(encoder):
        encoder["categories"][0] = encoder["categories"][1]

    bad = _with_encoder_changed(hashed[0], tmp_path, learned)
    with pytest.raises(ValueError, match="hashed column has no categories"):
        load(bad)


@pytest.mark.parametrize(
    "spec, error, message",
    [
        ({"nobody": 8}, ValueError, "not a column of X"),
        ({5: 8}, ValueError, "X has 3 columns"),
        ({"x": 8}, ValueError, "not categorical"),
        ({"user": 0}, ValueError, "int from 1 to"),
        ({"user": True}, ValueError, "int from 1 to"),
        ({"user": 2**24}, ValueError, "int from 1 to"),
        ({1.5: 8}, TypeError, "names or indices"),
        ([("user", 8)], ValueError, "hash_buckets"),
    ],
)
def test_hash_buckets_that_name_no_categorical_column_are_refused(spec, error, message):
    X, y = users_frame(60)
    with pytest.raises(error, match=message):
        MMoERegressor(**BRIEF, hash_buckets=spec).fit(X, y)


def test_a_column_of_too_many_categories_says_how_to_fit_it(monkeypatch):
    monkeypatch.setattr(_categorical, "_MAX_CODES", 12)
    X, y = users_frame(60)
    with pytest.raises(ValueError, match="min_frequency, max_categories.*hash_buckets"):
        MMoERegressor(**BRIEF).fit(X, y)
    hashed = MMoERegressor(**BRIEF, hash_buckets={"user": 8}).fit(X, y)
    assert hashed.predict(X).shape == (60,)
