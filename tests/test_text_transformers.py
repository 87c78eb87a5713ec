"""``text_encoder="transformers"``: a pretrained Hugging Face encoder reads the text
(here a tiny BERT of random weights, saved to a temporary directory): frozen, it
reads each distinct text once; fine-tuned, its top layers train and nothing
below; a saved model names the encoder (path and hash) and never holds its
weights, and is refused where they changed; ONNX export refuses it."""

import pickle
import shutil
import sys

import numpy as np
import pytest
import torch
import transformers
from _helpers import BAD_WORDS, FAST, GOOD_WORDS, NEUTRAL_WORDS, reviews_frame

import sklearn_mmoe
from sklearn_mmoe import MMoEMultiTask, to_onnx
from sklearn_mmoe._inputs.text_transformers import import_transformers
from sklearn_mmoe._text.ids import FIRST_ID, MISSING_TEXT

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
KINDS = ["classification", "regression"]
HIDDEN, LAYERS = 32, 2


def _save_tiny_bert(folder):
    """A BERT of two layers of 32 units, random weights (seeded), and a WordPiece
    tokenizer of the reviews' words, written as save_pretrained writes them."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = list("abcdefghijklmnopqrstuvwxyz")
    words = [*GOOD_WORDS, *BAD_WORDS, *NEUTRAL_WORDS, ".", ","]
    pieces = ["##" + c for c in letters]
    tokens = dict.fromkeys(special + words + letters + pieces)  # "a" is both
    vocab = {t: i for i, t in enumerate(tokens)}
    wordpiece = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer = transformers.BertTokenizerFast(
        tokenizer_object=wordpiece,
        **{f"{t.strip('[]').lower()}_token": t for t in special},
    )
    tokenizer.save_pretrained(folder)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    return len(vocab)


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    """The tiny BERT's directory, shared by the file's tests (each test that counts
    its runs, trains it or changes it copies it: see _copy)."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    _save_tiny_bert(folder)
    return str(folder)


def _copy(bert, tmp_path):
    """The tiny BERT at a path of its own: no other test's model and vectors are
    shared with it (the process keeps one per path and weights)."""
    folder = tmp_path / "bert"
    shutil.copytree(bert, folder)
    return str(folder)


def _fit(X, Y, path, params=None, **options):
    """A model fitted on ``X, Y`` with the BERT at ``path`` and text_options'
    ``options`` (and ``params`` on top of FAST's)."""
    params = dict(
        FAST, max_epochs=3, task_types=KINDS, text_features=["review"], **params or {}
    )
    options = {"path": path, **options}
    return MMoEMultiTask(
        **params, text_encoder="transformers", text_options=options
    ).fit(X, Y)


@pytest.fixture
def counted(monkeypatch):
    """The rows BertModel.forward has read, counted."""
    rows = []
    forward = transformers.BertModel.forward

    def counting(self, input_ids=None, **kwargs):
        rows.append(input_ids.shape[0])
        return forward(self, input_ids=input_ids, **kwargs)

    monkeypatch.setattr(transformers.BertModel, "forward", counting)
    return rows


def _token_rows(model, X):
    """The distinct rows of token ids of ``X``'s present texts."""
    ids = model._encoder.transform(X)[:, -model._encoder.n_slots :]
    return {row.tobytes() for row in ids[ids[:, 0] >= FIRST_ID]}


# -- fit and predict -------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_a_frozen_encoder_fits_and_predicts(bert, pooling):
    X, Y = reviews_frame(120)
    model = _fit(X, Y, bert, pooling=pooling)
    name, n_ids, width, slots, settings = model.fit_config_.texts[0]
    assert (name, width) == ("transformers", HIDDEN)
    tokenizer = transformers.AutoTokenizer.from_pretrained(bert)
    assert n_ids == len(tokenizer) + FIRST_ID
    assert dict(settings)["pooling"] == pooling
    ids = model._encoder.transform(X.iloc[:1])[0, -slots:]
    first = tokenizer(X["review"][0])["input_ids"]
    assert ids[: len(first)].tolist() == [i + FIRST_ID for i in first]
    assert not model.net_.module_.runs_numpy  # the NumPy path cannot run it
    proba = model.predict_proba(X)[0]
    assert np.isfinite(proba).all()
    assert not np.allclose(proba[3], proba[5])  # a missing text, an empty one
    ids = model._encoder.transform(X.iloc[[3]])[0, -slots:]
    assert ids[0] == MISSING_TEXT and not ids[1:].any()


def test_the_frozen_encoder_reads_each_distinct_text_once(bert, tmp_path, counted):
    X, Y = reviews_frame(120)
    X.loc[10:30, "review"] = X.loc[10, "review"]  # a text of many rows
    model = _fit(X, Y, _copy(bert, tmp_path))
    assert len(model.net_.history) == 3  # epochs after the first read none
    assert sum(counted) == len(_token_rows(model, X))
    model.predict_proba(X)
    assert sum(counted) == len(_token_rows(model, X))


def test_fine_tuning_trains_the_top_layer_and_not_the_lower_one(bert, tmp_path):
    path = _copy(bert, tmp_path)
    X, Y = reviews_frame(120)
    model = _fit(X, Y, path, fine_tune_layers=1)
    original = transformers.BertModel.from_pretrained(path).encoder.layer
    module = model.net_.module_
    trained = module.encoder.text0_top
    assert len(trained) == 1
    top_names = {k for k in module.state_dict() if ".text0_top." in k}
    assert top_names == {"encoder.text0_top.0." + k for k in original[1].state_dict()}
    pretrained = original[1].state_dict()
    for k in ("attention.self.query.weight", "intermediate.dense.weight"):
        assert not torch.equal(trained[0].state_dict()[k], pretrained[k])
    part = module.encoder._text_parts[0][0]
    frozen = part.shared().model.encoder.layer
    for layer in (0, 1):  # the shared model's, the lower one read: as saved
        for k, p in frozen[layer].state_dict().items():
            assert torch.equal(p, original[layer].state_dict()[k])
    groups = [g for g in model.net_.optimizer_.param_groups if g.get("lr_scale")]
    top_ids = {id(p) for p in trained.parameters()}
    (group,) = [g for g in groups if top_ids & {id(p) for p in g["params"]}]
    assert group["lr_scale"] == 0.03
    assert np.isfinite(model.predict_proba(X)[0]).all()


def test_cross_fitted_members_share_the_model_and_train_their_own_top_layers(
    bert, tmp_path
):
    X, Y = reviews_frame(120)
    model = _fit(X, Y, _copy(bert, tmp_path), {"n_cv": 2}, fine_tune_layers=1)
    first, second = (m.encoder for m in model.net_.module_.members)
    assert first._text_parts[0][0].shared() is second._text_parts[0][0].shared()
    top = [e.text0_top[0].intermediate.dense.weight for e in (first, second)]
    assert not torch.equal(*top)
    assert np.isfinite(model.predict_proba(X)[0]).all()


# -- a Transformer expert reads the texts' last states --------------------------------

TOKENS = dict(expert_type="transformer", token_dim=8, n_heads=2)


def test_a_transformer_expert_reads_each_texts_frozen_states_once(
    bert, tmp_path, counted
):
    X, Y = reviews_frame(120)
    model = _fit(X, Y, _copy(bert, tmp_path), TOKENS)
    distinct = len(_token_rows(model, X))
    assert sum(counted) == distinct  # its vector pooled from its kept states
    model.predict_proba(X)
    assert sum(counted) == distinct
    experts = model.net_.module_.experts["0"]
    assert experts.text0_weight.shape == (HIDDEN, 8)
    part = model.net_.module_.encoder._text_parts[0][0]
    kept = part.shared().states
    assert len(kept) == distinct
    assert {v.dtype for v in kept.values()} == {torch.float16}


def test_states_past_the_kept_bytes_are_read_again_to_the_same_values(
    bert, tmp_path, monkeypatch
):
    from sklearn_mmoe._network import text_transformers

    X, Y = reviews_frame(120)
    model = _fit(X, Y, _copy(bert, tmp_path), TOKENS)
    rows = X.iloc[:60]
    before = model.predict_proba(rows)[0]
    shared = model.net_.module_.encoder._text_parts[0][0].shared()
    shared.states.clear()
    shared.states_bytes = 0
    monkeypatch.setattr(text_transformers, "_KEPT_STATES_BYTES", 0)
    after = model.predict_proba(rows)[0]
    assert not shared.states
    # read in other chunks, a state may round to a neighbouring float16 (2**-11)
    np.testing.assert_allclose(after, before, atol=1e-3)


def test_a_fine_tuned_encoder_reads_a_batch_once_for_its_vectors_and_tokens(
    bert, tmp_path, counted
):
    X, Y = reviews_frame(120)
    model = _fit(X, Y, _copy(bert, tmp_path), TOKENS, fine_tune_layers=1)
    assert len(model.net_.module_.encoder.text0_top) == 1
    counted.clear()
    proba = model.predict_proba(X)[0]
    ids = model._encoder.transform(X)[:, -model._encoder.n_slots :]
    assert sum(counted) == (ids[:, 0] >= FIRST_ID).sum()
    assert np.isfinite(proba).all()


# -- saved, pickled, refused ---------------------------------------------------------


@pytest.mark.parametrize("layers", [0, 1])
def test_a_saved_model_names_the_encoder_and_holds_none_of_its_weights(
    bert, tmp_path, layers
):
    from safetensors import safe_open

    X, Y = reviews_frame(120)
    model = _fit(X, Y, bert, fine_tune_layers=layers)
    file = tmp_path / "model.safetensors"
    sklearn_mmoe.save(model, file)
    with safe_open(file, "pt") as handle:
        names = set(handle.keys())
    assert not [n for n in names if "embeddings" in n or "encoder.layer." in n]
    layer = transformers.BertModel.from_pretrained(bert).encoder.layer[1]
    top = {n for n in names if ".text0_top." in n}  # the trained layer's, if any
    assert len(top) == layers * len(layer.state_dict())
    loaded = sklearn_mmoe.load(file)
    np.testing.assert_allclose(
        loaded.predict_proba(X)[0], model.predict_proba(X)[0], rtol=1e-6
    )
    assert loaded.fit_config_ == model.fit_config_
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(
        again.predict_proba(X)[0], model.predict_proba(X)[0], rtol=1e-6
    )


def test_a_load_after_the_weights_at_the_path_changed_is_refused(bert, tmp_path):
    path = _copy(bert, tmp_path)
    X, Y = reviews_frame(80)
    model = _fit(X, Y, path)
    file = tmp_path / "model.safetensors"
    sklearn_mmoe.save(model, file)
    pickled = pickle.dumps(model)
    sha256 = dict(model.fit_config_.texts[0][4])["sha256"]
    changed = transformers.BertModel.from_pretrained(path)
    with torch.no_grad():
        changed.pooler.dense.bias.add_(1.0)
    changed.save_pretrained(path)
    match = rf"refusing a load whose encoder differs.*{sha256}.*{path}"
    with pytest.raises(ValueError, match=match):
        sklearn_mmoe.load(file)
    with pytest.raises(ValueError, match=match):  # a pickle reads it again too
        pickle.loads(pickled).predict(X)


# -- refused settings ------------------------------------------------------------


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({}, ValueError, r"needs text_options' path"),
        ({"path": "/no/such/model"}, ValueError, r"'/no/such/model' holds no Hugg"),
        ({"pooling": "max"}, ValueError, r"pooling must be one of"),
        ({"fine_tune_layers": -1}, ValueError, r"fine_tune_layers must be >= 0"),
        ({"fine_tune_layers": 3}, ValueError, r"fine_tune_layers is 3, but the"),
        ({"max_tokens": 65}, ValueError, r"reads at most 64 tokens"),
        ({"dim": 8}, ValueError, r"holds \['dim'\]"),
    ],
)
def test_bad_settings_are_refused_by_name(bert, options, error, match):
    X, Y = reviews_frame(40)
    options = {"path": bert, **options} if options else {}
    params = dict(FAST, task_types=KINDS, text_features=["review"])
    model = MMoEMultiTask(**params, text_encoder="transformers", text_options=options)
    with pytest.raises(error, match=match):
        model.fit(X, Y)


def test_a_directory_without_a_model_is_a_value_error_naming_it(tmp_path):
    X, Y = reviews_frame(40)
    with pytest.raises(ValueError, match=rf"'{tmp_path}' holds no Hugging Face"):
        _fit(X, Y, str(tmp_path))


def test_without_transformers_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r'pip install "sklearn-mmoe\[transformers'):
        import_transformers()


def test_to_onnx_refuses_a_hugging_face_encoder(bert, tmp_path):
    X, Y = reviews_frame(60)
    model = _fit(X, Y, bert)
    with pytest.raises(ValueError, match="to_onnx cannot export a Hugging Face"):
        to_onnx(model, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()
