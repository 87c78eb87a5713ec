"""Variants come from registries: a new architecture, gate type or expert type is one
registration, and the estimators accept it, validate against it, document it and train
with it."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mmoe import MMoEClassifier, MMoERegressor
from sklearn_mmoe._network.architectures import ARCHITECTURES, Architecture, Level
from sklearn_mmoe._network.architectures import register as register_architecture
from sklearn_mmoe._network.experts import EXPERT_TYPES, ExpertType
from sklearn_mmoe._network.experts import register as register_expert_type
from sklearn_mmoe._network.gates import GATE_TYPES, GateType
from sklearn_mmoe._network.gates import register as register_gate_type
from sklearn_mmoe._network.layers import StackedMLP

# the fits below are short on purpose: they test what a registration reaches
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class _HalfSeen(Architecture):
    """One gate per task; task ``t``'s gate sees the experts of its parity only."""

    name = "half_seen"
    doc = "one gate per task over every other expert."

    def levels(self, n_tasks, n_experts, n_task_experts, n_levels):
        parity = np.arange(n_experts) % 2
        hidden = np.stack([parity != t % 2 for t in range(n_tasks)])
        return [Level(0, n_experts, n_tasks, hidden=hidden)]

    def expert_labels(self, n_visible, n_experts, n_task_experts):
        return [f"half {e}" for e in range(n_visible)]


class _Uniform(GateType):
    """Every expert scores the same: each gate weighs them equally."""

    name = "uniform"
    doc = "every expert weighs the same."

    def output_width(self, expert_width, n_experts):
        return n_experts

    def scores(self, g, h, key, scale):
        return g * 0.0


class _Linear(ExpertType):
    """Each expert one linear map to the expert width, stacked on an expert axis."""

    name = "linear"
    doc = "one linear map each."

    def build(self, level, n_inputs, units, columns):
        return StackedMLP(level.n_experts, (n_inputs, units[-1]))

    def run(self, experts, p, ops, level, x):
        if not level.index:  # the encoded input, the same for every expert
            x = ops.expand0(x[None], level.n_experts)
        return experts.run(p, ops, x)


@pytest.fixture
def registered():
    """``_HalfSeen``, ``_Uniform`` and ``_Linear`` registered for one test, then
    removed."""
    register_architecture(_HalfSeen)
    register_gate_type(_Uniform)
    register_expert_type(_Linear)
    yield
    del ARCHITECTURES[_HalfSeen.name], GATE_TYPES[_Uniform.name]
    del EXPERT_TYPES[_Linear.name]


def test_an_architecture_registered_alone_trains_and_says_what_each_gate_sees(
    registered, fast
):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    clf = MMoEClassifier(architecture="half_seen", **{**fast, "n_experts": 4})
    clf.fit(X, Y)
    weights = clf.gate_weights(X)
    assert weights.shape == (80, 2, 2)  # each task sees 2 of the 4 experts
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    module = clf.net_.module_
    np.testing.assert_array_equal(module.visible_experts(0), [0, 2])
    np.testing.assert_array_equal(module.visible_experts(1), [1, 3])
    assert module.expert_labels() == ["half 0", "half 1"]


def test_a_gate_type_registered_alone_scores_the_experts(registered, fast):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    reg = MMoERegressor(gate_type="uniform", **fast).fit(X, Y)
    np.testing.assert_allclose(reg.gate_weights(X), 1.0 / fast["n_experts"])


def test_an_expert_type_registered_alone_trains_on_both_backends(registered, fast):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    params = {**fast, "architecture": "ple", "n_levels": 2}
    reg = MMoERegressor(expert_type="linear", **params).fit(X, Y)
    module = reg.net_.module_
    assert module.experts["0"].weight0.shape == (5, 3, 16)  # 3 shared + 2 own
    assert module.experts["1"].weight0.shape == (5, 16, 16)
    assert reg.score(X, Y) > 0.5
    np.testing.assert_allclose(reg.predict(X[:5]), reg.predict(X)[:5], atol=1e-5)


def test_each_expert_types_own_parameters_are_documented_estimator_parameters():
    """The parameters an expert type declares are the estimators' (at the
    registry's defaults), validated by its constraints and in the docstring."""
    doc = " ".join(MMoEClassifier.__doc__.split())
    defaults = MMoEClassifier().get_params()
    declared = [
        (name, spec)
        for entry in EXPERT_TYPES.values()
        for name, spec in entry.parameters.items()
    ]
    assert {"token_dim", "n_blocks", "n_heads", "attention_dropout"} <= dict(
        declared
    ).keys()
    for name, (default, constraints, kind, text) in declared:
        assert defaults[name] == default
        assert MMoEClassifier._parameter_constraints[name] == constraints
        assert f"{name} : {kind}, default={default!r} " + " ".join(text.split()) in doc


def test_the_accepted_values_are_the_registries_keys():
    registries = {
        "architecture": ARCHITECTURES,
        "gate_type": GATE_TYPES,
        "expert_type": EXPERT_TYPES,
    }
    for name, registry in registries.items():
        with pytest.raises(InvalidParameterError, match=name) as error:
            MMoEClassifier(**{name: "no such variant"}).fit([[0.0], [1.0]], [0, 1])
        for key in registry:
            assert repr(key) in str(error.value)


@pytest.mark.parametrize(
    "name, registry",
    [
        ("architecture", ARCHITECTURES),
        ("gate_type", GATE_TYPES),
        ("expert_type", EXPERT_TYPES),
    ],
)
def test_the_docstring_lists_every_registered_value_with_its_doc(name, registry):
    doc = " ".join(MMoEClassifier.__doc__.split())  # line breaks as spaces
    assert f"{name} : {{" + ", ".join(f'"{k}"' for k in registry) + "}" in doc
    for key, entry in registry.items():
        assert f'``"{key}"``: ' + " ".join(entry.doc.split()) in doc
