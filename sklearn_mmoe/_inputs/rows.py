"""The rows the network trains on: sample weights, missing labels, duplicate rows.

Training sees each distinct ``(x, targets)`` row once, with the sum of its copies'
sample weights, in an order fixed by the rows' content alone. An integer weight is then
exactly the same as repeating the row, and zero the same as leaving it out (what
scikit-learn's ``check_sample_weight_equivalence`` tests), whatever the order of the
input rows. Each task's loss is weighted by the row's weight times whether its label is
present, normalised so that a task's weights average one over the training rows.
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from .._distributed.group import current
from .._utils.parallel import threaded_map

# Row hashes are computed a chunk of rows at a time, whose uint64 copy (this many bytes)
# stays in cache.
_HASH_CHUNK_BYTES = 4 * 2**20


def missing_mask(Y):
    """Where ``Y`` (2-D) has no label: NaN, or None / pd.NA in an object array."""
    if Y.dtype.kind == "f":
        return np.isnan(Y)
    if Y.dtype.kind == "O":
        return np.asarray(pd.isna(Y), dtype=bool)
    return np.zeros(Y.shape, dtype=bool)


def _multipliers(n, salt):
    """``n`` fixed odd 64-bit multipliers, the same in every process."""
    rng = np.random.default_rng(salt)
    draws = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    return draws | np.uint64(1)


def _hash_X(X):
    """A 64-bit hash of each row's bit pattern (dense or CSR float32 ``X``).

    The sum over the row of ``bits(x_j) * r_j`` modulo 2**64: a stored zero of a sparse
    row adds nothing, as an absent one does.
    """
    r = _multipliers(X.shape[1], 0)
    if sp.issparse(X):
        terms = X.data.view(np.uint32).astype(np.uint64) * r[X.indices]
        cumulative = np.concatenate([[np.uint64(0)], np.cumsum(terms, dtype=np.uint64)])
        return cumulative[X.indptr[1:]] - cumulative[X.indptr[:-1]]
    h = np.empty(X.shape[0], dtype=np.uint64)
    size = max(1, _HASH_CHUNK_BYTES // (8 * max(X.shape[1], 1)))

    def hash_chunk(start):
        chunk = np.ascontiguousarray(X[start : start + size])
        h[start : start + size] = chunk.view(np.uint32).astype(np.uint64) @ r

    # NumPy's integer products run outside the GIL, so chunks hash in parallel.
    threaded_map(hash_chunk, range(0, X.shape[0], size))
    return h


def _equal_X(X, a, b):
    """Whether rows ``a[i]`` and ``b[i]`` of ``X`` are equal, per pair (bit for bit,
    for dense ``X``)."""
    if sp.issparse(X):  # equal values; a stored zero is no different from none
        difference = sp.csr_array(X[a] - X[b])
        difference.eliminate_zeros()
        return np.diff(difference.indptr) == 0
    bits = lambda rows: np.ascontiguousarray(X[rows]).view(np.uint32)  # noqa: E731
    return (bits(a) == bits(b)).all(axis=1)


def collapse(X, rows, targets, present, weight, return_groups=False):
    """Merge identical rows and put them in an order that depends on content only.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features), float32
        Inputs; a CSR matrix must be in canonical format.
    rows : ndarray of int64 of shape (n,)
        The rows of ``X`` to consider; the other arguments are aligned with them.
    targets : ndarray of shape (n, n_tasks), int64 or float64
        The encoded targets, with a fixed value (0) where a label is missing.
    present : ndarray of bool of shape (n, n_tasks)
        Where a label is present.
    weight : ndarray of shape (n,), float64
        Positive weight of every row.
    return_groups : bool, default=False
        Whether to return, too, which distinct row each of ``rows`` was merged into.

    Returns
    -------
    positions : ndarray of int64
        One position in ``rows`` per distinct ``(x, targets, present)``, in the order
        of a content hash.
    weight : ndarray of float64
        The summed weight of each distinct row's copies.
    groups : ndarray of int64 of shape (n,)
        With ``return_groups``: the position in ``positions`` of each row's
        distinct row.
    """
    n = len(rows)
    r_targets = _multipliers(targets.shape[1], 1)
    r_present = _multipliers(targets.shape[1], 2)
    h = _hash_X(X)[rows] * np.uint64(0x9E3779B97F4A7C15)
    h += targets.view(np.uint64) @ r_targets + present.astype(np.uint64) @ r_present
    # NumPy's stable argsort of the unsigned hashes, by torch's stable sort (several
    # times faster on 64-bit keys): flipping the top bit orders signed keys as unsigned.
    signed = (h ^ np.uint64(1 << 63)).view(np.int64)
    order = torch.sort(torch.from_numpy(signed), stable=True).indices.numpy()
    h = h[order]
    same_hash = np.flatnonzero(h[1:] == h[:-1])  # candidate pairs (i, i + 1)
    starts = np.ones(n, dtype=bool)
    if same_hash.size:
        a, b = order[same_hash], order[same_hash + 1]
        equal = (
            _equal_X(X, rows[a], rows[b])
            & (targets[a] == targets[b]).all(axis=1)
            & (present[a] == present[b]).all(axis=1)
        )
        starts[same_hash[equal] + 1] = False
    groups = np.empty(n, dtype=np.int64)
    groups[order] = np.cumsum(starts) - 1
    starts = np.flatnonzero(starts)
    # Group members are bit-for-bit equal, so whichever of them is kept is the same row.
    positions, merged = order[starts], np.add.reduceat(weight[order], starts)
    return (positions, merged, groups) if return_groups else (positions, merged)


def bounded_weights(weight):
    """``weight`` itself, or divided by its largest magnitude when its sum overflows:
    sample weights matter only through their ratios."""
    with np.errstate(over="ignore"):
        overflows = not np.isfinite(weight.sum())
    return weight / np.abs(weight).max() if overflows else weight


def task_row_weights(weight, present):
    """Each row's weight in each task's loss, ``(n, n_tasks)`` float32, or None.

    ``weight * present``, divided per task by its mean over the rows, so that a batch's
    weighted mean loss estimates the task's weighted mean loss over the training set.
    None when every weight would be one (the unweighted fast path).
    """
    group = current()  # means over every rank's rows, in a data-parallel fit
    w = weight[:, None] * present
    firsts = group.gather(w[0].tolist() if np.all(w == w[:1]) else None)
    if firsts[0] is not None and all(first == firsts[0] for first in firsts):
        return None  # equal weights and every label present, on every rank
    mean = group.sum(w.sum(axis=0)) / group.sum(len(w))
    return (w / mean).astype(np.float32)
