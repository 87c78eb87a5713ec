"""What the estimators do without being asked: the training budget, the learning-rate
schedule, early stopping "auto" and the numeric columns' encoding."""

import math
from functools import partial

import numpy as np
import pandas as pd
import pytest
from _helpers import TINY, normal_tasks
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mmoe import MMoEClassifier, MMoERegressor
from sklearn_mmoe._inputs.numeric import fit_numeric, numeric_plan, weighted_quantiles
from sklearn_mmoe._training.config import budget, validation_fraction
from sklearn_mmoe._training.schedule import LearningRateSchedule

SMALL = dict(**TINY, random_state=0)
# Tests of what a default fit learns use the default network: the tiny one above can sit
# on a plateau for the first hundred steps of a short budget.
DEFAULT = dict(random_state=0)
both = pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor])


def _two_sums(X):
    return np.column_stack([X[:, 0] + X[:, 1], X[:, 1] - 0.5 * X[:, 2]])


def _their_signs(X):
    return (_two_sums(X) > 0).astype(int)


# The shared table with linear tasks (the scores below were set on them), a
# classifier's their signs; each test names its number of rows.
_data = partial(normal_tasks, labels=_their_signs, values=_two_sums)


# -- the learning-rate schedule
# ------------------------------------------------------------------------------


def test_cosine_schedule_warms_up_linearly_then_decays_to_zero():
    schedule = LearningRateSchedule("cosine", total_steps=1000, warmup=0.05)
    factors = np.array([schedule(step) for step in range(1000)])
    assert schedule.warmup_steps == 50
    np.testing.assert_allclose(factors[:50], np.arange(1, 51) / 50)
    assert factors[50] == 1.0
    assert np.all(np.diff(factors[50:]) <= 0)  # never rises again
    assert factors[525] == pytest.approx(0.5, abs=0.01)  # half-way down at mid-decay
    assert factors[-1] < 1e-4
    assert schedule(5000) == 0.0  # steps past the budget stay at zero


def test_cosine_schedule_warms_up_for_one_step_at_least():
    schedule = LearningRateSchedule("cosine", total_steps=4, warmup=0.05)
    assert schedule.warmup_steps == 1 and schedule(0) == 1.0


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_fit_sets_the_learning_rate_of_every_step_from_the_schedule(schedule):
    X, Y = _data(MMoERegressor, 100)
    est = MMoERegressor(
        **SMALL,
        learning_rate=0.01,
        learning_rate_schedule=schedule,
        batch_size=25,
        max_epochs=8,
        n_iter_no_change=100,
    ).fit(X, Y)
    net = est.net_
    assert dict(net.callbacks_)["schedule"].n_steps_ == 8 * 4  # every step ran
    last = net.optimizer_.param_groups[0]["lr"]
    if schedule == "constant":
        assert last == 0.01
    else:
        expected = 0.01 * LearningRateSchedule("cosine", 32, 0.05)(31)
        assert last == pytest.approx(expected) and last < 1e-4


# -- the budget and early stopping "auto"
# ------------------------------------------------------------------------------


def _budget(est, n_rows):
    """Early stopping, batch size and epochs the "auto" budget gives ``est`` for
    ``n_rows`` distinct rows."""
    early, _, batch, epochs = budget(est.get_params(), n_rows)
    return early, batch, epochs


def _full_budget(Est, n, **params):
    """A default fit on ``n`` rows that runs its whole budget (no stalling stop),
    the fit that chooses the epochs kept as it is (no refit: a refit's net trains
    only the best epoch's number of them; see tests/test_refit.py)."""
    X, Y = _data(Est, n)
    params = {"refit": False, **params}
    return Est(**SMALL, n_iter_no_change=10_000, **params).fit(X, Y)


@pytest.mark.parametrize(
    "n, n_train, batch, epochs",
    [
        (19, 19, 19, 100),  # tiny, nothing held out: full batches, the least steps
        (20, 16, 16, 100),  # a fifth held out from 20 rows on
        (150, 120, 120, 240),  # two steps per training row, one step per epoch
        (600, 480, 256, 480),  # 2 steps per epoch: 960 steps in 480 epochs
    ],
)
def test_auto_budget_grows_with_rows(n, n_train, batch, epochs):
    est = _full_budget(MMoERegressor, n)
    net = est.net_
    assert net.batch_size == batch
    assert est.n_iter_ == net.max_epochs == epochs
    steps = dict(net.callbacks_)["schedule"].n_steps_
    assert steps == epochs * math.ceil(n_train / batch)


def test_auto_budget_caps_steps_and_keeps_a_few_epochs():
    """Many rows: about the step cap, and never fewer than the least epochs."""
    est = MMoERegressor(**SMALL)
    early, batch, epochs = _budget(est, 1_000_000)
    n_train = 1_000_000 - 100_000  # early stopping holds out validation_fraction
    assert early and batch == 256
    assert epochs == 10 and epochs * math.ceil(n_train / batch) >= 2000
    # 60,000 rows, 54,000 train: 211 steps an epoch, 2,000 steps in 10 epochs
    assert _budget(est, 60_000) == (True, 256, 10)
    # 25,600 rows, 23,040 train: 90 steps an epoch, 2,000 steps in 23 epochs
    assert _budget(est, 25_600) == (True, 256, 23)
    early, batch, epochs = _budget(est, 5_000)  # 4,500 rows train, 18 steps an epoch
    assert early and (batch, epochs) == (256, 112)
    # below 5,000 rows a fifth is held out
    assert _budget(est, 1_000) == (True, 256, 400)  # 800 rows train: 1,600 steps
    assert _budget(est, 1_001) == (True, 256, 401)  # 801 rows train: 1,602 steps
    assert _budget(est, 19) == (False, 19, 100)  # nothing held out below 20 rows
    no_hold_out = MMoERegressor(**SMALL, early_stopping=False)
    assert _budget(no_hold_out, 1_000) == (False, 256, 500)  # 2,000 steps, 4 an epoch


def test_validation_fraction_auto_holds_out_a_fifth_below_5000_rows():
    """10 % of a small table chose the best epoch and the shrinkage too noisily (a
    pure-noise task ended 0.036 R2 below a constant at 900 rows)."""
    est = MMoERegressor(**SMALL)
    assert est.validation_fraction == "auto"
    assert (
        validation_fraction(est.get_params(), 20)
        == validation_fraction(est.get_params(), 4_999)
        == 0.2
    )
    assert (
        validation_fraction(est.get_params(), 5_000)
        == validation_fraction(est.get_params(), 10**6)
        == 0.1
    )
    est.set_params(validation_fraction=0.3)
    assert validation_fraction(est.get_params(), 100) == 0.3


def test_explicit_budget_is_taken_as_given():
    est = _full_budget(MMoERegressor, 100, batch_size=16, max_epochs=3)
    assert est.net_.batch_size == 16 and est.n_iter_ == 3
    steps = dict(est.net_.callbacks_)["schedule"].n_steps_
    assert steps == 3 * 5  # 80 rows train (20 held out): 5 batches


@both
def test_early_stopping_auto_holds_out_rows_from_20_rows_on(Est):
    tiny = Est(**SMALL, max_epochs=2).fit(*_data(Est, 19))
    assert not hasattr(tiny, "validation_scores_")
    small = Est(**SMALL, max_epochs=2).fit(*_data(Est, 20))
    assert len(small.validation_scores_) == 2
    off = Est(**SMALL, max_epochs=2, early_stopping=False).fit(*_data(Est, 500))
    assert not hasattr(off, "validation_scores_")


@both
def test_below_1000_rows_auto_waits_a_third_of_the_budget_for_a_better_epoch(Est):
    """A small table's epoch is one or two steps: patience counted in epochs would
    stop it inside its warm-up, so "auto" waits at least a third of its budget for
    a better validation loss before it stops, and keeps the best epoch; from 1,000
    rows on it stops after n_iter_no_change epochs."""
    small = Est(**SMALL, n_iter_no_change=2).fit(*_data(Est, 300))
    _, _, epochs = _budget(small, 300)
    patience = -(-epochs // 3)
    assert len(small.validation_scores_) == small.n_iter_ > patience
    best = int(np.argmax(small.validation_scores_)) + 1
    assert small.n_iter_ == epochs or small.n_iter_ - best >= patience
    large = Est(**SMALL, n_iter_no_change=2).fit(*_data(Est, 1_200))
    assert large.n_iter_ < _budget(large, 1_200)[2]


# -- the numeric encoding
# ------------------------------------------------------------------------------


def test_weighted_quantiles_treat_an_integer_weight_as_repeated_rows():
    rng = np.random.RandomState(0)
    values = rng.normal(size=(30, 3))
    weight = rng.randint(1, 4, size=30).astype(float)
    repeated = np.repeat(values, weight.astype(int), axis=0)
    levels = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0]
    expected = np.quantile(repeated, levels, axis=0, method="inverted_cdf")
    np.testing.assert_array_equal(weighted_quantiles(values, weight, levels), expected)


def test_robust_encoding_centres_on_the_median_and_scales_by_the_iqr():
    rng = np.random.RandomState(0)
    X = np.column_stack(
        [
            rng.normal(5, 2, size=400),
            np.r_[np.zeros(380), rng.uniform(1, 9, size=20)],  # IQR 0: half range
            np.full(400, 7.0),  # constant
        ]
    )
    numeric = fit_numeric(X, np.arange(400), np.ones(400), 3, "robust")
    q1, median, q3 = np.quantile(X[:, 0], [0.25, 0.5, 0.75], method="inverted_cdf")
    assert numeric["center"][0] == median
    assert numeric["factor"][0] == pytest.approx(1 / (q3 - q1))
    assert numeric["factor"][1] == pytest.approx(2 / X[:, 1].max())
    # a constant column reads 0 at its value, and has a scale for a later chunk in
    # which it varies (its magnitude); the network starts its weights at zero
    assert numeric["center"][2] == 7.0 and numeric["factor"][2] == 1 / 7.0
    assert numeric["constant"].tolist() == [False, False, True]


def _auto(X, rows, weight, n_numeric, Y):
    """The encoding numeric_encoding="auto" fits to the first ``n_numeric`` columns
    of ``X``'s rows ``rows``, for a regression target ``Y``."""
    encoding, max_width = numeric_plan("auto", len(rows), n_numeric)
    targets = (Y, ["regression"])
    return fit_numeric(
        X, rows, weight, n_numeric, encoding, targets, max_width=max_width
    )


def test_auto_encoding_bins_when_there_are_many_rows_per_column():
    X = np.random.RandomState(0).normal(size=(1_000, 4))
    Y = X[:, :1]
    rows, weight = np.arange(1_000), np.ones(1_000)
    assert _auto(X, rows[:399], weight, 4, Y)["kind"] == "robust"
    assert _auto(X, rows[:400], weight, 4, Y)["kind"] == "piecewise"


def test_auto_encoding_scales_robustly_where_the_code_would_be_wide():
    """Past 512 inputs of bins in all (here 20 columns of up to 32 bins, each column
    a wave of the target), "auto" scales robustly: the code's epoch costs a multiple
    of robust scaling's the wider it is. "piecewise" asked for still bins."""
    X = np.random.RandomState(0).uniform(size=(6_000, 20))
    Y = np.sin(40 * X).sum(axis=1, keepdims=True)
    rows, weight = np.arange(6_000), np.ones(6_000)
    wide = fit_numeric(X, rows, weight, 20, "piecewise", (Y, ["regression"]))
    assert sum(len(e) - 1 for e in wide["edges"]) > 512
    assert _auto(X, rows, weight, 20, Y)["kind"] == "robust"
    narrow = _auto(X, rows, weight, 12, Y)
    assert narrow["kind"] == "piecewise"
    assert 256 < sum(len(e) - 1 for e in narrow["edges"]) <= 512


@pytest.mark.parametrize("encoding", ["robust", "standard", "piecewise"])
def test_raw_columns_on_any_scale_fit_as_well_as_scaled_ones(encoding):
    """The encoding is invariant to each column's shift and scale, so raw columns in
    the thousands next to ones in thousandths train as well as scaled ones (not bit
    for bit: rows are shuffled in the order of their content's hash)."""
    X, Y = _data(MMoERegressor, 300)
    raw = X * np.array([1e4, 1e-3, 1.0, 250.0]) + np.array([5e4, -2.0, 0.0, 1e3])
    # Every row trains: a held-out split follows the rows' content order, which
    # differs between raw and scaled columns, and is no part of this claim.
    params = dict(DEFAULT, numeric_encoding=encoding, early_stopping=False)
    on_raw = MMoERegressor(**params).fit(raw, Y)
    on_scaled = MMoERegressor(**params).fit(X, Y)
    assert on_scaled.score(X, Y) > 0.8
    assert on_raw.score(raw, Y) == pytest.approx(on_scaled.score(X, Y), abs=0.01)
    difference = np.abs(on_raw.predict(raw) - on_scaled.predict(X))
    assert difference.mean() < 0.03 * np.abs(Y).mean()


def test_default_on_raw_columns_scores_as_well_as_a_scaler_in_a_pipeline():
    X, Y = _data(MMoERegressor, 400)
    raw = X * np.array([1e4, 1e-3, 1.0, 250.0]) + np.array([5e4, -2.0, 0.0, 1e3])
    X_test, Y_test = _data(MMoERegressor, 400, seed=1)
    raw_test = X_test * np.array([1e4, 1e-3, 1.0, 250.0]) + np.array(
        [5e4, -2.0, 0.0, 1e3]
    )
    alone = MMoERegressor(**DEFAULT).fit(raw, Y).score(raw_test, Y_test)
    scaled = make_pipeline(StandardScaler(), MMoERegressor(**DEFAULT)).fit(raw, Y)
    assert alone > 0.9
    assert alone >= scaled.score(raw_test, Y_test) - 0.02


def test_unencoded_columns_on_a_large_scale_train_badly():
    """The control for the two tests above: without the encoding, scale matters."""
    X, Y = _data(MMoERegressor, 300)
    raw = X * np.array([1e4, 1e-3, 1.0, 250.0]) + np.array([5e4, -2.0, 0.0, 1e3])
    params = dict(DEFAULT)
    encoded = MMoERegressor(**params).fit(raw, Y).score(raw, Y)
    plain = MMoERegressor(**params, numeric_encoding=None).fit(raw, Y).score(raw, Y)
    assert plain < encoded - 0.2


@pytest.mark.parametrize("encoding", ["robust", "piecewise"])
def test_outliers_stay_bounded(encoding):
    """An outlier a million times the column's spread, in training or at predict
    time, neither breaks the fit nor sends a prediction off."""
    X, Y = _data(MMoERegressor, 400)
    X_out = X.copy()
    X_out[0, 0] = 1e6
    params = dict(DEFAULT, numeric_encoding=encoding)
    with_outlier = MMoERegressor(**params).fit(X_out, Y)
    without = MMoERegressor(**params).fit(X, Y)
    assert with_outlier.score(X[1:], Y[1:]) > without.score(X[1:], Y[1:]) - 0.05
    far = with_outlier.predict(np.array([[1e12, 0, 0, 0], [-1e12, 0, 0, 0]]))
    assert np.all(np.isfinite(far)) and np.all(np.abs(far) < 10 * np.abs(Y).max())


@pytest.mark.parametrize("encoding", ["robust", "standard", "piecewise"])
def test_a_constant_column_is_ignored(encoding):
    """Its first-layer weights start at zero and get no gradient: a value it never
    had in training is read as no information, not through untrained weights."""
    X, Y = _data(MMoERegressor, 300)
    X[:, 3] = 42.0
    est = MMoERegressor(**SMALL, max_epochs=5, numeric_encoding=encoding).fit(X, Y)
    moved = X.copy()
    moved[:, 3] = -1e3
    np.testing.assert_array_equal(est.predict(moved), est.predict(X))


@pytest.mark.parametrize("encoding", ["robust", "piecewise"])
def test_numpy_and_torch_paths_encode_alike(encoding):
    """Up to 32 rows predict through NumPy, more through torch: the same values."""
    X, Y = _data(MMoERegressor, 500)
    X[:3, 0] = [1e6, -1e6, 40.0]  # outliers and extrapolation as well
    est = MMoERegressor(**SMALL, max_epochs=5, numeric_encoding=encoding).fit(X, Y)
    np.testing.assert_allclose(est.predict(X[:10]), est.predict(X)[:10], atol=1e-5)


def test_warm_start_keeps_the_first_fit_encoding():
    X, Y = _data(MMoERegressor, 300)
    est = MMoERegressor(**SMALL, max_epochs=3, warm_start=True).fit(X, Y)
    center = est.net_.module_.encoder.numeric_center.clone()
    est.fit(X * 10 + 5, Y)
    np.testing.assert_array_equal(est.net_.module_.encoder.numeric_center, center)


def test_categorical_columns_are_not_encoded_as_numbers():
    X, Y = _data(MMoEClassifier, 300)
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["city"] = pd.Categorical(np.where(X[:, 0] > 0, "oslo", "lima"))
    est = MMoEClassifier(**SMALL, max_epochs=3).fit(frame, Y)
    assert est.net_.module_.encoder.numeric_center.shape == (4,)
    assert est.is_categorical_.tolist() == [False] * 4 + [True]
