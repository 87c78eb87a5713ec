"""The array operations the network's forward pass is written against, twice: in
PyTorch (:class:`_TorchOps`, for training and large inputs) and in float64 NumPy
(:class:`_NumpyOps`, for small inputs, where PyTorch's per-operation dispatch costs
more than the arithmetic). A pass written once against ``ops`` runs on either."""

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import erf, expit, log_softmax, logsumexp

from .lookup import ramp_lookup

ACTIVATIONS = ("relu", "tanh", "logistic", "gelu", "silu", "identity")
# torch.nn.functional.layer_norm's default
_LN_EPS = 1e-5

_TORCH_ACTIVATIONS = {
    "relu": F.relu,
    "tanh": torch.tanh,
    "logistic": torch.sigmoid,
    "gelu": F.gelu,
    "silu": F.silu,
    "identity": lambda h: h,
}
_NUMPY_ACTIVATIONS = {
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "logistic": expit,
    "gelu": lambda h: 0.5 * h * (1.0 + erf(h * (1.0 / math.sqrt(2.0)))),
    "silu": lambda h: h * expit(h),
    "identity": lambda h: h,
}


class _TorchOps:
    """The array operations of the forward pass, on torch tensors (autograd, any
    device, dropout while training)."""

    def __init__(self, activation, dropout, generator=None):
        self.act = _TORCH_ACTIVATIONS[activation]
        self.rate = dropout
        self.generator = generator

    @staticmethod
    def linear(x, w, b):  # (B, I) @ (I, O) + (O,)
        return torch.addmm(b, x, w)

    @staticmethod
    def blinear(x, w, b):  # (M, B, I) @ (M, I, O) + (M, 1, O)
        return torch.baddbmm(b, x, w)

    def dropout(self, x, rate=None):  # at ``rate``, or the network's dropout rate
        rate = self.rate if rate is None else rate
        if rate == 0:
            return x
        if self.generator is None:
            return F.dropout(x, rate, True)
        # The fit's own generator: no draw from the process-wide one, so that fits in
        # threads stay reproducible.
        keep = torch.rand(
            x.shape, generator=self.generator, device=x.device, dtype=x.dtype
        )
        return x * (keep >= rate) * (1.0 / (1.0 - rate))

    @staticmethod
    def matmul(a, b):  # batched over the leading axes
        return torch.matmul(a, b)

    @staticmethod
    def contiguous(x):  # laid out in memory as indexed (a batched product's speed)
        return x.contiguous()

    @staticmethod
    def layer_norm(x, weight, bias):  # over the last axis, then scaled and shifted
        return F.layer_norm(x, x.shape[-1:]) * weight + bias

    @staticmethod
    def broadcast(x, shape):
        return x.expand(shape)

    @staticmethod
    def softmax(x):
        return x.softmax(-1)

    @staticmethod
    def log_softmax(x):
        return x.log_softmax(-1)

    @staticmethod
    def log1mexp(x):  # log(1 - exp(x)) for x < 0, accurate at both ends
        return torch.where(
            x > -math.log(2.0), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x))
        )

    @staticmethod
    def masked_fill(x, mask, value):
        return x.masked_fill(mask, value)

    @staticmethod
    def keep_top_k(x, k):  # -inf everywhere but the k largest of the last axis
        keep = torch.zeros_like(x, dtype=torch.bool)
        keep.scatter_(-1, x.topk(k, -1).indices, True)
        return x.masked_fill(~keep, -math.inf)

    @staticmethod
    def expand0(x, n):
        return x.expand(n, *x.shape[1:])

    @staticmethod
    def cat(xs, axis=0):
        return torch.cat(xs, axis)

    @staticmethod
    def embed(numeric, x, weight, column, stride, offset):
        codes = x.index_select(1, column).long()  # (B, D): each slot's column's code
        return torch.cat([numeric, weight[codes * stride + offset]], 1)

    @staticmethod
    def bag_mean(table, ids):  # (B, L) ids, 0 the padding -> (B, D), 0 for none
        if torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting():
            # a gather and a masked mean: ONNX has no embedding bag (torch exports
            # one as a loop, several times slower)
            keep = (ids != 0).unsqueeze(-1).to(table.dtype)
            return (table[ids] * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        # a sparse gradient, of the rows read: the optimiser steps those alone
        # (sklearn_mmoe._training.optimizer)
        sparse = table.requires_grad and torch.is_grad_enabled()
        return torch.nn.functional.embedding_bag(
            ids, table, mode="mean", padding_idx=0, sparse=sparse
        )

    @staticmethod
    def cut_padding(ids):  # (B, L) ids, tokens first: cut to the longest row's
        if torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting():
            return ids  # an exported graph keeps its shapes
        longest = int((ids != 0).sum(1).max()) if ids.shape[0] else 1
        return ids[:, : max(longest, 1)]

    @staticmethod
    def smooth_clip(x, bound):  # about x for |x| << bound, tending to +-bound
        return x * torch.rsqrt(1.0 + (x * (1.0 / bound)).square())

    @staticmethod
    def clip(x, low, high):
        return torch.clamp(x, low, high)

    @staticmethod
    def take_columns(x, index):
        return x.index_select(1, index)

    @staticmethod
    def fill_missing(x, fill):  # NaN -> fill, and where x was NaN
        missing = torch.isnan(x)
        return torch.where(missing, fill, x), missing

    @staticmethod
    def bin_of(x, interior, last):  # (B, F): each value's bin, at most last[j]
        bins = torch.searchsorted(interior, x.T.contiguous(), right=True).T
        return torch.minimum(bins, last)

    @staticmethod
    def pad_front(x):  # a zero slice before the first along axis -2
        return F.pad(x, (0, 0, 1, 0))

    @staticmethod
    def scatter_rows(values, index, n):  # (K, P, O) -> (K, n, O), rows ``index`` set
        zeros = values.new_zeros(values.shape[0], n, values.shape[2])
        return zeros.index_copy(1, index, values)

    @staticmethod
    def cumsum(x, axis):
        return torch.cumsum(x, axis)

    @staticmethod
    def ramps(table, below, fraction):  # sum_j (1 - f) table[below] + f table[below+1]
        return ramp_lookup(table, below, fraction)

    @staticmethod
    def as_float(mask, like):
        return mask.to(like.dtype)

    @staticmethod
    def as_index(x):  # codes carried as floats, as int64 indices
        return x.long()

    @staticmethod
    def take_rows(table, index):  # (R, O)[(...)] -> (..., O)
        return F.embedding(index, table)

    @staticmethod
    def log_mean_exp(x, axis):  # log of the mean of exp(x) over ``axis``
        return torch.logsumexp(x, axis) - math.log(x.shape[axis])

    # -- what a task's output needs (see sklearn_mmoe._tasks.kinds: ``output``)

    @staticmethod
    def float64(x):
        return x.double()

    @staticmethod
    def exp(x):
        return torch.exp(x)

    @staticmethod
    def minimum(x, bound):  # x capped at the number ``bound``
        return x.clamp(max=bound)

    @staticmethod
    def bounded(x, low, high):  # within [low, high], an infinite bound none (ONNX)
        if math.isfinite(low) or math.isfinite(high):
            x = x.clamp(
                low if math.isfinite(low) else None,
                high if math.isfinite(high) else None,
            )
        return x

    @classmethod
    def mean_probability(cls, logits, axis):  # log of the mean softmax over ``axis``
        return cls.log_mean_exp(F.log_softmax(logits, -1), axis)


class _NumpyOps:
    """The same operations on NumPy arrays, for inference."""

    def __init__(self, activation):
        self.act = _NUMPY_ACTIVATIONS[activation]

    @staticmethod
    def linear(x, w, b):
        out = x @ w
        out += b
        return out

    @staticmethod
    def blinear(x, w, b):
        out = np.matmul(x, w)
        out += b
        return out

    @staticmethod
    def dropout(x, rate=None):
        return x

    @staticmethod
    def matmul(a, b):
        return np.matmul(a, b)

    @staticmethod
    def contiguous(x):
        return np.ascontiguousarray(x)

    @staticmethod
    def layer_norm(x, weight, bias):
        centred = x - x.mean(-1, keepdims=True)
        scale = 1.0 / np.sqrt(np.square(centred).mean(-1, keepdims=True) + _LN_EPS)
        return centred * scale * weight + bias

    @staticmethod
    def broadcast(x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def softmax(x):
        e = np.exp(x - x.max(-1, keepdims=True))
        e /= e.sum(-1, keepdims=True)
        return e

    @staticmethod
    def log_softmax(x):
        return log_softmax(x, -1)

    @staticmethod
    def log1mexp(x):
        with np.errstate(divide="ignore", invalid="ignore"):  # the other branch's
            return np.where(
                x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x))
            )

    @staticmethod
    def masked_fill(x, mask, value):
        return np.where(mask, value, x)

    @staticmethod
    def keep_top_k(x, k):
        keep = np.zeros(x.shape, dtype=bool)
        top = np.argpartition(x, -k, axis=-1)[..., -k:]
        np.put_along_axis(keep, top, True, axis=-1)
        return np.where(keep, x, -np.inf)

    @staticmethod
    def expand0(x, n):
        return np.broadcast_to(x, (n, *x.shape[1:]))

    @staticmethod
    def cat(xs, axis=0):
        return np.concatenate(xs, axis)

    @staticmethod
    def embed(numeric, x, weight, column, stride, offset):
        codes = x[:, column].astype(np.int64)
        return np.concatenate([numeric, weight[codes * stride + offset]], 1)

    @staticmethod
    def bag_mean(table, ids):
        keep = (ids != 0)[..., None]
        return (table[ids] * keep).sum(1) / np.maximum(keep.sum(1), 1)

    @staticmethod
    def cut_padding(ids):
        longest = int((ids != 0).sum(1).max()) if ids.shape[0] else 1
        return ids[:, : max(longest, 1)]

    @staticmethod
    def smooth_clip(x, bound):
        return x / np.sqrt(1.0 + np.square(x * (1.0 / bound)))

    @staticmethod
    def clip(x, low, high):
        return np.clip(x, low, high)

    @staticmethod
    def take_columns(x, index):
        return x[:, index]

    @staticmethod
    def fill_missing(x, fill):
        missing = np.isnan(x)
        return np.where(missing, fill, x), missing

    @staticmethod
    def bin_of(x, interior, last):
        return np.minimum((interior <= x[:, :, None]).sum(-1), last)

    @staticmethod
    def pad_front(x):
        return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 0), (0, 0)])

    @staticmethod
    def scatter_rows(values, index, n):
        out = np.zeros((values.shape[0], n, values.shape[2]), values.dtype)
        out[:, index] = values
        return out

    @staticmethod
    def cumsum(x, axis):
        return np.cumsum(x, axis)

    @staticmethod
    def ramps(table, below, fraction):  # in the table's precision, as float64
        index = np.concatenate([below, below + 1], 1)
        weight = np.concatenate([1.0 - fraction, fraction], 1)
        rows = np.take(table, index, axis=0)  # (B, 2 J, O)
        return np.matmul(weight[:, None, :].astype(table.dtype), rows)[:, 0].astype(
            np.float64
        )

    @staticmethod
    def as_float(mask, like):
        return mask.astype(like.dtype)

    @staticmethod
    def as_index(x):
        return x.astype(np.int64)

    @staticmethod
    def take_rows(table, index):
        return table[index]

    @staticmethod
    def log_mean_exp(x, axis):
        with np.errstate(invalid="ignore", divide="ignore"):  # padded: all -inf
            return logsumexp(x, axis) - math.log(x.shape[axis])

    # -- what a task's output needs (see sklearn_mmoe._tasks.kinds: ``output``)

    @staticmethod
    def float64(x):
        return x.astype(np.float64)

    @staticmethod
    def exp(x):
        return np.exp(x)

    @staticmethod
    def minimum(x, bound):
        return np.minimum(x, bound)

    @staticmethod
    def bounded(x, low, high):
        return np.clip(x, low, high)

    @classmethod
    def mean_probability(cls, logits, axis):
        with np.errstate(invalid="ignore", divide="ignore"):
            return cls.log_mean_exp(log_softmax(logits, -1), axis)
