"""The displays draw what the fitted model holds; a missing matplotlib is named."""

import sys

import numpy as np
import pytest
from _helpers import NARROW
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mmoe import MMoEClassifier, MMoERegressor
from sklearn_mmoe.plotting import GateWeightsDisplay, LossCurvesDisplay

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = dict(**NARROW, max_epochs=6)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 4))
    return X, np.column_stack([X[:, 0] > 0, X[:, 1] > X[:, 2], X[:, 3] > 0.5])


def test_gate_heatmap_shows_the_mean_gate_weights(data):
    X, Y = data
    clf = MMoEClassifier(**SMALL, n_experts=5).fit(X, Y)
    display = GateWeightsDisplay.from_estimator(clf, X, task_names=["a", "b", "c"])
    expected = clf.gate_weights(X).mean(0)
    np.testing.assert_allclose(display.weights, expected)
    np.testing.assert_allclose(display.im_.get_array(), expected)
    assert display.text_.shape == (3, 5)
    assert display.text_[1, 2].get_text() == f"{expected[1, 2]:.2f}"
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == ["a", "b", "c"]
    assert display.figure_ is display.ax_.figure


def test_gate_heatmap_keeps_its_rotated_labels_inside_a_saved_figure(tmp_path):
    """Saved as is (no bbox_inches="tight"), no tick label is cut off."""
    display = GateWeightsDisplay(
        np.full((2, 4), 0.25),
        task_names=["a long task name", "another task"],
        expert_names=[f"a long expert name {e}" for e in range(4)],
    ).plot()
    display.figure_.savefig(tmp_path / "gates.png")  # draws with the final layout
    renderer = display.figure_.canvas.get_renderer()
    box = display.figure_.bbox
    labels = display.ax_.get_xticklabels() + display.ax_.get_yticklabels()
    for label in labels:
        extent = label.get_window_extent(renderer)
        assert extent.x0 >= box.x0 and extent.y0 >= box.y0, label.get_text()
        assert extent.x1 <= box.x1 and extent.y1 <= box.y1, label.get_text()
    display.figure_.tight_layout()  # what a user may still call: no layout clash


def test_gate_heatmap_labels_ple_experts_as_shared_and_own(data):
    X, Y = data
    clf = MMoEClassifier(**SMALL, architecture="ple", n_experts=2, n_task_experts=3)
    display = GateWeightsDisplay.from_estimator(clf.fit(X, Y), X, annotate=False)
    labels = [t.get_text() for t in display.ax_.get_xticklabels()]
    assert labels == ["shared 0", "shared 1", "own 0", "own 1", "own 2"]
    assert display.text_ is None


def test_gate_heatmap_reads_through_a_pipeline_and_onto_given_axes(data):
    import matplotlib.pyplot as plt

    X, Y = data
    pipe = make_pipeline(StandardScaler(), MMoEClassifier(**SMALL, n_experts=3))
    pipe.fit(X, Y)
    _, ax = plt.subplots()
    display = GateWeightsDisplay.from_estimator(pipe, X, ax=ax)
    assert display.ax_ is ax
    expected = pipe[-1].gate_weights(pipe[:-1].transform(X)).mean(0)
    np.testing.assert_allclose(display.weights, expected)


def test_gate_heatmap_rejects_unfitted_models_and_wrong_names(data):
    X, Y = data
    with pytest.raises(NotFittedError):
        GateWeightsDisplay.from_estimator(MMoEClassifier(), X)
    clf = MMoEClassifier(**SMALL, n_experts=3).fit(X, Y)
    with pytest.raises(ValueError, match="task_names must name 3 tasks"):
        GateWeightsDisplay.from_estimator(clf, X, task_names=["a"])
    with pytest.raises(ValueError, match="2-D"):
        GateWeightsDisplay(np.ones(3)).plot()


def test_loss_curves_draw_each_task_and_its_validation(data):
    X, Y = data
    reg = MMoERegressor(**{**SMALL, "early_stopping": True}).fit(X, Y.astype(float))
    display = LossCurvesDisplay.from_estimator(reg, log_scale=True)
    assert len(display.lines_) == 3 and len(display.validation_lines_) == 3
    for t in range(3):
        np.testing.assert_allclose(
            display.lines_[t].get_ydata(), reg.task_loss_curves_[:, t]
        )
        np.testing.assert_allclose(
            display.validation_lines_[t].get_ydata(), reg.task_validation_curves_[:, t]
        )
        assert display.validation_lines_[t].get_linestyle() == "--"
        assert display.validation_lines_[t].get_color() == display.lines_[t].get_color()
    assert display.ax_.get_yscale() == "log"
    assert list(display.lines_[0].get_xdata()) == list(range(1, reg.n_iter_ + 1))


def test_loss_curves_without_early_stopping_have_no_validation(data):
    X, Y = data
    clf = MMoEClassifier(**SMALL).fit(X, Y)
    display = LossCurvesDisplay.from_estimator(clf, task_names=["x", "y", "z"])
    assert display.validation_lines_ is None
    labels = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert labels == ["x (train)", "y (train)", "z (train)"]
    with pytest.raises(ValueError, match="validation has shape"):
        LossCurvesDisplay(np.ones((4, 2)), validation=np.ones((3, 2))).plot()


def test_a_missing_matplotlib_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'sklearn-mmoe\[plot\]'"):
        LossCurvesDisplay(np.ones((4, 2))).plot()
