"""What every rank's shard of a data-parallel fit must share: the layout of ``X``
(its kind, columns, their names and kinds of dtype), of ``y`` (its tasks and their
names), whether sample weights are given, and the estimator's parameters."""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .failures import check_same


def _dtype_kind(dtype):
    """A column's dtype as the fit reads it: a category, a number, or text."""
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    kind = getattr(dtype, "kind", "O")
    if kind in "biuf":
        return "number"
    if kind in "OSU" or pd.api.types.is_string_dtype(dtype):
        return "strings or objects"
    return str(dtype)


def _comparable(value):
    """A parameter's value as the ranks compare it: plain values as they are,
    anything else (a random state, an expert module's class) by its type."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _comparable(v) for k, v in value.items()}
    return type(value).__qualname__


def shard_layout(X, y, sample_weight, task_names, params=None):
    """The layout of one rank's shard (see the module's docstring), and the
    estimator's ``params`` but its seed and verbosity (rank 0's seed is every
    rank's; only rank 0 reports)."""
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        kind, columns = "DataFrame", [str(c) for c in X.columns]
        dtypes = [_dtype_kind(d) for d in X.dtypes]
    else:
        kind = "sparse matrix" if sp.issparse(X) else "array"
        shape = getattr(X, "shape", None) or np.shape(np.asarray(X, dtype=object))
        columns = shape[1] if len(shape) == 2 else f"{len(shape)}-D"
        dtypes = _dtype_kind(getattr(X, "dtype", np.dtype(object)))
    y_shape = np.shape(y) if not hasattr(y, "shape") else y.shape
    return {
        "X": kind,
        "columns of X": columns,
        "column dtypes of X": dtypes,
        "tasks of y": 1 if len(y_shape) == 1 else y_shape[1:],
        "task names": task_names,
        "sample_weight": "given" if sample_weight is not None else "not given",
        **{
            f"parameter {name}": _comparable(value)
            for name, value in sorted((params or {}).items())
            if name not in ("random_state", "verbose")
        },
    }


def check_shards(group, X, y, sample_weight, task_names, declared, params=None):
    """Check that every rank's shard has one layout (a ValueError naming the first
    rank whose shard differs, and what differs) and return what the tasks'
    dtypes declare over every rank (see
    :func:`~sklearn_mmoe._tasks.inference.declared_dtypes`): a float on any rank
    (a column of whole numbers with a missing label there) declares a float."""
    if group.world == 1:
        return declared
    check_same(group, shard_layout(X, y, sample_weight, task_names, params))
    every = group.gather(declared)
    if any(d is None for d in every):
        return declared
    pooled = []
    for t, kinds in enumerate(zip(*every)):
        if len(set(kinds)) == 1:
            pooled.append(kinds[0])
        elif set(kinds) <= {None, "float"}:
            pooled.append("float")
        else:
            rank = next(r for r, k in enumerate(kinds) if k != kinds[0])
            raise ValueError(
                f"The data-parallel fit's shards differ: rank {rank}'s task {t} "
                f"is declared {kinds[rank]!r} by its dtype, rank 0's {kinds[0]!r}."
            )
    return pooled
