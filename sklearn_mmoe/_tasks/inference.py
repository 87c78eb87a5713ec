"""What task_types="auto" reads a column of labels as (classes, a quantity or a
count), and the dtypes labels keep."""

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target

from .._utils.warn import warn
from .registry import TASKS

# "auto" reads whole numbers with negative values as classes up to this many distinct
# values, and more of them as a quantity (see infer_task_type).
_MANY_CLASSES = 20


# ... and non-negative whole numbers as classes up to this many distinct values, as a
# count beyond: a small count read as classes cost an unseen table far more than
# class codes such as iris' 0, 1, 2 read as a count (benchmarks/README.md, "Constants").
_FEW_CLASSES = 3


def infer_task_type(labels, where="", declared=None):
    """A task's kind under ``task_types="auto"``, from its (present) ``labels`` and
    the dtype a DataFrame or Series declared for it (``declared``: ``"category"``,
    ``"float"`` or None for anything else, see :func:`declared_dtypes`).

    The rule, in order:

    1. a pandas ``category`` column, bools and strings: ``"classification"``;
    2. numbers that are not all whole (scikit-learn's ``type_of_target`` says
       continuous): ``"regression"``;
    3. whole numbers (ints, or floats such as an int column with missing labels) of
       two distinct values: ``"classification"`` (a binary label);
    4. a DataFrame's float column of more whole values: ``"regression"`` (its dtype
       says a quantity);
    5. other whole numbers are ambiguous (classes coded as numbers, or a count), so
       they are read with a warning that names the choice and how to make another:
       non-negative ones of more than ``_FEW_CLASSES`` distinct values as a
       ``"count"`` (Poisson loss: a number of events, visits, children, a 1-5 score;
       its prediction is an expected value and its score :math:`R^2`), of three
       values as classes (scikit-learn's own data sets code classes 0, 1, 2); signed
       ones as classes up to ``_MANY_CLASSES`` distinct values, as a quantity
       (``"regression"``) beyond.
    """
    labels = natural_dtype(np.asarray(labels), where)
    if declared == "category" or labels.dtype.kind not in "iuf":
        return "classification"
    if labels.dtype.kind == "f" and type_of_target(labels) == "continuous":
        return "regression"
    values = np.unique(labels)
    if values.size <= 2:
        return "classification"
    if declared == "float":
        return "regression"
    if values[0] >= 0 and values.size > _FEW_CLASSES:
        kind, reading = "count", "a count (Poisson loss, predicting expected counts)"
    elif values[0] >= 0 or values.size <= _MANY_CLASSES:
        kind, reading = "classification", f"{values.size} classes"
    else:
        kind, reading = "regression", "a quantity (squared error)"
    warn(
        f"{where}task_types='auto' reads its {values.size} distinct whole numbers "
        f"({values[0]:g} to {values[-1]:g}) as {reading}: whole numbers may be "
        "classes, counts or quantities. Name its kind in task_types "
        f"({', '.join(map(repr, TASKS))}) to choose another and to silence "
        "this warning.",
        UserWarning,
    )
    return kind


def declared_dtypes(y):
    """What a DataFrame's columns (or a Series) declare of each task by their dtype:
    ``"category"`` for a pandas category, ``"float"`` for a float column, ``None``
    for any other; ``None`` for anything that is not a pandas object (an array
    declares nothing per column)."""
    if hasattr(y, "columns"):
        dtypes = list(y.dtypes)
    elif hasattr(y, "iloc") and hasattr(y, "dtype"):
        dtypes = [y.dtype]
    else:
        return None
    return [
        "category"
        if isinstance(d, pd.CategoricalDtype)
        else "float"
        if pd.api.types.is_float_dtype(d)
        else None
        for d in dtypes
    ]


def natural_dtype(labels, where):
    """An object column (a task of a mixed-type ``y``) as bool, int or float."""
    if labels.dtype != object:
        return labels
    kind = pd.api.types.infer_dtype(labels, skipna=False)
    if kind in ("boolean", "integer", "floating"):
        return labels.astype(
            {"boolean": bool, "integer": np.int64, "floating": float}[kind]
        )
    if kind not in ("string", "bytes", "empty"):
        raise TypeError(
            f"{where}labels must be all strings, all numbers or all bools; got a mix "
            f"({kind}) such as {labels[:3].tolist()!r}."
        )
    return labels
