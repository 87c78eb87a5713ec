"""A task's labels pooled over the ranks of a data-parallel fit decide its kind and
classes as the union of the ranks' labels does (``_tasks/pooling.py``), checked
against a stand-in for the ranks."""

import numpy as np
import pytest

from sklearn_mmoe._distributed.group import Solo
from sklearn_mmoe._tasks.inference import infer_task_type
from sklearn_mmoe._tasks.pooling import pooled_classes, pooled_labels


class TwoRanks(Solo):
    """Rank 0 of two, whose peer's next gathered values are queued in ``theirs``."""

    world = 2

    def __init__(self, *theirs):
        self.theirs = list(theirs)

    def gather(self, value):
        return [value, self.theirs.pop(0)]


def test_pooled_labels_tell_the_kind_the_union_tells():
    mine = np.arange(5000, dtype=float)  # whole numbers, many of them
    theirs = np.concatenate([np.arange(5000, 9000, dtype=float), [8500.5]])
    pooled = pooled_labels(TwoRanks(pooled_labels(Solo(), theirs)), mine)
    union = np.concatenate([mine, theirs])
    assert infer_task_type(pooled) == infer_task_type(union) == "regression"
    assert len(pooled) < len(union) // 4  # each rank sends a few of its labels


@pytest.mark.filterwarnings("ignore:task_types='auto'")
def test_pooled_labels_keep_the_smallest_and_how_many_there_are():
    mine, theirs = np.arange(3, 1500), np.arange(-2, 3)  # signed only on rank 1
    pooled = pooled_labels(TwoRanks(pooled_labels(Solo(), theirs)), mine)
    union = np.concatenate([mine, theirs])
    assert pooled.min() == union.min() and len(np.unique(pooled)) > 20
    assert infer_task_type(pooled) == infer_task_type(union)


def test_a_class_on_one_rank_only_is_a_class_of_the_task():
    group = TwoRanks(np.array(["gold", "no"], dtype=object))
    labels = [np.array(["no", "yes", "no"], dtype=object), np.array([1.0, 2.0])]
    classes = pooled_classes(
        group, labels, ["classification", "regression"], None, ["", ""]
    )
    assert list(classes[0]) == ["gold", "no", "yes"] and classes[1] is None


def test_continuous_labels_pooled_as_classes_are_refused():
    group = TwoRanks(np.array([0.25, 1.5]))
    with pytest.raises(ValueError, match="task 0: Unknown label type"):
        pooled_classes(
            group, [np.array([0.5, 1.0])], ["classification"], None, ["task 0: "]
        )
