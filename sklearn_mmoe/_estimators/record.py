"""A fit's training record as fitted attributes: the loss curves, the validation
scores and a cross-fitted ensemble's members (``MLPClassifier``'s names where it has
them: ``loss_curve_``, ``validation_scores_``, ``best_validation_score_``,
``n_iter_``)."""

import numpy as np

# What a fit that held no rows out leaves of a previous fit's record: nothing.
_VALIDATION = (
    "validation_scores_",
    "best_validation_score_",
    "task_validation_curves_",
)
_MEMBERS = ("cv_n_iter_", "cv_validation_scores_")


def record_history(estimator, history, warm, validated):
    """Set ``estimator``'s training record from the skorch ``history`` of its fit's
    epochs; ``warm``: the fit continued the previous one (a warm start), whose
    record it extends; ``validated``: the epochs hold validation losses."""
    train = [float(v) for v in history[:, "train_loss"]]
    task = np.array(history[:, "train_task_losses"], dtype=np.float64)
    valid = valid_task = None
    if validated:
        valid = [-float(v) for v in history[:, "valid_loss"]]
        valid_task = np.array(history[:, "valid_task_losses"], dtype=np.float64)
    if warm and hasattr(estimator, "loss_curve_"):
        train = estimator.loss_curve_ + train
        task = np.concatenate([estimator.task_loss_curves_, task])
        if valid is not None:
            valid = getattr(estimator, "validation_scores_", []) + valid
            previous = getattr(estimator, "task_validation_curves_", None)
            if previous is not None:
                valid_task = np.concatenate([previous, valid_task])
    estimator.loss_curve_ = train
    estimator.task_loss_curves_ = task
    estimator.n_iter_ = len(train)
    if valid is None:
        _forget(estimator, _VALIDATION)
        return
    estimator.validation_scores_ = valid
    estimator.best_validation_score_ = max(valid)
    estimator.task_validation_curves_ = valid_task


def record_members(estimator, members):
    """Set a cross-fitted ensemble's record, each member's epochs and best
    validation score (``members``), or for a single network (None) leave no stale
    record of one."""
    if members is None:
        _forget(estimator, _MEMBERS)
        return
    estimator.cv_n_iter_, estimator.cv_validation_scores_ = members


def _forget(estimator, names):
    for name in names:
        if hasattr(estimator, name):
            delattr(estimator, name)
