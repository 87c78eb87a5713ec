"""Every registered kind of task, through the interface the package reads it by
(:class:`sklearn_mmoe._tasks.registry.TaskKind`): a new kind is tested here by its
registration and an entry of example labels below."""

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_mmoe import MMoEMultiTask
from sklearn_mmoe._network.ops import _NumpyOps, _TorchOps
from sklearn_mmoe._tasks.registry import TASKS, TaskKind, register

NUMPY = _NumpyOps("relu")

# Training labels of each registered kind (100 rows): a kind without an entry fails
# test_every_registered_kind_has_example_labels.
EXAMPLES = {
    "classification": lambda rng: rng.choice(np.array(["a", "b", "c"]), 100),
    "regression": lambda rng: rng.normal(3.0, 2.0, 100),
    "count": lambda rng: rng.poisson(2.5, 100),
}
KINDS = sorted(TASKS)


def _fitted(kind):
    """The kind's task fitted on its example labels, and its encoded targets."""
    labels = EXAMPLES[kind](np.random.RandomState(0))
    task, targets = TASKS[kind].from_labels(labels)
    task.fit_scale(targets, np.ones(len(targets)))
    return task.seen(targets), labels, targets


def _outputs(task, n=100, seed=1):
    """Random tower outputs (n, W), float32 as the network gives them."""
    return np.random.RandomState(seed).normal(size=(n, task.width)).astype(np.float32)


def test_every_registered_kind_has_example_labels():
    assert sorted(EXAMPLES) == KINDS


def test_a_kind_without_the_interface_is_refused_at_registration():
    class Incomplete:
        kind = "incomplete"

    with pytest.raises(TypeError, match="lacks the task members"):
        register(Incomplete)
    assert "incomplete" not in TASKS


@pytest.mark.parametrize("kind", KINDS)
def test_a_kind_provides_every_member_of_the_interface(kind):
    task, _, _ = _fitted(kind)
    for member in [m for m in dir(TaskKind) if not m.startswith("_")]:
        assert callable(getattr(task, member)), member
    assert task.kind == kind and isinstance(task.width, int) and task.width >= 1
    assert task.same_layout(task)


@pytest.mark.parametrize("kind", KINDS)
def test_labels_encode_as_at_fit_and_keys_round_trip(kind):
    task, labels, targets = _fitted(kind)
    np.testing.assert_array_equal(task.encode(labels), targets)
    np.testing.assert_array_equal(task.from_key(task.key(targets)), targets)
    standardised = task.standardise(targets)
    assert standardised.shape == targets.shape and np.all(np.isfinite(standardised))


@pytest.mark.parametrize("kind", KINDS)
def test_the_loss_is_finite_per_row_and_lowest_at_the_targets(kind):
    task, _, targets = _fitted(kind)
    y = torch.as_tensor(task.standardise(targets), dtype=torch.float32)
    out = torch.as_tensor(_outputs(task))
    loss = task.loss(out, y)
    assert loss.shape == (100,) and torch.all(torch.isfinite(loss))
    # the loss falls as outputs move from random towards the best output per row
    best = out.clone().requires_grad_(True)
    optimiser = torch.optim.SGD([best], lr=0.5)
    for _ in range(200):
        optimiser.zero_grad()
        task.loss(best, y).sum().backward()
        optimiser.step()
    assert task.loss(best, y).mean() < 0.5 * loss.mean()


@pytest.mark.parametrize("kind", KINDS)
def test_one_output_serves_predict_proba_and_the_onnx_graph(kind):
    """A kind's output, written once over the ops pair, is the same in NumPy (what
    predict and predict_proba read) and in PyTorch (what the ONNX graph returns)."""
    task, _, _ = _fitted(kind)
    raw = _outputs(task)
    numpy_ops = _NumpyOps("relu")
    predicted = task.predict(raw, numpy_ops)
    served = task.output(torch.as_tensor(raw), _TorchOps("relu", 0.0)).numpy()
    proba = task.proba(raw, numpy_ops)
    assert len(predicted) == 100 and served.dtype == np.float64
    np.testing.assert_allclose(served, task.output(raw, numpy_ops), rtol=1e-12)
    if task.has_proba:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_allclose(served, proba, rtol=1e-12)
        assert np.array_equal(predicted, task.classes[proba.argmax(axis=1)])
    else:
        assert proba is None
        np.testing.assert_allclose(served, predicted, rtol=1e-12)
    assert np.isfinite(task.score(predicted, predicted, np.ones(100)))


@pytest.mark.parametrize("kind", KINDS)
def test_identical_ensemble_members_combine_to_one_member(kind):
    task, _, _ = _fitted(kind)
    one = _outputs(task)[:, None, None, :]  # (B, 1, T=1, W)
    members = np.repeat(one, 3, axis=1)  # (B, K=3, 1, W)
    for ops, wrap in ((_NumpyOps("relu"), np.asarray), (_TorchOps("relu", 0.0), None)):
        x = members.astype(np.float64) if wrap else torch.as_tensor(members)
        combined = task.combine(x, ops)
        combined = np.asarray(combined if wrap else combined.numpy(), np.float64)
        if task.has_proba:  # the mean of identical probabilities
            np.testing.assert_allclose(
                task.proba(combined[:, 0], NUMPY),
                task.proba(one[:, 0, 0], NUMPY),
                rtol=1e-5,
            )
        else:
            np.testing.assert_allclose(
                task.predict(combined[:, 0], NUMPY),
                task.predict(one[:, 0, 0], NUMPY),
                rtol=1e-5,
            )


@pytest.mark.parametrize("kind", KINDS)
def test_shrinkage_and_range_keep_the_kind(kind):
    task, _, targets = _fitted(kind)
    out = torch.as_tensor(_outputs(task))
    y = torch.as_tensor(task.standardise(targets), dtype=torch.float32)
    shrunk = task.fit_shrink(out, y, torch.ones(100))
    for other in (shrunk, shrunk.unshrunk(), task.seen(targets, widen=True)):
        assert type(other) is type(task) and other.same_layout(task)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", KINDS)
def test_a_model_trains_and_predicts_every_kind(kind):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    y = pd.DataFrame({"task": EXAMPLES[kind](rng)})
    model = MMoEMultiTask(task_types=[kind], max_epochs=3, random_state=0).fit(X, y)
    assert model.task_types_ == [kind]
    assert np.isfinite(model.score(X, y))
