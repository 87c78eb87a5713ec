"""Names of earlier versions: a state whose tensors have the names they had before
the network's blocks were modules loads as one of today's names."""

import pytest
import torch

from sklearn_mmoe._network.crossfit import CrossFitModule
from sklearn_mmoe._network.module import MMoEModule
from sklearn_mmoe._network.names import old_name, rename_old_keys

SPECS = {
    "mmoe": dict(n_experts=3, gate_units=(4,), ensemble_size=2),
    "ple-attention": dict(
        architecture="ple", n_levels=2, gate_type="attention", top_k=2
    ),
    "transformer": dict(
        expert_type="transformer",
        n_levels=2,
        architecture="ple",
        expert_options=dict(token_dim=4, n_heads=2, n_blocks=2),
    ),
    "aitm": dict(funnel_edges=((0, 1),), funnel="aitm"),
}


@pytest.mark.parametrize(
    "new, old",
    [
        ("experts.0.weight1", "level0_expert_weight1"),
        ("experts.1.bias0", "level1_expert_bias0"),
        ("gates.1.weight0", "level1_gate_weight0"),
        ("gates.0.key", "level0_key"),
        ("towers.bias1", "tower_bias1"),
        ("funnel.transfer_bias", "funnel_transfer_bias"),
        (
            "experts.0.blocks.1.key_value.weight0",
            "level0_expert_block1_key_value_weight0",
        ),
        ("experts.0.blocks.0.norm2.bias", "level0_expert_block0_norm2_bias"),
        ("experts.1.token.weight0", "level1_expert_token_weight0"),
        ("experts.0.token_weight", "level0_expert_token_weight"),
        (
            "experts.0.buffer_norm__running_mean",
            "level0_expert_buffer_norm__running_mean",
        ),
        ("encoder.embedding_weight", "embedding_weight"),
        ("members.2.towers.weight0", "members.2.tower_weight0"),
        ("input_weight", None),
        ("interactions.id_bias", None),
        ("members.0.member_scale", None),
    ],
)
def test_each_tensor_had_its_old_flat_name(new, old):
    assert old_name(new) == old


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_no_two_tensors_had_one_old_name(spec):
    names = MMoEModule(4, (2, 2), **spec).state_dict()
    old = [old_name(n) or n for n in names]
    assert len(set(old)) == len(old)


def _old_state(module):
    return {old_name(n) or n: t.clone() for n, t in module.state_dict().items()}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_a_state_of_old_names_loads_and_predicts_the_same(spec):
    torch.manual_seed(0)
    saved = MMoEModule(4, (2, 2), **spec).eval()
    old = _old_state(saved)
    assert not any(n.startswith(("experts.", "gates.", "towers.")) for n in old)
    loaded = MMoEModule(4, (2, 2), **spec).eval()
    loaded.load_state_dict(old)
    x = torch.randn(5, 4)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).outputs, saved(x).outputs)


def test_a_cross_fitted_state_of_old_names_loads_member_by_member():
    torch.manual_seed(0)
    saved = CrossFitModule(2, n_features=3, output_sizes=(2,))
    old = _old_state(saved)
    assert "members.1.level0_gate_weight0" not in old  # no gate layers by default
    assert "members.1.tower_weight0" in old
    loaded = CrossFitModule(2, n_features=3, output_sizes=(2,))
    loaded.load_state_dict(old)
    for name, tensor in saved.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)


def test_a_new_name_is_kept_where_a_state_has_both():
    state = {"tower_weight0": 1, "towers.weight0": 2}
    assert rename_old_keys(state, ["towers.weight0"]) == state
    assert rename_old_keys({"m.tower_bias0": 3}, ["towers.bias0"], "m.") == {
        "m.towers.bias0": 3
    }
