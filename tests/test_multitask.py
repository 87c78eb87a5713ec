"""Tasks of different kinds in one model, named tasks, and learned task weights."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import QUICK
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, train_test_split

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor, task_scorer
from sklearn_mmoe._training.loss import MultiTaskLoss
from sklearn_mmoe.datasets import load_census_income

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def mixed():
    """A DataFrame y: a 3-class string task, a continuous task and a binary int task,
    all functions of the same inputs."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 4))
    Y = pd.DataFrame(
        {
            "segment": np.array(["low", "mid", "high"])[
                np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])
            ],
            "amount": 2.0 * X[:, 0] - X[:, 2] + 0.1 * rng.normal(size=400) + 10.0,
            "buys": (X[:, 0] - X[:, 3] > 0).astype(int),
        }
    )
    return X, Y


def test_auto_task_types_read_continuous_columns_as_regression(mixed):
    X, Y = mixed
    model = MMoEMultiTask(**QUICK).fit(X, Y)
    assert model.task_types_ == ["classification", "regression", "classification"]
    assert model.classes_[0].tolist() == ["high", "low", "mid"]
    assert model.classes_[1] is None
    assert model.classes_[2].tolist() == [0, 1]
    assert model.task_names_.tolist() == ["segment", "amount", "buys"]


def test_predictions_come_in_each_tasks_own_type(mixed):
    X, Y = mixed
    model = MMoEMultiTask(**QUICK).fit(X, Y)
    pred = model.predict(X)
    assert pred.shape == (400, 3) and pred.dtype == object
    assert set(pred[:, 0]) <= {"low", "mid", "high"}
    assert all(isinstance(v, float) for v in pred[:, 1])
    assert set(pred[:, 2]) <= {0, 1}
    proba = model.predict_proba(X)
    assert len(proba) == 3 and proba[1] is None
    assert proba[0].shape == (400, 3) and proba[2].shape == (400, 2)
    np.testing.assert_allclose(proba[0].sum(axis=1), 1.0)
    # labels are the most probable classes
    np.testing.assert_array_equal(pred[:, 0], model.classes_[0][proba[0].argmax(1)])


def test_each_kind_of_task_learns_in_one_model(mixed):
    X, Y = mixed
    X_test, Y_test = X[300:], Y.iloc[300:]
    model = MMoEMultiTask(**QUICK).fit(X[:300], Y.iloc[:300])
    pred = model.predict(X_test)
    assert accuracy_score(Y_test["segment"], pred[:, 0].astype(str)) > 0.8
    assert r2_score(Y_test["amount"], pred[:, 1].astype(float)) > 0.9
    assert accuracy_score(Y_test["buys"], pred[:, 2].astype(int)) > 0.85


def test_score_is_the_mean_of_accuracy_and_r2(mixed):
    X, Y = mixed
    model = MMoEMultiTask(**QUICK).fit(X, Y)
    pred = model.predict(X)
    expected = np.mean(
        [
            accuracy_score(Y["segment"], pred[:, 0].astype(str)),
            r2_score(Y["amount"], pred[:, 1].astype(float)),
            accuracy_score(Y["buys"], pred[:, 2].astype(int)),
        ]
    )
    assert model.score(X, Y) == pytest.approx(expected)
    assert model.score(X, Y.to_numpy()) == pytest.approx(expected)


@pytest.mark.parametrize(
    "y_of",
    [lambda Y: Y.T, lambda Y: Y.ravel(), lambda Y: Y[:, :1]],
    ids=["transposed", "flattened", "one-column"],
)
def test_score_refuses_a_y_of_another_shape(y_of):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([X[:, 0], X[:, 1]])
    model = MMoERegressor(**QUICK).fit(X, Y)
    with pytest.raises(ValueError, match=r"must have shape \(60, 2\)"):
        model.score(X, y_of(Y))


def test_a_dataframe_keeps_each_columns_label_type():
    """pandas turns bools next to floats into floats; the tasks keep their own."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    Y = pd.DataFrame({"buys": X[:, 0] > 0, "rating": 3 + X[:, 1]})
    model = MMoEMultiTask(**QUICK).fit(X, Y)
    assert model.classes_[0].dtype == bool
    row = model.predict(X[:1])[0]
    assert [type(v).__name__ for v in row] == ["bool", "float"]
    assert 0.5 < model.score(X, Y) <= 1.0


def test_task_types_can_be_named_for_each_task(mixed):
    X, Y = mixed
    Y = Y.assign(buys=Y["buys"].astype(float))
    model = MMoEMultiTask(
        **QUICK, task_types=["classification", "regression", "regression"]
    ).fit(X, Y)
    assert model.task_types_ == ["classification", "regression", "regression"]
    assert model.predict(X).dtype == object
    with pytest.raises(ValueError, match="task_types must name the kind of each of"):
        MMoEMultiTask(task_types=["regression"]).fit(X, Y)
    with pytest.raises(ValueError, match="task_types must name"):
        MMoEMultiTask(task_types=["regression", "ranking", "regression"]).fit(X, Y)


def test_auto_reads_each_column_by_the_documented_rule():
    """Category, bool and string columns are classes, fractional numbers a
    quantity, two whole numbers a binary label, a float column of whole numbers a
    quantity (its dtype says so): all without a warning."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    Y = pd.DataFrame(
        {
            "coded": pd.Categorical(rng.randint(0, 4, 200)),  # ints as categories
            "works": X[:, 1] > 0,
            "grade": np.array(["a", "b", "c"])[rng.randint(0, 3, 200)],
            "price": X[:, 0] * 3.5 + 10,
            "buys": (X[:, 2] > 0).astype(int),
            "sold": (X[:, 2] > 0).astype(float),  # whole floats, two values
            "rating": rng.randint(1, 6, 200).astype(float),  # whole floats, five
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MMoEMultiTask(**{**QUICK, "max_epochs": 2}).fit(X, Y)
    assert model.task_types_ == (
        ["classification"] * 3 + ["regression"] + ["classification"] * 2
    ) + ["regression"]
    assert model.classes_[0].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "values, kind, reading",
    [
        ([0, 1, 2, 3, 6], "count", "as a count"),  # non-negative: a count
        ([1, 2, 3, 4, 5], "count", "as a count"),  # a 1-5 score
        (list(range(-12, 13)), "regression", "as a quantity"),  # many, signed
        ([-1, 0, 1], "classification", "as 3 classes"),  # few, signed
        ([0, 1, 2], "classification", "as 3 classes"),  # three codes
    ],
)
def test_auto_warns_for_every_ambiguous_whole_number_column(values, kind, reading):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    column = np.array(values)[rng.randint(0, len(values), 200)]
    Y = pd.DataFrame({"visits": column, "buys": (X[:, 0] > 0).astype(int)})
    with pytest.warns(UserWarning, match=f"'visits'.*{reading}.*task_types") as info:
        model = MMoEMultiTask(**{**QUICK, "max_epochs": 2}).fit(X, Y)
    assert len([w for w in info if "task_types='auto'" in str(w.message)]) == 1
    assert model.task_types_ == [kind, "classification"]
    # named kinds are taken as given, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        named = MMoEMultiTask(
            **{**QUICK, "max_epochs": 2}, task_types=["classification"] * 2
        ).fit(X, Y)
    assert len(named.classes_[0]) == np.unique(column).size


def test_auto_reads_whole_floats_of_an_array_as_ambiguous():
    """An array declares no dtype per column: whole numbers in a float array (as
    NumPy stores a mixed y) are ambiguous, read with the warning."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([rng.randint(1, 6, 200), X[:, 0]]).astype(float)
    with pytest.warns(UserWarning, match="column 0.*as a count"):
        model = MMoEMultiTask(**{**QUICK, "max_epochs": 2}).fit(X, Y)
    assert model.task_types_ == ["count", "regression"]


def test_the_task_kind_warning_points_at_the_callers_line():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    Y = np.column_stack([rng.poisson(2, 100), X[:, 0] > 0])
    with pytest.warns(UserWarning, match="as a count") as info:
        MMoEMultiTask(**{**QUICK, "max_epochs": 2}).fit(X, Y.astype(int))
    assert {w.filename for w in info if "as a count" in str(w.message)} == {__file__}


def test_a_count_task_predicts_expected_counts_and_scores_r2():
    """Poisson deviance with a log link: predictions are positive expected counts
    that track the rate, next to a classification task in the same model."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1500, 4))
    rate = np.exp(0.8 * X[:, 0] - 0.4 * X[:, 1])
    Y = pd.DataFrame({"visits": rng.poisson(rate), "buys": X[:, 2] > 0})
    model = MMoEMultiTask(task_types=["count", "classification"], random_state=0).fit(
        X[:1000], Y[:1000]
    )
    assert model.task_types_ == ["count", "classification"]
    visits = model.predict(X[1000:])[:, 0].astype(float)
    assert visits.min() > 0
    assert np.corrcoef(visits, rate[1000:])[0, 1] > 0.9
    r2 = task_scorer(r2_score, task=0)(model, X[1000:], Y[1000:])
    assert r2 > 0.25  # the rate explains about 0.45 of the counts' variance
    assert model.predict_proba(X[:2])[0] is None


def test_a_count_task_refuses_negative_targets():
    X = np.random.RandomState(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match="count task.*non-negative"):
        MMoEMultiTask(task_types=["count"]).fit(X, X[:, 0])


def test_a_model_of_regression_tasks_only_has_no_predict_proba():
    X = np.random.RandomState(0).normal(size=(50, 3))
    model = MMoEMultiTask(**QUICK)
    assert hasattr(model, "predict_proba")  # before fit: the kinds are unknown
    model.fit(X, X[:, :2])
    assert not hasattr(model, "predict_proba")
    assert model.predict(X).dtype == np.float64


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_one_kind_of_task_trains_exactly_as_its_own_estimator(kind):
    """One description per kind: MMoEMultiTask with every task of one kind is the
    same model as MMoEClassifier / MMoERegressor, bit for bit."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    if kind == "classification":
        Y, Single = (
            np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int),
            MMoEClassifier,
        )
    else:
        Y, Single = X[:, :2] * [1.0, 5.0], MMoERegressor
    params = dict(**QUICK, ensemble_size=2, dropout=0.1)
    multi = MMoEMultiTask(**params, task_types=[kind] * 2).fit(X, Y)
    single = Single(**params).fit(X, Y)
    np.testing.assert_array_equal(multi.predict(X), single.predict(X))
    assert multi.score(X, Y) == single.score(X, Y)


@pytest.mark.parametrize(
    "params",
    [
        dict(architecture="ple", n_task_experts=2, n_levels=2, gate_type="attention"),
        dict(architecture="omoe", ensemble_size=3, ema_decay=0.9, top_k=2),
        dict(architecture="shared_bottom", early_stopping=True),
    ],
    ids=["ple-attention", "omoe-ensemble-ema", "shared-bottom-early-stopping"],
)
def test_mixed_tasks_work_with_every_architecture_and_option(mixed, params):
    X, Y = mixed
    model = MMoEMultiTask(**{**QUICK, "max_epochs": 8}, **params).fit(X, Y)
    pred = model.predict(X[:50])
    assert pred.shape == (50, 3)
    assert np.all(np.isfinite(pred[:, 1].astype(float)))
    assert np.all(np.isfinite(model.predict_proba(X[:50])[0]))


def test_mixed_tasks_with_missing_labels_weights_and_categories(mixed):
    X, Y = mixed
    Xdf = pd.DataFrame(X, columns=list("abcd"))
    Xdf["colour"] = pd.Categorical(np.where(X[:, 3] > 0, "red", "blue"))
    Y = Y.astype(object)
    Y.iloc[:100, 0] = None
    Y.iloc[100:200, 1] = np.nan
    weights = np.random.RandomState(1).uniform(0.5, 2.0, size=len(Y))
    model = MMoEMultiTask(**QUICK, missing_labels="ignore").fit(
        Xdf, Y, sample_weight=weights
    )
    assert model.is_categorical_.tolist() == [False] * 4 + [True]
    assert model.task_types_ == ["classification", "regression", "classification"]
    score = model.score(Xdf, Y)
    assert 0.6 < score <= 1.0


def test_warm_start_continues_mixed_tasks_and_refuses_another_kind(mixed):
    X, Y = mixed
    model = MMoEMultiTask(**{**QUICK, "max_epochs": 3}, warm_start=True).fit(X, Y)
    first = model.n_iter_
    model.fit(X, Y)
    assert model.n_iter_ == 2 * first
    with pytest.raises(ValueError, match="same tasks"):
        model.fit(X, Y.assign(amount=Y["amount"] > 10))


def test_clone_pickle_and_grid_search_with_per_task_scorers(mixed):
    X, Y = mixed
    model = MMoEMultiTask(**{**QUICK, "max_epochs": 5}).fit(X, Y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert clone(model).get_params() == model.get_params()
    scoring = {
        "segment_auc": task_scorer(
            roc_auc_score, "segment", response_method="predict_proba"
        ),
        "amount_r2": task_scorer(r2_score, "amount"),
        "buys_auc": task_scorer(roc_auc_score, 2, response_method="predict_proba"),
    }
    search = GridSearchCV(
        MMoEMultiTask(**{**QUICK, "max_epochs": 5}),
        {"n_experts": [2, 3]},
        scoring=scoring,
        refit="amount_r2",
        cv=KFold(2),
        error_score="raise",
    ).fit(X, Y)
    for name in scoring:
        assert np.all(np.isfinite(search.cv_results_[f"mean_test_{name}"]))
    assert search.best_estimator_.task_names_.tolist() == list(Y.columns)


def test_task_scorer_takes_a_name_and_names_what_is_wrong(mixed):
    X, Y = mixed
    model = MMoEMultiTask(**{**QUICK, "max_epochs": 5}).fit(X, Y)
    by_name = task_scorer(r2_score, "amount")
    by_index = task_scorer(r2_score, 1)
    assert by_name(model, X, Y) == by_index(model, X, Y)
    with pytest.raises(ValueError, match=r"'income' is not the name.*'segment'"):
        task_scorer(r2_score, "income")(model, X, Y)
    with pytest.raises(TypeError, match="task must be a task's index"):
        task_scorer(r2_score, 1.0)
    with pytest.raises(ValueError, match="'amount' is a regression task"):
        task_scorer(roc_auc_score, "amount", response_method="predict_proba")(
            model, X, Y
        )


def test_multiclass_roc_auc_needs_no_multi_class_argument(mixed):
    X, Y = mixed
    model = MMoEClassifier(**QUICK).fit(X, Y[["segment", "buys"]])
    scorer = task_scorer(roc_auc_score, "segment", response_method="predict_proba")
    expected = roc_auc_score(Y["segment"], model.predict_proba(X)[0], multi_class="ovr")
    assert scorer(model, X, Y[["segment", "buys"]]) == pytest.approx(expected)


@pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor, MMoEMultiTask])
def test_every_estimator_names_its_tasks(Est):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    Y = pd.DataFrame({"first": X[:, 0] > 0, "second": X[:, 1] > 0}).astype(int)
    est = Est(**{**QUICK, "max_epochs": 2})
    assert est.fit(X, Y).task_names_.tolist() == ["first", "second"]
    assert est.fit(X, Y.to_numpy()).task_names_.tolist() == ["task0", "task1"]
    assert est.fit(X, Y["second"]).task_names_.tolist() == ["second"]


def test_displays_label_tasks_by_name(mixed):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from sklearn_mmoe.plotting import GateWeightsDisplay, LossCurvesDisplay

    X, Y = mixed
    model = MMoEMultiTask(**{**QUICK, "max_epochs": 3}).fit(X, Y)
    gates = GateWeightsDisplay.from_estimator(model, X)
    assert [t.get_text() for t in gates.ax_.get_yticklabels()] == list(Y.columns)
    curves = LossCurvesDisplay.from_estimator(model)
    legend = [t.get_text() for t in curves.ax_.get_legend().get_texts()]
    assert [label.split(" (")[0] for label in legend[:3]] == list(Y.columns)


# -- learned task weights ------------------------------------------------------------


def _noisy_pair(noise, n=600, seed=0):
    """Two regression tasks of the same signal, the second with ``noise`` times the
    first's label noise."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    signal = X[:, 0] + np.sin(X[:, 1])
    Y = np.column_stack(
        [signal + 0.1 * rng.normal(size=n), signal + 0.1 * noise * rng.normal(size=n)]
    )
    return X, Y


def test_uncertainty_weights_move_and_give_the_noisier_task_less():
    X, Y = _noisy_pair(noise=10)
    model = MMoERegressor(**QUICK, task_weights="uncertainty").fit(X, Y)
    weights = model.task_weights_
    assert not np.allclose(weights, 0.5)  # where they start (s = 0)
    assert weights[0] > 2 * weights[1]
    curve = np.array(model.net_.history[:, "task_weights"])
    assert curve.shape == (model.n_iter_, 2)
    # the clean task's weight grows over training, the noisy one's stays lower
    assert curve[-1, 0] > curve[0, 0] and curve[-1, 1] < curve[-1, 0]


def test_uncertainty_weights_follow_the_label_noise_whichever_task_it_is():
    X, Y = _noisy_pair(noise=10)
    flipped = MMoERegressor(**QUICK, task_weights="uncertainty").fit(X, Y[:, ::-1])
    assert flipped.task_weights_[1] > 2 * flipped.task_weights_[0]


def test_uncertainty_weighting_of_mixed_tasks_uses_each_kinds_form(mixed):
    X, Y = mixed
    model = MMoEMultiTask(**QUICK, task_weights="uncertainty").fit(X, Y)
    loss = model.net_.criterion_
    s = loss.log_variances.detach()
    # 1/2 exp(-s) for the regression task (Gaussian), exp(-s) for a classification one
    expected = torch.tensor([1.0, 0.5, 1.0]) * torch.exp(-s)
    np.testing.assert_allclose(model.task_weights_, expected.numpy(), rtol=1e-6)
    losses = torch.tensor([0.3, 0.2, 0.4])
    objective = (expected * losses).sum() + 0.5 * s.sum()
    torch.testing.assert_close(loss.objective(losses), objective)
    # early stopping's yardstick leaves the learned part out
    torch.testing.assert_close(
        loss.objective(losses, learned=False),
        (torch.tensor([1.0, 0.5, 1.0]) * losses).sum(),
    )


def test_fixed_task_weights_are_reported_as_given():
    X, Y = _noisy_pair(noise=1, n=100)
    model = MMoERegressor(**{**QUICK, "max_epochs": 2}, task_weights=[2.0, 0.5])
    np.testing.assert_array_equal(model.fit(X, Y).task_weights_, [2.0, 0.5])
    assert not hasattr(model.net_.criterion_, "log_variances")


def test_warm_start_continues_the_learned_weights():
    X, Y = _noisy_pair(noise=10, n=200)
    model = MMoERegressor(**QUICK, task_weights="uncertainty", warm_start=True)
    first = model.fit(X, Y).task_weights_.copy()
    assert abs(first[0] - 0.5) > 0.2  # far from where a fresh fit starts
    model.fit(X, Y)
    after_one_epoch = model.net_.history[0, "task_weights"]
    # the second fit's first epoch starts from the first fit's weights, not from 1/2
    assert abs(after_one_epoch[0] - first[0]) < abs(first[0] - 0.5) / 4


def test_learned_log_variances_are_not_weight_decayed():
    X, Y = _noisy_pair(noise=1, n=100)
    model = MMoERegressor(
        **{**QUICK, "max_epochs": 2}, task_weights="uncertainty", weight_decay=0.1
    ).fit(X, Y)
    groups = model.net_.optimizer_.param_groups
    learned = model.net_.criterion_.log_variances
    (group,) = [g for g in groups if any(p is learned for p in g["params"])]
    assert group["weight_decay"] == 0.0
    assert all(g["weight_decay"] == 0.1 for g in groups if g is not group)


def test_uncertainty_weights_are_no_worse_than_equal_ones_on_census(census_test_path):
    """The benchmark's task pair (benchmarks/mixed_tasks.py: income > 50K and weeks
    worked) on 4,000 training rows, two seeds: the learned weights' mean of test AUC
    and R2 is no lower than equal weights' by more than 0.005, about half the
    seed-to-seed spread of that mean at this size."""
    X, labels = load_census_income(census_test_path)
    weeks = X.pop("weeks_worked").astype(float).to_numpy()
    income = labels["income_50k"].to_numpy()
    differences = []
    for seed in (0, 1):
        X_s, _, inc, _, wk, _ = train_test_split(
            X, income, weeks, train_size=6000, stratify=income, random_state=seed
        )
        parts = train_test_split(
            X_s, inc, wk, test_size=2000, stratify=inc, random_state=seed
        )
        X_train, X_test, inc_train, inc_test, wk_train, wk_test = parts
        Y_train = pd.DataFrame({"income": inc_train, "weeks": wk_train})
        scores = []
        for weights in (None, "uncertainty"):
            model = MMoEMultiTask(
                task_types=["classification", "regression"],
                task_weights=weights,
                random_state=seed,
            ).fit(X_train, Y_train)
            auc = roc_auc_score(inc_test, model.predict_proba(X_test)[0][:, 1])
            r2 = r2_score(wk_test, model.predict(X_test)[:, 1].astype(float))
            scores.append((auc + r2) / 2)
        differences.append(scores[1] - scores[0])
    assert np.mean(differences) > -0.005, differences


def test_a_mixed_loss_scores_each_task_with_its_kinds_loss():
    loss = MultiTaskLoss(("regression", "classification", "regression"), [1.0] * 3)
    out = torch.randn(5, 3, 4)
    out[:, [0, 2], 1:] = -torch.inf  # a regression task's padding
    y = torch.tensor([[0.5, 2.0, -1.0]] * 5)
    losses = loss(out, y)
    torch.testing.assert_close(losses[:, 0], (out[:, 0, 0] - 0.5).square())
    torch.testing.assert_close(losses[:, 2], (out[:, 2, 0] + 1.0).square())
    ce = torch.nn.functional.cross_entropy(
        out[:, 1], torch.full((5,), 2), reduction="none"
    )
    torch.testing.assert_close(losses[:, 1], ce)


def test_a_list_of_rows_of_mixed_types_keeps_each_tasks_type():
    """NumPy turns ["yes", 1.38] into two strings: the float task was fitted as 47
    string classes and predicted as '1.3835...'."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    rows = [["yes" if a > 0 else "no", float(b)] for a, b in zip(X[:, 0], X[:, 1])]
    model = MMoEMultiTask(**{**QUICK, "max_epochs": 3}).fit(X, rows)
    assert model.task_types_ == ["classification", "regression"]
    pred = model.predict(X[:5])
    assert set(pred[:, 0]) <= {"yes", "no"} and isinstance(pred[0, 1], float)
    assert np.isfinite(model.score(X, rows))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MMoEClassifier(**QUICK).fit(X, rows)
    labels = [[int(a > 0), "x" if b > 0 else "z"] for a, b in zip(X[:, 0], X[:, 1])]
    clf = MMoEClassifier(**{**QUICK, "max_epochs": 3}).fit(X, labels)
    assert clf.classes_[0].tolist() == [0, 1] and clf.classes_[1].tolist() == ["x", "z"]
    flags = [[bool(a > 0), float(b)] for a, b in zip(X[:, 0], X[:, 1])]
    mixed = MMoEMultiTask(**{**QUICK, "max_epochs": 3}).fit(X, flags)
    assert mixed.task_types_ == ["classification", "regression"]
    assert mixed.classes_[0].dtype == bool


def test_task_columns_are_matched_by_name_in_partial_fit_score_and_warm_start(mixed):
    """A y DataFrame of the fitted tasks in another order used to train or score the
    wrong task (score -3.99 where the right order gives about 0)."""
    X, Y = mixed
    model = MMoEMultiTask(**{**QUICK, "max_epochs": 3}).fit(X, Y)
    shuffled = Y[Y.columns[::-1]]
    before = model.predict(X)
    with pytest.raises(
        ValueError, match="must be in the same order as they were in fit"
    ):
        model.score(X, shuffled)
    with pytest.raises(ValueError, match="must be in the same order"):
        model.partial_fit(X, shuffled)
    np.testing.assert_array_equal(model.predict(X), before)  # nothing trained
    renamed = Y.rename(columns={Y.columns[0]: "other"})
    with pytest.raises(ValueError, match="Task names unseen at fit time:\n- other"):
        model.score(X, renamed)
    warm = clone(model).set_params(warm_start=True).fit(X, Y)
    with pytest.raises(ValueError, match="yet now missing"):
        warm.fit(X, renamed)
    # the same names, or no names at all, are scored as before
    assert np.isfinite(model.score(X, Y))
    assert model.score(X, Y.to_numpy(dtype=object)) == model.score(X, Y)
