"""What every rank of a data-parallel fit decides alike: each task's labels pooled
before its kind and classes are read from them, and the trained network, the same
bit for bit on every rank at the end of the fit."""

import hashlib

import numpy as np
import pandas as pd
import torch
from sklearn.utils.multiclass import check_classification_targets

from .._tasks.inference import natural_dtype
from .._tasks.registry import TASKS
from .._utils.warn import warn


class WeightsDifferWarning(RuntimeWarning):
    """The ranks of a data-parallel fit ended with different weights (which the
    steps keep equal on gloo and NCCL): rank 0's were kept on every rank."""


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


def _digest(net):
    """A hash of ``net``'s weights and its loss's."""
    digest = hashlib.sha256()
    for part in (net.module_, net.criterion_):
        for name, tensor in part.state_dict().items():
            digest.update(name.encode())
            flat = tensor.detach().cpu().contiguous().reshape(-1)
            digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def agreed(group, trained):
    """``trained`` (see :class:`~sklearn_mmoe._training.engine.Trained`), the same
    on every rank: the ranks' weights, which the steps keep equal, checked by
    their hash (rank 0's taken, with a :class:`WeightsDifferWarning`, where a
    backend's sums differed), and rank 0's record of the epochs (whose seconds
    each rank timed)."""
    if group.world == 1:
        return trained
    net = trained.net
    if len(set(group.gather(_digest(net)))) > 1:
        warn(
            "The ranks' weights differ after training: a backend's sums were not "
            "the same on every rank. Rank 0's are kept on every rank.",
            WeightsDifferWarning,
        )
        states = group.broadcast(
            (net.module_.state_dict(), net.criterion_.state_dict())
        )
        net.module_.load_state_dict(states[0])
        net.criterion_.load_state_dict(states[1])
    same = trained.history is net.history_
    history, net_history = group.broadcast((trained.history, net.history_))
    net.history_ = net_history
    trained.history = net_history if same else history
    return trained
