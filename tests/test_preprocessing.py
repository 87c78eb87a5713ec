"""PiecewiseLinearEncoder: the ramps, the bin edges, and its place in a pipeline."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mmoe import MMoEClassifier
from sklearn_mmoe.preprocessing import PiecewiseLinearEncoder


@parametrize_with_checks(
    [
        PiecewiseLinearEncoder(),
        PiecewiseLinearEncoder(3, strategy="uniform"),
        PiecewiseLinearEncoder(4, strategy="tree"),
    ]
)
def test_sklearn_compatible_encoder(estimator, check):
    check(estimator)


def test_ramps_fill_the_bins_below_and_continue_past_the_ends():
    X = np.array([[0.0], [10.0]])
    encoder = PiecewiseLinearEncoder(n_bins=4, strategy="uniform").fit(X)
    assert_array_equal(encoder.bin_edges_[0], [0.0, 2.5, 5.0, 7.5, 10.0])
    encoded = encoder.transform([[-2.5], [0.0], [3.75], [5.0], [10.0], [15.0]])
    assert_allclose(
        encoded,
        [
            [-1.0, 0.0, 0.0, 0.0],  # below b_0: the first ramp goes negative
            [0.0, 0.0, 0.0, 0.0],
            [1.0, 0.5, 0.0, 0.0],
            [1.0, 1.0, 0.0, 0.0],
            [1.0, 1.0, 1.0, 1.0],
            [1.0, 1.0, 1.0, 3.0],  # above b_T: the last ramp goes past 1
        ],
    )


@pytest.mark.parametrize("strategy", ["quantile", "uniform", "tree"])
def test_encoding_keeps_the_exact_value(strategy):
    """x = b_0 + sum_t e_t(x) (b_t - b_{t-1}): no information is lost."""
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.lognormal(size=500), rng.normal(size=500)])
    y = X[:, 0] * X[:, 1] + rng.normal(size=500)
    encoder = PiecewiseLinearEncoder(n_bins=16, strategy=strategy).fit(X, y)
    X_new = np.column_stack([rng.lognormal(size=200) * 2, rng.normal(size=200) * 3])
    encoded = encoder.transform(X_new)
    start = 0
    for j, edges in enumerate(encoder.bin_edges_):
        stop = start + encoder.n_bins_[j]
        rebuilt = edges[0] + encoded[:, start:stop] @ np.diff(edges)
        assert_allclose(rebuilt, X_new[:, j])
        start = stop


def test_quantile_bins_hold_about_equal_counts():
    X = np.random.RandomState(0).exponential(size=(1000, 1))
    encoder = PiecewiseLinearEncoder(n_bins=10).fit(X)
    counts = np.histogram(X[:, 0], bins=encoder.bin_edges_[0])[0]
    assert_array_equal(counts, np.full(10, 100))


def test_repeated_quantile_edges_are_merged():
    """A mostly-zero column (a money column) gets fewer, distinct edges."""
    X = np.zeros((100, 1))
    X[90:, 0] = np.arange(1, 11)
    encoder = PiecewiseLinearEncoder(n_bins=20).fit(X)
    edges = encoder.bin_edges_[0]
    assert np.all(np.diff(edges) > 0)
    assert encoder.n_bins_[0] == len(edges) - 1 < 20
    assert encoder.transform(X).shape == (100, encoder.n_bins_[0])
    assert len(encoder.get_feature_names_out()) == encoder.n_bins_[0]


def test_constant_feature_warns_and_encodes_as_zero():
    X = np.column_stack([np.full(20, 3.0), np.arange(20.0)])
    with pytest.warns(UserWarning, match="Feature 0 is constant"):
        encoder = PiecewiseLinearEncoder(n_bins=4).fit(X)
    assert encoder.n_bins_[0] == 1
    encoded = encoder.transform([[3.0, 5.0], [100.0, 5.0]])
    assert_array_equal(encoded[:, 0], [0.0, 0.0])
    assert np.all(np.isfinite(encoded))


# 251 distinct values 0.04 apart: few enough that every midpoint is a candidate
# threshold, so the tree is the exact one and its thresholds sit half a step (0.02)
# below the value where the target changes.
FEW_VALUES = np.linspace(0, 10, 251)[:, None]


def test_tree_edges_sit_where_the_target_changes():
    X = FEW_VALUES
    y = np.digitize(X[:, 0], [3.0, 7.0])  # classes 0, 1, 2 with steps at 3 and 7
    encoder = PiecewiseLinearEncoder(n_bins=3, strategy="tree").fit(X, y)
    assert_allclose(encoder.bin_edges_[0], [0.0, 2.98, 6.98, 10.0], atol=1e-12)
    # More bins than the target has steps: the tree stops at pure leaves.
    encoder = PiecewiseLinearEncoder(n_bins=32, strategy="tree").fit(X, y)
    assert encoder.n_bins_[0] == 3


def test_tree_edges_follow_a_mostly_zero_column_that_quantiles_collapse():
    rng = np.random.RandomState(0)
    X = np.zeros((1000, 1))
    X[900:, 0] = rng.lognormal(mean=5, size=100)  # a money column
    y = X[:, 0] > 300
    assert PiecewiseLinearEncoder(n_bins=8).fit(X).n_bins_[0] == 1
    tree = PiecewiseLinearEncoder(n_bins=8, strategy="tree").fit(X, y)
    edges = tree.bin_edges_[0]
    assert tree.n_bins_[0] >= 2
    assert np.any((edges > 250) & (edges < 350))  # near where y changes


def test_tree_gives_every_task_the_same_say():
    """A task on a large scale does not take the edges from a task on a small one."""
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 10, size=(2000, 1))
    rare = (X[:, 0] < 2).astype(int)  # classification, step at 2
    loud = 1000.0 * (X[:, 0] > 8) + 300.0 * rng.normal(size=2000)  # step at 8
    encoder = PiecewiseLinearEncoder(n_bins=3, strategy="tree")
    edges = encoder.fit(X, np.column_stack([rare, loud])).bin_edges_[0]
    assert_allclose(edges[1:3], [2.0, 8.0], atol=0.05)


def test_tree_reads_string_labels_and_missing_labels():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 10, size=(600, 1))
    Y = pd.DataFrame(
        {
            "label": np.where(X[:, 0] > 4, "yes", "no").astype(object),
            "unlabelled": np.full(600, np.nan),  # no label at all: left out
        }
    )
    Y.loc[::7, "label"] = None  # missing labels: filled with the task's mean
    encoder = PiecewiseLinearEncoder(n_bins=2, strategy="tree").fit(X, Y)
    assert_allclose(encoder.bin_edges_[0][1], 4.0, atol=0.05)
    alone = PiecewiseLinearEncoder(n_bins=2, strategy="tree").fit(X, Y[["label"]])
    assert_array_equal(encoder.bin_edges_[0], alone.bin_edges_[0])


def test_tree_splits_whole_numbers_as_classes_and_fractions_as_values():
    """Classes split where they purify (Gini); values where the variance falls."""
    X = FEW_VALUES
    steps = np.digitize(X[:, 0], [5.0, 9.52])  # 0 below 5, 1 up to 9.52, 2 above
    classes = np.array([0, 1, 100])[steps]  # whole numbers: three classes
    values = classes * 1.01  # fractions: one continuous target, 101 is far off
    encoder = PiecewiseLinearEncoder(n_bins=2, strategy="tree")
    assert_allclose(encoder.fit(X, classes).bin_edges_[0], [0, 4.98, 10], atol=1e-12)
    assert_allclose(encoder.fit(X, values).bin_edges_[0], [0, 9.5, 10], atol=1e-12)


def test_tree_on_many_distinct_values_splits_between_their_quantiles():
    """Past 255 distinct values a column's candidate thresholds are the midpoints
    between 256 of its quantiles, as boosting bins it: the edge sits at the one of
    those nearest the change, within a quantile's step (10 / 255) of it."""
    X = np.linspace(0, 10, 10_001)[:, None]
    y = X[:, 0] >= 3.0
    edge = PiecewiseLinearEncoder(n_bins=2, strategy="tree").fit(X, y).bin_edges_[0][1]
    quantiles = np.unique(X[np.round(np.linspace(0, 1, 256) * 10_000).astype(int), 0])
    midpoints = 0.5 * (quantiles[1:] + quantiles[:-1])
    assert edge in midpoints
    assert abs(edge - 3.0) < 10 / 255


@pytest.mark.parametrize(
    "y, error, match",
    [
        (None, ValueError, "requires y to be passed"),
        (np.arange(9.0), ValueError, "inconsistent numbers of samples"),
        (np.zeros((10, 2, 2)), ValueError, "1-D or 2-D"),
        (np.r_[np.inf, np.arange(9.0)], ValueError, "infinite"),
    ],
)
def test_tree_strategy_with_unusable_targets_is_a_clear_error(y, error, match):
    X = np.arange(10.0)[:, None]
    with pytest.raises(error, match=match):
        PiecewiseLinearEncoder(n_bins=4, strategy="tree").fit(X, y)


@pytest.mark.parametrize("y", [np.zeros(10), np.full(10, np.nan)])
def test_tree_with_a_target_that_never_varies_warns_and_keeps_one_bin(y):
    X = np.arange(10.0)[:, None]
    encoder = PiecewiseLinearEncoder(n_bins=4, strategy="tree")
    with pytest.warns(UserWarning, match="no target that varies"):
        encoder.fit(X, y)
    assert_array_equal(encoder.bin_edges_[0], [0.0, 9.0])


def test_feature_names_name_the_feature_and_bin():
    X = pd.DataFrame({"age": np.arange(10.0), "hours": np.arange(10.0) % 3})
    encoder = PiecewiseLinearEncoder(n_bins=2).fit(X)
    assert_array_equal(
        encoder.get_feature_names_out(),
        ["age_bin0", "age_bin1", "hours_bin0", "hours_bin1"],
    )


def test_float32_input_stays_float32():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    assert PiecewiseLinearEncoder(n_bins=3).fit_transform(X).dtype == np.float32


def test_missing_values_are_a_clear_error():
    X = np.array([[0.0], [np.nan], [1.0]])
    with pytest.raises(ValueError, match="NaN"):
        PiecewiseLinearEncoder().fit(X)
    encoder = PiecewiseLinearEncoder(n_bins=2).fit([[0.0], [1.0]])
    with pytest.raises(ValueError, match="NaN"):
        encoder.transform(X)


@pytest.mark.parametrize(
    "params, match",
    [({"n_bins": 0}, "n_bins"), ({"strategy": "kmeans"}, "strategy")],
)
def test_invalid_parameters_are_a_clear_error(params, match):
    with pytest.raises(ValueError, match=match):
        PiecewiseLinearEncoder(**params).fit([[0.0], [1.0]])


def test_encodes_numeric_columns_in_front_of_the_estimator():
    """Numeric columns encoded, the category passed through to the embeddings."""
    rng = np.random.RandomState(0)
    n = 400
    X = pd.DataFrame(
        {
            "income": rng.lognormal(size=n),
            "age": rng.uniform(18, 80, size=n),
            "city": pd.Categorical(rng.choice(["a", "b", "c"], size=n)),
        }
    )
    Y = np.column_stack([X["income"] > 1.5, X["age"] > 50]).astype(int)
    preprocess = ColumnTransformer(
        [("numeric", PiecewiseLinearEncoder(n_bins=8), ["income", "age"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    model = make_pipeline(
        preprocess, MMoEClassifier(early_stopping=True, random_state=0)
    ).fit(X, Y)
    assert model[-1].n_features_in_ == 17  # 2 x 8 ramps and the category
    assert model.score(X, Y) > 0.9

    # The ColumnTransformer hands y on: tree edges where the tasks change.
    model.set_params(columntransformer__numeric__strategy="tree").fit(X, Y)
    income_edges, age_edges = model[0].named_transformers_["numeric"].bin_edges_
    assert np.any(np.isclose(income_edges, 1.5, atol=0.05))
    assert np.any(np.isclose(age_edges, 50.0, atol=0.5))
    assert model.score(X, Y) > 0.9
