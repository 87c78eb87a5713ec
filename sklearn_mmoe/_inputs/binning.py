"""Each numeric column's tree bins, grown on a histogram of the column.

The piecewise-linear encoding places a column's bins at the thresholds of a tree
with at most ``n_bins`` leaves fitted on that column alone to the targets (squared
error; classes as one-hot indicators, for which it is the Gini impurity). A tree
that sorts every column costs seconds on a wide table; this one is grown as
:class:`~sklearn.ensemble.HistGradientBoostingRegressor` grows its trees:

1. each column's candidate thresholds, at most ``_MAX_CANDIDATES``: the midpoints
   between its distinct values where it has few (the exact tree's own thresholds),
   else the midpoints between quantiles, on at most ``_CANDIDATE_ROWS`` rows, all
   columns sorted in one pass;
2. each row's code, the number of the column's candidates below its value, and a
   histogram per column of the weighted target sums per code;
3. the tree, grown best first from the histogram's running sums: a leaf is a run of
   codes, its best split the one of largest weighted squared-error decrease.

Where a column has at most ``_MAX_CANDIDATES + 1`` distinct values, this is the exact
tree of :class:`~sklearn.tree.DecisionTreeRegressor` with ``max_leaf_nodes``; where
it has more, its splits are among the quantiles', as boosting's are.
"""

import heapq

import numpy as np

from .._utils.parallel import threaded_map

# Candidate thresholds per column (HistGradientBoosting's 255 bins, less one).
_MAX_CANDIDATES = 254
# Rows the tree is grown on, and rows the candidates are placed on, at most (fixed
# subsamples beyond): enough for a tree of a few dozen leaves on one column.
_TREE_ROWS = 50_000
_CANDIDATE_ROWS = 20_000
# Columns copied and sorted at once (a copy of n rows x this many columns at most).
_BLOCK_COLUMNS = 16
# A split decreasing the squared error by less than this fraction of the total
# weight (the root's squared error, the targets being standardised to a total
# variance of one) is rounding in a pure leaf, not signal.
_MIN_DECREASE = 1e-9


def tree_thresholds(X, targets, n_bins, weight=None):
    """For each column of ``X`` (n, F), the thresholds of a tree of at most
    ``n_bins`` leaves fitted on that column alone to ``targets`` (n, O), weighted by
    ``weight`` (one per row, one per value (n, F), or None: all 1); a value of weight
    0 places no threshold. None for ``targets``, or ``n_bins`` 1: no thresholds.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe._inputs.binning import tree_thresholds
    >>> x = np.arange(10.0)[:, None]
    >>> tree_thresholds(x, (x >= 6).astype(float), n_bins=4)
    [array([5.5])]
    """
    n, n_columns = X.shape
    if targets is None or n_bins == 1 or n == 0:
        return [np.empty(0) for _ in range(n_columns)]
    if weight is None:
        weight = np.ones(n)
    per_value = weight.ndim == 2
    candidates = _candidates(X, weight if per_value else None)
    rows = subsample(n, _TREE_ROWS)
    targets, weight = targets[rows], weight[rows]

    def column(j):  # its rows gathered here: no copy of the whole table
        w = weight[:, j] if per_value else weight
        values = np.asarray(X[rows, j], dtype=np.float64)
        codes = np.searchsorted(candidates[j], values, side="left")
        sums, totals = _histogram(codes, w, targets, len(candidates[j]) + 1)
        return candidates[j][np.sort(_grow(sums, totals, n_bins))]

    # NumPy's searches and sums run outside the GIL: the columns go in parallel.
    return threaded_map(column, range(n_columns))


def _candidates(X, weight=None):
    """Each column's candidate thresholds, increasing: midpoints between its
    distinct values where at most ``_MAX_CANDIDATES + 1``, else between its
    quantiles (values of weight 0 left out)."""
    rows = subsample(len(X), _CANDIDATE_ROWS)
    levels = np.linspace(0, 1, _MAX_CANDIDATES + 2)
    out = []
    for block in column_blocks(np.arange(X.shape[1])):  # each sorted in one pass
        sample = np.array(X[np.ix_(rows, block)], dtype=np.float64)
        if weight is not None:
            sample[weight[np.ix_(rows, block)] == 0] = np.nan  # last; no candidate
        ordered = np.sort(sample, axis=0)
        for values, m in zip(ordered.T, np.sum(~np.isnan(ordered), axis=0)):
            values = values[:m]
            distinct = values[np.r_[True, values[1:] != values[:-1]]] if m else values
            if len(distinct) > _MAX_CANDIDATES + 1:
                at = np.round(levels * (m - 1)).astype(np.int64)
                distinct = np.unique(values[at])
            out.append(0.5 * (distinct[:-1] + distinct[1:]))
    return out


def subsample(n, size, seed=0):
    """Positions of at most ``size`` of ``n`` rows, in order: all of them, or a fixed
    sample (the same for the same ``seed``)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def column_blocks(columns):
    """``columns`` split into runs of at most ``_BLOCK_COLUMNS``, so that work that
    copies a block of columns at a time copies a few columns, not the table."""
    return np.array_split(columns, max(1, -(-len(columns) // _BLOCK_COLUMNS)))


def _histogram(codes, weight, targets, n_codes):
    """Per code, the weighted sum of the targets ``(n_codes, O)`` and of the
    weights ``(n_codes,)``."""
    totals = np.bincount(codes, weights=weight, minlength=n_codes)
    sums = np.empty((n_codes, targets.shape[1]))
    for k, column in enumerate(targets.T):
        sums[:, k] = np.bincount(codes, weights=weight * column, minlength=n_codes)
    return sums, totals


def _grow(sums, totals, n_leaves):
    """The candidates a best-first tree of at most ``n_leaves`` leaves splits at,
    grown on the histogram ``sums``/``totals`` (a leaf: a run of codes)."""
    running = np.vstack([np.zeros((1, sums.shape[1])), np.cumsum(sums, axis=0)])
    weights = np.r_[0.0, np.cumsum(totals)]
    least = _MIN_DECREASE * weights[-1]
    heap, splits, order = [], [], 0

    def push(low, high):  # the leaf of codes low .. high - 1
        nonlocal order
        found = _best_split(running, weights, low, high)
        if found is not None and found[0] > least:
            heapq.heappush(heap, (-found[0], order, low, high, found[1]))
            order += 1

    push(0, len(totals))
    while heap and len(splits) + 1 < n_leaves:
        _, _, low, high, cut = heapq.heappop(heap)
        splits.append(cut - 1)  # codes below ``cut`` go left: candidate cut - 1
        push(low, cut)
        push(cut, high)
    return np.asarray(splits, dtype=np.int64)


def _score(sums, total):
    """The squared-error term a leaf of these sums saves: |sums|^2 / total."""
    return float(sums @ sums) / total if total > 0 else 0.0


def _best_split(running, weights, low, high):
    """The largest decrease of the squared error splitting codes low .. high - 1
    into low .. cut - 1 and cut .. high - 1, and that ``cut``; None where no split
    leaves weight on both sides."""
    cuts = np.arange(low + 1, high)
    left_w = weights[cuts] - weights[low]
    right_w = weights[high] - weights[cuts]
    valid = (left_w > 0) & (right_w > 0)
    if not valid.any():
        return None
    cuts, left_w, right_w = cuts[valid], left_w[valid], right_w[valid]
    left = running[cuts] - running[low]
    right = running[high] - running[cuts]
    gain = (
        np.einsum("ij,ij->i", left, left) / left_w
        + np.einsum("ij,ij->i", right, right) / right_w
        - _score(running[high] - running[low], weights[high] - weights[low])
    )
    best = int(np.argmax(gain))
    return float(gain[best]), int(cuts[best])
