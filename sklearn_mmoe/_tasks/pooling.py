"""A task's labels pooled over the ranks of a data-parallel fit, before its kind and
classes are read from them (see :mod:`sklearn_mmoe._distributed.group`): the kind
from a few distinct labels of each rank, the classes from all of them."""

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import check_classification_targets

from .inference import natural_dtype
from .registry import TASKS

# A task's distinct labels each rank sends for its kind to be read: the rule reads
# the smallest, whether all are whole and how many there are up to a few dozen.
_KIND_LABELS = 1_000


def _distinct(labels):
    """The distinct ``labels`` (sorted where they sort)."""
    try:
        return np.unique(labels)
    except TypeError:  # mixed types: the task's own check names them
        return pd.unique(pd.Series(labels, dtype=object)).astype(object)


def pooled_labels(group, labels):
    """Labels that tell a task's kind as every rank's ``labels`` together do (see
    :func:`~sklearn_mmoe._tasks.inference.infer_task_type`): each rank's distinct
    labels, at most ``_KIND_LABELS`` of them (the smallest, the largest and one
    that is not whole, where any is), joined in rank order."""
    distinct = _distinct(labels)
    if len(distinct) > _KIND_LABELS:
        kept = [distinct[: _KIND_LABELS - 2], distinct[-1:]]
        if distinct.dtype.kind == "f":
            kept.append(distinct[distinct != np.round(distinct)][:1])
        distinct = np.concatenate(kept)
    return np.concatenate(group.gather(distinct))


def pooled_classes(group, labels, kinds, known, where):
    """Each task's classes over every rank (``known``: those ``partial_fit``'s
    ``classes`` give, which stay), None for a task without classes: a class seen
    on one rank only is a class of every rank's task."""
    known = list(known) if known is not None else [None] * len(kinds)
    for t, kind in enumerate(kinds):
        if known[t] is not None or "classes" not in TASKS[kind].state_names:
            continue
        values = natural_dtype(_distinct(labels[t]), where[t])
        classes = _distinct(np.concatenate(group.gather(values)))
        try:
            check_classification_targets(classes)
        except ValueError as exc:
            raise ValueError(where[t] + str(exc)) from exc
        known[t] = classes
    return known
