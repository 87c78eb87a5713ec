"""Recommender metrics: per-user AUC (gAUC) and NDCG@k, as task scorers that take
the users as scikit-learn's metadata routing passes them."""

import numpy as np
import pytest
import sklearn
from _helpers import BRIEF
from sklearn.metrics import ndcg_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor, task_scorer
from sklearn_mmoe._scoring.ranking import grouped_auc, grouped_ndcg


@pytest.fixture(scope="module")
def users_table():
    """200 rows of 10 users: a liked task, a rating (1 to 5) and a three-class task."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    users = np.repeat(np.arange(10), 20)
    rng.shuffle(users)
    liked = (X[:, 0] + 0.3 * users / 10 + 0.5 * rng.normal(size=200) > 0).astype(int)
    rating = np.clip(np.round(3 + X[:, 0] + X[:, 1] + 0.3 * rng.normal(size=200)), 1, 5)
    kind = np.digitize(X[:, 2], [-0.5, 0.5])
    return X, np.column_stack([liked, rating, kind]).astype(float), users


@pytest.fixture(scope="module")
def mixed(users_table):
    X, Y, _ = users_table
    return MMoEMultiTask(
        task_types=["classification", "regression", "classification"],
        **BRIEF,
        random_state=0,
    ).fit(X, Y)


# -- the metrics
# ---------------------------------------------------------------------------------


def test_gauc_is_each_groups_auc_weighted_by_its_rows():
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1])
    s = np.array([0.1, 0.7, 0.4, 0.5, 0.2, 0.3, 0.9, 0.6, 0.8])
    g = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    aucs = [roc_auc_score(y[g == k], s[g == k]) for k in range(3)]
    assert grouped_auc(y, s, groups=g) == pytest.approx(np.mean(aucs))
    w = np.array([1, 1, 1, 2, 2, 2, 1, 1, 4.0])
    weighted = [
        roc_auc_score(y[g == k], s[g == k], sample_weight=w[g == k]) for k in range(3)
    ]
    expected = np.average(weighted, weights=[3, 6, 6])
    assert grouped_auc(y, s, groups=g, sample_weight=w) == pytest.approx(expected)


def test_gauc_leaves_out_groups_of_one_class():
    y = np.array([0, 1, 1, 1, 1])
    s = np.array([0.2, 0.8, 0.1, 0.5, 0.9])
    assert grouped_auc(y, s, groups=["a", "a", "b", "b", "b"]) == 1.0


def test_gauc_of_string_labels_takes_the_greater_as_positive():
    y = np.array(["no", "yes", "yes", "no"])
    assert grouped_auc(y, [0.1, 0.9, 0.8, 0.2], groups=[0, 0, 1, 1]) == 1.0


def test_gauc_ranks_within_users_where_a_global_auc_does_not():
    """A score that only tells active users from quiet ones has a high AUC and a
    per-user AUC of a half."""
    g = np.repeat([0, 1], 4)
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    s = np.where(g == 0, 0.9, 0.1)
    assert roc_auc_score(y, s) > 0.7
    assert grouped_auc(y, s, groups=g) == 0.5


def test_gauc_refuses_when_no_group_has_both_classes():
    with pytest.raises(ValueError, match="no group has both classes"):
        grouped_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], groups=[0, 0, 1, 1])


def test_ndcg_is_each_groups_ndcg_at_k_averaged():
    y = np.array([5, 3, 1, 4, 2, 0, 0, 1])
    s = np.array([0.9, 0.5, 0.1, 0.2, 0.8, 0.3, 0.4, 0.1])
    g = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    per = [ndcg_score(y[g == k][None], s[g == k][None], k=2) for k in range(3)]
    assert grouped_ndcg(y, s, groups=g, k=2) == pytest.approx(np.mean(per))


def test_ndcg_leaves_out_single_rows_and_groups_of_no_relevance():
    y = np.array([5, 0, 0, 3, 1])
    s = np.array([0.1, 0.2, 0.3, 0.9, 0.1])
    assert grouped_ndcg(y, s, groups=[0, 1, 1, 2, 2]) == 1.0


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3"])
def test_ndcg_refuses_a_k_that_is_not_a_positive_int(k):
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        grouped_ndcg([1, 0], [0.1, 0.2], groups=[0, 0], k=k)


def test_ndcg_refuses_negative_relevance():
    with pytest.raises(ValueError, match="relevances >= 0"):
        grouped_ndcg([1, -1], [0.1, 0.2], groups=[0, 0])


@pytest.mark.parametrize("metric", [grouped_auc, grouped_ndcg])
def test_a_grouped_metric_names_what_is_wrong_with_groups(metric):
    with pytest.raises(ValueError, match="pass groups="):
        metric([0, 1], [0.1, 0.2], groups=None)
    with pytest.raises(ValueError, match="one length"):
        metric([0, 1], [0.1, 0.2], groups=[0])
    with pytest.raises(ValueError, match="missing values"):
        metric([0, 1], [0.1, 0.2], groups=[0, None])


# -- as task scorers
# ---------------------------------------------------------------------------------


def test_the_gauc_scorer_scores_the_tasks_probabilities_per_user(mixed, users_table):
    X, Y, users = users_table
    score = task_scorer("gauc", 0)(mixed, X, Y, groups=users)
    expected = grouped_auc(Y[:, 0], mixed.predict_proba(X)[0][:, 1], groups=users)
    assert score == expected


def test_the_ndcg_scorer_ranks_by_a_quantitys_prediction(mixed, users_table):
    X, Y, users = users_table
    score = task_scorer("ndcg", 1, k=5)(mixed, X, Y, groups=users)
    expected = grouped_ndcg(Y[:, 1], mixed.predict(X)[:, 1], groups=users, k=5)
    assert score == expected


def test_the_ndcg_scorer_ranks_a_binary_task_by_its_probability(users_table):
    X, Y, users = users_table
    clf = MMoEClassifier(**BRIEF, random_state=0).fit(X, Y[:, 0])
    score = task_scorer("ndcg", 0)(clf, X, Y[:, 0], groups=users)
    assert score == grouped_ndcg(Y[:, 0], clf.predict_proba(X)[:, 1], groups=users)


def test_a_grouped_scorer_leaves_out_missing_labels_with_their_users(users_table):
    X, Y, users = users_table
    reg = MMoERegressor(**BRIEF, random_state=0).fit(X, Y[:, 1])
    y = Y[:, 1].copy()
    y[::3] = np.nan
    kept = ~np.isnan(y)
    score = task_scorer("ndcg", 0)(reg, X, y, groups=users)
    assert score == grouped_ndcg(y[kept], reg.predict(X)[kept], groups=users[kept])


def test_a_grouped_scorer_refuses_a_multiclass_task(mixed, users_table):
    X, Y, users = users_table
    with pytest.raises(ValueError, match="3 classes"):
        task_scorer("gauc", 2)(mixed, X, Y, groups=users)


def test_gauc_refuses_a_response_method_other_than_probabilities():
    with pytest.raises(ValueError, match="scores predict_proba"):
        task_scorer("gauc", 0, response_method="predict")


def test_a_grouped_scorer_without_groups_says_how_to_pass_them(mixed, users_table):
    X, Y, _ = users_table
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        task_scorer("gauc", 0)(mixed, X, Y)


def test_a_grouped_scorer_requests_groups_and_other_scorers_do_not():
    routing = task_scorer("gauc", 0).get_metadata_routing()
    assert routing.score.requests == {"groups": True}
    assert task_scorer("roc_auc", 0).get_metadata_routing().score.requests == {}
    asked = task_scorer("r2", 0).set_score_request(sample_weight=True)
    assert asked.get_metadata_routing().score.requests == {"sample_weight": True}


def test_cross_validate_routes_each_folds_users_to_the_scorer(users_table):
    X, Y, users = users_table
    scorer = task_scorer("gauc", 0)
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            MMoEClassifier(**BRIEF, random_state=0),
            X,
            Y[:, :1],
            cv=KFold(3, shuffle=True, random_state=0),
            scoring={"gauc": scorer},
            params={"groups": users},
            return_estimator=True,
            return_indices=True,
        )
    for model, test, score in zip(
        result["estimator"], result["indices"]["test"], result["test_gauc"]
    ):
        assert score == scorer(model, X[test], Y[test, :1], groups=users[test])


def test_grid_search_scores_and_chooses_by_gauc_and_ndcg(users_table):
    X, Y, users = users_table
    scoring = {
        "gauc": task_scorer("gauc", 0),
        "ndcg": task_scorer("ndcg", 1, k=5),
    }
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            MMoEMultiTask(
                task_types=["classification", "regression"], **BRIEF, random_state=0
            ),
            {"n_experts": [2, 3]},
            scoring=scoring,
            refit="gauc",
            cv=KFold(2, shuffle=True, random_state=0),
        ).fit(X, Y[:, :2], groups=users)
    for name in scoring:
        scores = search.cv_results_[f"mean_test_{name}"]
        assert np.all((scores > 0) & (scores <= 1))
    best = np.argmax(search.cv_results_["mean_test_gauc"])
    assert search.best_params_ == search.cv_results_["params"][best]
