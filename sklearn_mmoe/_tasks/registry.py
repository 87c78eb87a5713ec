"""The interface every kind of task provides, and the registry of kinds: a new kind
is a class with these members, registered here."""

from typing import Protocol


class TaskKind(Protocol):
    """What every kind of task provides: the interface :data:`TASKS` registers.

    A new kind is a class with these members, registered with :func:`register`,
    and an entry of labels in ``tests/test_task_kinds.py``, whose tests run over
    every registered kind.
    """

    kind: str  # the name task_types uses
    has_proba: bool  # whether predict_proba gives class probabilities
    state_names: tuple  # the attributes that describe a fitted task (from_state's)
    uncertainty_factor: float  # c in the learned task weights' c * exp(-s) * loss

    # width: int, outputs of the task's tower (an attribute or a property)

    @classmethod
    def from_labels(cls, labels, where=""):
        """The task described by its training labels, and their encoded targets."""

    @classmethod
    def from_classes(cls, classes, where=""):
        """The task of partial_fit's ``classes`` (or an error naming them)."""

    @classmethod
    def from_state(cls, state, where=""):
        """The task of a model file's attributes, checked (a ValueError if not)."""

    def encode(self, labels, where=""):
        """Later labels as targets, with the first call's description."""

    def same_layout(self, other):
        """Whether a warm start from ``other`` continues this task."""

    @staticmethod
    def key(values):
        """The targets as int64 keys repeated rows are merged on."""

    @staticmethod
    def from_key(keys):
        """The targets back from their keys, exactly."""

    @staticmethod
    def tree_block(labels):
        """What the numeric encoding's binning tree fits for this task."""

    def fit_scale(self, values, weight, warm=False):
        """Learn the target scaling from the training targets (``warm``: keep the
        one learned before where it says something)."""

    def standardise(self, values):
        """Targets as the network trains on them."""

    @staticmethod
    def loss(out, y):
        """Per-row loss of tower outputs ``out`` (..., W) against targets ``y``."""

    @staticmethod
    def combine(out, ops):
        """Ensemble members' outputs (B, K, T, W) as one (B, T, W)."""

    def output(self, raw, ops):
        """The task's output from combined outputs (n, W) (class probabilities,
        a value, a count), written once over ``ops`` (NumPy for prediction,
        PyTorch for the ONNX graph)."""

    def proba(self, raw, ops):
        """Class probabilities from combined outputs, or None."""

    def predict(self, raw, ops):
        """Predictions from combined outputs (n, W)."""

    def fit_shrink(self, out, y, w):
        """The task as it predicts after training, given validation outputs."""

    def unshrunk(self):
        """The task predicting the network's outputs as they are."""

    def seen(self, values, widen=False):
        """The task knowing the range of its training targets."""

    def score(self, y_true, y_pred, sample_weight):
        """The task's score (what ``score`` averages)."""


def register(task):
    """Add the kind ``task`` (a class with the members of :class:`TaskKind`) to
    :data:`TASKS`; refuse one that lacks a member."""
    members = [m for m in dir(TaskKind) if not m.startswith("_")]
    members += list(TaskKind.__annotations__) + ["width"]
    missing = sorted(m for m in set(members) if not hasattr(task, m))
    if missing:
        raise TypeError(f"{task.__name__} lacks the task members {missing}.")
    TASKS[task.kind] = task
    return task


# Every kind of task, by the name task_types uses.
TASKS = {}
