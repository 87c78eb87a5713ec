"""What keeps the defaults from doing harm on a table nobody tuned for: each regression
and count task's output shrunk towards its mean as far as the validation rows ask, and
predictions clipped to the training targets' range."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import r2_score

from sklearn_mmoe import MMoEMultiTask, MMoERegressor
from sklearn_mmoe._estimators import inference
from sklearn_mmoe._tasks.kinds import CountTask, RegressionTask
from sklearn_mmoe._tasks.shrinkage import shrink_factor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _constant_r2(train, test):
    """The held-out R2 of predicting the training mean (about 0, below it when the
    held-out mean differs)."""
    return r2_score(test, np.full(len(test), train.mean()))


def _unshrunk(model, X):
    """What ``model`` would predict with its outputs as trained."""
    tasks = model._tasks
    model._tasks = [task.unshrunk() for task in tasks]
    try:
        return model.predict(X)
    finally:
        model._tasks = tasks


def _noise_and_signal(n, seed=0):
    """A target the inputs explain and one they do not."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 6))
    signal = X[:, 0] + np.sin(2 * X[:, 1])
    Y = np.column_stack([signal + 0.1 * rng.normal(size=n), rng.normal(size=n)])
    return X, Y


def test_a_target_the_inputs_do_not_explain_is_predicted_near_its_mean():
    """Next to a learnable task, the network fits a pure-noise task's training rows;
    shrunk on the validation rows (60 of them, a fifth of a small table) by a factor
    they tell from 0 (see shrink_factor), its predictions keep near the mean and
    score within 0.02 of a constant's held-out R2 (judged over four draws of the
    data), far nearer than the outputs as trained, while the learnable task is left
    as trained."""
    shrunk, raw, constant = [], [], []
    for seed in range(4):
        X, Y = _noise_and_signal(400, seed)
        model = MMoERegressor(random_state=0).fit(X[:300], Y[:300])
        pred, outputs = model.predict(X[300:]), _unshrunk(model, X[300:])
        shrunk.append(r2_score(Y[300:, 1], pred[:, 1]))
        raw.append(r2_score(Y[300:, 1], outputs[:, 1]))
        constant.append(_constant_r2(Y[:300, 1], Y[300:, 1]))
        assert r2_score(Y[300:, 0], pred[:, 0]) > 0.6
        assert model._tasks[0].shrink >= 0.9
    assert np.mean(shrunk) > np.mean(raw) + 0.01
    # the "markedly worse than a constant": 0.02 below it
    assert np.mean(shrunk) > np.mean(constant) - 0.02


def test_a_noise_task_beside_a_classification_task_is_shrunk_too():
    """A classification task of three classes widens every tower to three outputs;
    the regression task's padding (-inf past its one output) does not stop its
    shrinkage, so pure noise is predicted near its mean in a mixed model too."""
    X, Y = _noise_and_signal(400, 1)
    classes = np.digitize(Y[:, 0], np.quantile(Y[:300, 0], [1 / 3, 2 / 3]))
    y = pd.DataFrame({"band": classes, "noise": Y[:, 1]})
    model = MMoEMultiTask(task_types=["classification", "regression"], random_state=0)
    model.fit(X[:300], y[:300])
    assert model._tasks[0].width == 3
    assert model._tasks[1].shrink < 0.5
    pred = model.predict(X[300:])[:, 1].astype(float)
    constant = _constant_r2(Y[:300, 1], Y[300:, 1])
    assert r2_score(Y[300:, 1], pred) > constant - 0.02


def _factor(task, out, y, w=None):
    """shrink_factor of ``task``'s loss on NumPy outputs (n,), targets and weights."""
    w = np.ones(len(y)) if w is None else w
    out, y, w = (torch.as_tensor(np.asarray(v, dtype=np.float64)) for v in (out, y, w))
    return shrink_factor(task.loss, out[:, None], y, w, task.shrink_doubt)


def test_the_factor_is_the_least_squares_one_less_its_doubt():
    """Squared error: the factor is c - 2 se**2 / c, with c the least-squares factor of
    the outputs on the (weighted) targets and se its sandwich standard error; rows of
    weight 0 (missing labels) count for nothing."""
    rng = np.random.RandomState(0)
    out, noise = rng.normal(size=(2, 120))
    y = 0.6 * out + noise
    c = out @ y / (out @ out)
    se = np.sqrt(np.sum((out * (y - c * out)) ** 2)) / (out @ out)
    assert 0 < c - 2 * se**2 / c < c < 1
    assert _factor(RegressionTask, out, y) == pytest.approx(c - 2 * se**2 / c, rel=1e-9)
    w = np.r_[np.ones(120), np.zeros(30)]
    padded = _factor(
        RegressionTask, np.r_[out, np.ones(30)], np.r_[y, 1e6 * np.ones(30)], w
    )
    assert padded == pytest.approx(c - 2 * se**2 / c, rel=1e-9)
    assert _factor(RegressionTask, out, 3 * out) == 1.0  # at most 1


def test_a_factor_the_rows_cannot_tell_from_zero_shrinks_to_the_mean():
    """Outputs unrelated to the targets: where their least-squares factor falls by
    chance less than sqrt(2) standard errors above 0 (most draws), the output is
    shrunk to the mean, and above, kept below that factor; outputs that do not vary
    say nothing, and the task is left as it is."""
    zeros = 0
    for seed in range(40):
        rng = np.random.RandomState(seed)
        out, y = rng.normal(size=(2, 60))
        c = out @ y / (out @ out)
        se = np.sqrt(np.sum((out * (y - c * out)) ** 2)) / (out @ out)
        factor = _factor(RegressionTask, out, y)
        assert (factor == 0.0) == (c < np.sqrt(2) * se)
        assert factor < max(c, 1e-12)
        zeros += factor == 0.0
    assert zeros >= 34
    assert _factor(RegressionTask, np.zeros(60), rng.normal(size=60)) is None
    assert _factor(RegressionTask, np.ones(5), np.ones(5), np.zeros(5)) is None


def test_a_count_keeps_the_factor_its_poisson_loss_is_least_at():
    """Counts (Poisson deviance of a log-rate): a log-rate the counts were drawn with
    keeps a factor near 1; one of half the right size is read as about twice too
    small, and kept at 1."""
    rng = np.random.RandomState(0)
    out = rng.normal(scale=0.8, size=2000)
    counts = rng.poisson(np.exp(out)).astype(float)
    assert 0.93 < _factor(CountTask, out, counts) <= 1.0
    assert _factor(CountTask, out / 2, counts) == 1.0
    assert _factor(CountTask, 3 * out, counts) == pytest.approx(1 / 3, abs=0.03)


def test_without_validation_rows_the_output_is_not_shrunk():
    """No validation rows, nothing to choose a shrinkage on: predictions are the
    network's outputs as trained; a partial_fit after a fit drops the fit's."""
    X, Y = _noise_and_signal(300)
    fast = dict(n_experts=2, expert_units=(32,), max_epochs=30, random_state=0)
    kept = MMoERegressor(**fast, early_stopping=False).fit(X, Y[:, 1])
    assert kept._tasks[0].shrink == 1.0
    raw = inference.forward(kept, X)[:, 0, 0].astype(np.float64)
    task = kept._tasks[0]
    np.testing.assert_allclose(kept.predict(X), raw * task.scale + task.mean)
    shrunk = MMoERegressor(**fast).fit(X, Y[:, 1])
    assert shrunk._tasks[0].shrink < 1.0
    assert shrunk.partial_fit(X, Y[:, 1])._tasks[0].shrink == 1.0


def test_a_count_of_pure_noise_is_predicted_near_its_mean():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 6))
    counts = rng.poisson(2.0, size=400)
    model = MMoEMultiTask(task_types=["count"], random_state=0)
    pred = model.fit(X[:300], counts[:300, None]).predict(X[300:]).ravel()
    raw = _unshrunk(model, X[300:]).ravel()
    constant = _constant_r2(counts[:300], counts[300:])
    score = r2_score(counts[300:], pred.astype(float))
    assert score > r2_score(counts[300:], raw.astype(float))
    assert score > constant - 0.04


@pytest.mark.parametrize("kind", ["regression", "count"])
def test_predictions_stay_within_the_training_targets_range(kind):
    """A row far outside the training inputs cannot send a prediction beyond every
    target seen (a log link would extrapolate exponentially)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    y = rng.poisson(np.exp(X[:, 0])).astype(float)
    model = MMoEMultiTask(task_types=[kind], random_state=0).fit(X, y[:, None])
    far = np.array([[60.0, -60.0, 60.0], [-60.0, 60.0, -60.0]])
    pred = model.predict(np.vstack([far, X[:30]])).astype(float).ravel()
    assert pred.min() >= y.min() and pred.max() <= y.max()
    assert pred.max() > 0.5 * y.max() or pred[:2].max() == y.max()


def test_partial_fit_widens_the_range_with_each_chunk():
    """The range predictions are clipped to grows with the targets of every chunk,
    so a stream whose targets rise is not held at its first chunk's."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = X[:, 0] * 2.0
    model = MMoERegressor(n_experts=2, random_state=0)
    first = X[:, 0] < 0
    model.partial_fit(X[first], y[first])
    assert model.predict(X[~first]).max() <= y[first].max()
    for _ in range(30):
        model.partial_fit(X, y)
    assert model.predict(X[~first]).max() > 1.0


def test_warm_start_keeps_the_widest_range_seen():
    X, Y = _noise_and_signal(200)
    model = MMoERegressor(max_epochs=5, warm_start=True, random_state=0)
    model.fit(X, Y[:, 0])
    low = model._tasks[0].low
    model.fit(X[:100], Y[:100, 0])
    assert model._tasks[0].low == low  # the first fit's rows still bound it
