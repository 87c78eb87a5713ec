"""compare_joint_training: each task trained with the others and trained alone."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mmoe import (
    MMoEClassifier,
    MMoEMultiTask,
    MMoERegressor,
    compare_joint_training,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
COLUMNS = ["metric", "joint", "separate", "difference", "standard_error", "verdict"]


def test_reports_every_task_of_a_mixed_model_with_its_kinds_metric(fast):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(180, 4))
    Y = pd.DataFrame(
        {
            "buys": X[:, 0] + 0.3 * rng.normal(size=180) > 0,
            "spend": X[:, 0] + X[:, 2],
            "visits": rng.poisson(np.exp(X[:, 0])),
        }
    )
    model = MMoEMultiTask(
        **{**fast, "max_epochs": 15},
        task_types=["classification", "regression", "count"],
    )
    report = compare_joint_training(
        model, X, Y, cv=KFold(3, shuffle=True, random_state=0)
    )
    assert report.columns.tolist() == COLUMNS
    assert report.index.tolist() == ["buys", "spend", "visits"]
    assert report["metric"].tolist() == ["roc_auc", "r2", "r2"]
    assert (report[["joint", "separate"]].to_numpy() > 0.3).all()  # both learn
    np.testing.assert_allclose(
        report["difference"], report["joint"] - report["separate"]
    )
    helps = report["difference"] > 2 * report["standard_error"]
    hurts = report["difference"] < -2 * report["standard_error"]
    expected = np.where(helps, "joint helps", np.where(hurts, "joint hurts", "level"))
    assert report["verdict"].tolist() == expected.tolist()


def test_joint_training_helps_a_task_with_few_labels_of_a_shared_signal(fast):
    """The second task is labelled on a tenth of the rows and is the first task's
    function of the inputs plus an offset: alone it has 24 rows to learn from,
    together it borrows the first task's 240."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 6))
    signal = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    Y = np.column_stack([signal, signal + 1.0]) + 0.1 * rng.normal(size=(300, 2))
    Y[rng.rand(300) > 0.1, 1] = np.nan
    model = MMoERegressor(**fast, missing_labels="ignore")
    report = compare_joint_training(
        model, X, Y, cv=KFold(5, shuffle=True, random_state=0)
    )
    assert report.index.tolist() == ["task0", "task1"]
    assert report.loc["task1", "verdict"] == "joint helps"
    assert report.loc["task1", "difference"] > 0.1


def test_a_pipeline_and_named_kinds_reach_each_single_task_model(fast):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 3)) * 100
    Y = np.column_stack([rng.poisson(3, 150), X[:, 0] > 0]).astype(int)
    model = make_pipeline(
        StandardScaler(),
        MMoEMultiTask(**fast, task_types=["regression", "classification"]),
    )
    report = compare_joint_training(model, X, Y, cv=3)
    # named "regression", the count column is scored as a quantity in both models
    assert report["metric"].tolist() == ["r2", "roc_auc"]


def test_classifier_tasks_score_by_auc(fast, two_task_data):
    X, Y, _, _ = two_task_data
    report = compare_joint_training(MMoEClassifier(**fast), X, Y, cv=3)
    assert report["metric"].tolist() == ["roc_auc", "accuracy"]
    assert (report["joint"] > 0.7).all() and (report["separate"] > 0.7).all()


def test_refuses_what_it_cannot_compare(fast):
    X = np.random.RandomState(0).normal(size=(60, 3))
    with pytest.raises(TypeError, match="estimator must be an MMoEClassifier"):
        compare_joint_training(MLPRegressor(), X, X[:, :2])
    with pytest.raises(ValueError, match="two tasks or more.*got 1"):
        compare_joint_training(MMoERegressor(**fast), X, X[:, 0])
    with pytest.raises(ValueError, match="different numbers of rows"):
        compare_joint_training(MMoERegressor(**fast), X, X[:50, :2])


class _Terminal(__import__("io").StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream", ["log", "terminal"])
def test_verbose_says_the_cost_first_then_the_progress(stream, monkeypatch, capsys):
    """It ran 15 fits in silence (82 s on the report's machine)."""
    import sys

    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 3))
    Y = np.c_[X[:, 0], X[:, 0] + X[:, 1]]
    terminal = _Terminal()
    if stream == "terminal":
        monkeypatch.setattr(sys, "stdout", terminal)
    model = MMoERegressor(n_experts=2, expert_units=(4,), max_epochs=2)
    compare_joint_training(model, X, Y, cv=3, verbose=1)
    out = terminal.getvalue() if stream == "terminal" else capsys.readouterr().out
    first = out.splitlines()[0]
    assert first == "9 fits: 3 folds x (one model for all 2 tasks, and one per task)"
    if stream == "log":
        lines = out.strip().splitlines()[1:]
        assert [line.split(",")[0] for line in lines] == [
            "3/9 fits",
            "6/9 fits",
            "9/9 fits",
        ]
        assert all("left" in line for line in lines)
    else:
        assert "9/9" in out.split("\r")[-1] and "fit" in out


def test_verbose_0_is_silent_and_a_bad_verbose_is_refused(capsys):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    Y = np.c_[X[:, 0], X[:, 1]]
    model = MMoERegressor(n_experts=2, expert_units=(4,), max_epochs=2)
    compare_joint_training(model, X, Y, cv=2)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="verbose must be an int >= 0"):
        compare_joint_training(model, X, Y, cv=2, verbose=-1)
