"""The feature-token Transformer expert: a token per input column, attention over
the tokens, every expert's weights stacked and run as one batched computation."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from .base import ExpertType, register


@register
class Transformer(ExpertType):
    """Feature-token Transformers (FT-Transformer, Gorishniy et al., 2021), every
    expert its own, all run as one computation over an expert axis.

    One tokenizer, shared by the experts of the first level, turns every input column
    into a token of ``token_dim`` values: the sum of its encoded values (its scaled
    value or its piecewise-linear bins, its missing-value indicator, its embedding),
    each times a learned vector of its own, plus the column's learned bias. Each
    expert prepends its own [CLS] token and runs ``n_blocks`` pre-norm blocks
    (multi-head self-attention, then a feed-forward layer of ``2 * token_dim``
    hidden units, each a residual branch; the first block's attention reads the
    tokens as they are, as FT-Transformer's does); the last block computes only the
    [CLS] token's state, which is normalised and projected to the expert width
    (``expert_units[-1]``) through the activation. On PLE's later levels, whose
    experts read one vector (the mixture of the level below), that vector, projected
    by each expert, is the one token beside its [CLS].
    """

    name = "transformer"
    doc = (
        "feature-token Transformers (FT-Transformer): every input column is a token "
        "of ``token_dim`` values, and each expert runs ``n_blocks`` blocks of "
        "self-attention (``n_heads`` heads) and a feed-forward layer over the tokens "
        "and its own [CLS] token, whose final state, projected to the last of "
        "``expert_units``, is the expert's output; all experts run as one batched "
        "computation. Slower per epoch than the MLP; see the user guide's Experts "
        "page for when it pays."
    )
    parameters = {
        "token_dim": (
            32,
            [Interval(Integral, 1, None, closed="left")],
            "int",
            "Width of every token of a Transformer expert (``expert_type="
            '"transformer"``); a multiple of ``n_heads``. Ignored otherwise.',
        ),
        "n_blocks": (
            1,
            [Interval(Integral, 1, None, closed="left")],
            "int",
            "Attention blocks of each Transformer expert; ignored by other experts.",
        ),
        "n_heads": (
            4,
            [Interval(Integral, 1, None, closed="left")],
            "int",
            "Attention heads of each block of a Transformer expert; ignored by other "
            "experts.",
        ),
        "attention_dropout": (
            0.1,
            [Interval(Real, 0, 1, closed="left")],
            "float",
            "Dropout rate of a Transformer expert's attention weights, while "
            "training (``dropout`` applies to its feed-forward layers); ignored by "
            "other experts.",
        ),
    }

    def __init__(self, **options):
        super().__init__(**options)
        if self.token_dim % self.n_heads:
            raise ValueError(
                f"token_dim={self.token_dim} must be a multiple of n_heads="
                f"{self.n_heads}: each attention head reads token_dim / n_heads of "
                "a token's values."
            )

    def build(self, module, level, n_inputs, units):
        d, E = self.token_dim, level.n_experts
        prefix = f"level{level.index}_expert_"
        names = {}
        if not level.index:  # the tokenizer: input value i feeds token columns[i]
            columns = module.encoder.columns()
            _, token_of, counts = np.unique(
                columns, return_inverse=True, return_counts=True
            )
            n_tokens = self._n_tokens = len(counts)
            # each token's inputs, padded with input n_inputs (a zero) to the most
            # any token has: a gather and a batched product, no scatter (whose sum
            # ONNX Runtime computes with races)
            order = np.argsort(token_of, kind="stable")  # the inputs token by token
            start = np.concatenate([[0], np.cumsum(counts)[:-1]])
            slots = np.full((n_tokens, counts.max()), n_inputs)
            slots[token_of[order], np.arange(n_inputs) - start[token_of[order]]] = order
            names["token_inputs"] = prefix + "token_inputs"
            module.register_buffer(
                names["token_inputs"], torch.from_numpy(slots), persistent=False
            )
            # each token a sum over its column's values: nn.Linear's range for a
            # fan-in of their number, so that a token's scale does not grow with it
            weight = torch.empty(n_inputs, d).uniform_(-1.0, 1.0)
            bound = torch.from_numpy(1.0 / np.sqrt(counts[token_of])).float()
            weight = weight * bound[:, None].to(weight.device)
            names["token_weight"] = prefix + "token_weight"
            module.register_parameter(names["token_weight"], nn.Parameter(weight))
            names["token_bias"] = prefix + "token_bias"
            bias = torch.empty(n_tokens, d).uniform_(-1.0, 1.0) / math.sqrt(d)
            module.register_parameter(names["token_bias"], nn.Parameter(bias))
        else:  # one token: each expert's projection of the vector it reads
            (names["token"],) = module._stack(prefix + "token", E, (n_inputs, d))
        names["cls"] = prefix + "cls"
        cls = torch.empty(E, 1, 1, d).uniform_(-1.0, 1.0) / math.sqrt(d)
        module.register_parameter(names["cls"], nn.Parameter(cls))
        blocks = []
        for b in range(self.n_blocks):
            at = f"{prefix}block{b}_"
            blocks.append(
                {
                    # the first block's attention reads the tokens unnormalised
                    "norm1": self._norm(module, at + "norm1", E) if b else None,
                    "query": module._stack(at + "query", E, (d, d))[0],
                    "key_value": module._stack(at + "key_value", E, (d, 2 * d))[0],
                    "out": module._stack(at + "out", E, (d, d))[0],
                    "norm2": self._norm(module, at + "norm2", E),
                    "ffn": module._stack(at + "ffn", E, (d, 2 * d, d)),
                }
            )
        names["norm"] = self._norm(module, prefix + "norm", E)
        (names["head"],) = module._stack(prefix + "head", E, (d, units[-1]))
        level.transformer = (names, blocks)

    def floats_per_row(self, level, units):
        # every block's attention weights (S x S per head) and token states
        E, d, h = level.n_experts, self.token_dim, self.n_heads
        S = 1 + (self._n_tokens if not level.index else 1)
        if not level.index and self.n_blocks == 1:  # the pooled block: shared tokens
            return (S - 1) * d * 2 + E * h * S * 2 + E * d * 8
        return E * self.n_blocks * (h * S * S * 2 + S * d * 8) + E * d * 2

    def _norm(self, module, name, E):
        """A layer norm's scale (ones) and shift (zeros), per expert: their names."""
        names = (name + "_weight", name + "_bias")
        for attr, fill in zip(names, (1.0, 0.0)):
            value = torch.full((E, 1, self.token_dim), fill)
            module.register_parameter(attr, nn.Parameter(value))
        return names

    def run(self, module, p, ops, level, x):
        E, d = level.n_experts, self.token_dim
        names, blocks = level.transformer
        training = module.training
        if not level.index:  # x: the encoded input (B, n_inputs)
            shared = self._tokens(p, ops, names, x) + p[names["token_bias"]]
            B = shared.shape[0]  # (B, N, d), the same for every expert
        else:  # x: what each expert reads (E, B, n_inputs): one token each
            shared, B = None, x.shape[1]
            tokens = ops.blinear(x, *(p[n] for n in names["token"]))[:, :, None]
        cls = ops.broadcast(p[names["cls"]], (E, B, 1, d))
        for i, block in enumerate(blocks):
            last = i == len(blocks) - 1
            if shared is not None and last:  # one block: [CLS] pools the tokens
                h = cls + self._pooled_attention(
                    p, ops, block, p[names["cls"]], shared, training
                )
            else:
                if shared is not None:
                    tokens = ops.expand0(shared[None], E)
                if not i:
                    h = ops.cat([cls, tokens], 2)  # (E, B, S, d), [CLS] first
                z = h if not i else self._layer_norm(p, ops, block["norm1"], h)
                # the last block computes the [CLS] token's state only
                h = (h[:, :, :1] if last else h) + self._attention(
                    p, ops, block, z, last, training
                )
            shared = None
            z = self._layer_norm(p, ops, block["norm2"], h)
            S = z.shape[2]
            f = module._mlp(p, ops, block["ffn"], z.reshape(E, B * S, d), False, True)
            h = h + f.reshape(E, B, S, d)
        z = self._layer_norm(p, ops, names["norm"], h[:, :, 0])  # (E, B, d)
        return ops.act(ops.blinear(z, *(p[n] for n in names["head"])))

    def _pooled_attention(self, p, ops, block, cls, tokens, training):
        """``_attention`` of a first block that is also the last, computed from the
        tokens ``(B, N, d)`` that all experts share: the [CLS] token's query is a
        constant of each expert's, so its scores are each token's product with one
        vector per expert and head, ``W_k q``, and its output the attention-weighted
        mean of the tokens, times ``W_v`` (FT-Transformer's arithmetic, about 7
        times fewer operations than projecting every token's key and value for every
        expert). The key bias's score, the same for every token, cancels in the
        softmax. ``cls``: each expert's [CLS] token (E, 1, 1, d). Returns
        ``(E, B, 1, d)``."""
        E, d, n_heads = cls.shape[0], self.token_dim, self.n_heads
        size = d // n_heads
        B = tokens.shape[0]
        cls = cls.reshape(E, 1, d)
        weight, bias = (p[n] for n in block["key_value"])  # (E, d, 2 d), (E, 1, 2 d)
        q = ops.blinear(cls, *(p[n] for n in block["query"])).reshape(E, n_heads, size)
        w_k = weight[:, :, :d].reshape(E, d, n_heads, size).swapaxes(1, 2)
        # each expert and head's vector that scores a token, (E * heads, d)
        u = ops.matmul(w_k, q[..., None]).reshape(E * n_heads, d)
        u = u * (1.0 / math.sqrt(size))
        scores = ops.matmul(tokens, u.swapaxes(0, 1)).swapaxes(1, 2)  # (B, E h, N)
        own = ops.broadcast(cls, (E, n_heads, d)).reshape(E * n_heads, d)
        own_score = ops.broadcast((own * u).sum(-1)[None, :, None], (B, E * n_heads, 1))
        scores = ops.cat([own_score, scores], 2)
        weights = ops.softmax(scores)  # (B, E h, 1 + N): [CLS], then the tokens
        if training:
            weights = ops.dropout(weights, self.attention_dropout)
        pooled = ops.matmul(weights[:, :, 1:], tokens) + weights[:, :, :1] * own
        pooled = pooled.reshape(B, E * n_heads, d).swapaxes(0, 1)  # (E h, B, d)
        w_v = weight[:, :, d:].reshape(E, d, n_heads, size).swapaxes(1, 2)
        values = ops.matmul(
            ops.contiguous(pooled), ops.contiguous(w_v).reshape(E * n_heads, d, size)
        )
        values = values.reshape(E, n_heads, B, size).swapaxes(
            1, 2
        )  # (E, B, heads, size)
        total = weights.sum(-1).reshape(B, E, n_heads).swapaxes(0, 1)[..., None]
        values = values + total * bias[:, :, d:].reshape(E, 1, n_heads, size)
        out = ops.blinear(values.reshape(E, B, d), *(p[n] for n in block["out"]))
        return out.reshape(E, B, 1, d)

    @staticmethod
    def _tokens(p, ops, names, x):
        """Every column's token ``(B, N, d)``, without its bias: the sum of its
        inputs, each times its own vector."""
        slots, weight = p[names["token_inputs"]], p[names["token_weight"]]
        N, M = slots.shape
        x = ops.cat([x, x[:, :1] * 0.0], 1)  # input n_inputs: the padding's zero
        weight = ops.cat([weight, weight[:1] * 0.0], 0)
        values = ops.take_columns(x, slots.reshape(-1)).reshape(-1, N, M)
        # (N, B, M) @ (N, M, d): each token's inputs times their vectors
        tokens = ops.matmul(values.swapaxes(0, 1), weight[slots])
        return tokens.swapaxes(0, 1)

    @staticmethod
    def _layer_norm(p, ops, names, x):  # x: (E, B, d) or (E, B, S, d)
        weight, bias = p[names[0]], p[names[1]]
        if x.ndim == 4:
            weight, bias = weight[:, None], bias[:, None]
        return ops.layer_norm(x, weight, bias)

    def _attention(self, p, ops, block, z, cls_only, training):
        """Multi-head self-attention over the tokens ``z`` (E, B, S, d): every token's
        new state, or the [CLS] token's alone, (E, B, S or 1, d)."""
        E, B, S, d = z.shape
        n_heads = self.n_heads
        head = d // n_heads
        queries = z[:, :, :1] if cls_only else z
        Q = queries.shape[2]
        q = ops.blinear(queries.reshape(E, B * Q, d), *(p[n] for n in block["query"]))
        q = q.reshape(E, B, Q, n_heads, head).swapaxes(2, 3)  # (E, B, heads, Q, h)
        kv = ops.blinear(z.reshape(E, B * S, d), *(p[n] for n in block["key_value"]))
        kv = kv.reshape(E, B, S, 2, n_heads, head)
        k = kv[:, :, :, 0].swapaxes(2, 3)  # (E, B, heads, S, h)
        v = kv[:, :, :, 1].swapaxes(2, 3)
        scores = ops.matmul(q, k.swapaxes(-1, -2)) * (1.0 / math.sqrt(head))
        weights = ops.softmax(scores)  # (E, B, heads, Q, S)
        if training:
            weights = ops.dropout(weights, self.attention_dropout)
        mixed = ops.matmul(weights, v).swapaxes(2, 3).reshape(E, B * Q, d)
        out = ops.blinear(mixed, *(p[n] for n in block["out"]))
        return out.reshape(E, B, Q, d)
