"""The network's building blocks: a stacked MLP is its members side by side, each
one an MLP of its own, run alike in PyTorch and in NumPy."""

import numpy as np
import torch

from sklearn_mmoe._network.layers import StackedMLP, StackedNorm, name_blocks
from sklearn_mmoe._network.module import MMoEModule
from sklearn_mmoe._network.ops import _NumpyOps, _TorchOps


def _alone(mlp, member, x):
    """Member ``member`` of ``mlp`` on ``x`` (B, in), computed on its own."""
    for i in range(mlp.n_layers):
        w, b = getattr(mlp, f"weight{i}"), getattr(mlp, f"bias{i}")
        x = x @ w[member] + b[member, 0]
        if i < mlp.n_layers - 1:
            x = torch.relu(x)
    return x


def test_a_stacked_mlp_holds_each_layer_for_every_member():
    torch.manual_seed(0)
    mlp = StackedMLP(3, (5, 8, 2))
    shapes = {name: tuple(w.shape) for name, w in mlp.named_parameters()}
    assert shapes == {
        "weight0": (3, 5, 8),
        "bias0": (3, 1, 8),
        "weight1": (3, 8, 2),
        "bias1": (3, 1, 2),
    }
    assert mlp(torch.randn(3, 4, 5)).shape == (3, 4, 2)


def test_each_member_is_an_mlp_of_its_own():
    """Members start apart, and a member's output is its own MLP's on its own rows:
    changing another member's rows leaves it as it was."""
    torch.manual_seed(0)
    mlp = StackedMLP(3, (5, 8, 2))
    assert not torch.equal(mlp.weight0[0], mlp.weight0[1])
    x = torch.randn(3, 4, 5)
    with torch.no_grad():
        out = mlp(x)
        for m in range(3):
            torch.testing.assert_close(out[m], _alone(mlp, m, x[m]))
        moved = x.clone()
        moved[1] += 10.0
        again = mlp(moved)
    torch.testing.assert_close(again[[0, 2]], out[[0, 2]])
    assert not torch.allclose(again[1], out[1])


def test_a_stacked_mlp_runs_alike_in_numpy_and_in_pytorch():
    torch.manual_seed(0)
    mlp = StackedMLP(2, (3, 6, 4))
    x = torch.randn(2, 5, 3)
    p = mlp.own_tensors()
    arrays = {name: t.detach().numpy().astype(np.float64) for name, t in p.items()}
    with torch.no_grad():
        expected = mlp.run(p, _TorchOps("relu", 0.0), x, activate_last=True)
    got = mlp.run(arrays, _NumpyOps("relu"), x.numpy().astype(np.float64), True)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_a_stack_of_fewer_than_two_sizes_is_the_identity():
    mlp = StackedMLP(2, ())
    x = torch.randn(2, 3, 4)
    assert mlp.n_layers == 0 and not list(mlp.parameters())
    assert mlp(x) is x


def test_a_stacked_norm_normalises_each_member_with_its_own_scale():
    norm = StackedNorm(2, 4)
    with torch.no_grad():
        norm.weight[1] = 2.0
    x = torch.randn(2, 3, 4)
    out = norm.run(norm.own_tensors(), _TorchOps("relu", 0.0), x)
    plain = torch.nn.functional.layer_norm(x, (4,))
    torch.testing.assert_close(out, plain * torch.tensor([1.0, 2.0])[:, None, None])


def test_every_block_finds_its_tensors_under_its_path_in_the_network():
    torch.manual_seed(0)
    module = MMoEModule(
        4, (2, 1), architecture="ple", n_levels=2, expert_units=(8, 4), gate_units=(3,)
    )
    assert module.experts["1"].prefix == "experts.1."
    assert module.gates["0"].prefix == "gates.0." and module.towers.prefix == "towers."
    p = module._tensors()
    blocks = [
        (name, tensor)
        for name, tensor in module.state_dict(keep_vars=True).items()
        if name.startswith(("experts.", "gates.", "towers."))
    ]
    # layers (a weight and a bias each): experts 1 + 2, gates 1 + 2, towers 2
    assert len(blocks) == 2 * (3 + 3 + 2)
    for name, tensor in blocks:
        assert p[name] is tensor
    name_blocks(module)  # naming again changes nothing
    assert module.towers.prefix == "towers."
