"""A failed or interrupted fit changes nothing, interrupts reach the caller, fits in
threads are reproducible, unusual inputs get finite outputs or, where none can be,
a clear error, and a plain array's short path past validate_data skips none of its
checks (what every estimator refuses: tests/test_validation_errors.py)."""

import os
import pickle
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import FAST, normal_tasks
from joblib import Parallel, delayed
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# A fit that only an interrupt ends: no budget and no patience run out first.
# (Finite, so that a signal that never arrives fails the test instead of hanging it.)
ENDLESS = dict(FAST, max_epochs=1_000, n_iter_no_change=1_000)
ALL = pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor, MMoEMultiTask])


def _targets(Est, Y):
    return Y * 1.5 + 0.25 if Est is MMoERegressor else Y


@contextmanager
def _sigint_after(seconds):
    """Send this process a real SIGINT ``seconds`` into the block, under Python's
    default handler (a user's process has it; a library an earlier test of the
    session imported may have installed another, which would swallow the signal).
    torch imports ``torch._dynamo`` lazily at a process's first optimiser; a signal
    landing inside that import would leave torch half-imported, so it is imported
    first."""
    import torch._dynamo  # noqa: F401

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)


# -- interrupts ----------------------------------------------------------------------


@ALL
def test_a_keyboard_interrupt_reaches_the_caller_and_changes_nothing(
    Est, interrupt_after
):
    X, Y = normal_tasks(MMoEClassifier)
    est = Est(**FAST).fit(X, _targets(Est, Y))
    before = est.predict(X)
    state = set(vars(est))
    interrupt_after(3)
    with pytest.raises(KeyboardInterrupt):
        est.set_params(max_epochs=50).fit(X[:, :3], _targets(Est, Y))
    assert set(vars(est)) == state
    assert est.n_features_in_ == 4
    np.testing.assert_array_equal(est.predict(X), before)


def test_an_interrupted_first_fit_leaves_an_unfitted_estimator(interrupt_after):
    X, Y = normal_tasks(MMoEClassifier)
    interrupt_after(2)
    est = MMoEClassifier(**FAST)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, Y)
    with pytest.raises(NotFittedError):
        est.predict(X)
    assert not hasattr(est, "n_features_in_")


def test_sigint_during_fit_raises_keyboard_interrupt():
    """A real SIGINT, sent while the fit runs, ends it with KeyboardInterrupt."""
    X, Y = normal_tasks(MMoEClassifier, n=400)
    est = MMoEClassifier(**ENDLESS, batch_size=8)
    with _sigint_after(0.5), pytest.raises(KeyboardInterrupt):
        est.fit(X, Y)
    assert not hasattr(est, "net_")


def test_sigint_during_grid_search_stops_the_search():
    X, Y = normal_tasks(MMoEClassifier, n=400)
    search = GridSearchCV(
        MMoEClassifier(**ENDLESS, batch_size=8),
        {"n_experts": [2, 3]},
        cv=2,
    )
    with _sigint_after(0.5), pytest.raises(KeyboardInterrupt):
        search.fit(X, Y)
    assert not hasattr(search, "cv_results_")


def test_early_stopping_still_ends_training_early():
    X, Y = normal_tasks(MMoEClassifier, n=300)
    est = MMoEClassifier(**{**FAST, "max_epochs": 500}, n_iter_no_change=2, tol=10.0)
    assert est.fit(X, Y).n_iter_ == 3


# -- a failed fit changes nothing ----------------------------------------------------


@pytest.mark.parametrize(
    "refit",
    [
        lambda est, X, Y: est.fit(X[:, :3], Y),  # another number of features
        lambda est, X, Y: est.fit(X, Y[:, 0]),  # one task on a two-task model
    ],
    ids=["features", "tasks"],
)
@ALL
def test_a_failed_warm_start_leaves_the_fitted_model_as_it_was(Est, refit):
    X, Y = normal_tasks(MMoEClassifier)
    Y = _targets(Est, Y)
    est = Est(**FAST, warm_start=True).fit(X, Y)
    before = (est.predict(X), est.n_features_in_, est.n_outputs_, est.n_iter_)
    with pytest.raises(ValueError, match="warm_start"):
        refit(est, X, Y)
    after = (est.predict(X), est.n_features_in_, est.n_outputs_, est.n_iter_)
    np.testing.assert_array_equal(after[0], before[0])
    assert after[1:] == before[1:]


def test_a_failed_refit_keeps_feature_names():
    X, Y = normal_tasks(MMoEClassifier)
    df = pd.DataFrame(X, columns=list("abcd"))
    est = MMoEClassifier(**FAST).fit(df, Y)
    with pytest.raises(ValueError):
        est.fit(df, np.full(len(df), np.nan))
    assert est.feature_names_in_.tolist() == list("abcd")
    est.predict(df)


# -- threads -------------------------------------------------------------------------


def test_fits_in_threads_equal_the_same_fits_one_after_the_other():
    X, Y = normal_tasks(MMoEClassifier, n=200)
    params = [
        {**FAST, "dropout": 0.3, "random_state": 1},
        {**FAST, "ensemble_size": 2, "dropout": 0.2, "random_state": 2},
    ]
    sequential = [MMoEClassifier(**p).fit(X, Y).predict_proba(X) for p in params]
    global_state = torch.get_rng_state()
    with ThreadPoolExecutor(2) as pool:
        for _ in range(3):
            futures = [
                pool.submit(lambda p: MMoEClassifier(**p).fit(X, Y), p) for p in params
            ]
            threaded = [f.result().predict_proba(X) for f in futures]
            for a, b in zip(threaded, sequential):
                for pa, pb in zip(a, b):
                    np.testing.assert_array_equal(pa, pb)
    assert torch.equal(torch.get_rng_state(), global_state)


def _fit_predict(params, X, Y):
    return MMoEClassifier(**params).fit(X, Y).predict_proba(X)


def test_fits_in_processes_equal_the_same_fits_in_this_one():
    X, Y = normal_tasks(MMoEClassifier, n=200)
    params = [{**FAST, "dropout": 0.3, "random_state": s} for s in (1, 2)]
    here = [_fit_predict(p, X, Y) for p in params]
    there = Parallel(n_jobs=2, backend="loky")(
        delayed(_fit_predict)(p, X, Y) for p in params
    )
    for a, b in zip(here, there):
        for pa, pb in zip(a, b):
            np.testing.assert_array_equal(pa, pb)


def test_a_fit_leaves_the_global_torch_random_state_as_it_was():
    X, Y = normal_tasks(MMoEClassifier)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MMoEClassifier(**FAST, dropout=0.5).fit(X, Y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_a_fitted_model_with_dropout_still_pickles():
    X, Y = normal_tasks(MMoEClassifier)
    est = MMoEClassifier(**FAST, dropout=0.3).fit(X, Y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X)[0], est.predict_proba(X)[0])


# -- torch's global settings ---------------------------------------------------------


def test_fit_works_with_float64_as_torchs_default_dtype():
    X, Y = normal_tasks(MMoEClassifier)
    expected = MMoEClassifier(**FAST).fit(X, Y).predict_proba(X)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        got = MMoEClassifier(**FAST).fit(X, Y).predict_proba(X)
    finally:
        torch.set_default_dtype(previous)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", [torch.inference_mode, torch.no_grad])
def test_fit_works_inside_inference_mode_and_no_grad(mode):
    X, Y = normal_tasks(MMoEClassifier)
    expected = MMoEClassifier(**FAST).fit(X, Y).predict(X)
    with mode():
        est = MMoEClassifier(**FAST).fit(X, Y)
    np.testing.assert_array_equal(est.predict(X), expected)


# -- non-finite results --------------------------------------------------------------


def test_huge_regression_targets_give_finite_predictions():
    X, Y = normal_tasks(MMoEClassifier)
    Y = X[:, :2] * 1e200
    pred = MMoERegressor(**FAST).fit(X, Y).predict(X)
    assert np.all(np.isfinite(pred))
    assert np.abs(pred).max() > 1e199


def test_sample_weights_whose_sum_overflows_still_train():
    X, Y = normal_tasks(MMoEClassifier)
    weights = np.full(len(X), 1e307)
    weights[:10] = 1e308
    est = MMoEClassifier(**FAST).fit(X, Y, sample_weight=weights)
    assert np.all(np.isfinite(est.loss_curve_)) and min(est.loss_curve_) > 0
    reference = MMoEClassifier(**FAST).fit(X, Y, sample_weight=weights / 1e308)
    np.testing.assert_allclose(est.loss_curve_, reference.loss_curve_, rtol=1e-5)


def test_inputs_that_overflow_the_network_are_refused_instead_of_nan_labels():
    X, Y = normal_tasks(MMoEClassifier)
    est = MMoEClassifier(**FAST, gate_type="attention", numeric_encoding=None)
    est.fit(X, Y)
    huge = np.random.RandomState(1).normal(size=(50, 4)) * 1e20
    for method in (est.predict, est.predict_proba):
        with pytest.raises(ValueError, match="outputs are not finite.*Scale the"):
            method(huge)


# -- the short path of a plain array -------------------------------------------------


def _validated_in_full(model, X):
    """What ``predict_proba`` returns when scikit-learn's validate_data checks ``X``
    (the path of everything _plain_rows does not take)."""
    from sklearn_mmoe._inputs import validation as _inputs

    plain = _inputs._plain_rows
    _inputs._plain_rows = lambda model, X: None
    try:
        return model.predict_proba(X)
    finally:
        _inputs._plain_rows = plain


@pytest.mark.parametrize("encoding", ["auto", None])
def test_a_plain_array_skips_nothing_that_validation_checks(encoding):
    """A few rows of a float array take a short path past validate_data (its cost is
    most of a single row's latency): the same probabilities, and every case it
    would refuse or warn about still goes through validate_data, with its errors."""
    X, Y = normal_tasks(MMoEClassifier)
    model = MMoEClassifier(**FAST, numeric_encoding=encoding).fit(X, Y)
    for rows in (X[:1], X[:7].astype(np.float32), np.asfortranarray(X[:5])):
        for got, full in zip(
            model.predict_proba(rows), _validated_in_full(model, rows)
        ):
            np.testing.assert_array_equal(got, full)
    # finite in float64 only (scikit-learn's cast to float32 warns of the overflow)
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="too large"):
        model.predict_proba(np.full((1, 4), 1e39))
    with pytest.raises(ValueError, match="infinity"):
        model.predict_proba(np.array([[np.inf, 0.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="expecting 4 features"):
        model.predict_proba(X[:1, :3])
    missing = np.array([[np.nan, 0.0, 0.0, 0.0]])
    if encoding is None:
        with pytest.raises(ValueError, match="NaN"):
            model.predict_proba(missing)
    else:
        assert np.isfinite(model.predict_proba(missing)[0]).all()
    named = MMoEClassifier(**FAST).fit(pd.DataFrame(X, columns=list("abcd")), Y)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        named.predict_proba(X[:1])
