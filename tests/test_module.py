"""The PyTorch modules: batching is exact, gates are distributions, shapes are kept."""

import pytest
import torch

from sklearn_mmoe._module import BatchedMLP, MMoEModule


def _member_loop(mlp, x, member):
    """One member of a BatchedMLP computed on its own, layer by layer."""
    for i, (w, b) in enumerate(zip(mlp.weights, mlp.biases)):
        x = x @ w[member] + b[member, 0]
        if i < mlp.n_layers - 1 or mlp.activate_last:
            x = torch.relu(x)
    return x


@pytest.mark.parametrize("units", [(5,), (6, 4), (3, 7, 2)])
def test_batched_mlp_equals_a_loop_over_independent_members(units):
    torch.manual_seed(0)
    mlp = BatchedMLP(4, 3, units, "relu", 0.0, True).eval()
    x = torch.randn(4, 10, 3)
    out = mlp(x)
    assert out.shape == (4, 10, units[-1])
    for m in range(4):
        torch.testing.assert_close(out[m], _member_loop(mlp, x[m], m))


def _reference_forward(module, x):
    """MMoE written the slow, obvious way: a loop over experts, gates and tasks."""
    E, T = module.n_experts, module.n_tasks
    w, b = module.input_weight, module.input_bias
    n_h = module._split[0]
    h1 = n_h // E
    experts = []
    for e in range(E):
        h = torch.relu(x @ w[:, e * h1 : (e + 1) * h1] + b[e * h1 : (e + 1) * h1])
        experts.append(
            _member_loop(module.experts, h, e) if module.experts.n_layers else h
        )
    outputs = []
    for t in range(T):
        if module.gates is None:
            mixed = experts[0]
        else:
            gate = t if module.n_gates == T else 0
            u = (w.shape[1] - n_h) // module.n_gates
            z = (
                x @ w[:, n_h + gate * u : n_h + (gate + 1) * u]
                + b[n_h + gate * u : n_h + (gate + 1) * u]
            )
            if module._gate_hidden:
                z = _member_loop(module.gates, torch.relu(z), gate)
            g = z.softmax(-1)
            mixed = sum(g[:, e : e + 1] * experts[e] for e in range(E))
        outputs.append(_member_loop(module.towers, mixed, t))
    return torch.stack(outputs, 1)


@pytest.mark.parametrize("architecture", ["mmoe", "omoe", "shared_bottom"])
@pytest.mark.parametrize(
    "expert_units, gate_units", [((8,), ()), ((8, 5), (6,)), ((4, 6, 3), (7, 2))]
)
def test_batched_module_equals_a_loop_over_experts_gates_and_tasks(
    architecture, expert_units, gate_units
):
    torch.manual_seed(0)
    module = MMoEModule(
        5,
        (3, 3),
        architecture=architecture,
        n_experts=3,
        expert_units=expert_units,
        gate_units=gate_units,
        tower_units=(4,),
    ).eval()
    x = torch.randn(12, 5)
    expected = _reference_forward(module, x)
    torch.testing.assert_close(module(x), expected)
    with torch.inference_mode():
        torch.testing.assert_close(module(x, detached=True), expected)


def test_experts_start_different_from_each_other():
    torch.manual_seed(0)
    module = MMoEModule(6, (1, 1), n_experts=5, expert_units=(8,))
    h, _ = module._first_layer(torch.randn(20, 6), detached=False)  # (B, E, H)
    for i in range(5):
        for j in range(i + 1, 5):
            assert not torch.allclose(h[:, i], h[:, j])


@pytest.mark.parametrize("gate_units", [(), (7,), (5, 3)])
def test_gates_are_distributions_over_experts(gate_units):
    torch.manual_seed(0)
    module = MMoEModule(6, (1, 1, 1), n_experts=4, gate_units=gate_units)
    g = module.gate_weights(torch.randn(30, 6) * 5)
    assert g.shape == (30, 3, 4)
    assert (g >= 0).all()
    torch.testing.assert_close(g.sum(-1), torch.ones(30, 3))


def test_architectures_differ_in_their_gates():
    def n_gates(arch):
        return MMoEModule(6, (1, 1, 1), architecture=arch, n_experts=4).n_gates

    assert (n_gates("mmoe"), n_gates("omoe"), n_gates("shared_bottom")) == (3, 1, 0)
    bottom = MMoEModule(6, (1, 1), architecture="shared_bottom", expert_units=(9,))
    assert bottom.n_experts == 1 and bottom.gates is None
    assert bottom.input_weight.shape == (6, 9)


@pytest.mark.parametrize("architecture", ["mmoe", "omoe", "shared_bottom"])
def test_a_batch_of_one_keeps_its_task_axis(architecture):
    module = MMoEModule(4, (2, 3), architecture=architecture).eval()
    assert module(torch.randn(1, 4)).shape == (1, 2, 3)


def test_padded_logits_get_zero_probability():
    torch.manual_seed(0)
    module = MMoEModule(4, (2, 5, 3)).eval()
    proba = module(torch.randn(8, 4)).softmax(-1)
    assert (proba[:, 0, 2:] == 0).all() and (proba[:, 2, 3:] == 0).all()
    torch.testing.assert_close(proba.sum(-1), torch.ones(8, 3))
    assert (proba[:, 1] > 0).all()
