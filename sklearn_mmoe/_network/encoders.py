"""The encoding of the network's input, in PyTorch: the numeric columns' fixed
encoding (standard or robust scaling, or the piecewise-linear code), the
missing-value indicators and the categorical columns' learned embeddings.

:class:`InputEncoder` turns a raw batch ``(B, n_numeric + n_categorical)`` (numbers,
then one column of integer codes per categorical column) into the encoded input ``(B,
width)`` that the network's first layer reads, written once against the array operations
of :mod:`sklearn_mmoe._network.module` (``ops``) so that it runs in PyTorch and in NumPy
alike. Its tensors are all it owns: the fixed encodings' buffers and the embeddings'
table. It also says which input column each encoded value comes from
(:meth:`InputEncoder.columns`), for experts that read the columns as tokens.
"""

import numpy as np
import torch
from torch import nn

from .text import TEXT_MODULES

# Robustly scaled numeric values are smoothly clipped to about this bound (RealMLP's).
_CLIP_BOUND = 3.0
# The largest factor of the numeric scaling applied in one float32 step (see
# _plan_numeric).
_BOOST = 2.0**64


class InputEncoder(nn.Module):
    """The fixed numeric encoding, missing-value indicators and embeddings.

    Parameters
    ----------
    n_numeric : int
        Number of numeric input columns (the first of the raw input's).
    numeric : dict, default=None
        The numeric columns' encoding, as fitted by
        :func:`~sklearn_mmoe._inputs.numeric.fit_numeric` (None: the numbers as given).
    embeddings : tuple of (int, int), default=()
        ``(n_codes, width)`` of each categorical input column, which follow the
        numeric columns as integer codes; each code's learned vector replaces it.
        Codes 0 and 1 (an unseen category, a missing value) start at zero: a code
        never seen in training stays a zero vector.
    texts : tuple of (str, int, int, int, tuple), default=()
        ``(encoder, n_ids, width, slots, settings)`` of each text column, whose
        token ids
        follow the categorical codes, ``slots`` columns each (see
        :mod:`sklearn_mmoe._inputs.text`); its encoder's vector (see
        :mod:`sklearn_mmoe._network.text`) follows the embeddings.

    Attributes
    ----------
    width : int
        Values of the encoded input: the numeric encoding's, then one indicator per
        numeric column that had missing values in training, then the embeddings,
        then the texts' vectors.
    """

    def __init__(self, n_numeric, numeric=None, embeddings=(), texts=()):
        super().__init__()
        self.width = self._plan_numeric(n_numeric, numeric)
        self.width += self._plan_embeddings(n_numeric, embeddings)
        self.width += self._plan_texts(texts)

    def encode(self, p, x, ops):
        """The encoded input ``(B, width)`` of a raw batch ``x``; ``p``: the
        tensors (or arrays) by name."""
        numeric = self.encode_numeric(p, x[:, : self.n_numeric], ops)
        return self.embedded(p, numeric, x, ops)

    def refit_numeric(self, numeric):
        """Take the numeric encoding ``numeric``, of the same layout as the one the
        encoder holds (a constant column's statistics refreshed: see
        :func:`~sklearn_mmoe._inputs.numeric.refresh_constant`); its buffers stay on
        their device."""
        device = self.numeric_fill.device
        width = self._plan_numeric(self.n_numeric, numeric)
        if width + sum(d for _, d in self.embeddings) != self.width:
            raise ValueError("a numeric encoding of another layout")
        for name, buffer in self._buffers.items():
            self._buffers[name] = buffer.to(device)

    def piecewise_parts(self, p, x, ops):
        """The piecewise-linear code of a raw batch in its sparse form: each numeric
        value's bin (its flat index into the ``(n_numeric, T)`` buffers), where the
        value falls in that bin (below 0 under the first bin, above 1 over the
        last) and the rest of the encoded input (indicators, then embeddings)."""
        values, missing = ops.fill_missing(x[:, : self.n_numeric], p["numeric_fill"])
        flat = ops.bin_of(values, p["bin_interior"], p["bin_last"]) + p["bin_start"]

        def at(name):  # each value's entry of a (n_numeric, T) buffer
            return p[name].reshape(-1)[flat]

        fraction = (values - at("bin_low")) / at("bin_width")
        fraction = ops.clip(fraction, at("bin_floor"), at("bin_ceiling"))
        rest = self.embedded(p, self.flags(p, missing, values, ops), x, ops)
        return flat, fraction, rest

    def columns(self):
        """The raw input column each encoded value comes from, ``(width,)``: a
        numeric column's scaled value or bins, its missing-value indicator and a
        categorical column's embedding are all that column's."""
        if self.numeric_kind == "piecewise":
            T = self.bin_interior.shape[1]
            own = self.bin_index.cpu().numpy() // T
        else:
            own = np.arange(self.n_numeric)
        parts = [own]
        if self.n_indicators:
            parts.append(self.missing_index.cpu().numpy())
        if self.embeddings:
            parts.append(self.embedding_column.cpu().numpy())
        first = self.n_numeric + len(self.embeddings)  # a text's own column number
        for i, (name, _, width, *_) in enumerate(self.texts):
            parts.append(np.full(TEXT_MODULES[name].width(width), first + i))
        return np.concatenate(parts).astype(np.int64)

    # -- construction
    # -------------------------------------------------------------------------

    def _plan_numeric(self, n_numeric, numeric):
        """Buffers of the numeric columns' fixed encoding; returns its width."""
        self.numeric_kind = None if numeric is None else numeric["kind"]
        self.clip_bound = _CLIP_BOUND
        self.n_indicators = 0
        self.boosted = False
        self.constant_inputs = np.zeros(0, np.int64)
        self.code_width, self.all_bins = 0, False  # of a piecewise-linear code
        if self.numeric_kind is None:
            return n_numeric
        # A missing value (NaN) is read as the column's training median, and each
        # column that had missing values in training gets an indicator input.
        buffers = {"numeric_fill": numeric["fill"]}
        indicators = np.asarray(numeric["indicators"], dtype=np.int64)
        self.n_indicators = len(indicators)
        if self.n_indicators:
            buffers["missing_index"] = indicators
        # The encoded inputs of the columns constant where the encoding was fitted
        # (the network starts their first-layer weights at zero).
        constant = np.asarray(numeric.get("constant", np.zeros(n_numeric, bool)))
        if self.numeric_kind != "piecewise":
            width = self._plan_scaling(n_numeric, numeric, constant, buffers)
        else:
            width = self._plan_bins(n_numeric, numeric, constant, buffers)
        width += self.n_indicators
        for name, values in buffers.items():
            values = np.asarray(values)
            tensor = torch.from_numpy(
                values.astype(np.float32) if values.dtype.kind == "f" else values
            )
            self.register_buffer(name, tensor, persistent=False)
        return width

    def _plan_scaling(self, n_numeric, numeric, constant, buffers):
        """Buffers of standard or robust scaling (``buffers``, filled); returns the
        width: one input per numeric column."""
        buffers["numeric_center"] = numeric["center"]
        factor = np.asarray(numeric["factor"], dtype=np.float64)
        # float32 holds factors up to about 3e38; a column of values about 1e-40
        # needs more: its factor is applied in two steps, 2**64 then the rest.
        self.boosted = bool(np.any(factor > _BOOST))
        if self.boosted:
            buffers["numeric_boost"] = np.where(factor > _BOOST, factor / _BOOST, 1)
            factor = np.minimum(factor, _BOOST)
        buffers["numeric_factor"] = factor
        self.constant_inputs = np.flatnonzero(constant)
        return n_numeric

    def _plan_bins(self, n_numeric, numeric, constant, buffers):
        """Buffers of the piecewise-linear code (``buffers``, filled): each column's
        bins, the ramps' bounds and the lookup form's layout; returns the code's
        width."""
        # Each column's bins padded to the most bins of any column; the padding
        # is cut out again by bin_index. A column whose bins have width 0 (a
        # constant column, in a model saved before constant columns got a
        # width) reads 0.
        edges = [np.asarray(e, dtype=np.float64) for e in numeric["edges"]]
        n_bins = [len(e) - 1 for e in edges]
        T = max(n_bins)
        low = np.zeros((n_numeric, T))
        span = np.full((n_numeric, T), np.inf)
        floor = np.zeros((n_numeric, T))
        ceiling = np.ones((n_numeric, T))
        for j, e in enumerate(edges):
            k = n_bins[j]
            if e[-1] > e[0]:
                low[j, :k], span[j, :k] = e[:-1], np.diff(e)
            # The first ramp continues below b_0 and the last above b_T, for up
            # to _CLIP_BOUND bins' widths: beyond, an outlier reads as an edge.
            floor[j, 0] = -_CLIP_BOUND
            ceiling[j, k - 1] = 1.0 + _CLIP_BOUND
        index = np.concatenate([j * T + np.arange(k) for j, k in enumerate(n_bins)])
        buffers.update(
            bin_low=low, bin_width=span, bin_floor=floor, bin_ceiling=ceiling
        )
        buffers["bin_index"] = index
        # For the lookup form (see MMoEModule._lookup_first_layer): each
        # column's inner edges b_1 .. b_{k-1}, padded with +inf (all of a
        # constant column's), the last bin of each column and where each
        # column's bins start.
        interior = np.full((n_numeric, T), np.inf)
        for j, k in enumerate(n_bins):
            if np.isfinite(span[j, 0]):
                interior[j, : k - 1] = low[j, 1:k]
        buffers["bin_interior"] = interior
        buffers["bin_last"] = np.asarray(n_bins, dtype=np.int64) - 1
        buffers["bin_start"] = np.arange(n_numeric, dtype=np.int64) * T
        buffers["bin_column"] = np.arange(n_numeric, dtype=np.int64)
        self.all_bins = all(k == T for k in n_bins)
        self.code_width = int(sum(n_bins))
        first = np.concatenate([[0], np.cumsum(n_bins)[:-1]])
        self.constant_inputs = np.concatenate(
            [first[j] + np.arange(n_bins[j]) for j in np.flatnonzero(constant)]
            or [np.zeros(0, np.int64)]
        )
        return self.code_width

    def _plan_embeddings(self, n_numeric, embeddings):
        """One flat table holds every column's embeddings, row after row; a code's
        vector is gathered by one index, ``base + code * width + slot``, per batch for
        all columns. Returns the total embedding width."""
        self.n_numeric = n_numeric
        self.embeddings = tuple((int(n), int(d)) for n, d in embeddings)
        if not self.embeddings:
            return 0
        n_codes, widths = np.array(self.embeddings).T
        sizes = n_codes * widths
        base = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        column = np.repeat(np.arange(len(widths)), widths)
        slot = np.concatenate([np.arange(d) for d in widths])
        for name, values in (
            ("embedding_column", n_numeric + column),
            ("embedding_stride", widths[column]),
            ("embedding_offset", base[column] + slot),
        ):
            self.register_buffer(name, torch.from_numpy(values), persistent=False)
        # Per code, across the columns: where each column's codes start in the
        # tables of one row per code (the wide part's biases and factors).
        code_base = np.concatenate([[0], np.cumsum(n_codes)[:-1]])
        self.register_buffer(
            "code_column", torch.from_numpy(n_numeric + np.arange(len(widths))), False
        )
        self.register_buffer("code_base", torch.from_numpy(code_base), False)
        weight = torch.randn(int(sizes.sum()))
        for b, d in zip(base, widths):
            weight[b : b + 2 * d] = 0.0  # the unseen and the missing code
        self.embedding_weight = nn.Parameter(weight)
        return int(widths.sum())

    def _plan_texts(self, texts):
        """Each text column's encoder, its part of the network built (see
        :mod:`sklearn_mmoe._network.text`) and where its slots are in the raw
        input; returns the texts' total width."""
        self.texts = tuple(
            (str(e), int(n), int(d), int(s), tuple(settings))
            for e, n, d, s, settings in texts
        )
        self.text_outputs_width = 0
        self._text_parts, start = [], self.n_numeric + len(self.embeddings)
        for i, (name, n_ids, width, slots, settings) in enumerate(self.texts):
            kind = TEXT_MODULES[name]
            # an encoder that holds more than tensors (a pretrained model, kept
            # out of the module tree) returns the column's own part, which pools
            part = kind.build(self, i, n_ids, width, slots, dict(settings))
            part = kind if part is None else part
            self._text_parts.append((part, i, start, start + slots))
            start += slots
        return sum(TEXT_MODULES[e].width(d) for e, _, d, *_ in self.texts)

    def add_text_outputs(self, n_outputs):
        """A linear term of each text's tokens on every output (a table of one
        row per id, the mean of a text's rows added to the outputs)."""
        self.text_outputs_width = n_outputs
        for i, (_, n_ids, *_) in enumerate(self.texts):
            weight = nn.Parameter(torch.zeros(n_ids, n_outputs))
            self.register_parameter(f"text{i}_linear", weight)

    def text_outputs(self, p, x, ops):
        """The texts' linear term on the outputs, ``(B, n_outputs)``."""
        total = None
        for _, i, start, stop in self._text_parts:
            term = ops.bag_mean(p[f"text{i}_linear"], ops.as_index(x[:, start:stop]))
            total = term if total is None else total + term
        return total

    def tokens_are_read(self):
        """Say to each text column's part that the experts read its tokens (a
        frozen pretrained model then pools the states it keeps for them, and
        reads a text once)."""
        for part, *_ in self._text_parts:
            if hasattr(part, "pools_kept_states"):
                part.pools_kept_states = True

    def text_tokens(self, p, x, ops, n_members=1):
        """Each text column's tokens: their vectors ``(B, L, width)`` and a mask
        ``(B, L)``, True where a token is one (False: padding), cut to the
        batch's longest text (see :mod:`sklearn_mmoe._network.text`); every
        member's rows one after another when ``n_members`` > 1."""
        out = []
        for kind, i, start, stop in self._text_parts:
            ids = ops.cut_padding(ops.as_index(x[:, start:stop]))
            states, keep = kind.tokens(p, ops, ids, i)
            if n_members > 1:
                n, L = n_members * keep.shape[0], keep.shape[1]
                states = ops.expand0(states[None], n_members).reshape(n, L, -1)
                keep = ops.expand0(keep[None], n_members).reshape(n, L)
            out.append((states, keep))
        return out

    @property
    def runs_numpy(self):
        """Whether every text encoder runs in NumPy too."""
        return all(kind.numpy for kind, *_ in self._text_parts)

    def codes(self, p, x, ops):
        """Each row's code of each categorical column as an index into the tables
        of one row per code: ``(B, n_categorical)`` int64."""
        return ops.as_index(ops.take_columns(x, p["code_column"])) + p["code_base"]

    def penalty(self, p, x):
        """Per row (a tensor ``(B,)``), the squared norm of the embeddings the row
        reads: summed over the rows of a batch, every code is shrunk as often as it
        is seen."""
        return p["embedding_weight"][self._slots(p, x)].square().sum(1)

    def _slots(self, p, x):
        codes = x.index_select(1, p["embedding_column"]).long()
        return codes * p["embedding_stride"] + p["embedding_offset"]

    # -- the encoding, for both backends
    # -------------------------------------------------------------------------

    def embedded(self, p, numeric, x, ops):  # the inputs, codes and texts embedded
        if self.embeddings:
            numeric = ops.embed(
                numeric,
                x,
                p["embedding_weight"],
                p["embedding_column"],
                p["embedding_stride"],
                p["embedding_offset"],
            )
        if not self.texts:
            return numeric
        vectors = [
            kind.pool(p, ops, ops.as_index(x[:, start:stop]), i)
            for kind, i, start, stop in self._text_parts
        ]
        return ops.cat([numeric, *vectors], 1)

    def encode_numeric(self, p, x, ops):  # (B, n_numeric) -> (B, encoded width)
        kind = self.numeric_kind
        if kind is None:
            return x
        x, missing = ops.fill_missing(x, p["numeric_fill"])
        if kind != "piecewise":
            x = (x - p["numeric_center"]) * p["numeric_factor"]
            if self.boosted:
                x = x * p["numeric_boost"]
            if kind == "robust":
                x = ops.smooth_clip(x, self.clip_bound)
        else:
            n = x.shape[0]
            ramps = (x[:, :, None] - p["bin_low"]) / p["bin_width"]  # (B, F, T_max)
            ramps = ops.clip(ramps, p["bin_floor"], p["bin_ceiling"])
            x = ops.take_columns(ramps.reshape(n, -1), p["bin_index"])
        if not self.n_indicators:
            return x
        flags = self.flags(p, missing, x, ops)
        return ops.cat([x, flags], 1)  # (B, encoded width + n_indicators)

    def flags(self, p, missing, like, ops):  # (B, n_indicators), as ``like``'s type
        """The missing-value indicator inputs: 1 where a column that had missing
        values in training is missing."""
        if not self.n_indicators:
            return like[:, :0]
        return ops.as_float(ops.take_columns(missing, p["missing_index"]), like)
