"""``text_encoder="wordllama"``: WordLlama's pretrained token vectors, read from its
installed wheel (nothing downloaded), frozen or fine-tuned, named in a model file
by their hash."""

import json

import numpy as np
import pytest
import torch
from _helpers import FAST, reviews_frame
from safetensors import safe_open

import sklearn_mmoe
from sklearn_mmoe import MMoEMultiTask
from sklearn_mmoe._inputs import text_wordllama
from sklearn_mmoe._inputs.text_wordllama import wordllama_model
from sklearn_mmoe._network.ops import _TorchOps

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
KINDS = ["classification", "regression"]


def _fit(X, Y, params=None, **options):
    return MMoEMultiTask(
        **FAST,
        **params or {},
        task_types=KINDS,
        text_features=["review"],
        text_encoder="wordllama",
        text_options=options or None,
    ).fit(X, Y)


def test_a_texts_vector_is_wordllamas_own_embedding_of_it():
    import pathlib

    import wordllama

    X, Y = reviews_frame(120)
    model = _fit(X, Y)
    assert model.fit_config_.texts[0][:3] == ("wordllama", 32002, 256)
    folder = pathlib.Path(wordllama.__file__).parent
    own = wordllama.WordLlama.load(cache_dir=folder, disable_download=True)
    ids = model._encoder.transform(X.iloc[:4])[:, -model._encoder.n_slots :]
    table = model.net_.module_.encoder.text0_weight
    pooled = _TorchOps.bag_mean(table, torch.tensor(ids).long()).detach().numpy()
    expected = own.embed(list(X["review"].iloc[:4].fillna("")), norm=False)
    present = X["review"].iloc[:4].notna().to_numpy()
    np.testing.assert_allclose(pooled[present], expected[present], rtol=1e-4, atol=1e-6)


def test_frozen_vectors_stay_and_are_not_in_the_file(tmp_path):
    X, Y = reviews_frame(150)
    model = _fit(X, Y, dim=64)
    table = model.net_.module_.encoder.text0_weight
    np.testing.assert_array_equal(table[2:].numpy(), wordllama_model()[1][:, :64])
    path = tmp_path / "model.safetensors"
    sklearn_mmoe.save(model, path)
    with safe_open(path, "pt") as file:
        shapes = [file.get_slice(k).get_shape() for k in file.keys()]
    assert [32002, 64] not in shapes  # the frozen table is read from the wheel
    loaded = sklearn_mmoe.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X)[0], model.predict_proba(X)[0])


def test_a_transformer_expert_reads_each_tokens_wordllama_vector(tmp_path):
    X, Y = reviews_frame(150)
    tokens = dict(expert_type="transformer", token_dim=8, n_heads=2)
    model = _fit(X, Y, tokens, dim=64)
    assert model.net_.module_.experts["0"].text0_weight.shape == (64, 8)
    path = tmp_path / "model.safetensors"
    sklearn_mmoe.save(model, path)
    loaded = sklearn_mmoe.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X)[0], model.predict_proba(X)[0])


def test_fine_tuned_vectors_train_and_are_saved(tmp_path):
    X, Y = reviews_frame(150)
    model = _fit(X, Y, dim=64, fine_tune=True)
    table = model.net_.module_.encoder.text0_weight
    assert table.requires_grad
    assert not np.allclose(table[2:].detach().numpy(), wordllama_model()[1][:, :64])
    path = tmp_path / "model.safetensors"
    sklearn_mmoe.save(model, path)
    loaded = sklearn_mmoe.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X)[0], model.predict_proba(X)[0])


def test_a_file_of_other_wordllama_weights_is_refused(tmp_path, monkeypatch):
    X, Y = reviews_frame(100)
    path = tmp_path / "model.safetensors"
    sklearn_mmoe.save(_fit(X, Y, dim=32), path)
    tokenizer, vectors, version, _ = wordllama_model()
    monkeypatch.setattr(
        text_wordllama,
        "wordllama_model",
        lambda: (tokenizer, vectors, version, "0" * 64),
    )
    with pytest.raises(
        ValueError, match="the installed WordLlama .* has other weights"
    ):
        sklearn_mmoe.load(path)


def test_the_onnx_graph_carries_the_vectors_and_the_metadata_the_tokenizer(tmp_path):
    import onnxruntime

    from sklearn_mmoe import onnx_inputs, to_onnx

    X, Y = reviews_frame(100)
    model = _fit(X, Y, dim=32)
    path = to_onnx(model, tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(path))
    proba, _ = session.run(None, onnx_inputs(model, X))
    np.testing.assert_allclose(proba, model.predict_proba(X)[0], atol=1e-5)
    meta = json.loads(session.get_modelmeta().custom_metadata_map["sklearn_mmoe"])
    assert "WordLlama" in meta["inputs"]["text"][0]["tokens"]


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"dim": 300}, ValueError, r"dim must be in \[1, 256\]"),
        ({"fine_tune": "yes"}, TypeError, "fine_tune must be a bool"),
        ({"buckets": 8}, ValueError, r"holds \['buckets'\]"),
    ],
)
def test_bad_wordllama_options_are_refused(options, error, match):
    X, Y = reviews_frame(60)
    with pytest.raises(error, match=match):
        _fit(X, Y, **options)
