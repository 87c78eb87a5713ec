"""MMoERegressor: one output per task, targets on any scale."""

import numpy as np
import pytest
from _helpers import LEARNER
from sklearn.metrics import mean_poisson_deviance, r2_score

from sklearn_mmoe import MMoERegressor

# Twice as wide, 150 epochs: three targets on very different scales, each learned.
LEARNED = dict(LEARNER, expert_units=(32,), tower_units=(16,), max_epochs=150)


@pytest.fixture
def three_scales():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 4))
    base = np.column_stack(
        [X[:, 0] + X[:, 1] ** 2, np.sin(X[:, 2]) + X[:, 0], X[:, 3] * X[:, 0]]
    )
    return X, base * [1e4, 1.0, 1e-3] + [5e5, -3.0, 1e-2]


def test_three_targets_on_very_different_scales_are_all_learned(three_scales):
    X, Y = three_scales
    reg = MMoERegressor(**LEARNED).fit(X[:300], Y[:300])
    pred = reg.predict(X[300:])
    assert pred.shape == (100, 3) and pred.dtype == np.float64
    r2 = r2_score(Y[300:], pred, multioutput="raw_values")
    assert (r2 > 0.8).all(), r2
    assert reg.score(X[300:], Y[300:]) == pytest.approx(r2.mean())


def test_one_dimensional_y_gives_one_dimensional_predictions(three_scales):
    X, Y = three_scales
    reg = MMoERegressor(**LEARNED).fit(X, Y[:, 1])
    assert reg.predict(X[:5]).shape == (5,)
    assert reg.predict(X[:1]).shape == (1,)
    assert reg.n_outputs_ == 1


def test_a_batch_of_one_row_keeps_its_task_axis(three_scales):
    X, Y = three_scales
    reg = MMoERegressor(**LEARNED).fit(X, Y)
    assert reg.predict(X[:1]).shape == (1, 3)


def test_a_constant_target_is_predicted_as_that_constant(three_scales):
    X, Y = three_scales
    Y = Y.copy()
    Y[:, 2] = 7.5
    reg = MMoERegressor(**LEARNED).fit(X, Y)
    np.testing.assert_allclose(reg.predict(X[:10])[:, 2], 7.5, atol=1e-4)


def test_a_zero_task_weight_leaves_that_tasks_tower_untouched(three_scales):
    X, Y = three_scales
    weights = [1.0, 0.0, 1.0]

    def tower_of_task_1(max_epochs):
        reg = MMoERegressor(
            **{**LEARNED, "max_epochs": max_epochs}, task_weights=weights
        )
        net = reg.fit(X, Y).net_
        module = net.module_
        return [w[1].detach().clone() for w in module.towers.parameters()]

    for a, b in zip(tower_of_task_1(2), tower_of_task_1(10)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_task_weights_must_match_the_tasks(three_scales):
    X, Y = three_scales
    with pytest.raises(ValueError, match="task_weights must hold 3"):
        MMoERegressor(task_weights=[1.0, 2.0]).fit(X, Y)
    with pytest.raises(ValueError, match="task_weights"):
        MMoERegressor(task_weights=[0.0, 0.0, 0.0]).fit(X, Y)


def test_warm_start_refuses_another_number_of_tasks(three_scales):
    X, Y = three_scales
    reg = MMoERegressor(warm_start=True, **{**LEARNED, "max_epochs": 2}).fit(X, Y)
    with pytest.raises(
        ValueError, match=r"same tasks \(their number.*had 3 task\(s\); y has 2"
    ):
        reg.fit(X, Y[:, :2])


def test_poisson_loss_fits_counts_better_than_squared_error_where_spread_grows():
    """loss="poisson" (HistGradientBoostingRegressor's choice for counts): positive
    expected counts, and a lower Poisson deviance on skewed counts than the squared
    error's predictions."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 4))
    rate = np.exp(1.2 * X[:, 0] - 0.5 * X[:, 1])
    y = rng.poisson(rate)
    poisson = MMoERegressor(loss="poisson", random_state=0).fit(X[:1500], y[:1500])
    squared = MMoERegressor(random_state=0).fit(X[:1500], y[:1500])
    pred = poisson.predict(X[1500:])
    assert pred.shape == (500,) and pred.min() > 0
    assert poisson.score(X[1500:], y[1500:]) == pytest.approx(r2_score(y[1500:], pred))
    clipped = np.maximum(squared.predict(X[1500:]), 1e-3)
    assert mean_poisson_deviance(y[1500:], pred) < mean_poisson_deviance(
        y[1500:], clipped
    )


def test_poisson_loss_refuses_negative_targets_and_predicts_zero_for_zeros():
    X = np.random.RandomState(0).normal(size=(60, 3))
    with pytest.raises(ValueError, match="non-negative"):
        MMoERegressor(loss="poisson").fit(X, X[:, 0])
    reg = MMoERegressor(loss="poisson", max_epochs=3).fit(X, np.zeros(60))
    np.testing.assert_array_equal(reg.predict(X[:5]), 0.0)


def test_targets_above_1e154_score_finite_and_as_at_unit_scale():
    """Their squares overflow float64: R2 is computed on them scaled down, the same
    number as for the targets and predictions in units of 1e200."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=200)
    huge = MMoERegressor(**dict(LEARNED, max_epochs=20)).fit(X, y * 1e200)
    score = huge.score(X, y * 1e200)
    assert np.isfinite(score) and score > 0.8
    assert score == pytest.approx(r2_score(y, huge.predict(X) / 1e200), abs=1e-9)
