"""The PyTorch modules: batching is exact, gates are distributions, shapes are kept."""

import pytest
import torch

from sklearn_mmoe._module import BatchedMLP, MMoEModule


def _member_loop(mlp, x, member):
    """One member of a BatchedMLP computed on its own, layer by layer."""
    act = torch.relu
    for i, (w, b) in enumerate(zip(mlp.weights, mlp.biases)):
        if i == 0 and mlp.shared_input:
            n_out = w.shape[1] // mlp.n_members
            w_m = w[:, member * n_out : (member + 1) * n_out]
            b_m = b[member * n_out : (member + 1) * n_out]
        else:
            w_m, b_m = w[member], b[member, 0]
        x = x @ w_m + b_m
        if i < len(mlp.weights) - 1 or mlp.activate_last:
            x = act(x)
    return x


@pytest.mark.parametrize("shared_input", [True, False])
@pytest.mark.parametrize("units", [(5,), (6, 4), (3, 7, 2)])
def test_batched_mlp_equals_a_loop_over_independent_members(shared_input, units):
    torch.manual_seed(0)
    mlp = BatchedMLP(4, 3, units, "relu", 0.0, True, shared_input).eval()
    x = torch.randn(10, 3) if shared_input else torch.randn(4, 10, 3)
    out = mlp(x)
    assert out.shape == (4, 10, units[-1])
    for m in range(4):
        expected = _member_loop(mlp, x if shared_input else x[m], m)
        torch.testing.assert_close(out[m], expected)


def test_experts_start_different_from_each_other():
    torch.manual_seed(0)
    module = MMoEModule(6, (1, 1), n_experts=5, expert_units=(8,))
    h = module.experts(torch.randn(20, 6))  # (E, B, H)
    for i in range(5):
        for j in range(i + 1, 5):
            assert not torch.allclose(h[i], h[j])


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
        module = MMoEModule(6, (1, 1, 1), architecture=arch, n_experts=4)
        return 0 if module.gates is None else module.gates.n_members

    assert (n_gates("mmoe"), n_gates("omoe"), n_gates("shared_bottom")) == (3, 1, 0)
    assert MMoEModule(6, (1, 1), architecture="shared_bottom").experts.n_members == 1


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


def test_mmoe_mixes_each_tasks_experts_with_its_own_gate():
    torch.manual_seed(0)
    module = MMoEModule(4, (1, 1), n_experts=3, tower_units=()).eval()
    x = torch.randn(5, 4)
    h = module.experts(x)  # (E, B, H)
    g = module.gate_weights(x)  # (B, T, E)
    for t in range(2):
        mixed = sum(g[:, t, e : e + 1] * h[e] for e in range(3))  # (B, H)
        w, b = module.towers.weights[0][t], module.towers.biases[0][t]
        torch.testing.assert_close(module(x)[:, t, 0], (mixed @ w + b)[:, 0])
