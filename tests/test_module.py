"""The PyTorch module: batching is exact, gates are distributions, shapes are kept."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sklearn_mmoe._network.architectures import ARCHITECTURES
from sklearn_mmoe._network.experts import EXPERT_TYPES
from sklearn_mmoe._network.gates import GATE_TYPES
from sklearn_mmoe._network.module import MMoEModule
from sklearn_mmoe._network.names import flat_name
from sklearn_mmoe._network.ops import _TorchOps


def _layer(x, w, b, member, activate):
    x = x @ w[member] + b[member, 0]
    return torch.relu(x) if activate else x


def _member(block, member, x, activate_last, start=0):
    """Layers ``start..`` of one member of a stacked block, computed on their own."""
    last = _n_layers(block) - 1
    for i in range(start, last + 1):
        w, b = getattr(block, f"weight{i}"), getattr(block, f"bias{i}")
        x = _layer(x, w, b, member, i < last or activate_last)
    return x


def _n_layers(block):
    return sum(n.startswith("weight") for n, _ in block.named_parameters())


def _reference_transformer(module, level, e, x, options):
    """Transformer expert ``e`` of ``level`` on ``x``, the slow, obvious way: tokens
    built column by column, attention head by head, ``nn.functional``'s layer norm."""
    d, n_heads = options["token_dim"], options["n_heads"]
    size = d // n_heads
    # the experts' weights under their flat names: blocks.0.query.weight0 as
    # block0_query_weight0
    P = {flat_name(n): w for n, w in module.experts[str(level)].named_parameters()}
    at = ""

    def norm(name, h):
        return F.layer_norm(h, (d,), P[name + "_weight"][e, 0], P[name + "_bias"][e, 0])

    def linear(name, h, i=0):
        return h @ P[f"{name}_weight{i}"][e] + P[f"{name}_bias{i}"][e, 0]

    if level == 0:  # one token per input column, its values each times its vector
        columns = module.encoder.columns()
        tokens = []
        for j, c in enumerate(np.unique(columns)):
            token = P[at + "token_bias"][j]
            for i in np.flatnonzero(columns == c):
                token = token + x[:, i : i + 1] * P[at + "token_weight"][i]
            tokens.append(token)
        tokens = torch.stack(tokens, 1)
    else:
        tokens = linear(at + "token", x)[:, None]
    h = torch.cat([P[at + "cls"][e, 0].expand(len(x), 1, d), tokens], 1)
    for b in range(options["n_blocks"]):
        last = b == options["n_blocks"] - 1
        block = f"{at}block{b}_"
        z = norm(block + "norm1", h) if b else h
        keys_values = linear(block + "key_value", z)
        queries = linear(block + "query", z[:, :1] if last else z)
        heads = []
        for k in range(n_heads):
            cols = slice(k * size, (k + 1) * size)
            q, key = queries[..., cols], keys_values[..., cols]
            value = keys_values[..., d:][..., cols]
            weights = (q @ key.transpose(1, 2) / math.sqrt(size)).softmax(-1)
            heads.append(weights @ value)
        h = (h[:, :1] if last else h) + linear(block + "out", torch.cat(heads, -1))
        z = norm(block + "norm2", h)
        h = h + linear(block + "ffn", torch.relu(linear(block + "ffn", z)), 1)
    return torch.relu(linear(at + "head", norm(at + "norm", h[:, 0])))


def _reference_forward(module, x, spec):
    """The network written the slow, obvious way: loops over experts, gates, tasks.

    ``spec`` holds the constructor's counts, so that the structure (which gate sees
    which expert, which stream feeds which expert) is derived here independently.
    """
    T, arch = module.n_tasks, spec["architecture"]
    n_shared, n_own = spec["n_experts"], spec.get("n_task_experts", 1)
    n_levels = spec.get("n_levels", 1) if arch == "ple" else 1
    top_k = spec.get("top_k")
    if arch == "shared_bottom":
        E, owners = 1, [None]
    elif arch == "ple":
        owners = [None] * n_shared + [t for t in range(T) for _ in range(n_own)]
        E = len(owners)
    else:
        E, owners = n_shared, [None] * n_shared
    streams = None  # level input per consumer: task t -> streams[t], shared -> [-1]
    mixed = None
    for level in range(n_levels):
        last = level == n_levels - 1
        if arch == "ple":
            gates = list(range(T)) + ([] if last else ["shared"])
        elif arch == "mmoe":
            gates = list(range(T))
        elif arch == "omoe":
            gates = ["all"]
        else:
            gates = []
        own_experts, own_gates = module.experts[str(level)], None
        if gates:
            own_gates = module.gates[str(level)]
        experts = []
        for e, owner in enumerate(owners):
            if spec.get("expert_type") == "transformer":
                source = (
                    x
                    if level == 0
                    else streams[owner if owner is not None else "shared"]
                )
                h = _reference_transformer(
                    module, level, e, source, spec["expert_options"]
                )
            elif level == 0:
                h1 = module._split // E
                w, b = module.input_weight, module.input_bias
                h = torch.relu(
                    x @ w[:, e * h1 : (e + 1) * h1] + b[e * h1 : (e + 1) * h1]
                )
                h = _member(own_experts, e, h, True)
            else:
                source = streams[owner] if owner is not None else streams["shared"]
                h = _member(own_experts, e, source, True)
            experts.append(h)
        if not gates:
            mixed = {t: experts[0] for t in range(T)}
            break
        new = {}
        for g, who in enumerate(gates):
            if level == 0:
                u = (module.input_weight.shape[1] - module._split) // len(gates)
                w, b = module.input_weight, module.input_bias
                cols = slice(module._split + g * u, module._split + (g + 1) * u)
                z = x @ w[:, cols] + b[cols]
                if _n_layers(own_gates):
                    z = _member(own_gates, g, torch.relu(z), False)
            else:
                source = streams[who] if who != "all" else None
                z = _member(own_gates, g, source, False)
            if spec.get("gate_type") == "attention":
                key = own_gates.key
                scores = torch.stack(
                    [(z * (h @ key)).sum(-1) for h in experts], -1
                ) / math.sqrt(experts[0].shape[-1])
            else:
                scores = z
            seen = [
                owner is None or who in ("shared", "all") or owner == who
                for owner in owners
            ]
            scores = scores.masked_fill(~torch.tensor(seen), -math.inf)
            if top_k is not None:
                kth = scores.sort(-1, descending=True).values[:, top_k - 1 : top_k]
                scores = scores.masked_fill(scores < kth, -math.inf)
            weights = scores.softmax(-1)
            new[who] = sum(weights[:, e : e + 1] * experts[e] for e in range(E))
        if arch == "omoe":
            new = {t: new["all"] for t in range(T)}
        streams = mixed = new
    outputs = [_member(module.towers, t, mixed[t], False) for t in range(T)]
    return torch.stack(outputs, 1)


VARIANTS = [
    dict(architecture="mmoe", n_experts=3),
    dict(architecture="omoe", n_experts=3),
    dict(architecture="shared_bottom", n_experts=3),
    dict(architecture="mmoe", n_experts=4, gate_type="attention"),
    dict(architecture="mmoe", n_experts=5, top_k=2),
    dict(architecture="omoe", n_experts=4, gate_type="attention", top_k=3),
    dict(architecture="ple", n_experts=2, n_task_experts=1, n_levels=1),
    dict(architecture="ple", n_experts=1, n_task_experts=3, n_levels=2),
    dict(architecture="ple", n_experts=3, n_task_experts=0, n_levels=3),
    dict(
        architecture="ple",
        n_experts=2,
        n_task_experts=2,
        n_levels=2,
        gate_type="attention",
        top_k=2,
    ),
    dict(
        architecture="mmoe",
        n_experts=3,
        expert_type="transformer",
        expert_options=dict(token_dim=6, n_heads=3, n_blocks=2, attention_dropout=0.1),
    ),
    dict(
        architecture="ple",
        n_experts=2,
        n_task_experts=1,
        n_levels=2,
        gate_type="attention",
        expert_type="transformer",
        expert_options=dict(token_dim=4, n_heads=1, n_blocks=1, attention_dropout=0.0),
    ),
]
DEPTHS = [((8,), ()), ((8, 5), (6,)), ((4, 6, 3), (7, 2))]


def _ids(spec):
    return "-".join(f"{k}={v}" for k, v in spec.items() if k != "architecture") or ""


@pytest.mark.parametrize("spec", VARIANTS, ids=lambda s: s["architecture"] + _ids(s))
@pytest.mark.parametrize("expert_units, gate_units", DEPTHS)
def test_batched_module_equals_a_loop_over_experts_gates_and_tasks(
    spec, expert_units, gate_units
):
    torch.manual_seed(0)
    module = MMoEModule(
        5,
        (3, 3, 1),
        expert_units=expert_units,
        gate_units=gate_units,
        tower_units=(4,),
        **spec,
    ).eval()
    x = torch.randn(12, 5) * 3
    with torch.no_grad():
        expected = _reference_forward(module, x, spec)
        expected[:, 2, 1:] = -math.inf  # the one-output task's padded slots
        torch.testing.assert_close(module(x).outputs, expected)
    numpy_out = module.forward_numpy(x.numpy()).outputs
    np.testing.assert_allclose(numpy_out, expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec", VARIANTS, ids=lambda s: s["architecture"] + _ids(s))
def test_numpy_and_torch_gate_weights_agree_and_are_distributions(spec):
    torch.manual_seed(0)
    module = MMoEModule(6, (1, 1, 1), gate_units=(7,), **spec).eval()
    x = torch.randn(30, 6) * 5
    with torch.no_grad():
        g = module.gate_weights(x)
    np.testing.assert_allclose(
        module.forward_numpy(x.numpy()).gate_weights, g.numpy(), atol=1e-6
    )
    n_seen = module.visible_experts(0).size
    assert g.shape == (30, 3, n_seen)
    assert (g >= 0).all()
    torch.testing.assert_close(g.sum(-1), torch.ones(30, 3))
    if spec.get("top_k"):
        assert ((g > 0).sum(-1) == spec["top_k"]).all()


@pytest.mark.parametrize("top_k", [1, 2, 4, 6])
@pytest.mark.parametrize("gate_type", ["softmax", "attention"])
def test_top_k_leaves_exactly_k_non_zero_weights(top_k, gate_type):
    torch.manual_seed(0)
    module = MMoEModule(6, (1, 1), n_experts=6, gate_type=gate_type, top_k=top_k)
    g = module.gate_weights(torch.randn(50, 6))
    assert ((g > 0).sum(-1) == top_k).all()
    torch.testing.assert_close(g.sum(-1), torch.ones(50, 2))


def test_top_k_larger_than_the_experts_a_gate_sees_is_a_value_error():
    with pytest.raises(ValueError, match="top_k=4 must be between 1 and 3"):
        MMoEModule(6, (1, 1), architecture="ple", n_experts=2, top_k=4)


def test_ple_gates_see_their_own_and_the_shared_experts():
    module = MMoEModule(
        4, (1, 1, 1), architecture="ple", n_experts=2, n_task_experts=3, n_levels=2
    )
    # Experts [shared 0-1, task 0: 2-4, task 1: 5-7, task 2: 8-10].
    np.testing.assert_array_equal(module.visible_experts(1), [0, 1, 5, 6, 7])
    hidden_below = module.level0_hidden.numpy()  # (T + 1 gates, 11 experts)
    assert hidden_below.shape == (4, 11)
    assert not hidden_below[3].any()  # the shared gate sees everything
    assert module.level1_hidden.shape == (3, 11)  # the last level: task gates only


def test_experts_start_different_from_each_other():
    torch.manual_seed(0)
    module = MMoEModule(6, (1, 1), n_experts=5, expert_units=(8,))
    z = torch.randn(20, 6) @ module.input_weight[:, : module._split]
    h = z.reshape(20, 5, 8)
    for i in range(5):
        for j in range(i + 1, 5):
            assert not torch.allclose(h[:, i], h[:, j])


def test_architectures_differ_in_their_gates():
    def n_gates(arch, **kw):
        module = MMoEModule(6, (1, 1, 1), architecture=arch, n_experts=4, **kw)
        return [level.n_gates for level in module.levels]

    assert n_gates("mmoe") == [3]
    assert n_gates("omoe") == [1]
    assert n_gates("shared_bottom") == [0]
    assert n_gates("ple", n_levels=3) == [4, 4, 3]
    bottom = MMoEModule(6, (1, 1), architecture="shared_bottom", expert_units=(9,))
    assert bottom.input_weight.shape == (6, 9)


@pytest.mark.parametrize("spec", VARIANTS, ids=lambda s: s["architecture"] + _ids(s))
def test_a_batch_of_one_keeps_its_task_axis(spec):
    module = MMoEModule(4, (2, 3), **spec).eval()
    assert module(torch.randn(1, 4)).outputs.shape == (1, 2, 3)
    result = module.forward_numpy(np.ones((1, 4)))
    assert result.outputs.shape == (1, 2, 3)
    assert result.gate_weights.shape[:2] == (1, 2)


@pytest.mark.parametrize("spec", VARIANTS, ids=lambda s: s["architecture"] + _ids(s))
def test_the_named_result_is_the_same_on_both_backends(spec):
    """``forward`` and ``forward_numpy`` return one named result: outputs, each
    task's gate weights and the balance term, equal to float32 rounding."""
    torch.manual_seed(0)
    module = MMoEModule(4, (2, 3), **spec).eval()
    x = torch.randn(20, 4)
    with torch.no_grad():
        tensors = module(x)
    arrays = module.forward_numpy(x.numpy())
    np.testing.assert_allclose(arrays.outputs, tensors.outputs.numpy(), atol=1e-5)
    weights = tensors.gate_weights.numpy()
    np.testing.assert_allclose(arrays.gate_weights, weights, atol=1e-6)
    assert weights.shape == (20, 2, module.visible_experts(0).size)
    assert tensors.balance.shape == ()
    np.testing.assert_allclose(arrays.balance, tensors.balance.item(), atol=1e-6)
    if spec["architecture"] == "shared_bottom":  # no gates: one expert, no balance
        assert (weights == 1).all() and arrays.balance == 0.0


def test_padded_logits_get_zero_probability():
    torch.manual_seed(0)
    module = MMoEModule(4, (2, 5, 3)).eval()
    proba = module(torch.randn(8, 4)).outputs.softmax(-1)
    assert (proba[:, 0, 2:] == 0).all() and (proba[:, 2, 3:] == 0).all()
    torch.testing.assert_close(proba.sum(-1), torch.ones(8, 3))
    assert (proba[:, 1] > 0).all()


@pytest.mark.parametrize("spec", VARIANTS, ids=lambda s: s["architecture"] + _ids(s))
def test_balance_term_is_finite_and_differentiable(spec):
    torch.manual_seed(0)
    module = MMoEModule(4, (1, 1), **spec)
    result = module(torch.randn(64, 4))
    out, balance = result.outputs, result.balance
    assert out.shape == (64, 2, 1)
    assert balance.shape == () and torch.isfinite(balance) and balance >= 0
    if spec["architecture"] != "shared_bottom":
        balance.backward()
        assert module.input_weight.grad.abs().sum() > 0


def test_balance_term_is_zero_for_an_even_use_of_the_experts():
    module = MMoEModule(4, (1, 1), n_experts=3)
    with torch.no_grad():
        module.input_weight.zero_()
        module.input_bias.zero_()  # every gate's logits equal: uniform weights
    balance = module(torch.randn(16, 4)).balance
    assert balance.item() == pytest.approx(0.0, abs=1e-12)


def test_numpy_weights_follow_changes_to_the_parameters():
    torch.manual_seed(0)
    module = MMoEModule(4, (1,)).eval()
    x = np.ones((2, 4))
    before = module.forward_numpy(x).outputs
    with torch.no_grad():
        module.towers.bias1.add_(1.0)
    after = module.forward_numpy(x).outputs
    np.testing.assert_allclose(after, before + 1.0, rtol=1e-6)


def _ops():
    return _TorchOps("relu", 0.0)


def _member_as_plain_network(module, spec, member):
    """A plain (``ensemble_size=1``) module holding ``member``'s weights, the shared
    ones as they are and that member's towers, that reads already embedded input."""
    K = module.ensemble_size
    plain = MMoEModule(**{**spec, "ensemble_size": 1})
    shared = module.state_dict()
    state = {
        name: shared[name][member::K] if name.startswith("towers.") else shared[name]
        for name in plain.state_dict()
    }
    assert set(shared) - set(state) == {"member_scale"}
    plain.load_state_dict(state)
    # its input is embedded already: all of it reads as numbers
    plain.encoder.embeddings = ()
    plain.encoder.n_numeric = plain.input_weight.shape[0]
    return plain


@pytest.mark.parametrize(
    "spec",
    [VARIANTS[0], VARIANTS[3], VARIANTS[7]],
    ids=lambda s: s["architecture"] + _ids(s),
)
def test_each_ensemble_member_is_the_shared_network_on_its_scaled_input(spec):
    torch.manual_seed(0)
    spec = dict(
        n_features=5,
        output_sizes=(3, 2),
        expert_units=(6, 4),
        gate_units=(5,),
        tower_units=(4,),
        embeddings=((4, 2),),
        ensemble_size=3,
        **spec,
    )
    module = MMoEModule(**spec)
    x = torch.cat([torch.randn(10, 5), torch.randint(0, 4, (10, 1)).float()], 1)
    p = module._tensors()
    names = ("weight", "column", "stride", "offset")
    embedded = _ops().embed(x[:, :5], x, *(p[f"embedding_{n}"] for n in names))
    with torch.no_grad():
        members = module.train()(x).outputs  # no dropout: differs only in shape
        assert members.shape == (10, 3, 2, 3)
        for k in range(3):
            plain = _member_as_plain_network(module, spec, k).eval()
            alone = plain(embedded * module.member_scale[k, 0]).outputs
            torch.testing.assert_close(members[:, k], alone)
        combined = module.eval()(x).outputs
        torch.testing.assert_close(combined.softmax(-1), members.softmax(-1).mean(1))
    np.testing.assert_allclose(
        module.forward_numpy(x.numpy()).outputs,
        combined.numpy(),
        rtol=1e-5,
        atol=1e-5,
    )


def test_ensemble_members_start_with_different_random_sign_scalings():
    torch.manual_seed(0)
    module = MMoEModule(20, (2,), ensemble_size=4)
    scale = module.member_scale.detach()
    assert scale.shape == (4, 1, 20)
    assert set(scale.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(s[0].tolist()) for s in scale}) == 4
    assert "member_scale" not in dict(MMoEModule(20, (2,)).named_parameters())


def test_regression_ensemble_predicts_the_members_mean_value():
    torch.manual_seed(0)
    module = MMoEModule(4, (1, 1), ensemble_size=3, kinds=("regression",) * 2)
    x = torch.randn(8, 4)
    with torch.no_grad():
        members = module.train()(x).outputs
        combined = module.eval()(x).outputs
    torch.testing.assert_close(combined, members.mean(1))
    np.testing.assert_allclose(
        module.forward_numpy(x.numpy()).outputs,
        combined.numpy(),
        rtol=1e-5,
        atol=1e-5,
    )


def test_ensemble_gate_weights_are_the_members_mean_distribution():
    torch.manual_seed(0)
    module = MMoEModule(6, (2, 2, 2), n_experts=4, ensemble_size=3).eval()
    x = torch.randn(9, 6)
    with torch.no_grad():
        weights = module.gate_weights(x)
        _, gates = module._run(module._tensors(), x, _ops())
    assert weights.shape == (9, 3, 4)
    torch.testing.assert_close(weights, gates[-1].view(3, 9, 3, 4).mean(0))
    torch.testing.assert_close(weights.sum(-1), torch.ones(9, 3))
    np.testing.assert_allclose(
        module.forward_numpy(x.numpy()).gate_weights, weights.numpy(), atol=1e-6
    )


def test_every_registered_variant_is_checked_by_the_reference():
    """The reference forward's variants cover the registries: a new architecture,
    gate type or expert type gets its case there (and in ``_reference_forward``) with
    its registration."""
    assert {spec["architecture"] for spec in VARIANTS} == set(ARCHITECTURES)
    assert {spec.get("gate_type", "softmax") for spec in VARIANTS} == set(GATE_TYPES)
    assert {spec.get("expert_type", "mlp") for spec in VARIANTS} == set(EXPERT_TYPES)


def test_a_state_saved_before_the_encoder_was_its_own_module_loads():
    """Files saved before the encoder became a module of its own hold the
    embeddings' table at the network's top level; they load into the new layout."""
    spec = dict(n_features=3, output_sizes=(2, 1), embeddings=((5, 2),))
    torch.manual_seed(0)
    saved = MMoEModule(**spec)
    state = saved.state_dict()
    state["embedding_weight"] = state.pop("encoder.embedding_weight")
    torch.manual_seed(1)
    loaded = MMoEModule(**spec)
    loaded.load_state_dict(state)
    x = np.column_stack([np.ones((4, 3)), np.arange(4) % 5])
    np.testing.assert_array_equal(
        loaded.forward_numpy(x).outputs, saved.forward_numpy(x).outputs
    )
