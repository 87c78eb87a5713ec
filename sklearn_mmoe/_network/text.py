"""The network's part of each text encoder: what it makes of a text's token ids
(see :mod:`sklearn_mmoe._inputs.text`, which tokenizes), registered by the same
name in ``TEXT_MODULES``.

Each text column's vector joins the encoded input beside the numeric columns and
the categorical embeddings, so that every expert and every gate reads it, and an
expert that reads the columns as tokens reads it as the text column's token, and
each of the text's tokens as a token of its own (``tokens``: the vector of each
token, before the mean). Beside
it, each text's tokens have a linear term on every task's output (the mean of a
table of one row per id, zero at first: :meth:`InputEncoder.add_text_outputs
<sklearn_mmoe._network.encoders.InputEncoder.add_text_outputs>`), the wide part of
a text: what TF-IDF and a linear model learn, learned with the network.
"""

import torch
from torch import nn

from .._utils.registry import Registry


class HashedBag:
    """``"hashed"``: a learned vector per id; a text's vector is the mean of its
    tokens' (fastText's), the padding left out, zeros for a text of no tokens. The
    missing text's id has a vector of its own, its flag."""

    name = "hashed"
    doc = "the mean of the text's tokens' learned vectors"
    numpy = True  # runs in NumPy as in PyTorch
    # The tables' learning rates, as multiples of learning_rate (without weight
    # decay), chosen on the text tables of benchmarks/text.py (benchmarks/README.md,
    # "Constants"): the vectors at a tenth (at the network's rate they fit the
    # training texts' rare tokens within an epoch or two, and early stopping ends
    # the fit before the rest has learned), the linear term at ten times (the mean
    # of a text's rows moves a tenth as fast as one row of a text of ten tokens).
    lr_scales = {"*encoder.text*_weight": 0.1, "*encoder.text*_linear": 10.0}

    def build(self, encoder, index, n_ids, width, slots, settings):
        """Register column ``index``'s table on ``encoder``: ``(n_ids, width)``,
        the padding's row zero (``slots`` and ``settings`` it needs not)."""
        weight = torch.randn(n_ids, width)
        weight[0] = 0.0
        encoder.register_parameter(f"text{index}_weight", nn.Parameter(weight))

    def width(self, width):
        """The encoded input's values of a text of vectors of ``width``."""
        return width

    def pool(self, p, ops, ids, index):
        """Each text's vector ``(B, width)`` from its ids ``(B, slots)``."""
        return ops.bag_mean(p[f"text{index}_weight"], ids)

    def tokens(self, p, ops, ids, index):
        """Each text's tokens' vectors ``(B, L, width)`` from its ids ``(B, L)``,
        and which are tokens (not the padding), ``(B, L)``."""
        return table_tokens(p[f"text{index}_weight"], ops, ids)


def table_tokens(table, ops, ids):
    """The rows of ``table`` that ids ``(B, L)`` name, and where they are not the
    padding (the missing text's id is a token: its flag)."""
    return ops.take_rows(table, ids), ids != 0


TEXT_MODULES = Registry()
TEXT_MODULES.register(HashedBag)


# Pretrained encoders, each in its own module (imported last: they build on the above).
from .text_transformers import TransformersText  # noqa: E402
from .text_wordllama import WordLlamaBag  # noqa: E402

TEXT_MODULES.register(WordLlamaBag)
TEXT_MODULES.register(TransformersText)
