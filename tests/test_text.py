"""Text columns: which columns are text (``text_features``), the default encoder (a
learned bag of hashed word n-grams), missing texts, and a text model's life after
fit: ``partial_fit``, saving, ONNX."""

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import FAST, LEARNER, reviews_frame
from sklearn.metrics import r2_score, roc_auc_score

import sklearn_mmoe
from sklearn_mmoe import MMoEMultiTask, MMoERegressor
from sklearn_mmoe._inputs.text import (
    HashedNgrams,
    TextColumns,
    TextColumnsWarning,
    looks_like_text,
)
from sklearn_mmoe._text.ids import FIRST_ID, MISSING_TEXT

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
TEXT = dict(text_features=["review"])
KINDS = ["classification", "regression"]


def _fit(X, Y, **params):
    return MMoEMultiTask(**{**FAST, "task_types": KINDS, **TEXT, **params}).fit(X, Y)


# -- which columns are text --------------------------------------------------------


def test_auto_takes_a_column_of_reviews_as_text_and_says_so():
    X, Y = reviews_frame(120)
    X["user"] = [f"u{i % 30}" for i in range(len(X))]  # one word each: a category
    with pytest.warns(TextColumnsWarning, match=r"column\(s\) \['review'\] as text"):
        model = MMoEMultiTask(**FAST, task_types=KINDS).fit(X, Y)
    assert model.is_text_.tolist() == [False, False, True, False]
    assert model.is_categorical_.tolist() == [True, False, False, True]
    assert model.fit_config_.texts[0][0] == "hashed"


def test_named_text_columns_warn_nothing_and_none_keeps_strings_as_categories():
    X, Y = reviews_frame(120)
    for spec in (["review"], [2], [False, False, True]):
        model = _fit(X, Y, text_features=spec)  # no warning: filterwarnings=error
        assert model.is_text_.tolist() == [False, False, True]
    model = _fit(X, Y, text_features=None)
    assert not model.is_text_.any()
    assert model.is_categorical_.tolist() == [True, False, True]


@pytest.mark.parametrize(
    "values, text",
    [
        (["a fine old film", "too long by far", "loved it a lot", None], True),
        (["u1", "u2", "u3", "u4"], False),  # one word each
        (["very good film"] * 5 + ["bad"], False),  # mostly repeated
        (["2020-01-01", "2020-01-02", "2020-01-03"], False),  # dates
        ([1.5, "two words here", "three more words"], False),  # not all strings
    ],
)
def test_the_auto_rule_takes_distinct_texts_of_several_words(values, text):
    assert looks_like_text(np.array(values, dtype=object)) is text


def test_a_column_named_text_and_categorical_is_refused():
    X, Y = reviews_frame(60)
    with pytest.raises(ValueError, match=r"\['review'\] are given both as text"):
        _fit(X, Y, categorical_features=["shop", "review"])


def test_an_explicitly_categorical_column_is_never_taken_as_text_by_auto():
    X, Y = reviews_frame(60)
    model = _fit(X, Y, text_features="auto", categorical_features=["shop", "review"])
    assert not model.is_text_.any() and model.is_categorical_[2]


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(text_features=["nope"]), ValueError, r"text_features names \['nope'\]"),
        (dict(text_features=[7]), ValueError, r"text_features indices must be in"),
        (dict(text_encoder="bert"), ValueError, r"text_encoder='bert' is not one of"),
        (dict(text_options={"size": 3}), ValueError, r"holds \['size'\]"),
        (dict(text_options={"dim": 0}), ValueError, r"dim must be >= 1; got 0"),
        (dict(text_options={"dim": 2.5}), TypeError, r"dim must be an int"),
        (dict(text_options={"char_ngrams": (4, 2)}), ValueError, r"char_ngrams"),
        (dict(hash_buckets={"review": 8}), ValueError, r"'review', which is text"),
    ],
)
def test_bad_text_settings_are_refused_by_name(params, error, match):
    X, Y = reviews_frame(60)
    with pytest.raises(error, match=match):
        _fit(X, Y, **params)


def test_text_needs_dense_input():
    X, Y = reviews_frame(60)
    model = _fit(X, Y)
    with pytest.raises(TypeError, match="categorical or text features, which need"):
        import scipy.sparse as sp

        model.predict(sp.csr_matrix(np.ones((2, 3))))


# -- the hashed bag of words ---------------------------------------------------------


def test_tokens_are_words_then_word_pairs_then_character_ngrams():
    tokenizer = HashedNgrams(1000, word_ngrams=2, char_ngrams=(3, 3))
    assert tokenizer.tokens("Good, GOOD fit") == [
        "good",
        "good",
        "fit",
        "good good",
        "good fit",
        *["#<go", "#goo", "#ood", "#od>"] * 2,
        "#<fi",
        "#fit",
        "#it>",
    ]


def test_a_token_has_the_same_id_in_every_text_and_every_process():
    tokenizer = HashedNgrams(2**18, word_ngrams=1)
    (first, second), n_distinct = tokenizer.ids(["great dress", "dress great great"])
    assert n_distinct == 2
    assert first.tolist() == [second[1], second[0]] and second[1] == second[2]
    # SipHash-2-4 with pandas' fixed key: the id a server computes too
    assert first.tolist() == [FIRST_ID + 180854, FIRST_ID + 173046]


def test_fit_tokenizes_each_distinct_text_once(monkeypatch):
    X, Y = reviews_frame(200)
    X.loc[20:60, "review"] = X.loc[20, "review"]  # a text of many rows
    read = []
    tokens = HashedNgrams.tokens
    monkeypatch.setattr(
        HashedNgrams,
        "tokens",
        lambda self, text: read.append(text) or tokens(self, text),
    )
    _fit(X, Y, max_epochs=1)
    assert sorted(read) == sorted(set(X["review"].dropna()))


@pytest.mark.parametrize("options", [{}, {"buckets": 1000, "char_ngrams": (2, 3)}])
def test_the_ids_a_fit_computes_are_those_transform_computes(options):
    X, _ = reviews_frame(200)
    texts, ids = TextColumns.fit(X, [2], "hashed", options)
    assert ids.shape == (200, texts.n_slots) and ids.dtype == np.float32
    np.testing.assert_array_equal(ids, texts.transform(X))


def test_missing_and_empty_texts_predict_and_differ():
    X, Y = reviews_frame(200)
    model = _fit(X, Y)
    ids = model._encoder.transform(X)[:, -model._encoder.n_slots :]
    assert ids[3, 0] == MISSING_TEXT and not ids[3, 1:].any()  # the flag
    assert not ids[5].any()  # an empty text: no tokens
    rows = X.iloc[[3, 5]]
    proba = model.predict_proba(rows)[0]
    assert np.isfinite(proba).all()
    assert not np.allclose(proba[0], proba[1])
    only_missing = X.iloc[[3]].assign(review=pd.NA)  # pd.NA is missing too
    np.testing.assert_allclose(
        model.predict_proba(only_missing)[0], proba[:1], rtol=1e-6
    )


def test_longer_texts_are_cut_at_max_tokens():
    X, Y = reviews_frame(80)
    model = _fit(X, Y, text_options={"max_tokens": 5})
    assert model._encoder.text.slots == [5]
    assert model.fit_config_.texts[0][3] == 5
    X.loc[0, "review"] = " ".join(["great"] * 50)
    assert np.isfinite(model.predict(X.iloc[:1])[:, 1].astype(float)).all()


def test_the_words_are_learned_and_unseen_words_are_no_error():
    X, Y = reviews_frame(600, seed=1)
    test, truth = reviews_frame(300, seed=2)
    params = dict(LEARNER, task_types=KINDS, max_epochs=40, early_stopping=False)
    with_text = MMoEMultiTask(**params, **TEXT).fit(X, Y)
    without = MMoEMultiTask(**params).fit(X.drop(columns="review"), Y)
    proba = with_text.predict_proba(test)[0][:, 1]
    stars = with_text.predict(test)[:, 1].astype(float)
    # measured: 0.965 and 0.68 (a mean of the words' vectors knows their share
    # better than their count, which the stars add up)
    assert roc_auc_score(truth["liked"] == "yes", proba) > 0.93
    assert r2_score(truth["stars"], stars) > 0.5
    blind = without.predict(test.drop(columns="review"))[:, 1].astype(float)
    assert r2_score(truth["stars"], blind) < 0.1
    test.loc[0, "review"] = "Zyzzyva quux never seen"
    assert np.isfinite(with_text.predict_proba(test.iloc[:1])[0]).all()


# -- after fit -----------------------------------------------------------------------


def test_a_stream_of_partial_fit_calls_keeps_the_first_calls_tokenizer():
    X, Y = reviews_frame(300)
    model = MMoEMultiTask(**FAST, task_types=KINDS, **TEXT)
    model.partial_fit(X.iloc[:100], Y.iloc[:100])
    tokenizer = model._encoder.text.tokenizers[0]
    later = X.iloc[100:].assign(review=X["review"].iloc[100:] + " brand new words")
    model.partial_fit(later, Y.iloc[100:])
    assert model._encoder.text.tokenizers[0] is tokenizer
    assert np.isfinite(model.predict_proba(later)[0]).all()


@pytest.mark.parametrize(
    "params",
    [{}, dict(expert_type="transformer", token_dim=8, n_heads=2)],
    ids=["mlp", "transformer-over-tokens"],
)
def test_a_saved_text_model_predicts_the_same(tmp_path, params):
    X, Y = reviews_frame(200)
    model = _fit(X, Y, text_options={"char_ngrams": (2, 4), "dim": 8}, **params)
    path = tmp_path / "model.safetensors"
    sklearn_mmoe.save(model, path)
    loaded = sklearn_mmoe.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X)[0], model.predict_proba(X)[0])
    assert loaded.fit_config_ == model.fit_config_
    assert loaded._encoder.text.tokenizers[0].char_ngrams == (2, 4)


@pytest.mark.parametrize(
    "params",
    [
        dict(n_cv=2),
        dict(ensemble_size=2),
        dict(expert_type="transformer", token_dim=8, n_heads=2),
        dict(expert_type="transformer", token_dim=8, n_heads=2, ensemble_size=2),
        dict(architecture="ple", n_levels=2),
    ],
    ids=["cross-fitted", "ensemble", "transformer", "transformer-ensemble", "ple"],
)
def test_every_kind_of_network_reads_text(params):
    X, Y = reviews_frame(150)
    model = _fit(X, Y, **params)
    assert np.isfinite(model.predict_proba(X)[0]).all()


# -- a Transformer expert reads the text's tokens --------------------------------

TOKENS = dict(expert_type="transformer", token_dim=8, n_heads=2)


@pytest.mark.parametrize("n_blocks", [1, 2])
def test_a_transformer_expert_reads_every_token_of_a_text_beside_the_columns(n_blocks):
    X, Y = reviews_frame(150)
    model = _fit(X, Y, **TOKENS, n_blocks=n_blocks)
    experts = model.net_.module_.experts["0"]
    width = model.fit_config_.texts[0][2]
    assert experts.text0_weight.shape == (width, 8)
    rows = X.iloc[:40]
    before = model.predict_proba(rows)[0]
    with torch.no_grad():  # the tokens' projection, zero: the outputs move
        experts.text0_weight.zero_()
    assert np.abs(model.predict_proba(rows)[0] - before).max() > 1e-3


@pytest.mark.parametrize("n_blocks", [1, 2])
def test_a_texts_outputs_do_not_depend_on_the_other_texts_of_its_batch(n_blocks):
    """The texts of a batch are padded to the longest, and the padding is masked
    out of the attention: a row predicted alone (float64, NumPy, its own length)
    gets what it gets in a batch of 60 (float32, PyTorch, padded)."""
    X, Y = reviews_frame(150)
    model = _fit(X, Y, **TOKENS, n_blocks=n_blocks)
    rows = X.iloc[:60]
    lengths = (model._encoder.transform(rows)[:, -model._encoder.n_slots :] > 0).sum(1)
    assert len(set(lengths)) > 3  # texts of many lengths, padded in the batch
    batch = model.predict_proba(rows)[0]
    alone = np.concatenate([model.predict_proba(rows.iloc[[i]])[0] for i in range(60)])
    np.testing.assert_allclose(alone, batch, rtol=1e-4, atol=1e-5)


def test_a_regressor_on_text_alone():
    X, Y = reviews_frame(150)
    model = MMoERegressor(**FAST, **TEXT).fit(X[["review"]], Y["stars"])
    assert model.is_text_.tolist() == [True]
    assert model.predict(X[["review"]]).shape == (150,)
