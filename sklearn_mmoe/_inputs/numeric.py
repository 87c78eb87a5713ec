"""The numeric columns' encoding, learned in ``fit`` and applied by the network.

A network reads raw numbers badly: a column in the thousands swamps one in [0, 1], and
one outlier stretches a standardised column until the rest sits at zero. The
estimators therefore encode numeric columns themselves, with statistics of the
training rows (weighted by their sample weights, so that an integer weight is the same
as repeating a row) that the network holds as fixed buffers and applies to every batch,
at fit and at predict time alike:

- ``"robust"`` (RealMLP's, Holzmueller et al., 2024): subtract the median, divide by
  the interquartile range (half the range where that is zero, as for a mostly-zero
  column; a constant column becomes 0), then clip smoothly to about +-3 with
  ``x / sqrt(1 + (x / 3) ** 2)``, so that heavy tails and outliers stay bounded while
  the bulk keeps its shape;
- ``"standard"``: subtract the mean, divide by the standard deviation;
- ``"piecewise"``: piecewise-linear encoding over bins placed by a tree on the
  targets (see :class:`sklearn_mmoe.preprocessing.PiecewiseLinearEncoder`).

Statistics are computed on at most ``_MAX_ROWS`` training rows (a fixed subsample
beyond that), which estimates quantiles to well within their sampling noise.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_consistent_length
from sklearn.utils.multiclass import type_of_target

from .._distributed.group import current
from .._tasks.registry import TASKS
from .._utils import checks as _checks
from .._utils.warn import warn
from .binning import column_blocks, subsample, tree_thresholds
from .rows import missing_mask

NUMERIC_ENCODINGS = ("auto", "robust", "standard", "piecewise")
# Rows the statistics are computed on, at most.
_MAX_ROWS = 100_000
# numeric_encoding="auto" bins the numeric columns when the training rows number at
# least this many per numeric column (piecewise-linear encoding multiplies a column's
# inputs by up to n_bins, which fewer rows overfit), and scales them robustly otherwise.
_AUTO_ROWS_PER_COLUMN = 100
# ... and when the code is at most this many inputs wide (the bins of all columns):
# its epoch costs more the wider it is (benchmarks/numeric_cost.py width), and on the
# suite (benchmarks/records/numeric_rule.json) the code paid for its seconds on every
# case up to this width and lost beyond it (the per-case table: the documentation's
# "What the estimator does without being asked").
_AUTO_CODE_WIDTH = 512


def weighted_quantiles(values, weight, quantiles):
    """The weighted ``quantiles`` of every column of ``values``: (len(quantiles), F).

    The inverted empirical distribution function: the smallest value whose cumulative
    weight reaches the quantile, so that a weight of ``k`` is the same as ``k`` copies.
    ``weight`` is one weight per row, or one per value (n, F): a value of weight 0,
    such as a missing one (NaN, sorted last), never answers; a column of no weight
    gives NaN. The columns whose values all weigh the same are answered together by a
    partial sort; the others column by column, so that the sort's copies take one
    column's memory.
    """
    n = len(values)
    out = np.empty((len(quantiles), values.shape[1]))
    if weight.ndim == 1:
        even = np.full(values.shape[1], n > 0 and np.all(weight == weight[0]))
    else:
        even = np.all(weight == weight[:1], axis=0) if n else np.zeros(0, bool)
    even &= (weight[0] > 0) if n else False
    if even.any():  # the same positions as the cumulative weights' (i + 1) / n
        position = np.searchsorted(np.arange(1, n + 1) / n, quantiles, side="left")
        position = np.minimum(position, n - 1)
        at = np.unique(position)
        for block in column_blocks(np.flatnonzero(even)):  # a small copy each
            out[:, block] = np.partition(values[:, block], at, axis=0)[position]
    for j in np.flatnonzero(~even):
        order = np.argsort(values[:, j], kind="stable")
        w = weight if weight.ndim == 1 else weight[:, j]
        cumulative = np.cumsum(w[order])
        with np.errstate(invalid="ignore"):  # a column of no weight: NaN
            cumulative /= cumulative[-1]
        position = np.searchsorted(cumulative, quantiles, side="left")
        out[:, j] = values[order[np.minimum(position, len(values) - 1)], j]
    return out


def numeric_plan(encoding, n_rows, n_numeric):
    """``numeric_encoding`` with ``"auto"`` resolved for ``n_rows`` training rows and
    ``n_numeric`` numeric columns, as :func:`fit_numeric` takes it: the encoding and
    the widest piecewise code it takes (None: any), beyond which it scales robustly.

    ``"auto"`` bins the columns (piecewise) unless that overfits (fewer than
    ``_AUTO_ROWS_PER_COLUMN`` rows per column) or its code is too wide (more than
    ``_AUTO_CODE_WIDTH`` inputs), and scales them robustly otherwise.

    Examples
    --------
    >>> from sklearn_mmoe._inputs.numeric import numeric_plan
    >>> numeric_plan("auto", 60_000, 6), numeric_plan("auto", 300, 6)
    (('piecewise', 512), ('robust', None))
    """
    if n_numeric == 0:
        return None, None  # nothing to encode
    if encoding != "auto":
        return encoding, None
    many = n_rows >= _AUTO_ROWS_PER_COLUMN * n_numeric
    # every column has a bin at least: past _AUTO_CODE_WIDTH columns, no binning
    narrow = n_numeric <= _AUTO_CODE_WIDTH
    if many and narrow:
        return "piecewise", _AUTO_CODE_WIDTH
    return "robust", None


def fit_numeric(
    X,
    rows,
    weight,
    n_numeric,
    encoding,
    targets=None,
    seed=0,
    n_bins=32,
    max_width=None,
):
    """The module's ``numeric`` description for the first ``n_numeric`` columns of
    ``X`` (rows ``rows``, with weights ``weight``), or None for no encoding.

    ``encoding``: ``"robust"``, ``"standard"``, ``"piecewise"`` or None (see
    :func:`numeric_plan` for ``"auto"``); ``max_width``: for ``"piecewise"``, the
    widest code taken (None: any), a wider one falling back to ``"robust"``.
    ``targets``: for ``"piecewise"``, ``(Y, kinds)``: the training rows' targets
    (NaN where missing) and each task's kind, which place the bins.
    """
    if encoding is None or n_numeric == 0:
        return None
    keep, values = _sample(X, rows, slice(n_numeric), seed)
    # Missing values (NaN) take no part in the statistics: each value weighs its row's
    # weight, a missing one nothing. They are filled with the column's median (0 for
    # a column with no value) and flagged by an indicator input of their own.
    w = weight[keep]
    indicators = np.flatnonzero(np.isnan(values).any(axis=0))
    if indicators.size:  # a weight per value (n, F), only where something is missing
        missing = np.isnan(values)
        w = w[:, None] * ~missing
    # a piecewise code that may fall back to robust scaling needs its quartiles too
    exact = encoding == "standard" or (encoding == "piecewise" and max_width is None)
    levels = [0.5] if exact else [0.5, 0.25, 0.75]
    quantiles = np.nan_to_num(weighted_quantiles(values, w, levels))
    fill = quantiles[0]
    if indicators.size:
        values = np.where(missing, fill, values)
        del missing  # no mask of the whole sample lives on while the trees grow
    # A column constant in these rows (a stream's first chunk) still gets a scale, so
    # that a later call in which it varies can learn from it; the network starts its
    # weights on it at zero, so that it changes nothing until it varies in training.
    constant = values.min(axis=0) == values.max(axis=0)
    described = {"fill": fill, "indicators": indicators, "constant": constant}
    if encoding == "standard":
        return _standard(values, w, described)
    if encoding == "piecewise":
        edges = _tree_edges(values, w, targets, keep, n_bins)
        width = sum(len(e) - 1 for e in edges)
        if max_width is None or width <= max_width:
            return {"kind": "piecewise", "edges": edges, **described}
    return _robust(values, quantiles, described)


def pooled_rows(X, rows, weight, labels, n_numeric, seed):
    """The rows a data-parallel fit's numeric statistics read, the same on every
    rank: each rank's share of at most ``_MAX_ROWS`` (its part of all the ranks'
    rows), drawn from its ``rows`` of ``X`` and gathered in rank order, as
    ``(values, positions, weight, labels)`` (``labels``: the rows' targets, or
    None) for :func:`fit_numeric` and :func:`refresh_constant`."""
    group = current()
    n = len(rows)
    total = int(group.sum(n))
    share = n if total <= _MAX_ROWS else _MAX_ROWS * n // total
    # in X's own dtype (float32): half the bytes to send; fit_numeric widens them
    keep, values = _sample(X, rows, slice(n_numeric), group.seed(seed), share, None)
    values = group.concatenate(values)
    weight = group.concatenate(weight[keep])
    if labels is not None:
        labels = group.concatenate(labels[keep])
    return values, np.arange(len(values)), weight, labels


def _sample(X, rows, columns, seed=0, size=_MAX_ROWS, dtype=np.float64):
    """The statistics' rows: positions in ``rows`` of at most ``size`` of them
    (a fixed subsample) and their values of ``columns`` (a slice or indices), dense,
    as ``dtype`` (None: ``X``'s own)."""
    keep = subsample(len(rows), size, seed)
    values = X[rows[keep]]
    values = values.toarray() if sp.issparse(values) else np.asarray(values)
    values = values[:, columns]
    return keep, values if dtype is None else values.astype(dtype)


def _standard(values, w, described):
    per_value = w if w.ndim == 2 else w[:, None]  # np.average's own broadcast
    total = np.maximum(per_value.sum(axis=0), np.finfo(float).tiny)
    center = (per_value * values).sum(axis=0) / total
    std = np.sqrt((per_value * (values - center) ** 2).sum(axis=0) / total)
    factor = 1.0 / np.where(std > 0, std, _fallback_spread(center))
    return {"kind": "standard", "center": center, "factor": factor, **described}


def _robust(values, quantiles, described):
    fill, q1, q3 = quantiles
    spread = q3 - q1
    half_range = 0.5 * (values.max(axis=0) - values.min(axis=0))
    spread = np.where(spread > 0, spread, half_range)
    factor = 1.0 / np.where(spread > 0, spread, _fallback_spread(fill))
    return {"kind": "robust", "center": fill, "factor": factor, **described}


def _tree_edges(values, w, targets, keep, n_bins):
    """Each column's bin edges, placed by a tree on the targets ``(Y, kinds)``."""
    Y, kinds = targets
    targets = tree_targets(values, Y[keep], kinds, warn_constant=False)
    edges = bin_edges(values, "tree", n_bins, targets, weight=w)
    # A constant column's one empty bin [b, b] gets a width, as its spread above.
    return [
        np.r_[e[0], e[0] + _fallback_spread(e[0])] if e[-1] == e[0] else e
        for e in edges
    ]


def refresh_constant(described, X, rows, weight):
    """The numeric encoding for a warm start or a later ``partial_fit`` call on rows
    ``rows`` of ``X`` (weights ``weight``): ``described``, except that each column
    that was constant where the encoding was fitted, and whose values here differ
    from that constant, is encoded anew from these rows (the same object where no
    column changes).

    A constant column's encoding says nothing of its scale: it reads the constant
    as 0, and the network's weights on it stay 0 while it trains on that constant.
    Where the column later varies, encoding it from those rows loses nothing the
    network learned and lets it learn the column: its median, spread and fill
    (``"robust"``, ``"standard"``), or one linear bin as wide as its spread (the
    interquartile range) about its median (``"piecewise"``: the network's number of
    inputs is fixed), whose ramp continues three spreads beyond either edge.
    """
    if described is None or not np.any(described["constant"]):
        return described
    columns = np.flatnonzero(described["constant"])
    keep, values = _sample(X, rows, columns)
    moved = np.any(~np.isnan(values) & (values != described["fill"][columns]), axis=0)
    if not moved.any():
        return described
    columns, values = columns[moved], values[:, moved]
    kind = described["kind"]
    fresh = fit_numeric(
        values,
        np.arange(len(values)),
        weight[keep],
        len(columns),
        "robust" if kind == "piecewise" else kind,
    )
    out = {
        k: v.copy() if isinstance(v, np.ndarray) else v for k, v in described.items()
    }
    for name in ("fill", "constant") + (
        ("center", "factor") if kind != "piecewise" else ()
    ):
        out[name][columns] = fresh[name]
    if kind == "piecewise":  # one bin a spread wide about the median
        out["edges"] = list(out["edges"])
        spread = 1.0 / fresh["factor"]
        for i, j in enumerate(columns):
            middle = fresh["center"][i]
            out["edges"][j] = np.array([middle - spread[i] / 2, middle + spread[i] / 2])
    return out


def check_numeric(described, n_numeric, encoding, where="the numeric encoding"):
    """A model file's description of the numeric encoding (what
    :func:`fit_numeric` returns), checked against the ``n_numeric`` columns and the
    estimator's ``numeric_encoding``: finite statistics and positive factors, or
    each column's increasing, finite bin edges."""
    if encoding is None or n_numeric == 0:
        if described is not None:
            raise ValueError(f"{where} is given, but the model encodes no column.")
        return None
    fields = ("kind", "fill", "indicators")
    own = ("edges",) if _kind(described) == "piecewise" else ("center", "factor")
    _checks.keys(described, where, (*fields, *own, "constant"))
    kind = described["kind"]
    if kind not in NUMERIC_ENCODINGS[1:] or encoding not in ("auto", kind):
        raise ValueError(f"{where} is {kind!r:.40}; numeric_encoding is {encoding!r}.")
    shape = (n_numeric,)
    checked = {
        "kind": kind,
        "fill": _checks.array(described["fill"], f"{where}'s fill", "f", shape, True),
        "indicators": _checks.positions(
            described["indicators"], f"{where}'s indicators", n_numeric
        ),
        "constant": _checks.array(
            described["constant"], f"{where}'s constant columns", "b", shape
        ),
    }
    if kind != "piecewise":
        for name in own:
            checked[name] = _checks.array(
                described[name], f"{where}'s {name}", "f", shape, True
            )
        if not np.all(checked["factor"] > 0):
            raise ValueError(f"{where}'s factors must be positive.")
        return checked
    edges = described["edges"]
    if not isinstance(edges, list) or len(edges) != n_numeric:
        raise ValueError(f"{where} needs one array of bin edges per column.")
    for j, e in enumerate(edges):
        _checks.array(e, f"{where}'s edges of column {j}", "f", (None,), True)
        # [b, b]: a constant column in a file saved before those got a width
        if len(e) < 2 or np.any(np.diff(e) <= 0) and not (len(e) == 2 and e[0] == e[1]):
            raise ValueError(f"{where}'s edges of column {j} must increase.")
    checked["edges"] = edges
    return checked


def _kind(described):
    return described.get("kind") if isinstance(described, dict) else None


def _fallback_spread(center):
    """The spread a column constant at ``center`` is scaled by: its magnitude, at
    least 1."""
    return np.maximum(np.abs(center), 1.0)


def bin_edges(X, strategy, n_bins, targets=None, weight=None):
    """Each column's increasing bin edges (at most ``n_bins`` bins, repeated edges
    merged; a constant column gets the one empty bin ``[b, b]``).

    ``strategy``: ``"quantile"`` (at the quantiles), ``"uniform"`` (evenly over the
    range) or ``"tree"`` (at the thresholds of a tree with at most ``n_bins`` leaves
    fitted on the column alone to ``targets``, from :func:`tree_targets`).
    """
    low, high = X.min(axis=0), X.max(axis=0)
    if strategy == "quantile":
        levels = np.linspace(0, 1, n_bins + 1)
        if weight is None:
            cuts = np.quantile(X, levels, axis=0).T
        else:
            cuts = weighted_quantiles(X, weight, levels).T
    elif strategy == "uniform":
        cuts = np.linspace(low, high, n_bins + 1).T
    else:
        thresholds = tree_thresholds(X, targets, n_bins, weight)
        cuts = [np.r_[lo, hi, t] for lo, hi, t in zip(low, high, thresholds)]
    edges = []
    for column_cuts in cuts:
        unique = np.unique(column_cuts)
        edges.append(np.repeat(unique, 2) if unique.size == 1 else unique)
    return edges


def tree_targets(X, y, kinds=None, warn_constant=True):
    """The targets of the binning tree: float64 (n_samples, n_outputs), each task
    standardised to a total variance of one; None when no task varies.

    A task is ``"regression"`` (its standardised value) or ``"classification"`` (the
    one-hot indicators of its classes, for which squared error is the Gini impurity);
    ``kinds=None`` decides by :func:`~sklearn.utils.multiclass.type_of_target`. A
    missing label (NaN, None) is filled with its task's mean; a task with no label is
    left out. ``warn_constant`` warns when no task varies.
    """
    if y is None:
        raise ValueError(
            'PiecewiseLinearEncoder with strategy="tree" requires y to be passed, '
            "but the target y is None: the edges are placed by the targets."
        )
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(
            f"y must be 1-D or 2-D (one column per task); got shape {y.shape}."
        )
    check_consistent_length(X, y)
    outputs = []
    for task, (column, missing) in enumerate(zip(y.T, missing_mask(y).T)):
        present = column[~missing]
        if present.size == 0:
            continue  # a task without labels says nothing about the edges
        try:
            values = present.astype(np.float64)
        except (TypeError, ValueError):
            values = None  # labels that are not numbers: classes
        if values is not None and not np.all(np.isfinite(values)):
            raise ValueError(f"y column {task} holds infinite values.")
        kind = None if kinds is None else kinds[task]
        if kind is None:
            continuous = values is not None and type_of_target(values) == "continuous"
            kind = "regression" if continuous else "classification"
        labels = present.astype(str) if values is None else values
        block = TASKS[kind].tree_block(labels)
        block = block - block.mean(axis=0)
        spread = np.sqrt(block.var(axis=0).sum())
        if spread == 0:
            continue  # a constant task: every edge explains it equally
        filled = np.zeros((len(column), block.shape[1]))  # missing: the task's mean
        filled[~missing] = block / spread
        outputs.append(filled)
    if not outputs:
        if warn_constant:
            warn(
                'strategy="tree" found no target that varies (every column of y is '
                "constant or missing): each feature gets one bin."
            )
        return None
    return np.hstack(outputs)
