"""The feature-token Transformer expert: a token per input column, attention over
the tokens, every expert's weights stacked and run as one batched computation."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ..layers import Block, StackedMLP, StackedNorm
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

    A text column is a column token (its encoder's pooled vector) and, beside the
    columns' tokens, each of its text's tokens: the encoder's vector of the token
    (a hashed id's learned vector, a WordLlama vector, a pretrained model's last
    state), projected to ``token_dim`` by the column's own matrix, plus the
    column's own learned bias. The attention reads the text's tokens and the
    table's columns together (the design's "MMoE2": a pretrained encoder's token
    states feed the experts); padding is masked out, and a batch's tokens are cut
    to its longest text's.
    """

    name = "transformer"
    reads_text_tokens = True
    doc = (
        "feature-token Transformers (FT-Transformer): every input column is a token "
        "of ``token_dim`` values, and each expert runs ``n_blocks`` blocks of "
        "self-attention (``n_heads`` heads) and a feed-forward layer over the tokens "
        "and its own [CLS] token (with a text column's tokens, each a token too), "
        "whose final state, projected to the last of "
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

    def build(self, level, n_inputs, units, columns, texts=()):
        if columns is not None:  # the first level: one token per input column
            # and one per token of a text, at most its slots
            self._n_tokens = len(np.unique(columns)) + sum(s for _, s in texts)
        return TransformerExperts(
            level.n_experts,
            self.token_dim,
            self.n_blocks,
            n_inputs,
            units,
            columns,
            [w for w, _ in texts],
        )

    def floats_per_row(self, level, units):
        # every block's attention weights (S x S per head) and token states
        E, d, h = level.n_experts, self.token_dim, self.n_heads
        S = 1 + (self._n_tokens if not level.index else 1)
        if not level.index and self.n_blocks == 1:  # the pooled block: shared tokens
            return (S - 1) * d * 2 + E * h * S * 2 + E * d * 8
        return E * self.n_blocks * (h * S * S * 2 + S * d * 8) + E * d * 2

    def run(self, experts, p, ops, level, x, texts=()):
        E, d = level.n_experts, self.token_dim
        training = experts.training
        cls = experts.tensor(p, "cls")  # (E, 1, 1, d)
        padding = None  # (B, L): the texts' tokens that are padding
        if not level.index:  # x: the encoded input (B, n_inputs)
            shared = self._tokens(experts, p, ops, x) + experts.tensor(p, "token_bias")
            if texts:
                shared, padding = self._text_tokens(experts, p, ops, shared, texts)
            B = shared.shape[0]  # (B, N, d), the same for every expert
        else:  # x: what each expert reads (E, B, n_inputs): one token each
            shared, B = None, x.shape[1]
            tokens = experts.token.run(p, ops, x)[:, :, None]
        first = ops.broadcast(cls, (E, B, 1, d))
        for i, block in enumerate(experts.blocks):
            last = i == len(experts.blocks) - 1
            if shared is not None and last:  # one block: [CLS] pools the tokens
                h = first + self._pooled_attention(
                    p, ops, block, cls, shared, padding, training
                )
            else:
                if shared is not None:
                    tokens = ops.expand0(shared[None], E)
                if not i:
                    h = ops.cat([first, tokens], 2)  # (E, B, S, d), [CLS] first
                z = block.norm1.run(p, ops, h) if i else h
                # the last block computes the [CLS] token's state only
                h = (h[:, :, :1] if last else h) + self._attention(
                    p, ops, block, z, last, padding, training
                )
            shared = None
            z = block.norm2.run(p, ops, h)
            S = z.shape[2]
            f = block.ffn.run(p, ops, z.reshape(E, B * S, d), False, True)
            h = h + f.reshape(E, B, S, d)
        z = experts.norm.run(p, ops, h[:, :, 0])  # (E, B, d)
        return ops.act(experts.head.run(p, ops, z))

    @staticmethod
    def _text_tokens(experts, p, ops, shared, texts):
        """The columns' tokens ``shared`` (B, N, d) followed by every text's
        tokens, each its vector projected by its column's matrix plus its column's
        bias; and which of the texts' tokens are padding, ``(B, L)``."""
        parts, padding = [shared], []
        for i, (states, keep) in enumerate(texts):
            weight = experts.tensor(p, f"text{i}_weight")  # (width, d)
            bias = experts.tensor(p, f"text{i}_bias")
            parts.append(ops.matmul(states, weight) + bias)
            padding.append(keep == 0)
        return ops.cat(parts, 1), ops.cat(padding, 1)

    def _pooled_attention(self, p, ops, block, cls, tokens, padding, training):
        """``_attention`` of a first block that is also the last, computed from the
        tokens ``(B, N, d)`` that all experts share: the [CLS] token's query is a
        constant of each expert's, so its scores are each token's product with one
        vector per expert and head, ``W_k q``, and its output the attention-weighted
        mean of the tokens, times ``W_v`` (FT-Transformer's arithmetic, about 7
        times fewer operations than projecting every token's key and value for every
        expert). The key bias's score, the same for every token, cancels in the
        softmax. ``cls``: each expert's [CLS] token (E, 1, 1, d); ``padding``:
        which of the last tokens are a text's padding (B, L), or None. Returns
        ``(E, B, 1, d)``."""
        E, d, n_heads = cls.shape[0], self.token_dim, self.n_heads
        size = d // n_heads
        B = tokens.shape[0]
        cls = cls.reshape(E, 1, d)
        weight, bias = block.key_value.layer(p, 0)  # (E, d, 2 d), (E, 1, 2 d)
        q = block.query.run(p, ops, cls).reshape(E, n_heads, size)
        w_k = weight[:, :, :d].reshape(E, d, n_heads, size).swapaxes(1, 2)
        # each expert and head's vector that scores a token, (E * heads, d)
        u = ops.matmul(w_k, q[..., None]).reshape(E * n_heads, d)
        u = u * (1.0 / math.sqrt(size))
        scores = ops.matmul(tokens, u.swapaxes(0, 1)).swapaxes(1, 2)  # (B, E h, N)
        own = ops.broadcast(cls, (E, n_heads, d)).reshape(E * n_heads, d)
        own_score = ops.broadcast((own * u).sum(-1)[None, :, None], (B, E * n_heads, 1))
        if padding is not None:
            padding = padding[:, None]  # the same for every expert and head
        scores = _masked(ops, ops.cat([own_score, scores], 2), padding)
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
        out = block.out.run(p, ops, values.reshape(E, B, d))
        return out.reshape(E, B, 1, d)

    @staticmethod
    def _tokens(experts, p, ops, x):
        """Every column's token ``(B, N, d)``, without its bias: the sum of its
        inputs, each times its own vector."""
        slots = experts.tensor(p, "token_inputs")
        weight = experts.tensor(p, "token_weight")
        N, M = slots.shape
        x = ops.cat([x, x[:, :1] * 0.0], 1)  # input n_inputs: the padding's zero
        weight = ops.cat([weight, weight[:1] * 0.0], 0)
        values = ops.take_columns(x, slots.reshape(-1)).reshape(-1, N, M)
        # (N, B, M) @ (N, M, d): each token's inputs times their vectors
        tokens = ops.matmul(values.swapaxes(0, 1), weight[slots])
        return tokens.swapaxes(0, 1)

    def _attention(self, p, ops, block, z, cls_only, padding, training):
        """Multi-head self-attention over the tokens ``z`` (E, B, S, d): every token's
        new state, or the [CLS] token's alone, (E, B, S or 1, d). ``padding``:
        which of the last tokens are a text's padding (B, L), or None; no token
        attends to them."""
        E, B, S, d = z.shape
        n_heads = self.n_heads
        head = d // n_heads
        queries = z[:, :, :1] if cls_only else z
        Q = queries.shape[2]
        q = block.query.run(p, ops, queries.reshape(E, B * Q, d))
        q = q.reshape(E, B, Q, n_heads, head).swapaxes(2, 3)  # (E, B, heads, Q, h)
        kv = block.key_value.run(p, ops, z.reshape(E, B * S, d))
        kv = kv.reshape(E, B, S, 2, n_heads, head)
        k = kv[:, :, :, 0].swapaxes(2, 3)  # (E, B, heads, S, h)
        v = kv[:, :, :, 1].swapaxes(2, 3)
        scores = ops.matmul(q, k.swapaxes(-1, -2)) * (1.0 / math.sqrt(head))
        if padding is not None:  # the same for every expert, head and query
            padding = padding[None, :, None, None]
        weights = ops.softmax(_masked(ops, scores, padding))  # (E, B, heads, Q, S)
        if training:
            weights = ops.dropout(weights, self.attention_dropout)
        mixed = ops.matmul(weights, v).swapaxes(2, 3).reshape(E, B * Q, d)
        out = block.out.run(p, ops, mixed)
        return out.reshape(E, B, Q, d)


def _masked(ops, scores, padding):
    """Attention ``scores`` (..., S) with their last ``L`` tokens' -inf where
    ``padding`` (broadcast to (..., L)) marks them (the first ``S - L``, the
    [CLS] and the columns' tokens, always count)."""
    if padding is None:
        return scores
    L = padding.shape[-1]
    texts = ops.masked_fill(scores[..., -L:], padding, -math.inf)
    return ops.cat([scores[..., :-L], texts], -1)


class TransformerExperts(Block):
    """The weights of a level's Transformer experts, every expert's stacked.

    On the first level, the tokenizer all experts share: ``token_inputs`` (each
    token's inputs, padded with the index ``n_inputs``, a zero), ``token_weight``
    ``(n_inputs, d)`` and ``token_bias`` ``(n_tokens, d)``, and each text column's
    projection of its tokens' vectors, ``text<i>_weight`` ``(width, d)`` and
    ``text<i>_bias`` ``(d,)``; on later levels, each
    expert's projection of the vector it reads to one token, ``token``. Then each
    expert's [CLS] token ``cls`` ``(E, 1, 1, d)``, its ``blocks``, its final
    ``norm`` and its ``head`` to the expert width. Built in this order, the
    order of the draws from torch's generator.
    """

    def __init__(self, n_experts, d, n_blocks, n_inputs, units, columns, texts=()):
        super().__init__()
        E = n_experts
        if columns is not None:
            self._build_tokenizer(columns, n_inputs, d)
        else:  # one token: each expert's projection of the vector it reads
            self.token = StackedMLP(E, (n_inputs, d))
        for i, width in enumerate(texts):  # nn.Linear's range, shared by the experts
            bound = 1.0 / math.sqrt(width)
            weight = torch.empty(width, d).uniform_(-bound, bound)
            self.register_parameter(f"text{i}_weight", nn.Parameter(weight))
            bias = torch.empty(d).uniform_(-1.0, 1.0) / math.sqrt(d)
            self.register_parameter(f"text{i}_bias", nn.Parameter(bias))
        cls = torch.empty(E, 1, 1, d).uniform_(-1.0, 1.0) / math.sqrt(d)
        self.cls = nn.Parameter(cls)
        self.blocks = nn.ModuleList(
            [_AttentionBlock(E, d, first=not b) for b in range(n_blocks)]
        )
        self.norm = StackedNorm(E, d)
        self.head = StackedMLP(E, (d, units[-1]))

    def _build_tokenizer(self, columns, n_inputs, d):
        """The first level's tokenizer: input value i feeds token columns[i]."""
        _, token_of, counts = np.unique(
            columns, return_inverse=True, return_counts=True
        )
        n_tokens = len(counts)
        # each token's inputs, padded with input n_inputs (a zero) to the most any
        # token has: a gather and a batched product, no scatter (whose sum ONNX
        # Runtime computes with races)
        order = np.argsort(token_of, kind="stable")  # the inputs token by token
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        slots = np.full((n_tokens, counts.max()), n_inputs)
        slots[token_of[order], np.arange(n_inputs) - start[token_of[order]]] = order
        self.register_buffer("token_inputs", torch.from_numpy(slots), persistent=False)
        # each token a sum over its column's values: nn.Linear's range for a fan-in
        # of their number, so that a token's scale does not grow with it
        weight = torch.empty(n_inputs, d).uniform_(-1.0, 1.0)
        bound = torch.from_numpy(1.0 / np.sqrt(counts[token_of])).float()
        self.token_weight = nn.Parameter(weight * bound[:, None].to(weight.device))
        bias = torch.empty(n_tokens, d).uniform_(-1.0, 1.0) / math.sqrt(d)
        self.token_bias = nn.Parameter(bias)


class _AttentionBlock(Block):
    """One pre-norm block of every expert: ``norm1`` (none in the first block,
    whose attention reads the tokens unnormalised), the attention's ``query``,
    ``key_value`` and ``out`` projections, ``norm2`` and the feed-forward
    ``ffn`` (``d -> 2 d -> d``)."""

    def __init__(self, n_experts, d, first):
        super().__init__()
        E = n_experts
        self.norm1 = None if first else StackedNorm(E, d)
        self.query = StackedMLP(E, (d, d))
        self.key_value = StackedMLP(E, (d, 2 * d))
        self.out = StackedMLP(E, (d, d))
        self.norm2 = StackedNorm(E, d)
        self.ffn = StackedMLP(E, (d, 2 * d, d))
