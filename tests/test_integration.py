"""A user's day-one workflows, end to end."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _helpers import LEARNER
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mmoe import MMoEClassifier, MMoERegressor, task_scorer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = dict(
    LEARNER,
    max_epochs=30,
    learning_rate=5e-3,
    # A few epochs at a high constant rate train these small models fast; the default
    # schedule decays over the (here tiny) budget.
    learning_rate_schedule="constant",
    # every row trains (early_stopping='auto' holds out rows: tests/test_defaults.py)
    early_stopping=False,
)


@pytest.fixture
def people():
    """Numeric and categorical columns; a binary and a 3-class string-label task."""
    rng = np.random.RandomState(0)
    n = 400
    X = pd.DataFrame(
        {
            "age": rng.randint(18, 80, n).astype(float),
            "hours": rng.normal(40, 10, n),
            "job": rng.choice(["clerk", "engineer", "farmer", "teacher", "nurse"], n),
            "city": rng.choice([f"c{i}" for i in range(30)], n),
        }
    )
    score = (
        (X["age"] - 45) / 15 + (X["job"] == "engineer") * 1.5 + rng.normal(0, 0.5, n)
    )
    y = pd.DataFrame(
        {
            "rich": (score > 0.5).astype(int),
            "status": np.where(
                X["age"] < 30,
                "single",
                np.where(X["hours"] > 42, "married", "divorced"),
            ),
        }
    )
    return X, y


def _pipeline(**params):
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "hours"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["job", "city"]),
        ]
    )
    return make_pipeline(pre, MMoEClassifier(**{**SMALL, **params}))


def test_a_dataframe_goes_through_column_transformer_with_sparse_one_hot(people):
    X, y = people
    pipe = _pipeline()
    assert sp.issparse(pipe[0].fit_transform(X))  # the classifier really gets CSR
    pipe.fit(X[:300], y[:300])
    pred = pipe.predict(X[300:])
    assert pred.shape == (100, 2)
    assert set(pred[:, 1]) <= {"single", "married", "divorced"}
    assert accuracy_score(y["rich"][300:], pred[:, 0].astype(int)) > 0.75
    assert accuracy_score(y["status"][300:], pred[:, 1]) > 0.75


def test_grid_search_in_parallel_over_experts_and_gates_with_per_task_auc(people):
    X, y = people
    scoring = {
        "rich_auc": task_scorer(roc_auc_score, 0, response_method="predict_proba"),
        "status_auc": task_scorer(
            roc_auc_score, 1, response_method="predict_proba", multi_class="ovr"
        ),
    }
    grid = GridSearchCV(
        _pipeline(),
        {
            "mmoeclassifier__n_experts": [2, 4],
            "mmoeclassifier__expert_units": [(8,), (16, 8)],
            "mmoeclassifier__gate_units": [(), (4,)],
            "mmoeclassifier__architecture": ["mmoe", "omoe", "shared_bottom"],
        },
        # y mixes int and str columns, which scikit-learn's check_cv cannot inspect for
        # stratification (type_of_target sorts all labels together): name the splitter.
        scoring=scoring,
        refit="rich_auc",
        cv=KFold(2),
        n_jobs=2,
    ).fit(X, y)
    results = grid.cv_results_
    assert len(results["params"]) == 24
    assert np.all(np.isfinite(results["mean_test_rich_auc"]))
    assert np.all(np.isfinite(results["mean_test_status_auc"]))
    assert grid.best_score_ == results["mean_test_rich_auc"].max() > 0.8
    assert [p.shape[1] for p in grid.predict_proba(X[:5])] == [2, 3]


def test_cross_val_score_with_two_dimensional_y(people):
    X, y = people
    # An int cv: scikit-learn sees multiclass-multioutput y and uses KFold, no
    # stratifying.
    y_codes = y.assign(
        status=y["status"].map({"single": 0, "married": 1, "divorced": 2})
    )
    scores = cross_val_score(_pipeline(), X, y_codes, cv=3)
    assert scores.shape == (3,) and np.all((scores > 0.6) & (scores <= 1))
    scores = cross_val_score(_pipeline(), X, y, cv=KFold(3))
    assert scores.shape == (3,) and np.all((scores > 0.6) & (scores <= 1))


def test_cross_validate_a_regressor_per_task():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X[:, 0] * 1e3, X[:, 1] - X[:, 2]])
    scoring = {f"r2_{t}": task_scorer(r2_score, t) for t in range(2)}
    res = cross_validate(
        MMoERegressor(**{**SMALL, "max_epochs": 80}), X, Y, cv=3, scoring=scoring
    )
    assert (res["test_r2_0"] > 0.8).all() and (res["test_r2_1"] > 0.8).all()


def test_clone_gives_an_unfitted_twin_with_the_same_parameters(people):
    X, y = people
    pipe = _pipeline().fit(X, y)
    twin = clone(pipe[-1])
    assert twin.get_params() == pipe[-1].get_params()
    assert not hasattr(twin, "net_")


def _assert_same_predictions(a, b, X):
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    for pa, pb in zip(a.predict_proba(X), b.predict_proba(X)):
        np.testing.assert_array_equal(pa, pb)


def test_a_pickle_round_trip_keeps_predictions(people):
    X, y = people
    pipe = _pipeline().fit(X, y)
    _assert_same_predictions(pickle.loads(pickle.dumps(pipe)), pipe, X)


def test_a_joblib_round_trip_keeps_predictions(people, tmp_path):
    X, y = people
    pipe = _pipeline().fit(X, y)
    joblib.dump(pipe, tmp_path / "model.joblib")
    _assert_same_predictions(joblib.load(tmp_path / "model.joblib"), pipe, X)


def test_feature_names_are_kept_from_a_dataframe():
    X = pd.DataFrame({"a": [0.0, 1, 2, 3, 4, 5], "b": [1.0, 0, 1, 0, 1, 0]})
    est = MMoERegressor(**{**SMALL, "max_epochs": 2}).fit(X, X["a"] * 2)
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b"])


def test_task_scorer_names_a_task_that_does_not_exist(people):
    X, y = people
    pipe = _pipeline(max_epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="task=2 but y has 2"):
        task_scorer(accuracy_score, 2)(pipe, X, y)
    with pytest.raises(ValueError, match="response_method"):
        task_scorer(accuracy_score, 0, response_method="decision_function")


def test_task_scorer_takes_scikit_learns_scorer_names(people):
    X, y = people
    pipe = _pipeline(max_epochs=2).fit(X, y)
    by_name, by_metric = (
        task_scorer("roc_auc", 0),
        task_scorer(roc_auc_score, 0, response_method="predict_proba"),
    )
    assert by_name(pipe, X, y) == by_metric(pipe, X, y)
    # a loss keeps its sign, a multiclass probability metric its labels
    loss = task_scorer("neg_log_loss", "status")(pipe, X, y)
    assert loss == -log_loss(y["status"], pipe.predict_proba(X)[1])
    assert task_scorer("accuracy", 1)(pipe, X, y) == accuracy_score(
        y["status"], pipe.predict(X)[:, 1]
    )
    scores = cross_validate(
        pipe, X, y, cv=KFold(2), scoring={"auc": task_scorer("roc_auc", "rich")}
    )
    assert np.all(np.isfinite(scores["test_auc"]))


def test_task_scorer_refuses_what_it_cannot_score_when_made():
    with pytest.raises(TypeError, match="score_func must be a metric function"):
        task_scorer(0.5, 0)
    with pytest.raises(ValueError, match="not the name of a scikit-learn scorer"):
        task_scorer("auc_roc", 0)
    with pytest.raises(ValueError, match="sets response_method='predict_proba'"):
        task_scorer("roc_auc", 0, response_method="predict")
    with pytest.raises(ValueError, match="sets greater_is_better=False"):
        task_scorer("neg_log_loss", 0, greater_is_better=True)
