"""MMoEClassifier: per-task label sets, MultiOutputClassifier-shaped outputs."""

import numpy as np
import pandas as pd
import pytest
from _helpers import LEARNER

from sklearn_mmoe import MMoEClassifier

# Sixty epochs: the accuracies below were set with them.
LEARNED = dict(LEARNER, max_epochs=60)


def test_each_task_keeps_its_own_labels_and_probabilities(two_task_data):
    X, Y, binary, multi = two_task_data
    clf = MMoEClassifier(**LEARNED).fit(X, Y)
    assert isinstance(clf.classes_, list) and len(clf.classes_) == 2
    np.testing.assert_array_equal(clf.classes_[0], [0, 1])
    np.testing.assert_array_equal(clf.classes_[1], ["high", "low", "mid"])
    proba = clf.predict_proba(X)
    assert [p.shape for p in proba] == [(300, 2), (300, 3)]
    for p in proba:
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    pred = clf.predict(X)
    assert pred.shape == (300, 2) and pred.dtype == object
    for t, p in enumerate(proba):
        np.testing.assert_array_equal(pred[:, t], clf.classes_[t][p.argmax(axis=1)])
    assert (pred[:, 0] == binary).mean() > 0.9
    assert (pred[:, 1] == multi).mean() > 0.85


def test_a_single_task_gives_arrays_not_lists(two_task_data):
    X, _, binary, _ = two_task_data
    clf = MMoEClassifier(**LEARNED).fit(X, binary)
    assert isinstance(clf.classes_, np.ndarray)
    assert clf.predict_proba(X).shape == (300, 2)
    assert clf.predict(X).shape == (300,)
    assert clf.n_outputs_ == 1


def test_a_column_vector_y_predicts_a_column(two_task_data):
    X, _, binary, _ = two_task_data
    clf = MMoEClassifier(**LEARNED).fit(X, binary[:, None])
    assert clf.predict(X[:4]).shape == (4, 1)
    assert clf.predict_proba(X[:4]).shape == (4, 2)


def test_a_batch_of_one_row_keeps_its_task_axis(two_task_data):
    X, Y, _, _ = two_task_data
    clf = MMoEClassifier(**LEARNED).fit(X, Y)
    assert clf.predict(X[:1]).shape == (1, 2)
    assert [p.shape for p in clf.predict_proba(X[:1])] == [(1, 2), (1, 3)]


def test_a_rows_prediction_does_not_depend_on_its_batch(two_task_data):
    """Equal up to float32 rounding of the logits (the network computes in float32)."""
    X, Y, _, _ = two_task_data
    clf = MMoEClassifier(**LEARNED).fit(X, Y)
    full = clf.predict_proba(X)
    for i in (0, 17, 299):
        one = clf.predict_proba(X[i : i + 1])
        for t in range(2):
            np.testing.assert_allclose(one[t][0], full[t][i], rtol=1e-5, atol=1e-9)


def test_labels_of_any_type_come_back_as_given():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(120, 3))
    y = pd.DataFrame(
        {
            "flag": X[:, 0] > 0,
            "colour": np.where(X[:, 1] > 0, "red", "blue"),
            "grade": np.where(X[:, 2] > 0, 10, 20),
        }
    )
    clf = MMoEClassifier(**LEARNED).fit(X, y)
    assert clf.classes_[0].dtype == bool
    assert clf.classes_[2].dtype.kind == "i"
    pred = clf.predict(X)
    assert isinstance(pred[0, 0], (bool, np.bool_))
    assert set(pred[:, 1]) <= {"red", "blue"}
    assert set(pred[:, 2]) <= {10, 20}


def test_same_typed_tasks_predict_that_type(two_task_data):
    X, _, binary, _ = two_task_data
    pred = (
        MMoEClassifier(**LEARNED)
        .fit(X, np.column_stack([binary, 1 - binary]))
        .predict(X)
    )
    assert pred.dtype.kind == "i"


def test_score_is_task_accuracy_averaged_over_tasks(two_task_data):
    X, Y, _, _ = two_task_data
    clf = MMoEClassifier(**LEARNED).fit(X[:200], Y[:200])
    pred = clf.predict(X[200:])
    expected = np.mean([(pred[:, t] == Y[200:, t]).mean() for t in range(2)])
    assert clf.score(X[200:], Y[200:]) == pytest.approx(expected)
    w = np.r_[np.ones(50), np.zeros(50)]  # only the first 50 test rows count
    expected_w = np.mean([(pred[:50, t] == Y[200:250, t]).mean() for t in range(2)])
    assert clf.score(X[200:], Y[200:], sample_weight=w) == pytest.approx(expected_w)


def test_predict_log_proba_is_the_log_of_predict_proba(two_task_data):
    X, Y, _, _ = two_task_data
    clf = MMoEClassifier(**LEARNED).fit(X, Y)
    for log, p in zip(clf.predict_log_proba(X[:20]), clf.predict_proba(X[:20])):
        np.testing.assert_allclose(np.exp(log), p)


def test_continuous_targets_are_refused_naming_the_task(two_task_data):
    X, _, binary, _ = two_task_data
    with pytest.raises(ValueError, match="Task 1.*Unknown label type: continuous"):
        MMoEClassifier().fit(X, np.column_stack([binary, X[:, 0]]))


def test_a_task_with_a_single_class_is_refused(two_task_data):
    X, _, binary, _ = two_task_data
    with pytest.raises(ValueError, match="Task 1.*only one class"):
        MMoEClassifier().fit(X, np.column_stack([binary, np.zeros(300)]))


def test_mixed_label_types_within_a_task_are_refused():
    X = np.random.RandomState(0).normal(size=(4, 2))
    y = pd.DataFrame({"a": [0, 1, 0, 1], "b": ["x", 2, "x", 2]})
    with pytest.raises(TypeError, match=r"Task 'b' \(column 1 of y\).*mix"):
        MMoEClassifier().fit(X, y)


def test_missing_labels_are_refused(two_task_data):
    X, _, _, multi = two_task_data
    y = multi.astype(object)
    y[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MMoEClassifier().fit(X, y)


def test_warm_start_refuses_other_classes(two_task_data):
    X, _, binary, _ = two_task_data
    clf = MMoEClassifier(warm_start=True, **LEARNED).fit(X, binary)
    with pytest.raises(
        ValueError, match=r"same tasks \(their number, kinds and classes\)"
    ):
        clf.fit(X, binary + 1)
