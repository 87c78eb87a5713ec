"""What a task is: one description per kind of task, used everywhere a task's kind
matters.

A task's kind decides four things, and each is written here once:

- its **target encoding**: the class index of each label (classification) or the
  value standardised with the training rows' weighted mean and deviation
  (regression), as float64 with a fixed value where a label is missing;
- its **tower width**: one logit per class, or one output;
- its **loss**: cross-entropy over the logits, or squared error on the standardised
  scale;
- its **prediction**: the most probable label (with class probabilities), or the
  output mapped back to the target's scale, and the score ``score`` averages (accuracy
  or :math:`R^2`).

The estimators, the loss (:class:`sklearn_mmoe._training.net.MultiTaskLoss`) and the
network (:class:`sklearn_mmoe._network.module.MMoEModule`, which averages ensemble
members per kind) read the kind through these classes and :func:`task_groups`, never by
comparing names.
"""

import copy
import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score
from sklearn.utils.multiclass import check_classification_targets

from .._distributed.group import current
from .._utils import checks as _checks
from .inference import natural_dtype
from .registry import TASKS, register
from .shrinkage import shrink_factor

# The log of the largest expected count predicted (float64's largest is exp(709.78)).
_LOG_MAX = 709.0
# Targets above this magnitude are scaled down before their squares are summed.
_HUGE = 1e100


def task_label(task, name, n_tasks):
    """How error messages name task ``task`` (empty for a single task)."""
    if n_tasks == 1:
        return ""
    if name is not None and name != f"task{task}":
        return f"Task {name!r} (column {task} of y): "
    return f"Task {task} (column {task} of y): "


class ClassificationTask:
    """A task whose labels are classes: binary or multiclass, of any label type.

    Parameters
    ----------
    classes : ndarray
        The task's labels, sorted; class ``i`` is trained as index ``i``.
    """

    kind = "classification"
    has_proba = True
    # What describes a fitted task (a model file holds these: see from_state).
    state_names = ("classes",)
    # c in uncertainty weighting's c * exp(-s) * loss + s / 2 (Kendall et al., 2018:
    # the scaled softmax's form).
    uncertainty_factor = 1.0

    def __init__(self, classes):
        self.classes = classes

    @property
    def width(self):
        """Outputs of the task's tower: one logit per class."""
        return len(self.classes)

    @classmethod
    def from_labels(cls, labels, where=""):
        """The task described by its (present) training ``labels``, and each label's
        class index as float64."""
        labels = natural_dtype(labels, where)
        try:
            check_classification_targets(labels)
        except ValueError as exc:
            raise ValueError(where + str(exc)) from exc
        classes, codes = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{where}Classifier can't train when only one class is present "
                f"({classes[0]!r}); every classification task needs at least two "
                "classes."
            )
        return cls(classes), codes.reshape(-1).astype(np.float64)

    @classmethod
    def from_classes(cls, classes, where=""):
        """The task with the given labels (``partial_fit``'s ``classes``); a missing
        value among them (NaN, None) is an error: it is not a class."""
        classes = np.asarray(classes).reshape(-1)
        missing = np.asarray(pd.isna(classes), dtype=bool)
        if missing.any():
            raise ValueError(
                f"{where}classes holds a missing value ({classes[missing][0]!r}), "
                "which is not a class: list only the labels (np.unique of labels "
                "with NaN keeps the NaN; with missing_labels='ignore', rows whose "
                "label is missing are left out of the task's loss)."
            )
        classes = natural_dtype(classes, where + "classes: ")
        classes = np.unique(classes)
        if len(classes) < 2:
            raise ValueError(
                f"{where}classes must name at least two classes; got "
                f"{classes.tolist()!r}."
            )
        return cls(classes)

    @classmethod
    def from_state(cls, state, where="a task"):
        """The task a model file describes (its attributes by name), checked: the
        classes sorted, distinct, at least two, strings or numbers."""
        _checks.keys(state, where, cls.state_names)
        classes = _checks.array(
            state["classes"], f"{where}'s classes", "biufOU", (None,)
        )
        if classes.dtype.kind == "O" and not all(
            isinstance(c, str) for c in classes.tolist()
        ):
            raise ValueError(f"{where}'s classes must be all strings or all numbers.")
        if classes.dtype.kind == "f" and not np.isfinite(classes).all():
            raise ValueError(f"{where}'s classes hold a value that is not finite.")
        if len(classes) < 2 or not np.array_equal(np.unique(classes), classes):
            raise ValueError(
                f"{where}'s classes must be two or more, sorted, distinct."
            )
        return cls(classes)

    def encode(self, labels, where=""):
        """Each (present) label's class index as float64; a label outside
        ``classes`` is an error."""
        labels = natural_dtype(np.asarray(labels), where)
        try:
            index = np.searchsorted(self.classes, labels)
        except TypeError as exc:
            raise ValueError(
                f"{where}labels of another type than the classes "
                f"{self.classes.tolist()!r}."
            ) from exc
        index = np.minimum(index, len(self.classes) - 1)
        unknown = self.classes[index] != labels
        if np.any(unknown):
            raise ValueError(
                f"{where}labels {np.unique(labels[unknown])[:5].tolist()!r} are not "
                f"among the classes {self.classes.tolist()!r} (fixed by the first "
                "partial_fit call's classes)."
            )
        return index.astype(np.float64)

    def same_layout(self, other):
        """Whether a warm start from ``other`` continues this task."""
        return type(other) is type(self) and np.array_equal(self.classes, other.classes)

    @staticmethod
    def key(values):
        """The encoded targets as int64 keys that rows are merged on: the class
        index."""
        return values.astype(np.int64)

    @staticmethod
    def from_key(keys):
        return keys.astype(np.float64)

    @staticmethod
    def tree_block(labels):
        """What the binning tree of the numeric encoding fits for this task: the
        one-hot indicators of the classes (squared error on them is Gini impurity)."""
        classes, codes = np.unique(labels, return_inverse=True)
        return np.eye(len(classes))[codes.reshape(-1)]

    def fit_scale(self, values, weight, warm=False):
        """Nothing to learn: class indices are trained as they are."""

    def standardise(self, values):
        return values

    @staticmethod
    def loss(out, y):
        """Cross-entropy of the logits ``out`` (..., W) (padding -inf) against the
        class indices ``y`` (...)."""
        w = out.shape[-1]
        ce = F.cross_entropy(out.reshape(-1, w), y.reshape(-1).long(), reduction="none")
        return ce.view(out.shape[:-1])

    @staticmethod
    def combine(out, ops):
        """The ensemble members' outputs (B, K, T, W) as one: the log of their mean
        class probabilities, so that a softmax gives the mean probability."""
        return ops.mean_probability(out, 1)

    def output(self, raw, ops):
        """The task's output from the combined logits ``raw`` (n, W), written once
        for NumPy (``predict_proba``) and PyTorch (the ONNX graph): the class
        probabilities (n, n_classes), float64."""
        return ops.softmax(ops.float64(raw[:, : self.width]))

    def proba(self, raw, ops):
        """Class probabilities (n, n_classes): :meth:`output`."""
        return self.output(raw, ops)

    def predict(self, raw, ops):
        """The most probable label of each row, in the labels' own type."""
        return self.classes[self.output(raw, ops).argmax(axis=1)]

    def fit_shrink(self, out, y, w):
        """The task as it predicts after training: unchanged (shrinking logits
        towards the prior would move probabilities, never the labels' order)."""
        return self

    def unshrunk(self):
        return self

    def seen(self, values, widen=False):
        return self

    def score(self, y_true, y_pred, sample_weight):
        """The (weighted) fraction of correct labels."""
        y_true = natural_dtype(np.asarray(y_true), "")
        return float(np.average(y_true == y_pred, weights=sample_weight))


class RegressionTask:
    """A task whose target is a number, trained standardised.

    Parameters
    ----------
    mean, scale : float
        The weighted mean and standard deviation of the training targets; a constant
        target is scaled by its magnitude, at least 1 (see ``fit_scale``).
    """

    kind = "regression"
    width = 1
    has_proba = False
    # What describes a fitted task (a model file holds these: see from_state).
    state_names = ("mean", "scale", "low", "high", "shrink")
    # c in uncertainty weighting's c * exp(-s) * loss + s / 2 (a Gaussian likelihood).
    uncertainty_factor = 0.5
    # The factor its output is shrunk by towards the training mean (0) at prediction
    # time, chosen on the validation rows by fit_shrink; 1 without validation rows.
    shrink = 1.0
    # The shrinkage kept is the best factor c less shrink_doubt * se**2 / c (se, its
    # standard error; see shrink_factor), kept only where c stands sqrt(2) standard
    # errors clear of 0. The validation rows also chose the best epoch, which leans c
    # towards them: a pure-noise task's best factor alone left it below a constant
    # prediction (tests/test_never_harm.py's set-up); this doubt halves that loss for
    # little of a learnable task's score, and a larger one costs the suite's weak
    # targets more (benchmarks/README.md, "Constants").
    shrink_doubt = 2.0
    # The range of the training targets, which predictions are clipped to (see seen).
    low, high = -np.inf, np.inf

    def __init__(self, mean=0.0, scale=1.0):
        self.mean = mean
        self.scale = scale

    @classmethod
    def from_labels(cls, labels, where=""):
        """The task (not yet scaled) and its (present) targets as float64."""
        try:
            values = np.asarray(labels, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}y must be numeric; got {exc}") from exc
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{where}y holds infinite values.")
        return cls(), values

    @classmethod
    def from_classes(cls, classes, where=""):
        raise ValueError(
            f"{where}a regression task has no classes; pass None for it in classes."
        )

    @classmethod
    def from_state(cls, state, where="a task"):
        """The task a model file describes (its ``state_names``), checked: a finite
        mean (positive for a count), a positive scale, a range and a shrinkage in
        [0, 1]."""
        _checks.keys(state, where, cls.state_names)
        task = cls.__new__(cls)
        # a count's mean and a quantity's scale divide its targets: positive
        positive = "scale" if "scale" in cls.state_names else "mean"
        for name in cls.state_names[:-3]:
            value = _checks.number(state[name], f"{where}'s {name}")
            if name == positive and not value > 0:
                raise ValueError(f"{where}'s {name} must be positive; got {value}.")
            setattr(task, name, value)
        low, high = (
            _checks.number(state[name], f"{where}'s {name}", finite=False)
            for name in ("low", "high")
        )
        if low > high:
            raise ValueError(f"{where}'s range [{low}, {high}] is empty.")
        task.low, task.high = low, high
        task.shrink = _checks.number(state["shrink"], f"{where}'s shrink", 0, 1)
        return task

    def encode(self, labels, where=""):
        """The (present) targets as float64, to standardise with the first call's
        scaling."""
        return self.from_labels(labels, where)[1]

    def same_layout(self, other):
        return type(other) is type(self)

    @staticmethod
    def key(values):
        """The targets as int64 keys that rows are merged on: their bits."""
        return np.ascontiguousarray(values, dtype=np.float64).view(np.int64)

    @staticmethod
    def from_key(keys):
        return np.ascontiguousarray(keys).view(np.float64)

    @staticmethod
    def tree_block(labels):
        """What the binning tree of the numeric encoding fits for this task: the
        value."""
        return np.asarray(labels, dtype=np.float64)[:, None]

    def fit_scale(self, values, weight, warm=False):
        """Learn the weighted mean and deviation of the training targets ``values``.

        A constant target (a stream's first chunk of one value) is scaled by its
        magnitude, at least 1, rather than by its deviation of 0, so that later
        targets that vary stay learnable; while the targets seen are constant, the
        clip to their range predicts that constant exactly. With ``warm`` (a warm
        start, a later ``partial_fit`` call), the scaling learned before is kept,
        unless the targets it was learned from were all one value: then it said
        nothing of their spread, and these targets rescale the task.
        """
        if warm and self.low < self.high:
            return
        self.mean, spread = weighted_moments(values, weight)
        self.scale = spread if spread > 0 else max(abs(self.mean), 1.0)

    def standardise(self, values):
        return (values - self.mean) / (self.scale if self.scale > 0 else 1.0)

    @staticmethod
    def loss(out, y):
        """Squared error of the first output of ``out`` (..., W) against ``y`` (...)."""
        return (out[..., 0] - y).square()

    @staticmethod
    def combine(out, ops):
        """The ensemble members' outputs (B, K, T, W) as one: their mean value."""
        return out.mean(1)

    def proba(self, raw, ops):
        return None

    def fit_shrink(self, out, y, w):
        """The task with its output shrunk towards the training mean as far as the
        validation rows ask (see :func:`shrink_factor`): outputs ``out`` (n, W),
        targets ``y`` (n,) and row weights ``w`` (n,), zero where a label is missing.

        A network that learned little of a noisy target predicts noise around the
        mean; the factor on its output that minimises the task's own loss on the
        validation rows is then near 0, where the constant prediction is. A target
        it learned well keeps a factor near 1. The factor is itself estimated on a few
        rows, that also chose the best epoch, so the kind's ``shrink_doubt`` takes
        a multiple of its variance off it.
        """
        # out's columns beyond the task's width are padding (-inf) in a mixed model
        factor = shrink_factor(self.loss, out[:, : self.width], y, w, self.shrink_doubt)
        if factor is None:
            return self
        shrunk = copy.copy(self)
        shrunk.shrink = factor
        return shrunk

    def seen(self, values, widen=False):
        """The task predicting within the range of the training targets ``values``
        (present, float64), or, with ``widen`` (a warm start, a further
        ``partial_fit`` chunk), within that range and the one it had.

        A network extrapolates without bound where a row lies outside what it was
        trained on (a log link, exponentially); a prediction beyond every training
        target is rarely nearer the truth than the nearest one (RealMLP clips its
        regression outputs the same way).
        """
        group = current()  # the range of every rank's targets
        low = float(group.min(values.min() if len(values) else np.inf))
        high = float(group.max(values.max() if len(values) else -np.inf))
        if low > high:  # no target
            return self
        if widen:
            low, high = min(low, self.low), max(high, self.high)
        if (low, high) == (self.low, self.high):
            return self
        task = copy.copy(self)
        task.low, task.high = low, high
        return task

    def unshrunk(self):
        """The task predicting the network's output as it is (a fit without
        validation rows)."""
        if self.shrink == 1.0:
            return self
        whole = copy.copy(self)
        whole.shrink = 1.0
        return whole

    def output(self, raw, ops):
        """The task's output from the combined outputs ``raw`` (n, W), written once
        for NumPy (``predict``) and PyTorch (the ONNX graph): the value, shrunk,
        mapped back to the target's scale and clipped to the training targets'
        range, float64."""
        value = ops.float64(raw[:, 0]) * (self.shrink * self.scale) + self.mean
        return ops.bounded(value, self.low, self.high)

    def predict(self, raw, ops):
        """The predicted value: :meth:`output`."""
        return self.output(raw, ops)

    def score(self, y_true, y_pred, sample_weight):
        """The coefficient of determination :math:`R^2`."""
        try:
            y_true = np.asarray(y_true, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y must be numeric for a regression task; {exc}") from exc
        if len(y_true) < 2:
            raise ValueError(
                "R2 is undefined with fewer than two labelled samples; score a "
                "regression task on two or more."
            )
        # R2 does not depend on the unit: targets above about 1e154, whose squares
        # overflow float64, are scored scaled down.
        size = max(np.abs(y_true).max(), np.abs(y_pred).max())
        if size > _HUGE:
            y_true, y_pred = y_true / size, np.asarray(y_pred) / size
        return float(r2_score(y_true, y_pred, sample_weight=sample_weight))


class CountTask(RegressionTask):
    """A task whose target is a count (non-negative, often whole numbers): Poisson
    deviance with a log link, as ``HistGradientBoostingRegressor(loss="poisson")``.

    The tower's output ``o`` is the log of the expected count relative to the
    training rows' weighted mean ``m``: the prediction is ``m * exp(o)``, so an
    untrained tower predicts the mean, and the loss is the half Poisson deviance of the
    targets divided by ``m``, ``exp(o) - z * o + z * log(z) - z`` with ``z = y / m``
    (zero at a perfect prediction, on a scale that does not depend on the counts'
    size).

    Parameters
    ----------
    mean : float
        The weighted mean of the training targets; 1 for an all-zero target (see
        ``fit_scale``).
    """

    kind = "count"
    # c in uncertainty weighting's c * exp(-s) * loss + s / 2 (a likelihood, as the
    # classes' softmax).
    uncertainty_factor = 1.0
    state_names = ("mean", "low", "high", "shrink")

    def __init__(self, mean=1.0):
        self.mean = mean

    @property
    def scale(self):
        return self.mean

    @classmethod
    def from_labels(cls, labels, where=""):
        """The task (not yet scaled) and its (present) targets as float64; a negative
        target is an error."""
        task, values = super().from_labels(labels, where)
        if np.any(values < 0):
            raise ValueError(
                f"{where}a count task (Poisson loss) needs non-negative targets; got "
                f"{values.min()!r}. Use a regression task (squared error) for values "
                "that can be negative."
            )
        return cls(), values

    def fit_scale(self, values, weight, warm=False):
        """Learn the weighted mean of the training targets ``values``; all zeros (a
        stream's first chunk) take 1 as the reference rate, so that later counts
        stay learnable (the clip to the range seen predicts 0 meanwhile). With
        ``warm``, as :meth:`RegressionTask.fit_scale`."""
        if warm and self.low < self.high:
            return
        mean = weighted_moments(values, weight)[0]
        self.mean = mean if mean > 0 else 1.0

    def standardise(self, values):
        return values / (self.mean if self.mean > 0 else 1.0)

    @staticmethod
    def loss(out, y):
        """Half the Poisson deviance of the log-rate ``out[..., 0]`` against the
        scaled counts ``y``."""
        o = out[..., 0]
        return torch.exp(o) - y * o + torch.xlogy(y, y) - y

    @staticmethod
    def combine(out, ops):
        """The ensemble members' outputs (B, K, T, W) as one: the log of their mean
        expected count."""
        return ops.log_mean_exp(out, 1)

    def output(self, raw, ops):
        """The expected count, its log-rate shrunk towards the training mean's,
        clipped to the training targets' range, float64 (finite: at most the
        largest float64); 0 where no training count was positive."""
        if self.mean <= 0:
            return ops.float64(raw[:, 0]) * 0.0
        log_count = ops.float64(raw[:, 0]) * self.shrink + math.log(self.mean)
        count = ops.exp(ops.minimum(log_count, _LOG_MAX))
        return ops.bounded(count, self.low, self.high)


def weighted_moments(values, weight):
    """The weighted mean and standard deviation of ``values``, as floats, finite for
    targets of any magnitude."""
    group = current()  # sums over every rank's targets, in a data-parallel fit
    w = weight / group.max(weight.max(initial=0.0))  # equal weights: exactly ones
    # Squares of targets above about 1e154 overflow: those are scaled down first.
    size = group.max(np.abs(values).max(initial=0.0))
    size = size if size > _HUGE else 1.0
    v = values / size if size != 1.0 else values
    total = group.sum(w.sum())
    mean = group.sum((w * v).sum()) / total
    spread = np.sqrt(group.sum((w * (v - mean) ** 2).sum()) / total)
    return float(mean * size), float(spread * size)


for _task in (ClassificationTask, RegressionTask, CountTask):
    register(_task)
# The kinds task_types accepts, in the registry's order.
TASK_TYPES = tuple(TASKS)


def task_groups(kinds):
    """The tasks of each kind: ``[(task class, index), ...]``, one entry per kind
    present, ``index`` None when that kind covers every task (no gather needed) and
    an int64 array of task positions otherwise."""
    kinds = list(kinds)
    groups = []
    for kind, task in TASKS.items():
        index = np.flatnonzero([k == kind for k in kinds])
        if index.size:
            groups.append((task, None if index.size == len(kinds) else index))
    return groups
