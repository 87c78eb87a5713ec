"""Funnels: a child task trained from its parent (ESMM, AITM), declared, validated,
and served on every backend."""

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor
from sklearn_mmoe._network.architectures import ARCHITECTURES
from sklearn_mmoe._network.module import MMoEModule
from sklearn_mmoe._tasks.funnels import FUNNELS, funnel_edges, violation
from sklearn_mmoe._tasks.kinds import ClassificationTask, RegressionTask

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _funnel(n=600, seed=0, rate=0.3):
    """Clicks that follow the first feature, purchases at ``rate`` of the clicks."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    click = rng.uniform(size=n) < 1 / (1 + np.exp(-2 * X[:, 0]))
    buy = click & (rng.uniform(size=n) < rate)
    return X, pd.DataFrame({"click": click, "buy": buy})


def _fit(X, Y, **params):
    params = {"n_experts": 2, "max_epochs": 5, "random_state": 0, **params}
    return MMoEClassifier(task_parents={"buy": "click"}, **params).fit(X, Y)


@pytest.mark.parametrize("seed", range(2))
def test_esmm_learns_the_conditional_rate_over_all_rows(seed):
    X, Y = _funnel(n=3000, seed=seed)
    model = MMoEClassifier(task_parents={"buy": "click"}, random_state=seed).fit(X, Y)
    click, buy = (p[:, 1] for p in model.predict_proba(X))
    conditional = np.average(buy / click, weights=click)
    # measured over four seeds: within 0.03 of the clicks' own purchase rate
    rate = Y["buy"].sum() / Y["click"].sum()
    assert abs(conditional - rate) < 0.05
    assert (buy <= click).all()


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
@pytest.mark.parametrize("funnel", list(FUNNELS))
def test_every_architecture_trains_a_funnel(architecture, funnel):
    X, Y = _funnel()
    model = _fit(X, Y, architecture=architecture, funnel=funnel)
    click, buy = (p[:, 1] for p in model.predict_proba(X))
    assert np.isfinite(buy).all() and np.isfinite(click).all()
    if funnel == "esmm":  # a product: never above the parent
        assert (buy <= click * (1 + 1e-6)).all()


def test_a_child_positive_where_its_parent_is_negative_is_refused_by_row():
    X, Y = _funnel()
    rows = np.flatnonzero(~Y["click"])[:2]
    Y.loc[rows, "buy"] = True
    with pytest.raises(ValueError, match=f"row\\(s\\) {rows[0]}, {rows[1]} of X"):
        _fit(X, Y)


def test_a_missing_child_label_where_the_parent_is_negative_reads_negative():
    X, Y = _funnel()
    given = Y.astype(object)
    given.loc[~Y["click"], "buy"] = None  # a purchase label for clicked rows only
    a = _fit(X, given, missing_labels="ignore")
    b = _fit(X, Y, missing_labels="ignore")
    for pa, pb in zip(a.predict_proba(X), b.predict_proba(X)):
        np.testing.assert_array_equal(pa, pb)


def test_a_missing_parent_label_where_the_child_is_positive_reads_positive():
    X, Y = _funnel()
    given = Y.astype(object)
    given.loc[Y["buy"], "click"] = None
    a = _fit(X, given, missing_labels="ignore")
    b = _fit(X, Y, missing_labels="ignore")
    np.testing.assert_array_equal(a.predict_proba(X)[0], b.predict_proba(X)[0])


def test_a_chain_runs_parents_first():
    tasks = [ClassificationTask(np.array([0, 1])) for _ in range(3)]
    names = ["purchase", "rebuy", "click"]
    edges = funnel_edges({"rebuy": "purchase", "purchase": "click"}, names, tasks)
    assert edges == ((2, 0), (0, 1))
    X, Y = _funnel()
    Y["rebuy"] = Y["buy"] & (X[:, 1] > 0)
    model = MMoEClassifier(
        task_parents={"rebuy": "buy", "buy": "click"}, max_epochs=5, random_state=0
    ).fit(X, Y)
    click, buy, rebuy = (p[:, 1] for p in model.predict_proba(X))
    assert (rebuy <= buy * (1 + 1e-6)).all() and (buy <= click * (1 + 1e-6)).all()


@pytest.mark.parametrize(
    "parents, message",
    [
        ({"buy": "views"}, "names the parent 'views', which is no task"),
        ({"buy": "buy"}, "its own parent"),
        ({5: 0}, "names the child 5"),
        ({True: 0}, "names the child True"),
        ({"buy": "click", "click": "buy"}, "makes a cycle"),
        ({"buy": "rating"}, "binary classification tasks"),
    ],
)
def test_a_funnel_that_cannot_be_is_refused_by_name(parents, message):
    X, Y = _funnel()
    Y["rating"] = X[:, 2]
    model = MMoEMultiTask(task_parents=parents, max_epochs=2)
    with pytest.raises(ValueError, match=message):
        model.fit(X, Y)


def test_a_multiclass_task_is_no_funnel_task():
    tasks = [ClassificationTask(np.array([0, 1])), ClassificationTask(np.arange(3))]
    with pytest.raises(ValueError, match="it is a 3-class task"):
        funnel_edges({1: 0}, ["a", "b"], tasks)
    tasks[1] = RegressionTask()
    with pytest.raises(ValueError, match="it is a regression task"):
        funnel_edges({1: 0}, ["a", "b"], tasks)


def test_only_classifying_estimators_declare_funnels():
    assert "task_parents" in MMoEClassifier().get_params()
    assert "task_parents" in MMoEMultiTask().get_params()
    assert "task_parents" not in MMoERegressor().get_params()
    with pytest.raises(ValueError, match="funnel"):
        MMoEClassifier(funnel="cascade").fit(*_funnel())


def test_partial_fit_keeps_the_first_calls_funnel():
    X, Y = _funnel()
    model = MMoEClassifier(task_parents={"buy": "click"}, random_state=0)
    model.partial_fit(X, Y, classes=[[False, True]] * 2)
    model.set_params(task_parents=None)
    with pytest.raises(ValueError, match="continues the funnel of the first call"):
        model.partial_fit(X, Y)
    model.set_params(task_parents={"buy": "click"})
    model.partial_fit(X, Y)  # the same funnel continues


@pytest.mark.parametrize("funnel", list(FUNNELS))
@pytest.mark.parametrize("ensemble_size", [1, 3])
def test_numpy_and_torch_agree_on_a_funnel(funnel, ensemble_size):
    torch.manual_seed(0)
    module = MMoEModule(
        5,
        (2, 2, 3, 2),
        kinds=("classification",) * 4,
        funnel_edges=((0, 1), (1, 3)),
        funnel=funnel,
        ensemble_size=ensemble_size,
    ).eval()
    x = torch.randn(40, 5) * 3
    with torch.no_grad():
        tensors = module(x).outputs
    arrays = module.forward_numpy(x.numpy()).outputs
    np.testing.assert_allclose(arrays, tensors.numpy(), rtol=1e-5, atol=1e-5)
    probability = torch.softmax(tensors, -1)[..., 1]
    if funnel == "esmm":
        assert (probability[:, 1] <= probability[:, 0] * (1 + 1e-6)).all()
        assert (probability[:, 3] <= probability[:, 1] * (1 + 1e-6)).all()
    # the multiclass task in the middle is untouched, and its padding too
    assert torch.isinf(tensors[:, [0, 1, 3], 2]).all()


def test_esmm_outputs_the_product_of_the_parent_and_the_conditional():
    torch.manual_seed(0)
    kinds = ("classification",) * 2
    plain = MMoEModule(3, (2, 2), kinds=kinds).eval()
    funnel = MMoEModule(3, (2, 2), kinds=kinds, funnel_edges=((0, 1),)).eval()
    funnel.load_state_dict(plain.state_dict())
    x = torch.randn(25, 3)
    with torch.no_grad():
        p = torch.softmax(plain(x).outputs, -1)[..., 1]
        q = torch.softmax(funnel(x).outputs, -1)[..., 1]
    torch.testing.assert_close(q[:, 0], p[:, 0])
    torch.testing.assert_close(q[:, 1], p[:, 0] * p[:, 1])


def test_a_saturated_product_keeps_a_finite_loss():
    """Both probabilities at 1 in float32: log(1 - p) stays finite."""
    module = MMoEModule(2, (2, 2), funnel_edges=((0, 1),)).eval()
    with torch.no_grad():
        module.towers.bias1[:, 0, 1] = 100.0
    out = module(torch.zeros(3, 2)).outputs
    assert torch.isfinite(out[:, 1]).all()
    assert torch.isfinite(torch.log_softmax(out, -1)).all()


def test_the_calibrator_is_the_mean_excess_of_child_over_parent():
    # (B=2, K=1, T=2, W=2) logits: probabilities of the second class
    p = torch.tensor([[0.2, 0.5], [0.6, 0.4]])
    logits = torch.stack([torch.zeros_like(p), torch.logit(p)], -1)[:, None]
    expected = ((0.5 - 0.2) + 0.0) / 2
    torch.testing.assert_close(violation(logits, ((0, 1),)), torch.tensor(expected))
