"""Funnels, one registration each: how a task that can only happen after another
(a purchase after a click) is trained from its parent.

A funnel's tasks are binary, and every one of its labels is over all rows: the
child's positive class is the whole event (clicked *and* bought), so a child positive
where its parent is negative cannot happen (the estimators refuse it, naming the
rows). Training a purchase task on the clicked rows only, as a plain classifier
would, learns on a sample unlike the rows it predicts (ESMM's "sample selection
bias") from few labels; a funnel trains both tasks over every row:

- ``"esmm"`` (Ma et al., SIGIR 2018): the child's tower gives the conditional
  probability ``p(child | parent)``, which has no loss of its own; the child's
  probability is the product ``p(parent) * p(child | parent)``, trained on the
  child's labels over all rows. It can never exceed the parent's.
- ``"aitm"`` (Xi et al., KDD 2021): each child's tower reads, besides its own
  representation, what its parent's tower passes on (a learned transfer), mixed by
  attention over the two; its output is the child's probability itself, and a
  calibrator adds ``funnel_calibration`` times the batch mean of
  ``max(p(child) - p(parent), 0)`` to the training objective.

Chains (impression, click, purchase, repurchase) run parents first. Written once
against the array operations of :mod:`sklearn_mmoe._network.module` (``ops``), so that a
funnel runs in PyTorch, in NumPy and in the ONNX graph alike. The estimators'
accepted values of ``funnel``, their validation and documentation come from
:data:`FUNNELS`; a new one is a subclass of :class:`FunnelType` passed to
:func:`register`, plus its tests.
"""

import math

import numpy as np
import torch
from torch import nn

from .._utils.registry import Registry

# The largest log-probability a child's product may reach: log(1 - 2**-24), so
# that log(1 - p) stays finite in float32 and so do the loss and its gradient.
_LOG_ALMOST_ONE = math.log1p(-(2.0**-24))


class FunnelType:
    """How a funnel's child is trained from its parent.

    Subclasses set ``name``, ``doc`` (the documentation of the value, RST, one
    paragraph) and ``calibrated`` (whether the calibrator's term joins the training
    objective), and may override :meth:`build`, :meth:`transfer` and
    :meth:`outputs`, which by default do nothing.
    """

    name = None
    doc = None
    calibrated = False

    def build(self, edges, width):
        """The weights the funnel needs for its ``edges`` (``(parent, child)``
        task indices, parents first) over tower representations of ``width``
        values: a ``torch.nn.Module`` that the network keeps as its ``funnel``,
        or None (no weights)."""
        return None

    def transfer(self, p, ops, hidden, edges, prefix):
        """The towers' last representations ``hidden`` (T, B, H), with each child's
        replaced by what it reads from its parent; the weights :meth:`build` made
        are in ``p`` under ``prefix`` (``"funnel."``)."""
        return hidden

    def outputs(self, out, edges, ops):
        """Every task's logits ``out`` (B, K, T, W), with each child's replaced by
        those of its probability."""
        return out


FUNNELS = Registry()
register = FUNNELS.register


def positive_log_probability(out, ops):
    """Each task's log-probability of its positive (second) class: ``(..., T)``
    from logits ``(..., T, W)``."""
    return ops.log_softmax(out)[..., 1]


@register
class ESMM(FunnelType):
    name = "esmm"
    doc = (
        "ESMM (Ma et al., SIGIR 2018): the child's tower gives the conditional "
        "probability of its event given the parent's, with no loss of its own; the "
        "child's probability is the product of the parent's and that, trained on "
        "the child's labels over all rows (it never exceeds the parent's)."
    )

    def outputs(self, out, edges, ops):
        log_p = positive_log_probability(out, ops)  # (B, K, T)
        tasks = [out[..., t : t + 1, :] for t in range(out.shape[-2])]
        joint = {}
        for parent, child in edges:  # parents first: a chain multiplies along
            parent_log = joint.get(parent, log_p[..., parent])
            both = ops.clip(parent_log + log_p[..., child], -math.inf, _LOG_ALMOST_ONE)
            joint[child] = both
            rest = out[..., child, 2:]  # a padded binary task's -inf
            logits = ops.cat(
                [ops.log1mexp(both)[..., None], both[..., None], rest], axis=-1
            )
            tasks[child] = logits[..., None, :]
        return ops.cat(tasks, axis=-2)


@register
class AITM(FunnelType):
    name = "aitm"
    doc = (
        "AITM (Xi et al., KDD 2021): each child's tower reads its own "
        "representation and a learned transfer of its parent's, mixed by attention; "
        "its output is the child's probability, and a calibrator adds "
        "``funnel_calibration`` times the batch mean of max(p(child) - p(parent), 0) "
        "to the training objective."
    )
    calibrated = True
    _WEIGHTS = ("transfer", "query", "key", "value", "transfer_bias")

    def build(self, edges, width):
        n, scale = len(edges), 1.0 / math.sqrt(width)
        weights = nn.Module()  # each edge's transfer and attention, stacked
        for name in ("transfer", "query", "key", "value"):
            weight = torch.empty(n, width, width).uniform_(-scale, scale)
            weights.register_parameter(name, nn.Parameter(weight))
        bias = torch.empty(n, 1, width).uniform_(-scale, scale)
        weights.transfer_bias = nn.Parameter(bias)
        return weights

    def transfer(self, p, ops, hidden, edges, prefix):
        w = {name: p[prefix + name] for name in self._WEIGHTS}
        tasks = [hidden[t] for t in range(hidden.shape[0])]
        scale = 1.0 / math.sqrt(hidden.shape[-1])
        for e, (parent, child) in enumerate(edges):  # a parent's, once it has read
            passed = ops.act(  # its own parent's
                ops.matmul(tasks[parent], w["transfer"][e]) + w["transfer_bias"][e]
            )
            passed = ops.dropout(passed)
            both = ops.cat([tasks[child][:, None], passed[:, None]], axis=1)
            query = ops.matmul(both, w["query"][e])  # (B, 2, H)
            key = ops.matmul(both, w["key"][e])
            weights = ops.softmax((query * key).sum(-1) * scale)  # (B, 2)
            value = ops.matmul(both, w["value"][e])
            tasks[child] = (weights[..., None] * value).sum(1)
        return ops.cat([t[None] for t in tasks])


def violation(out, edges):
    """The calibrator's term from the training logits ``out`` (B, K, T, W), a tensor:
    the mean over rows (and members) of each edge's ``max(p(child) - p(parent), 0)``,
    summed over the edges."""
    probability = torch.softmax(out, -1)[..., 1]  # (B, K, T)
    parents = torch.as_tensor([e[0] for e in edges], device=out.device)
    children = torch.as_tensor([e[1] for e in edges], device=out.device)
    excess = probability[..., children] - probability[..., parents]
    return excess.clamp(min=0.0).mean(dim=(0, 1)).sum()


def funnel_edges(task_parents, names, tasks):
    """The ``(parent, child)`` task indices that ``task_parents`` declares, parents
    first, checked: each child's parent is another task, both are binary
    classification tasks, and no task is its own ancestor.

    ``task_parents`` maps each child to its parent, each by name (``names``, the
    task names) or by column index; ``None`` declares no funnel.

    Examples
    --------
    >>> from sklearn_mmoe._tasks.funnels import funnel_edges
    >>> from sklearn_mmoe._tasks.kinds import ClassificationTask
    >>> tasks = [ClassificationTask([0, 1]) for _ in range(3)]
    >>> funnel_edges({"buy": "click", 2: "buy"}, ["click", "buy", "rebuy"], tasks)
    ((0, 1), (1, 2))
    """
    if task_parents is None:
        return ()
    names = [str(name) for name in names]

    def index(key, role):
        if isinstance(key, str) and key in names:
            return names.index(key)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if 0 <= key < len(names):
                return int(key)
        raise ValueError(
            f"task_parents names the {role} {key!r:.60}, which is no task: give a "
            f"task's name ({', '.join(map(repr, names))}) or its column index."
        )

    parent_of = {}
    for child, parent in task_parents.items():
        c, a = index(child, "child"), index(parent, "parent")
        if c == a:
            raise ValueError(f"task_parents makes task {names[c]!r} its own parent.")
        if c in parent_of:
            raise ValueError(f"task_parents gives task {names[c]!r} two parents.")
        parent_of[c] = a
    for t in sorted({*parent_of, *parent_of.values()}):
        if tasks[t].kind != "classification" or tasks[t].width != 2:
            raise ValueError(
                f"task_parents puts task {names[t]!r} in a funnel, whose tasks are "
                "binary classification tasks (an event, or not); it is a "
                f"{_described(tasks[t])} task."
            )
    return _parents_first(parent_of, names)


def _described(task):
    if task.kind == "classification":
        return f"{task.width}-class"
    return task.kind


def _parents_first(parent_of, names):
    """The edges of ``parent_of`` (child -> parent) ordered so that every parent's
    own edge comes before its children's; a cycle is a ValueError."""
    depth = {}
    for child in parent_of:
        chain, t = [], child
        while t in parent_of and t not in depth:
            if t in chain:
                cycle = " -> ".join(repr(names[s]) for s in [*chain, t])
                raise ValueError(f"task_parents makes a cycle: {cycle}.")
            chain.append(t)
            t = parent_of[t]
        base = depth.get(t, 0)
        for t in reversed(chain):
            base += 1
            depth[t] = base
    order = sorted(parent_of, key=lambda t: (depth[t], t))
    return tuple((parent_of[child], child) for child in order)


def funnel_targets(edges, targets, present, rows, where):
    """The class indices ``targets`` (rows x tasks) and where they are ``present``,
    with what a funnel's ``edges`` imply filled in: a child's missing label where its
    parent is negative is negative, a parent's missing label where its child is
    positive is positive. A child positive where its parent is negative is a
    ValueError naming those rows (their indices among ``X``'s, ``rows``)."""
    if not edges:
        return targets, present
    targets, present = targets.copy(), present.copy()
    for parent, child in edges:
        bad = present[:, parent] & present[:, child]
        bad &= (targets[:, child] == 1) & (targets[:, parent] == 0)
        if bad.any():
            shown = ", ".join(map(str, rows[bad][:5]))
            more = f" and {bad.sum() - 5} more" if bad.sum() > 5 else ""
            raise ValueError(
                f"{where[child] or 'The child task: '}positive where its parent "
                f"task (column {parent} of y) is negative, in row(s) {shown}{more} "
                "of X; in a funnel, a child's event can only follow its parent's "
                "(its positive class is both events)."
            )
    for parent, child in edges:  # parents first: negatives flow down a chain
        fill = ~present[:, child] & present[:, parent] & (targets[:, parent] == 0)
        targets[fill, child], present[fill, child] = 0.0, True
    for parent, child in reversed(edges):  # and positives up
        fill = ~present[:, parent] & present[:, child] & (targets[:, child] == 1)
        targets[fill, parent], present[fill, parent] = 1.0, True
    return targets, present
