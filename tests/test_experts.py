"""Experts of a module class of the user's own: built once per expert, batched over
the experts with torch.func, searchable, refused clearly where they cannot run."""

import pickle

import numpy as np
import pytest
import torch
from _helpers import AROUND_EXPERTS
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from torch import nn

from sklearn_mmoe import MMoEClassifier, MMoERegressor, save, to_onnx
from sklearn_mmoe._network.module import MMoEModule

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class Residual(nn.Module):
    """A user's expert: a projection, then a residual block with dropout. Like
    examples/plot_custom_experts.py's and benchmarks/experts.py's on purpose, but
    the tests' own: their dropout is what shows a module's randomness seeded by the
    fit, and the tests import nothing from the examples or the benchmarks."""

    def __init__(self, n_inputs, n_outputs, hidden=16, dropout=0.1):
        super().__init__()
        self.project = nn.Linear(n_inputs, n_outputs)
        self.block = nn.Sequential(
            nn.LayerNorm(n_outputs),
            nn.Linear(n_outputs, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_outputs),
        )

    def forward(self, x):
        h = self.project(x)
        return torch.relu(h + self.block(h))


class WrongWidth(nn.Module):
    def __init__(self, n_inputs, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_inputs, n_outputs + 1)

    def forward(self, x):
        return self.linear(x)


class DataDependent(nn.Module):
    """Branches on a tensor's value, which a batched (vmapped) run cannot."""

    def __init__(self, n_inputs, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_inputs, n_outputs)

    def forward(self, x):
        h = self.linear(x)  # each expert's own: batched over the experts
        return h if h.sum() > 0 else -h


class Normalised(nn.Module):
    """Batch normalisation: running statistics, each expert's own."""

    def __init__(self, n_inputs, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_inputs, n_outputs)
        self.norm = nn.BatchNorm1d(n_outputs)

    def forward(self, x):
        return torch.relu(self.norm(self.linear(x)))


class NotAModule:
    def __init__(self, n_inputs, n_outputs):
        pass


@pytest.fixture
def two_tasks():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 5))
    Y = np.column_stack([X[:, 0] + X[:, 1] > 0, X[:, 2] - X[:, 3] > 0]).astype(int)
    return X, Y


def _stacked(module, level, name):
    return getattr(module.experts[str(level)], name)


def test_a_user_module_trains_as_experts_with_an_expert_axis(two_tasks, fast):
    X, Y = two_tasks
    clf = MMoEClassifier(
        expert_type=Residual, expert_options={"hidden": 8}, **fast
    ).fit(X, Y)
    module = clf.net_.module_
    E, H = fast["n_experts"], fast["expert_units"][-1]
    assert _stacked(module, 0, "project__weight").shape == (E, H, 5)
    assert _stacked(module, 0, "block__1__weight").shape == (E, 8, H)
    weights = clf.gate_weights(X[:7])
    assert weights.shape == (7, 2, E)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    assert clf.score(X, Y) > 0.8
    again = clone(clf).fit(X, Y)  # the module's dropout is seeded by the fit
    np.testing.assert_array_equal(again.predict_proba(X)[0], clf.predict_proba(X)[0])


def test_the_batched_experts_equal_each_expert_run_alone(two_tasks, fast):
    X, Y = two_tasks
    clf = MMoEClassifier(expert_type=Residual, **fast).fit(X, Y)
    module = clf.net_.module_.eval()
    level = module.levels[0]
    x = torch.randn(9, 5)
    experts = module.experts["0"]
    p = module._tensors()
    with torch.no_grad():
        batched = module._expert.run(experts, p, None, level, x)  # (E, 9, H)
        _, params, _ = experts.state(p, False)
        for e in range(level.n_experts):
            alone = Residual(5, fast["expert_units"][-1]).eval()
            alone.load_state_dict({n: w[e] for n, w in params.items()})
            torch.testing.assert_close(batched[e], alone(x))


@pytest.mark.parametrize("params", AROUND_EXPERTS.values(), ids=AROUND_EXPERTS.keys())
def test_user_experts_work_with_every_architecture_and_gate(two_tasks, fast, params):
    X, Y = two_tasks
    clf = MMoEClassifier(expert_type=Residual, **{**fast, **params}).fit(X, Y)
    proba = clf.predict_proba(X)
    assert all(np.isfinite(p).all() and p.shape == (120, 2) for p in proba)
    weights = clf.gate_weights(X)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)


def test_grid_search_over_expert_type_and_expert_options(two_tasks, fast):
    X, Y = two_tasks
    search = GridSearchCV(
        MMoERegressor(**fast),
        [
            {"expert_type": ["mlp"]},
            {"expert_type": [Residual], "expert_options": [{"hidden": 4}, None]},
        ],
        cv=2,
    ).fit(X, Y.astype(float))
    assert len(search.cv_results_["params"]) == 3
    assert search.best_params_["expert_type"] in ("mlp", Residual)
    best = search.best_estimator_
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.predict(X), best.predict(X))
    assert clone(best).get_params()["expert_type"] is best.expert_type


def test_a_module_of_the_wrong_output_width_is_refused_at_fit(two_tasks, fast):
    X, Y = two_tasks
    shape = r"WrongWidth returned \(2, 17\) .* must return \(n_rows, 16\)"
    with pytest.raises(ValueError, match=shape):
        MMoEClassifier(expert_type=WrongWidth, **fast).fit(X, Y)


def test_a_module_that_cannot_be_batched_is_refused_with_the_reason(two_tasks, fast):
    X, Y = two_tasks
    with pytest.raises(ValueError, match="DataDependent cannot run batched .* vmap"):
        MMoEClassifier(expert_type=DataDependent, **fast).fit(X, Y)


def test_expert_type_and_options_that_cannot_build_are_refused(two_tasks, fast):
    X, Y = two_tasks
    with pytest.raises(TypeError, match="must be one of .* torch.nn.Module subclass"):
        MMoEClassifier(expert_type=NotAModule, **fast).fit(X, Y)
    call = r"built as Residual\(5, 16, \*\*expert_options\)"
    with pytest.raises(TypeError, match=call):
        MMoEClassifier(expert_type=Residual, expert_options={"width": 3}, **fast).fit(
            X, Y
        )
    with pytest.raises(ValueError, match="expert_type='mlp' takes none"):
        MMoEClassifier(expert_options={"hidden": 3}, **fast).fit(X, Y)


def test_a_model_with_user_experts_is_neither_saved_nor_exported(
    two_tasks, fast, tmp_path
):
    X, Y = two_tasks
    clf = MMoEClassifier(expert_type=Residual, **fast).fit(X, Y)
    with pytest.raises(TypeError, match="expert_type is a class of your own"):
        save(clf, tmp_path / "model.safetensors")
    with pytest.raises(TypeError, match="does not export experts of a class of your"):
        to_onnx(clf, tmp_path / "model.onnx")


def test_buffers_are_each_experts_own_and_start_as_the_module_sets_them(
    two_tasks, fast
):
    X, Y = two_tasks
    module = MMoEModule(
        5, (2, 2), n_experts=3, expert_units=(4,), expert_type=Normalised
    )
    mean = module.experts["0"].buffer_norm__running_mean
    var = module.experts["0"].buffer_norm__running_var
    assert mean.shape == var.shape == (3, 4)
    # the check run at construction left them as BatchNorm1d starts them
    assert (mean == 0).all() and (var == 1).all()
    clf = MMoEClassifier(expert_type=Normalised, **fast).fit(X, Y)
    fitted = clf.net_.module_.experts["0"].buffer_norm__running_mean
    assert not torch.allclose(fitted[0], fitted[1])  # each expert's own statistics


class InPlace(nn.Module):
    """Writes into its input: the gates' product keeps that input for its
    backward pass, which the write breaks."""

    def __init__(self, n_inputs, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_inputs, n_outputs)

    def forward(self, x):
        return self.linear(x.mul_(2))


class Double(nn.Module):
    """Computes in float64."""

    def __init__(self, n_inputs, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_inputs, n_outputs).double()

    def forward(self, x):
        return torch.relu(self.linear(x.double()))


class Counts(nn.Module):
    def __init__(self, n_inputs, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_inputs, n_outputs)

    def forward(self, x):
        return self.linear(x).round().long()


class FrozenProjection(nn.Module):
    """A fixed random projection (requires_grad=False), then a trained layer."""

    def __init__(self, n_inputs, n_outputs):
        super().__init__()
        self.projection = nn.Parameter(torch.randn(n_inputs, 8), requires_grad=False)
        self.linear = nn.Linear(8, n_outputs)

    def forward(self, x):
        return torch.relu(self.linear(x @ self.projection))


def test_a_module_that_writes_into_its_input_is_refused_at_fit(two_tasks, fast):
    """The check ran without gradients and passed; fit then died in autograd."""
    X, Y = two_tasks
    with pytest.raises(ValueError, match="InPlace cannot run .* backward pass"):
        MMoEClassifier(expert_type=InPlace, **fast).fit(X, Y)
    with pytest.raises(NotFittedError):
        MMoEClassifier(expert_type=InPlace, **fast).predict(X)


def test_float64_experts_are_read_in_float32_and_other_dtypes_refused(two_tasks, fast):
    X, Y = two_tasks
    clf = MMoEClassifier(expert_type=Double, **fast).fit(X, Y)
    assert clf.predict_proba(X)[0].dtype == np.float64
    assert clf.score(X, Y) > 0.7
    with pytest.raises(ValueError, match="Counts returned torch.int64 values"):
        MMoEClassifier(expert_type=Counts, **fast).fit(X, Y)


def test_a_frozen_parameter_of_a_module_stays_frozen(two_tasks, fast):
    """It was registered again as trainable, and changed in training."""
    X, Y = two_tasks
    clf = MMoEClassifier(expert_type=FrozenProjection, **fast).fit(X, Y)
    module = clf.net_.module_
    frozen = _stacked(module, 0, "projection")
    assert not frozen.requires_grad
    projection = frozen.detach().clone()
    weight = _stacked(module, 0, "linear__weight").detach().clone()
    for _ in range(3):
        clf.partial_fit(X, Y)
    module = clf.net_.module_
    assert torch.equal(_stacked(module, 0, "projection"), projection)
    assert not torch.equal(_stacked(module, 0, "linear__weight"), weight)
