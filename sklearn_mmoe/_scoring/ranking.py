"""What recommender teams read: a score per user, averaged over users.

A recommender ranks each user's items; a global AUC also rewards telling active users
from quiet ones, which no ranking of one user's items needs. The metrics here score
every group (a user) on its own rows and average over the groups that can be scored:
the per-group AUC (gAUC, weighted by the group's rows, as Zhou et al., KDD 2018, "Deep
Interest Network", and the industry report it) and NDCG@k (Järvelin & Kekäläinen,
2002; each group's mean over its rows by :func:`sklearn.metrics.ndcg_score`, the groups
weighted equally).
"""

import numpy as np
import pandas as pd
from sklearn.metrics import ndcg_score, roc_auc_score


def grouped_auc(y_true, y_score, *, groups, sample_weight=None):
    """The ROC AUC of each group's rows, averaged over the groups, weighted by rows.

    A group whose rows are all of one class has no AUC and is left out (as a user
    who liked every film he rated); a ValueError when no group is left.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels.
    y_score : array-like of shape (n_samples,)
        Scores, e.g. the probability of the positive class.
    groups : array-like of shape (n_samples,)
        The group (the user) of each row.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows, within a group's AUC and in the group's weight.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from sklearn_mmoe._scoring.ranking import grouped_auc
    >>> grouped_auc([0, 1, 0, 1, 1], [0.1, 0.9, 0.8, 0.2, 0.5], groups=[1, 1, 2, 2, 2])
    0.4
    """
    y_true, y_score, groups, weight = _rows(y_true, y_score, groups, sample_weight)
    y_true = np.asarray(y_true).ravel()  # labels of any type, the greater positive
    scores, weights = [], []
    for rows in _group_rows(groups):
        if np.unique(y_true[rows]).size < 2:
            continue
        scores.append(
            roc_auc_score(y_true[rows], y_score[rows], sample_weight=weight[rows])
        )
        weights.append(weight[rows].sum())
    if not scores:
        raise ValueError(
            "no group has both classes: the per-group AUC is not defined (each "
            "group's rows are all positive or all negative)."
        )
    return float(np.average(scores, weights=weights))


def grouped_ndcg(y_true, y_score, *, groups, k=10, sample_weight=None):
    """NDCG@k of each group's items ranked by ``y_score``, averaged over the groups.

    ``y_true`` is each item's relevance (a rating, or 0/1): non-negative. A group of
    one row, or whose items are all of relevance 0, ranks nothing and is left out; a
    ValueError when no group is left.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Relevance of each row, non-negative.
    y_score : array-like of shape (n_samples,)
        Scores that rank each group's rows.
    groups : array-like of shape (n_samples,)
        The group (the user) of each row.
    k : int, default=10
        Only the ``k`` highest-scored rows of a group count.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the groups, each group's the mean of its rows'.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from sklearn_mmoe._scoring.ranking import grouped_ndcg
    >>> round(grouped_ndcg([5, 3, 1, 4, 2], [0.9, 0.5, 0.1, 0.2, 0.8],
    ...                    groups=[1, 1, 1, 2, 2], k=2), 4)
    0.9299
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int >= 1; got {k!r}.")
    y_true, y_score, groups, weight = _rows(y_true, y_score, groups, sample_weight)
    y_true = np.asarray(y_true, dtype=float)
    if np.any(y_true < 0):
        raise ValueError("NDCG needs relevances >= 0; y_true has negative values.")
    scores, weights = [], []
    for rows in _group_rows(groups):
        if rows.size < 2 or not np.any(y_true[rows] > 0):
            continue
        scores.append(ndcg_score(y_true[rows][None], y_score[rows][None], k=k))
        weights.append(weight[rows].mean())
    if not scores:
        raise ValueError(
            "no group has two rows and a relevant one: NDCG per group is not "
            "defined here."
        )
    return float(np.average(scores, weights=weights))


def _rows(y_true, y_score, groups, sample_weight):
    """The arrays, checked to be of one length; scores and weights as floats."""
    if groups is None:
        raise ValueError(
            "this metric scores each group on its own: pass groups= (e.g. the user "
            "of each row; in GridSearchCV, fit(X, y, groups=users) with "
            "sklearn.set_config(enable_metadata_routing=True))."
        )
    y_true = np.asarray(y_true).ravel()
    y_score = np.asarray(y_score, dtype=float).ravel()
    groups = np.asarray(groups).ravel()
    weight = (
        np.ones(len(y_true))
        if sample_weight is None
        else np.asarray(sample_weight, dtype=float).ravel()
    )
    if not len(y_true) == len(y_score) == len(groups) == len(weight):
        raise ValueError(
            f"y_true, y_score, groups and sample_weight must have one length; got "
            f"{len(y_true)}, {len(y_score)}, {len(groups)} and {len(weight)}."
        )
    if pd.isna(groups).any():
        raise ValueError("groups has missing values: every row needs its group.")
    return y_true, y_score, groups, weight


def _group_rows(groups):
    """The row indices of each group."""
    _, codes = np.unique(groups.astype(str), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, bounds)
