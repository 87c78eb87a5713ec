"""make_recommendation: a recommender's table whose knobs do what they say."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.metrics import roc_auc_score

from sklearn_mmoe.datasets import make_recommendation


def test_the_table_has_ids_side_features_and_two_tasks():
    X, Y = make_recommendation(n_samples=300, n_users=40, n_items=30, random_state=0)
    assert X.shape == (300, 10) and list(Y.columns) == ["purchase", "rating"]
    assert Y["purchase"].dtype == bool and Y["rating"].dtype == float
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    assert categorical == ["user_id", "item_id", "user_segment", "item_genre"]
    # every user and item of the catalogue is a level, drawn or not
    assert len(X["user_id"].cat.categories) == 40
    assert len(X["item_id"].cat.categories) == 30
    assert np.isfinite(X.select_dtypes(float).to_numpy()).all()


def test_a_seed_repeats_the_table():
    a = make_recommendation(n_samples=200, random_state=3)
    b = make_recommendation(n_samples=200, random_state=3)
    c = make_recommendation(n_samples=200, random_state=4)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert not a[1].equals(c[1])


@pytest.mark.parametrize("seed", range(3))
def test_correlation_sets_how_much_purchase_follows_the_rating(seed):
    def auc(rho):
        _, Y = make_recommendation(
            n_samples=5000, noise=0.0, correlation=rho, random_state=seed
        )
        return roc_auc_score(Y["purchase"], Y["rating"])

    # measured over five seeds: about 0.86, 0.49 and 0.14
    assert auc(1.0) > 0.8 and abs(auc(0.0) - 0.5) < 0.05 and auc(-1.0) < 0.2


def _user_level_r2(side, seed):
    """How much of each user's mean rating the user's side features explain."""
    X, Y = make_recommendation(
        n_samples=30_000,
        n_users=100,
        n_items=200,
        popularity=0.0,
        noise=0.0,
        side_information=side,
        random_state=seed,
    )
    per_user = pd.concat([X, Y], axis=1).groupby("user_id", observed=True)
    features = per_user.first()[["user_x0", "user_x1", "user_x2", "user_segment"]]
    F = pd.get_dummies(features).astype(float)
    mean = per_user["rating"].mean()
    return LinearRegression().fit(F, mean).score(F, mean)


@pytest.mark.parametrize("seed", range(2))
def test_side_information_sets_what_the_side_features_explain(seed):
    # s = 1: a user's bias and factors are linear in the features (R2 about 0.996;
    # the rest is the items' average); s = 0: chance, 9 features over 100 users
    assert _user_level_r2(1.0, seed) > 0.95
    assert _user_level_r2(0.0, seed) < 0.3


def test_popularity_skews_who_rates():
    def top_share(a):
        X, _ = make_recommendation(n_samples=20_000, popularity=a, random_state=0)
        return X["user_id"].value_counts().iloc[:50].sum() / len(X)

    # 50 of 500 users: a tenth of the rows when uniform, most of them when skewed
    assert abs(top_share(0.0) - 0.1) < 0.04
    assert top_share(1.0) > 0.5 and top_share(2.0) > 0.95


@pytest.mark.parametrize(
    "params, name",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_users": 0}, "n_users"),
        ({"correlation": 1.5}, "correlation"),
        ({"side_information": -0.1}, "side_information"),
        ({"popularity": -1.0}, "popularity"),
        ({"noise": "x"}, "noise"),
    ],
)
def test_bad_parameters_are_refused_by_name(params, name):
    with pytest.raises(ValueError, match=name):
        make_recommendation(**params)
