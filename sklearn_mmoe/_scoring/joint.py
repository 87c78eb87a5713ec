"""Does training the tasks together help? One model for all tasks against one per task,
cross-validated on the user's own data."""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import check_cv

from .._tasks.inference import natural_dtype
from .._training.progress import FitCount
from .._utils.pipeline import final_estimator

_METRICS = {"binary": "roc_auc", "multiclass": "accuracy", "quantity": "r2"}


def compare_joint_training(estimator, X, y, *, cv=5, verbose=0):
    """Score each task trained with the others in one model and trained alone.

    Multi-task training shares what related tasks have in common, and can hurt a task
    that has little in common with the others. This cross-validates both on ``X, y``:
    on every fold, one clone of ``estimator`` is fitted to all tasks, and one clone
    per task to that task alone (its rows with a label), and each task is scored on
    the held-out rows by ROC AUC (binary), accuracy (multiclass) or :math:`R^2`
    (regression and count tasks). It costs ``n_tasks + 1`` fits per fold.

    Parameters
    ----------
    estimator : MMoEClassifier, MMoERegressor, MMoEMultiTask or Pipeline
        The model to compare, unfitted (it is cloned); a Pipeline ending in one of
        the three. An :class:`MMoEMultiTask` with named ``task_types`` gives each
        task's single model that task's kind.
    X : {array-like, DataFrame} of shape (n_samples, n_features)
        Input samples.
    y : array-like or DataFrame of shape (n_samples, n_tasks)
        At least two tasks, one per column (missing labels, with the estimator's
        ``missing_labels="ignore"``, are left out of each task's fit and score).
    cv : int or cross-validation splitter, default=5
        As in :func:`~sklearn.model_selection.cross_validate` (a splitter, or a list
        of ``(train, test)`` index pairs): an int is that many unshuffled folds
        (:class:`~sklearn.model_selection.KFold`); pass
        ``KFold(5, shuffle=True, random_state=0)`` to shuffle.
    verbose : int, default=0
        0: silent. 1: say what the comparison costs (how many fits) before the first
        one, then show its progress: a bar over the fits in a terminal or a
        notebook (with the time left), or a line per fold in a log. The fits
        themselves stay silent (their own ``verbose`` is the estimator's).

    Returns
    -------
    report : pandas.DataFrame
        One row per task (indexed by task name: ``y``'s column names, else
        ``task0``, ``task1``, ...) with the columns ``metric``, ``joint`` and
        ``separate`` (mean score over the folds), ``difference`` (joint minus
        separate), ``standard_error`` (of the folds' paired differences) and
        ``verdict``: ``"joint helps"`` or ``"joint hurts"`` when the difference is
        more than twice its standard error, else ``"level"``.

    Examples
    --------
    >>> from sklearn.model_selection import KFold
    >>> from sklearn_mmoe import MMoERegressor, compare_joint_training
    >>> from sklearn_mmoe.datasets import make_multitask_regression
    >>> X, Y = make_multitask_regression(
    ...     n_samples=300, n_features=8, correlation=0.9, random_state=0
    ... )
    >>> report = compare_joint_training(
    ...     MMoERegressor(max_epochs=10, random_state=0), X, Y,
    ...     cv=KFold(3, shuffle=True, random_state=0),
    ... )
    >>> report.columns.tolist()
    ['metric', 'joint', 'separate', 'difference', 'standard_error', 'verdict']
    >>> report.index.tolist()
    ['task0', 'task1']
    """
    if isinstance(verbose, bool) or not isinstance(verbose, Integral) or verbose < 0:
        raise ValueError(f"verbose must be an int >= 0; got {verbose!r}.")
    final = final_estimator(estimator)
    if not hasattr(final, "_declared_task_types"):
        raise TypeError(
            "estimator must be an MMoEClassifier, MMoERegressor or MMoEMultiTask, or "
            f"a Pipeline ending in one; got {type(final).__name__}."
        )
    if isinstance(y, pd.DataFrame):
        Y, names = y, [str(c) for c in y.columns]
    else:
        array = np.asarray(y)
        if array.ndim != 2:
            array = array.reshape(len(array), -1) if array.ndim == 1 else array
        names = [f"task{t}" for t in range(array.shape[1])]
        Y = pd.DataFrame(array, columns=names)
    if Y.shape[1] < 2:
        raise ValueError(
            "y must have two tasks or more (one per column) to compare training them "
            f"together with training them alone; got {Y.shape[1]}."
        )
    if len(Y) != len(X):
        raise ValueError(
            f"X and y have different numbers of rows: {len(X)} and {len(Y)}."
        )
    folds = list(check_cv(cv).split(np.zeros((len(Y), 1))))
    n_tasks = Y.shape[1]
    news = FitCount(
        verbose,
        len(folds) * (n_tasks + 1),
        f"{len(folds)} folds x (one model for all {n_tasks} tasks, and one per task)",
        n_tasks + 1,
    )
    rows = []  # per fold: [(joint, separate, metric) per task]
    try:
        for train, test in folds:
            rows.append(_fold(estimator, final, X, Y, train, test, news))
    finally:
        news.close()
    return _summary(rows, names)


def _summary(rows, names):
    """The per-task table of the folds' scores ``rows`` (per fold, per task: joint,
    separate, metric): the means, their difference, its standard error over the
    folds and the verdict (a difference beyond two standard errors)."""
    joint = np.array([[s[0] for s in fold] for fold in rows])
    separate = np.array([[s[1] for s in fold] for fold in rows])
    difference = joint - separate
    n = len(rows)
    error = (
        difference.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(len(names))
    )
    mean = difference.mean(axis=0)
    verdict = np.where(
        mean > 2 * error,
        "joint helps",
        np.where(mean < -2 * error, "joint hurts", "level"),
    )
    return pd.DataFrame(
        {
            "metric": [s[2] for s in rows[0]],
            "joint": joint.mean(axis=0),
            "separate": separate.mean(axis=0),
            "difference": mean,
            "standard_error": error,
            "verdict": verdict,
        },
        index=pd.Index(names, name="task"),
    )


def _fold(estimator, final, X, Y, train, test, news):
    """One fold: every task's (joint score, separate score, metric name)."""
    X_train, X_test = _take(X, train), _take(X, test)
    joint = clone(estimator).fit(X_train, _rows_for(Y.iloc[train], final))
    news.fitted()
    scores = []
    for t in range(Y.shape[1]):
        label = Y.iloc[train, t]
        known = label.notna().to_numpy()
        alone = _single_task(estimator, final, t).fit(
            _take(X_train, np.flatnonzero(known)),
            _rows_for(label[known].to_frame(), final),
        )
        news.fitted()
        truth = Y.iloc[test, t]
        seen = truth.notna().to_numpy()
        X_seen = _take(X_test, np.flatnonzero(seen))
        truth = natural_dtype(truth[seen].to_numpy(dtype=object), "")
        both, metric = [], None
        for model, task in ((joint, t), (alone, 0)):
            score, metric = _task_score(model, task, X_seen, truth)
            both.append(score)
        scores.append((*both, metric))
    return scores


def _take(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else np.asarray(X)[index]


def _rows_for(Y, final):
    """The training targets as the estimator takes them: a DataFrame for
    MMoEMultiTask (its columns' dtypes and names), an array for the others."""
    return Y if hasattr(final, "task_types") else Y.to_numpy()


def _single_task(estimator, final, t):
    """A clone of ``estimator`` for task ``t`` alone (its named kind kept)."""
    single = clone(estimator)
    types = getattr(final, "task_types", "auto")
    if not isinstance(types, str):
        prefix = f"{estimator.steps[-1][0]}__" if hasattr(estimator, "steps") else ""
        single.set_params(**{f"{prefix}task_types": [list(types)[t]]})
    return single


def _task_score(model, task, X, truth):
    """Task ``task``'s score on the rows ``X`` of known labels ``truth``, and the
    metric's name."""
    kind = final_estimator(model)._tasks[task].kind
    if kind != "classification":
        pred = np.asarray(model.predict(X))
        pred = pred[:, task] if pred.ndim == 2 else pred
        return float(r2_score(truth.astype(float), pred.astype(float))), "r2"
    proba = model.predict_proba(X)
    proba = proba[task] if isinstance(proba, list) else proba
    classes = final_estimator(model)._tasks[task].classes
    if len(classes) == 2:
        positive = np.asarray(truth == classes[1], dtype=bool)
        if positive.all() or not positive.any():  # one class in the fold: no AUC
            return float("nan"), _METRICS["binary"]
        return float(roc_auc_score(positive, proba[:, 1])), _METRICS["binary"]
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    return float(accuracy_score(truth, pred)), _METRICS["multiclass"]
