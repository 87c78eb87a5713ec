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

The estimators, the loss (:class:`sklearn_mmoe._net.MultiTaskLoss`) and the network
(:class:`sklearn_mmoe._module.MMoEModule`, which averages ensemble members per kind)
read the kind through these classes and :func:`task_groups`, never by comparing names.
"""

import warnings

import numpy as np
import pandas as pd
import torch.nn.functional as F
from sklearn.metrics import r2_score
from sklearn.utils.multiclass import check_classification_targets, type_of_target

TASK_TYPES = ("classification", "regression")
# "auto" reads whole numbers as classes (scikit-learn's type_of_target) up to this many
# distinct values, and more of them as a quantity (a count, weeks, dollars), warning.
_MANY_CLASSES = 20
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
        """The task with the given labels (``partial_fit``'s ``classes``)."""
        classes = natural_dtype(np.asarray(classes).reshape(-1), where)
        classes = np.unique(classes)
        if len(classes) < 2:
            raise ValueError(
                f"{where}classes must name at least two classes; got "
                f"{classes.tolist()!r}."
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

    def fit_scale(self, values, weight):
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

    def proba(self, raw):
        """Class probabilities (n, n_classes) from the combined logits (n, W)."""
        logits = raw[:, : self.width].astype(np.float64)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, raw):
        """The most probable label of each row, in the labels' own type."""
        return self.classes[self.proba(raw).argmax(axis=1)]

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
        target keeps scale 0 (it trains on zeros and predicts its constant).
    """

    kind = "regression"
    width = 1
    has_proba = False
    # c in uncertainty weighting's c * exp(-s) * loss + s / 2 (a Gaussian likelihood).
    uncertainty_factor = 0.5

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

    def fit_scale(self, values, weight):
        """Learn the weighted mean and deviation of the training targets ``values``."""
        w = weight / weight.max()  # equal weights: exactly ones
        # Squares of targets above about 1e154 overflow: those are scaled down first.
        size = np.abs(values).max()
        size = size if size > _HUGE else 1.0
        v = values / size if size != 1.0 else values
        mean = (w * v).sum() / w.sum()
        self.mean = float(mean * size)
        self.scale = float(np.sqrt((w * (v - mean) ** 2).sum() / w.sum()) * size)

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

    def proba(self, raw):
        return None

    def predict(self, raw):
        """The output mapped back to the target's scale, float64."""
        return raw[:, 0].astype(np.float64) * self.scale + self.mean

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
        return float(r2_score(y_true, y_pred, sample_weight=sample_weight))


TASKS = {task.kind: task for task in (ClassificationTask, RegressionTask)}


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


def infer_task_type(labels, where=""):
    """``"regression"`` when scikit-learn's ``type_of_target`` calls the (present)
    ``labels`` continuous, or when they are more than ``_MANY_CLASSES`` distinct whole
    numbers (a count, an amount: read as a quantity, with a warning that says how to
    ask for classes); ``"classification"`` otherwise."""
    labels = natural_dtype(np.asarray(labels), where)
    if labels.dtype.kind in "fc" and type_of_target(labels) == "continuous":
        return "regression"
    if labels.dtype.kind in "iuf":
        n_values = np.unique(labels).size
        if n_values > _MANY_CLASSES:
            warnings.warn(
                f"{where}task_types='auto' reads its {n_values} distinct whole numbers "
                "as a quantity, a regression task (scikit-learn's type_of_target "
                f"says {type_of_target(labels)!r}); if they are class labels, pass "
                "'classification' for it in task_types.",
                UserWarning,
                stacklevel=5,
            )
            return "regression"
    return "classification"


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
