"""Categorical columns, chosen as in HistGradientBoosting, embedded inside."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _helpers import LEARNER
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import OneHotEncoder

from sklearn_mmoe import MMoEClassifier, MMoERegressor
from sklearn_mmoe._inputs.categorical import auto_embedding_dim

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# 25 epochs and the 10 % hold-out these tests' thresholds were set with (the default
# holds out 20 % of a table this small: fewer rows train within the fixed budget).
LEARNED = dict(LEARNER, max_epochs=25, validation_fraction=0.1)
CITIES = np.array(["oslo", "lima", "pune", "kyiv", "rome", "nice", "bonn", "doha"])


def _frame(n=600, seed=0):
    """A numeric column, a category column, a string column with missing values; the
    tasks depend on the categories only through a lookup no linear model of codes
    could find."""
    rng = np.random.RandomState(seed)
    city = rng.choice(CITIES, n)
    plan = rng.choice(np.array(["basic", "pro", None], dtype=object), n)
    X = pd.DataFrame(
        {
            "age": rng.normal(size=n),
            "city": pd.Categorical(city, categories=CITIES),
            "plan": plan,
        }
    )
    warm = np.isin(city, ["lima", "pune", "doha", "nice"])
    Y = np.column_stack([warm, (plan == None) | (X["age"].to_numpy() > 1)])  # noqa: E711
    return X, Y.astype(int)


def test_a_dataframe_with_categories_trains_directly_and_learns_them():
    X, Y = _frame()
    X_test, Y_test = _frame(seed=1)
    clf = MMoEClassifier(**LEARNED).fit(X, Y)
    np.testing.assert_array_equal(clf.is_categorical_, [False, True, True])
    np.testing.assert_array_equal(clf.feature_names_in_, ["age", "city", "plan"])
    pred = clf.predict(X_test)
    assert (pred[:, 0] == Y_test[:, 0]).mean() == 1.0  # the city lookup
    # the missing plan is a category of its own, which the second task needs
    assert (pred[:, 1] == Y_test[:, 1]).mean() > 0.97


def test_unseen_categories_map_to_one_reserved_embedding():
    X, Y = _frame()
    clf = MMoEClassifier(**LEARNED).fit(X, Y)
    new = X.iloc[[0, 0, 0]].copy()
    new["city"] = pd.Categorical(["atlantis", "el dorado", "oslo"])
    new["plan"] = ["enterprise", "free", "basic"]
    proba = clf.predict_proba(new)
    for p in proba:
        assert np.isfinite(p).all()
        np.testing.assert_array_equal(p[0], p[1])  # both unseen: the same input
    assert not np.array_equal(proba[0][0], proba[0][2])
    module = clf.net_.module_
    # the reserved codes (unseen, missing) of the city column start and stay at zero
    width = module.encoder.embeddings[0][1]
    np.testing.assert_array_equal(module.encoder.embedding_weight[:width].detach(), 0)


def test_missing_values_are_their_own_category_not_an_unseen_one():
    X, Y = _frame()
    # Trained to convergence: LEARNED's 25 epochs leave the missing plan's rows between
    # 0.5 and 0.99 by the seed and the bins, a claim about luck, not about the code.
    clf = MMoEClassifier(**{**LEARNED, "max_epochs": 60}).fit(X, Y)
    module = clf.net_.module_
    offset = sum(n * d for n, d in module.encoder.embeddings[:1])
    width = module.encoder.embeddings[1][1]
    missing = module.encoder.embedding_weight[
        offset + width : offset + 2 * width
    ].detach()
    assert missing.abs().sum() > 0  # trained, since training had missing plans
    rows = X.iloc[:2].copy()
    rows["plan"] = [None, np.nan]
    proba = clf.predict_proba(rows)[1]
    assert (proba[:, 1] > 0.9).all()


@pytest.mark.parametrize(
    "spec", [[1, 2], ["city", "plan"], [False, True, True], np.array([1, 2])]
)
def test_categorical_features_as_indices_names_or_mask(spec):
    X, Y = _frame()
    clf = MMoEClassifier(**LEARNED, categorical_features=spec).fit(X, Y)
    np.testing.assert_array_equal(clf.is_categorical_, [False, True, True])
    reference = MMoEClassifier(**LEARNED).fit(X, Y)
    np.testing.assert_array_equal(
        clf.predict_proba(X)[0], reference.predict_proba(X)[0]
    )


def test_an_object_array_with_indices_needs_no_dataframe():
    X, Y = _frame()
    X_array = X.astype(object).to_numpy()
    clf = MMoEClassifier(**LEARNED, categorical_features=[1, 2]).fit(X_array, Y)
    assert (clf.predict(X_array) == Y).mean() > 0.97


def test_integer_codes_in_a_numeric_array_can_be_categorical():
    rng = np.random.RandomState(0)
    codes = rng.randint(0, 12, size=800)
    X = np.column_stack([rng.normal(size=800), codes])
    y = np.isin(codes, [1, 4, 6, 7, 11]).astype(float) * 2.0 + X[:, 0]
    # Trained to convergence (LEARNED's 25 epochs end at 0.93 to 0.98 by the seed).
    params = {**LEARNED, "max_epochs": 60}
    reg = MMoERegressor(**params, categorical_features=[1]).fit(X, y)
    assert reg.score(X, y) > 0.95
    assert reg.net_.module_.encoder.embeddings == ((14, auto_embedding_dim(14)),)


def test_from_dtype_leaves_plain_arrays_numeric():
    X, Y = _frame()
    X_numeric = X[["age"]].assign(code=X["city"].cat.codes)
    clf = MMoEClassifier(**LEARNED).fit(X_numeric.to_numpy(), Y)
    assert not clf.is_categorical_.any()
    assert clf.net_.module_.encoder.embeddings == ()


def test_embedding_dim_sets_every_width_and_auto_follows_cardinality():
    X, Y = _frame()
    fixed = MMoEClassifier(**LEARNED, embedding_dim=3).fit(X, Y)
    assert fixed.net_.module_.encoder.embeddings == ((10, 3), (4, 3))
    auto = MMoEClassifier(**LEARNED).fit(X, Y)
    assert auto.net_.module_.encoder.embeddings == (
        (10, auto_embedding_dim(10)),
        (4, auto_embedding_dim(4)),
    )
    assert [auto_embedding_dim(n) for n in (2, 10, 100, 10**6)] == [2, 6, 21, 50]


def test_refits_are_identical_and_small_and_large_batches_agree():
    X, Y = _frame()
    a = MMoEClassifier(**LEARNED).fit(X, Y)
    b = MMoEClassifier(**LEARNED).fit(X, Y)
    np.testing.assert_array_equal(a.predict_proba(X)[0], b.predict_proba(X)[0])
    # up to 32 rows run in float64 NumPy, more in float32 torch: same model
    np.testing.assert_allclose(
        a.predict_proba(X.iloc[:10])[0], a.predict_proba(X)[0][:10], atol=1e-5
    )


def test_clone_pickle_and_grid_search_keep_working():
    X, Y = _frame()
    clf = MMoEClassifier(**LEARNED).fit(X, Y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X)[1], clf.predict_proba(X)[1])
    assert clone(clf).get_params()["categorical_features"] == "from_dtype"
    search = GridSearchCV(
        MMoEClassifier(**{**LEARNED, "max_epochs": 10}),
        {"embedding_dim": [2, "auto"], "n_experts": [2, 4]},
        cv=2,
    ).fit(X, Y)
    assert search.best_estimator_.is_categorical_.tolist() == [False, True, True]
    assert search.predict(X).shape == Y.shape


def test_missing_labels_and_categories_together():
    X, Y = _frame()
    Y = Y.astype(float)
    Y[::3, 1] = np.nan
    clf = MMoEClassifier(**LEARNED, missing_labels="ignore").fit(X, Y)
    assert clf.score(X, Y) > 0.95


def test_columns_must_come_back_in_the_same_order():
    X, Y = _frame()
    clf = MMoEClassifier(**LEARNED).fit(X, Y)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X[["city", "age", "plan"]])


def test_a_single_row_as_a_series_gets_scikit_learns_two_dimensions_error():
    """It used to say "X does not contain any features"."""
    X, Y = _frame(100)
    clf = MMoEClassifier(**{**LEARNED, "max_epochs": 2}).fit(X, Y)
    with pytest.raises(ValueError, match="Expected a 2-dimensional container"):
        clf.predict(X.iloc[0])
    assert clf.predict(X.iloc[[0]]).shape == (1, Y.shape[1])


def test_bad_categorical_specifications_are_clear_errors():
    X, Y = _frame()
    clf = MMoEClassifier(**LEARNED)
    with pytest.raises(ValueError, match=r"indices must be in \[0, 3\)"):
        clf.set_params(categorical_features=[3]).fit(X, Y)
    with pytest.raises(ValueError, match=r"\['town'\] that are not columns"):
        clf.set_params(categorical_features=["town"]).fit(X, Y)
    with pytest.raises(ValueError, match="X has no feature names"):
        clf.set_params(categorical_features=["city"]).fit(X.to_numpy(), Y)
    with pytest.raises(ValueError, match="one entry per feature"):
        clf.set_params(categorical_features=[True, False]).fit(X, Y)
    with pytest.raises(TypeError, match="need dense X"):
        MMoEClassifier(**LEARNED, categorical_features=[0]).fit(
            sp.csr_matrix(np.eye(4)), [0, 1, 0, 1]
        )
    mixed = pd.DataFrame({"a": np.array(["x", 1, "y", 2] * 5, dtype=object)})
    with pytest.raises(
        TypeError, match=r"column 'a' mixes value types \['int', 'str'\]"
    ):
        MMoEClassifier(**LEARNED).fit(mixed, [0, 1] * 10)
    with pytest.raises(ValueError, match="could not convert"):
        MMoEClassifier(**LEARNED, categorical_features=None).fit(X, Y)


# -- infrequent categories (min_frequency, max_categories)
# ---------------------------------------------------------------------------------


def _long_tail(n=600, seed=0):
    """A column of 40 ids with a long tail (Zipf counts, ties among the rare)."""
    rng = np.random.RandomState(seed)
    ids = pd.Categorical(rng.zipf(1.6, n) % 40)
    return pd.DataFrame({"id": ids, "x": rng.normal(size=n)}), rng.normal(size=n)


@pytest.mark.parametrize(
    "limits",
    [
        dict(min_frequency=5),
        dict(min_frequency=0.02),
        dict(max_categories=6),
        dict(max_categories=1),
        dict(min_frequency=3, max_categories=10),
    ],
)
def test_infrequent_categories_are_the_ones_onehotencoder_finds(limits):
    X, y = _long_tail()
    model = MMoERegressor(**{**LEARNED, "max_epochs": 1}, **limits).fit(X, y)
    reference = OneHotEncoder(**limits).fit(X[["id"]])
    infrequent = reference.infrequent_categories_[0]
    kept = set(reference.categories_[0]) - set([] if infrequent is None else infrequent)
    assert set(model._encoder.categories[0]) == kept
    assert model._encoder.n_codes == [len(kept) + 2]


def test_an_infrequent_category_is_predicted_as_an_unseen_one():
    X, y = _long_tail()
    model = MMoERegressor(**{**LEARNED, "max_epochs": 3}, min_frequency=5).fit(X, y)
    rare = X["id"].value_counts().index[-1]
    rows = pd.DataFrame(
        {
            "id": pd.Categorical([rare, 999], categories=[rare, 999]),
            "x": [0.5, 0.5],
        }
    )
    pred = model.predict(rows)
    assert pred[0] == pred[1]


def test_the_shared_code_learns_what_the_rare_categories_say():
    """Rare ids all read 4, frequent ones 0: a never-seen id is predicted near 4,
    as the rare ones whose code it shares."""
    rng = np.random.RandomState(0)
    frequent_ids = rng.randint(0, 5, 700)
    rare_ids = np.arange(100, 400)
    ids = np.concatenate([frequent_ids, rare_ids])
    X = pd.DataFrame({"id": pd.Categorical(ids), "x": rng.normal(size=len(ids))})
    y = np.where(ids >= 100, 4.0, 0.0) + 0.1 * rng.normal(size=len(ids))
    new = pd.DataFrame({"id": pd.Categorical([10_000]), "x": [0.0]})
    pooled = MMoERegressor(**LEARNED, min_frequency=2).fit(X, y).predict(new)[0]
    assert abs(pooled - 4) < 0.5


@pytest.mark.parametrize(
    "params",
    [dict(min_frequency=0), dict(min_frequency=1.5), dict(max_categories=0)],
)
def test_a_limit_that_is_not_a_count_or_fraction_is_refused(params):
    X, y = _long_tail(60)
    with pytest.raises(ValueError, match="min_frequency|max_categories"):
        MMoERegressor(**LEARNED, **params).fit(X, y)
