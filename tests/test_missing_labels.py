"""missing_labels: NaN / None in y is an error by default, or masked out per task."""

from functools import partial

import numpy as np
import pytest
import torch
from _helpers import LEARNER, normal_tasks
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from sklearn_mmoe import MMoEClassifier, MMoERegressor, task_scorer
from sklearn_mmoe._training.loss import MultiTaskLoss

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# Forty epochs at a high constant rate (the default schedule decays over the budget).
CONSTANT_RATE = dict(LEARNER, max_epochs=40, learning_rate_schedule="constant")
both = pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor])


def _float_labels(X):
    """Floats, so that NaN can stand for a missing label."""
    return np.column_stack([X[:, 0] > 0, X[:, 0] + X[:, 1] > 0]).astype(float)


def _sum_and_difference(X):
    return np.column_stack([X[:, 0] + X[:, 1], X[:, 0] - X[:, 2]])


# The shared table, 400 rows: the thresholds below were set on these tasks.
_data = partial(normal_tasks, n=400, labels=_float_labels, values=_sum_and_difference)


@both
def test_missing_labels_raise_by_default_and_name_the_option(Est):
    X, Y = _data(Est)
    Y[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"task\(s\) \[1\].*missing_labels='ignore'"):
        Est(**CONSTANT_RATE).fit(X, Y)


def test_none_in_an_object_y_is_a_missing_label():
    X, Y = _data(MMoEClassifier)
    y = np.where(Y[:, 0] > 0, "yes", "no").astype(object)
    y[::4] = None
    with pytest.raises(ValueError, match="missing labels"):
        MMoEClassifier(**CONSTANT_RATE).fit(X, y)
    clf = MMoEClassifier(**CONSTANT_RATE, missing_labels="ignore").fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert set(clf.predict(X)) == {"no", "yes"}


@both
def test_a_single_task_with_missing_labels_fits_as_its_labelled_rows(Est):
    # Rows without the label are dropped; training order depends on content only, so
    # the fit is bit-for-bit the fit on the labelled rows alone.
    X, Y = _data(Est)
    y = Y[:, 0].copy()
    y[::3] = np.nan
    labelled = ~np.isnan(y)
    masked = Est(**CONSTANT_RATE, missing_labels="ignore").fit(X, y)
    subset = Est(**CONSTANT_RATE).fit(X[labelled], y[labelled])
    np.testing.assert_array_equal(masked.predict(X), subset.predict(X))


@both
def test_rows_missing_every_label_are_dropped(Est):
    X, Y = _data(Est)
    Y[::5] = np.nan
    keep = ~np.isnan(Y).all(axis=1)
    masked = Est(**CONSTANT_RATE, missing_labels="ignore").fit(X, Y)
    subset = Est(**CONSTANT_RATE).fit(X[keep], Y[keep])
    np.testing.assert_array_equal(masked.predict(X), subset.predict(X))


@both
def test_a_row_missing_one_label_still_trains_the_other_task(Est):
    X, Y = _data(Est)
    Y[: len(Y) // 2, 0] = np.nan
    partial = Est(**CONSTANT_RATE, missing_labels="ignore").fit(X, Y)
    complete_rows = Est(**CONSTANT_RATE).fit(X[len(Y) // 2 :], Y[len(Y) // 2 :])
    assert not np.array_equal(partial.predict(X), complete_rows.predict(X))


def test_a_task_labelled_on_few_rows_still_learns_next_to_a_full_one():
    X, Y = _data(MMoEClassifier, n=1500)
    X_test, Y_test = _data(MMoEClassifier, n=500, seed=1)
    rng = np.random.RandomState(0)
    Y[rng.rand(len(Y)) > 0.2, 1] = np.nan  # task 1 keeps ~20 % of its labels
    # Every row trains (no rows held out by early_stopping="auto" above 1,000 rows).
    clf = MMoEClassifier(**CONSTANT_RATE, missing_labels="ignore", early_stopping=False)
    clf.fit(X, Y)
    pred = clf.predict(X_test)
    assert accuracy_score(Y_test[:, 0], pred[:, 0]) > 0.95
    assert accuracy_score(Y_test[:, 1], pred[:, 1]) > 0.9


def test_masked_entries_get_no_gradient():
    loss = MultiTaskLoss(("classification",) * 2, [1.0, 1.0])
    out = torch.randn(6, 2, 3, requires_grad=True)
    y = torch.randint(0, 3, (6, 2))
    w = torch.ones(6, 2)
    w[[1, 4], 0] = 0.0
    loss.objective(loss.task_means(loss(out, y), w)).backward()
    assert torch.all(out.grad[[1, 4], 0] == 0)
    assert torch.all(out.grad[[0, 2, 3, 5], 0].abs().sum(-1) > 0)
    assert torch.all(out.grad[:, 1].abs().sum(-1) > 0)


def test_classes_come_from_the_labels_present():
    X, Y = _data(MMoEClassifier)
    y = np.where(Y[:, 0] > 0, "pos", "neg").astype(object)
    y[:3] = None
    y[3] = np.nan
    clf = MMoEClassifier(**CONSTANT_RATE, missing_labels="ignore").fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["neg", "pos"])


@both
def test_a_task_without_any_label_is_an_error(Est):
    X, Y = _data(Est)
    Y[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"Task\(s\) \[1\] have no label"):
        Est(**CONSTANT_RATE, missing_labels="ignore").fit(X, Y)
    Y[:, 0] = np.nan
    with pytest.raises(ValueError, match="No sample has a label"):
        Est(**CONSTANT_RATE, missing_labels="ignore").fit(X, Y)


@both
def test_early_stopping_scores_each_task_on_its_labelled_rows(Est):
    X, Y = _data(Est)
    Y[::2, 1] = np.nan
    est = Est(**CONSTANT_RATE, missing_labels="ignore", early_stopping=True).fit(X, Y)
    assert np.isfinite(est.task_validation_curves_).all()
    assert np.isfinite(est.validation_scores_).all()


def test_score_leaves_out_missing_labels():
    X, Y = _data(MMoEClassifier)
    clf = MMoEClassifier(**CONSTANT_RATE, missing_labels="ignore").fit(X, Y)
    Y_test = Y.copy()
    Y_test[:100, 0] = np.nan
    pred = clf.predict(X)
    expected = np.mean(
        [accuracy_score(Y[100:, 0], pred[100:, 0]), accuracy_score(Y[:, 1], pred[:, 1])]
    )
    assert clf.score(X, Y_test) == pytest.approx(expected)
    with pytest.raises(ValueError, match="missing_labels='ignore'"):
        MMoEClassifier(**CONSTANT_RATE).fit(X, Y).score(X, Y_test)


def test_regressor_score_is_the_mean_r2_over_labelled_rows():
    X, Y = _data(MMoERegressor)
    reg = MMoERegressor(**CONSTANT_RATE, missing_labels="ignore").fit(X, Y)
    Y_test = Y.copy()
    Y_test[::2, 1] = np.nan
    pred = reg.predict(X)
    expected = np.mean(
        [r2_score(Y[:, 0], pred[:, 0]), r2_score(Y[1::2, 1], pred[1::2, 1])]
    )
    assert reg.score(X, Y_test) == pytest.approx(expected)
    # without missing entries it is scikit-learn's R^2 averaged over tasks
    assert reg.score(X, Y) == pytest.approx(r2_score(Y, pred))


def test_task_scorer_leaves_out_rows_missing_that_task():
    X, Y = _data(MMoEClassifier)
    clf = MMoEClassifier(**CONSTANT_RATE, missing_labels="ignore").fit(X, Y)
    Y_test = Y.copy()
    Y_test[:50, 1] = np.nan
    scorer = task_scorer(roc_auc_score, 1, response_method="predict_proba")
    expected = roc_auc_score(Y[50:, 1], clf.predict_proba(X)[1][50:, 1])
    assert scorer(clf, X, Y_test) == pytest.approx(expected)


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_the_loss_of_ensemble_members_is_the_mean_of_their_own_losses(kind):
    loss = MultiTaskLoss((kind,) * 2, [1.0, 1.0])
    out = torch.randn(6, 3, 2, 4 if kind == "classification" else 1)
    y = torch.randint(0, 4, (6, 2))
    y = y if kind == "classification" else y.float()
    members = torch.stack([loss(out[:, k], y) for k in range(3)], 1)
    torch.testing.assert_close(loss(out, y), members.mean(1))
