"""Checks of plain values read from outside (a model file's header and arrays): each
returns the value as the package holds it, or raises a ``ValueError`` that names what
was wrong and where (``name``).

:func:`sklearn_mmoe.load` rebuilds every fitted part through these, so that a value a
file gives is of the type, shape and range the part was fitted with, never merely
whatever the file says.
"""

import math
from numbers import Integral, Real

import numpy as np


def keys(state, name, required=(), optional=()):
    """``state`` as a dict whose keys are all among ``required`` (each present) and
    ``optional``."""
    if not isinstance(state, dict):
        raise ValueError(f"{name} must be a mapping; got {type(state).__name__}.")
    missing = sorted(set(required) - set(state))
    unknown = sorted(set(state) - set(required) - set(optional))
    if missing:
        raise ValueError(f"{name} lacks {missing}.")
    if unknown:
        raise ValueError(f"{name} holds entries it cannot have: {unknown[:5]}.")
    return state


def boolean(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a bool; got {value!r:.60}.")
    return bool(value)


def integer(value, name, low=0, high=None):
    """An int (not a bool) within ``[low, high]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an int; got {value!r:.60}.")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}; got {value}.")
    return value


def number(value, name, low=-math.inf, high=math.inf, finite=True):
    """A float within ``[low, high]``; NaN never, infinity only with ``finite``
    False."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number; got {value!r:.60}.")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be a finite number; got {value}.")
    if not low <= value <= high:
        raise ValueError(f"{name} must be within [{low}, {high}]; got {value}.")
    return value


# The one dtype a fitted array of each kind has: a model file's must be it.
_EXACT = {"b": np.dtype(bool), "i": np.dtype(np.int64), "f": np.dtype(np.float64)}


def array(value, name, kinds, shape=None, finite=False):
    """A NumPy array of ``kinds``: one letter for the fitted dtype of that kind
    (``"b"`` bool, ``"i"`` int64, ``"f"`` float64), several for any dtype of those
    kinds (``"biufOU"``: class labels); of ``shape`` (None for any length along an
    axis), its floats finite with ``finite``."""
    dtype = getattr(value, "dtype", None)
    if not isinstance(value, np.ndarray) or (
        dtype != _EXACT[kinds] if len(kinds) == 1 else dtype.kind not in kinds
    ):
        want = _EXACT[kinds] if len(kinds) == 1 else f"of kind {kinds!r}"
        got = dtype if dtype is not None else type(value).__name__
        raise ValueError(f"{name} must be an array {want}; got {got}.")
    if shape is not None and (
        value.ndim != len(shape)
        or any(s is not None and s != n for s, n in zip(shape, value.shape))
    ):
        want = tuple("n" if s is None else s for s in shape)
        raise ValueError(f"{name} must have shape {want}; got {value.shape}.")
    if finite and value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ValueError(f"{name} holds values that are not finite.")
    return value


def strings(value, name, length):
    """A 1-D array of ``length`` strings (object dtype)."""
    if not isinstance(value, np.ndarray) or value.shape != (length,):
        got = getattr(value, "shape", type(value).__name__)
        raise ValueError(f"{name} must be {length} strings; got {got}.")
    if not all(isinstance(v, str) for v in value.tolist()):
        raise ValueError(f"{name} must hold strings only.")
    return value.astype(object)


def positions(value, name, n):
    """Sorted, distinct column positions in ``[0, n)``, int64."""
    value = array(value, name, "i", (None,))
    if value.size and (
        value.min() < 0 or value.max() >= n or np.any(np.diff(value) <= 0)
    ):
        raise ValueError(f"{name} must be increasing positions in [0, {n}).")
    return value.astype(np.int64)


def same(a, b):
    """Whether two decoded values are equal: arrays (of the same dtype), lists,
    tuples, dicts and scalars, element for element (NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind == "O":
            return all(same(x, y) for x, y in zip(a.ravel(), b.ravel()))
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b))
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return (
            isinstance(a, (bool, np.bool_))
            and isinstance(b, (bool, np.bool_))
            and (bool(a) == bool(b))
        )
    if isinstance(a, Real) and isinstance(b, Real):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def tensors_like(expected, state, what):
    """Refuse a state dict ``state`` whose tensors are not ``expected``'s: the same
    names, shapes and dtypes (``what`` names the module in the error)."""
    if set(expected) != set(state):
        odd = sorted(set(expected) ^ set(state))[:5]
        raise ValueError(f"the saved weights do not fit {what}: {odd}")
    for name, tensor in state.items():
        want = expected[name]
        if tensor.shape != want.shape or tensor.dtype != want.dtype:
            raise ValueError(
                f"the saved weights do not fit {what}: {name} is "
                f"{tuple(tensor.shape)} {tensor.dtype}, the network's "
                f"{tuple(want.shape)} {want.dtype}"
            )
