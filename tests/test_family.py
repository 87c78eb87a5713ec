"""The model family through the estimators: PLE, attention and top-k gates, the
balance loss, gate weights and the per-task loss curves."""

from functools import partial

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _helpers import NARROW, normal_tasks
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_mmoe import MMoEClassifier, MMoERegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = dict(**NARROW, max_epochs=5)
VARIANTS = {
    "mmoe": dict(n_experts=3),
    "omoe": dict(architecture="omoe", n_experts=3),
    "shared_bottom": dict(architecture="shared_bottom"),
    "attention": dict(n_experts=4, gate_type="attention", gate_units=(6,)),
    "top_k": dict(n_experts=5, top_k=2),
    "attention_top_k": dict(n_experts=4, gate_type="attention", top_k=1),
    "balanced": dict(n_experts=4, balance_weight=0.5),
    "ple": dict(architecture="ple", n_experts=2, n_task_experts=1),
    "ple_unequal_deep": dict(
        architecture="ple",
        n_experts=1,
        n_task_experts=3,
        n_levels=3,
        expert_units=(8, 6),
        gate_units=(5,),
    ),
    "ple_no_task_experts": dict(architecture="ple", n_experts=3, n_task_experts=0),
    "ensemble": dict(n_experts=3, ensemble_size=3),
    "ple_ensemble": dict(
        architecture="ple", n_experts=2, n_task_experts=1, ensemble_size=2
    ),
}
variants = pytest.mark.parametrize("variant", list(VARIANTS))
both = pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor])


def _three_labels(X):
    return np.column_stack(
        [X[:, 0] > 0, np.digitize(X[:, 1], [-0.5, 0.5]), X[:, 2] > X[:, 3]]
    )


def _three_values(X):
    return np.column_stack([X[:, 0] + X[:, 1], X[:, 2] * 3.0, X[:, 0] * X[:, 3]])


# The shared table, with three tasks of five columns: every gate has a task to serve.
_data = partial(
    normal_tasks, n=160, n_features=5, labels=_three_labels, values=_three_values
)


def _fit(Est, variant, **extra):
    X, Y = _data(Est)
    return Est(**{**SMALL, **VARIANTS[variant], **extra}).fit(X, Y), X, Y


def _n_visible(params):
    if params.get("architecture") == "shared_bottom":
        return 1
    if params.get("architecture") == "ple":
        return params["n_experts"] + params["n_task_experts"]
    return params["n_experts"]


@both
@variants
def test_every_variant_fits_predicts_and_keeps_a_batch_of_one(Est, variant):
    est, X, Y = _fit(Est, variant)
    assert est.predict(X).shape == Y.shape
    assert est.predict(X[:1]).shape == (1, 3)
    if Est is MMoEClassifier:
        assert [p.shape for p in est.predict_proba(X[:1])] == [(1, 2), (1, 3), (1, 2)]
    assert np.all(np.isfinite(est.loss_curve_))


@both
@variants
def test_every_variant_refits_bit_for_bit(Est, variant):
    a, X, _ = _fit(Est, variant, dropout=0.1)
    b, _, _ = _fit(Est, variant, dropout=0.1)
    assert a.loss_curve_ == b.loss_curve_
    for pa, pb in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
        assert torch.equal(pa, pb)


@both
@variants
def test_gate_weights_are_distributions_over_the_experts_each_task_sees(Est, variant):
    est, X, _ = _fit(Est, variant)
    g = est.gate_weights(X)
    assert g.shape == (len(X), 3, _n_visible(VARIANTS[variant]))
    assert g.dtype == np.float64
    assert (g >= 0).all()
    np.testing.assert_allclose(g.sum(-1), 1.0, rtol=1e-12)
    if "top_k" in VARIANTS[variant]:
        assert ((g > 0).sum(-1) == VARIANTS[variant]["top_k"]).all()


def test_omoe_gives_every_task_the_same_weights_and_mmoe_does_not():
    omoe, X, _ = _fit(MMoERegressor, "omoe")
    g = omoe.gate_weights(X)
    np.testing.assert_array_equal(g[:, 0], g[:, 1])
    mmoe, _, _ = _fit(MMoERegressor, "mmoe")
    g = mmoe.gate_weights(X)
    assert not np.allclose(g[:, 0], g[:, 1])


def test_shared_bottom_gate_weights_are_ones():
    est, X, _ = _fit(MMoERegressor, "shared_bottom")
    np.testing.assert_array_equal(est.gate_weights(X[:4]), np.ones((4, 3, 1)))


def test_gate_weights_match_in_chunks_sparse_and_single_rows():
    est, X, _ = _fit(MMoEClassifier, "ple")
    g = est.gate_weights(X)
    np.testing.assert_allclose(est.gate_weights(sp.csr_matrix(X)), g, rtol=1e-12)
    np.testing.assert_allclose(est.gate_weights(X[7:8]), g[7:8], rtol=1e-12)


def test_gate_weights_keep_the_task_axis_for_a_single_task():
    X, Y = _data(MMoERegressor)
    est = MMoERegressor(**SMALL, n_experts=3).fit(X, Y[:, 0])
    assert est.predict(X).shape == (len(X),)
    assert est.gate_weights(X).shape == (len(X), 1, 3)


def test_gate_weights_validate_their_input():
    with pytest.raises(NotFittedError):
        MMoERegressor().gate_weights(np.ones((2, 5)))
    est, X, _ = _fit(MMoERegressor, "mmoe")
    with pytest.raises(ValueError, match="features"):
        est.gate_weights(X[:, :3])
    with pytest.raises(ValueError, match="infinity"):
        est.gate_weights(np.full((2, 5), np.inf))
    # NaN is a missing value, filled by the numeric encoding (test_missing_values.py)
    assert np.isfinite(est.gate_weights(np.full((2, 5), np.nan))).all()


def test_ple_works_with_any_combination_of_counts():
    X, Y = _data(MMoEClassifier)
    for n_experts, n_task_experts, n_levels in [(1, 4, 1), (4, 1, 2), (2, 3, 3)]:
        est = MMoEClassifier(
            **SMALL,
            architecture="ple",
            n_experts=n_experts,
            n_task_experts=n_task_experts,
            n_levels=n_levels,
        ).fit(X, Y)
        g = est.gate_weights(X)
        assert g.shape == (len(X), 3, n_experts + n_task_experts)
        assert est.predict(X).shape == Y.shape


def _expert_outputs(est, X):
    """Each first-level expert's output (E, n, H), for single-layer experts."""
    module = est.net_.module_
    E = module.levels[0].n_experts
    w = module.input_weight.detach().numpy()[:, : module._split]
    b = module.input_bias.detach().numpy()[: module._split]
    return np.maximum(X @ w + b, 0).reshape(len(X), E, -1).swapaxes(0, 1)


@pytest.mark.parametrize("variant", ["mmoe", "attention", "top_k", "ple"])
def test_experts_differ_from_each_other_after_training(variant):
    X, Y = _data(MMoERegressor, n=400)
    est = MMoERegressor(**{**SMALL, **VARIANTS[variant], "max_epochs": 40}).fit(X, Y)
    h = _expert_outputs(est, X)
    for i in range(len(h)):
        for j in range(i + 1, len(h)):
            a, b = h[i].ravel(), h[j].ravel()
            assert np.abs(a - b).mean() > 0.05 * np.abs(a).mean()
            assert abs(np.corrcoef(a, b)[0, 1]) < 0.9


def _importance_cv2(g):
    """Squared coefficient of variation of each task's total weight per expert."""
    importance = g.sum(0)  # (T, E)
    return (importance.var(-1) / importance.mean(-1) ** 2).mean()


def test_balance_weight_changes_training_and_evens_out_the_gates():
    X, Y = _data(MMoERegressor, n=400)
    params = dict(SMALL, n_experts=6, gate_units=(8,), max_epochs=40)
    free = MMoERegressor(**params).fit(X, Y)
    balanced = MMoERegressor(**params, balance_weight=2.0).fit(X, Y)
    assert free.loss_curve_ != balanced.loss_curve_
    assert np.all(np.isfinite(balanced.loss_curve_))
    assert np.all(np.isfinite(balanced.predict(X)))
    assert _importance_cv2(balanced.gate_weights(X)) < 0.5 * _importance_cv2(
        free.gate_weights(X)
    )
    # The balance term is in the training objective, not in the task losses.
    objective = balanced.task_loss_curves_.sum(1)
    assert np.all(np.asarray(balanced.loss_curve_) >= objective - 1e-6)


@both
def test_task_loss_curves_sum_to_the_loss_curve(Est):
    X, Y = _data(Est)
    weights = [1.0, 0.5, 2.0]
    est = Est(**SMALL, n_experts=3, task_weights=weights).fit(X, Y)
    curves = est.task_loss_curves_
    assert curves.shape == (est.n_iter_, 3)
    np.testing.assert_allclose(curves @ weights, est.loss_curve_, rtol=1e-5)
    assert not hasattr(est, "task_validation_curves_")


@both
def test_task_validation_curves_follow_the_validation_scores(Est):
    X, Y = _data(Est, n=300)
    est = Est(
        **{**SMALL, "max_epochs": 12, "early_stopping": True}, n_experts=3, tol=0.0
    ).fit(X, Y)
    curves = est.task_validation_curves_
    assert curves.shape == (est.n_iter_, 3)
    np.testing.assert_allclose(-curves.sum(1), est.validation_scores_, rtol=1e-5)
    # Refitting without early stopping drops the stale validation record.
    est.set_params(early_stopping=False).fit(X, Y)
    assert not hasattr(est, "task_validation_curves_")


def test_task_loss_curves_accumulate_over_warm_starts():
    X, Y = _data(MMoERegressor)
    est = MMoERegressor(
        **{**SMALL, "early_stopping": True}, n_experts=3, warm_start=True
    )
    first = est.fit(X, Y).task_loss_curves_.copy()
    est.fit(X, Y)
    assert est.task_loss_curves_.shape == (est.n_iter_, 3)
    np.testing.assert_array_equal(est.task_loss_curves_[: len(first)], first)
    assert len(est.task_validation_curves_) == est.n_iter_


def test_family_parameters_survive_clone_and_grid_search_style_set_params():
    est = MMoEClassifier(architecture="ple", n_levels=2, gate_type="attention")
    params = clone(est).set_params(top_k=2, balance_weight=0.1).get_params()
    assert params["architecture"] == "ple" and params["n_levels"] == 2
    assert params["gate_type"] == "attention" and params["top_k"] == 2
