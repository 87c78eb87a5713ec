"""refit: once early stopping has chosen the epochs on held-out rows, the network
trains again on every row for that many epochs."""

import numpy as np
import pytest
from _helpers import MIXED_KINDS, STOPPING, mixed_frame, two_regression_tasks
from numpy.testing import assert_array_equal

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor, load, save

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# the selection fit keeps its best epoch of 20
SELECTED = dict(**STOPPING, max_epochs=20, n_iter_no_change=4)
_regression = two_regression_tasks


def test_refit_is_off_by_default():
    X, Y = _regression()
    model = MMoERegressor(**SELECTED, early_stopping=True).fit(X, Y)
    assert model.refit is False
    assert "valid_loss" in model.net_.history[-1]  # early stopping's own fit kept


def test_refit_trains_every_row_for_the_epochs_early_stopping_chose():
    X, Y = _regression()
    model = MMoERegressor(**SELECTED, early_stopping=True, refit=True).fit(X, Y)
    scores = model.validation_scores_
    best = int(np.argmax(scores)) + 1  # the epoch whose weights the selection kept
    assert len(model.net_.history) == best  # the refit's epochs
    # the training record is the selection fit's: how the epochs were chosen
    assert model.n_iter_ == len(scores) == len(model.loss_curve_)
    assert model.task_loss_curves_.shape == (model.n_iter_, 2)
    # every row trained: no validation loss in the kept net's epochs
    assert "valid_loss" not in model.net_.history[-1]
    plain = MMoERegressor(**SELECTED, early_stopping=True, refit=False).fit(X, Y)
    assert plain.validation_scores_ == scores  # the same selection fit
    assert not np.array_equal(model.predict(X), plain.predict(X))


def test_refit_trains_at_the_learning_rates_of_the_selection_fits_epochs():
    X, Y = _regression()
    model = MMoERegressor(**SELECTED, early_stopping=True, refit=True).fit(X, Y)
    steps_per_epoch = -(-len(X) // SELECTED["batch_size"])  # every row, in batches
    rates = dict(model.net_.callbacks_)["schedule"]
    assert rates.schedule_.total_steps == steps_per_epoch * SELECTED["max_epochs"]
    assert rates.n_steps_ == steps_per_epoch * len(model.net_.history)


def test_refit_keeps_the_shrinkage_chosen_on_the_held_out_rows():
    X, Y = _regression()
    plain = MMoERegressor(**SELECTED, early_stopping=True, refit=False).fit(X, Y)
    model = MMoERegressor(**SELECTED, early_stopping=True, refit=True).fit(X, Y)
    for a, b in zip(plain._tasks, model._tasks):
        assert a.shrink == b.shrink


def test_refit_is_reproducible_with_a_seed():
    X, Y = _regression()
    a = MMoERegressor(**SELECTED, early_stopping=True, refit=True).fit(X, Y)
    b = MMoERegressor(**SELECTED, early_stopping=True, refit=True).fit(X, Y)
    assert_array_equal(a.predict(X), b.predict(X))


def test_refit_changes_nothing_without_early_stopping():
    X, Y = _regression()
    params = dict(**SELECTED, early_stopping=False)
    plain = MMoERegressor(**params, refit=False).fit(X, Y)
    model = MMoERegressor(**params, refit=True).fit(X, Y)
    assert_array_equal(model.predict(X), plain.predict(X))
    assert model.n_iter_ == plain.n_iter_


@pytest.mark.parametrize(("n_rows", "refits"), [(300, True), (6_000, False)])
def test_refit_auto_refits_below_5000_rows(n_rows, refits):
    X, Y = _regression(n_rows)
    params = {**SELECTED, "batch_size": 256, "max_epochs": 6}
    model = MMoERegressor(**params, early_stopping=True, refit="auto").fit(X, Y)
    # a refit's net trained every row: its epochs have no validation loss
    assert ("valid_loss" not in model.net_.history[-1]) is refits


def test_partial_fit_makes_one_pass_whatever_refit_says():
    X, Y = _regression()
    a = MMoERegressor(**SELECTED, refit=True).partial_fit(X, Y)
    b = MMoERegressor(**SELECTED, refit=False).partial_fit(X, Y)
    assert_array_equal(a.predict(X), b.predict(X))
    assert a.n_iter_ == b.n_iter_ == 1


def test_refit_model_saves_and_loads(tmp_path):
    X, y = _regression()[0], (_regression()[1][:, 0] > 0).astype(int)
    model = MMoEClassifier(**SELECTED, early_stopping=True, refit=True).fit(X, y)
    path = tmp_path / "refit.mmoe"
    save(model, path)
    loaded = load(path)
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.n_iter_ == model.n_iter_
    assert loaded.validation_scores_ == model.validation_scores_


def test_refit_trains_mixed_tasks_with_missing_labels_and_weights():
    X, Y = mixed_frame(n=300)
    Y = Y.copy()
    Y.iloc[::7, 1] = np.nan
    weight = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    model = MMoEMultiTask(
        **SELECTED,
        early_stopping=True,
        refit=True,
        task_types=MIXED_KINDS,
        missing_labels="ignore",
    ).fit(X, Y, sample_weight=weight)
    assert "valid_loss" not in model.net_.history[-1]  # every row trained
    assert np.isfinite(model.predict(X)[:, 1].astype(float)).all()


def test_warm_start_refit_continues_from_the_previous_weights():
    X, Y = _regression()
    model = MMoERegressor(**SELECTED, early_stopping=True, refit=True, warm_start=True)
    model.fit(X, Y)
    first = model.n_iter_
    before = model.predict(X)
    model.fit(X, Y)
    assert model.n_iter_ > first  # the selection fit's curves continue
    assert not np.array_equal(model.predict(X), before)


def test_verbose_says_the_refit_trained_again_on_every_row(capsys):
    X, Y = _regression()
    MMoERegressor(**SELECTED, early_stopping=True, refit=True, verbose=2).fit(X, Y)
    out = capsys.readouterr().out
    assert "the best validation loss" in out  # the selection fit's summary
    assert f"trained again on all {len(X)} rows for the" in out
