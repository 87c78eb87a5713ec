"""The network's part of each text encoder: what it makes of a text's token ids
(see :mod:`sklearn_mmoe._inputs.text`, which tokenizes), registered by the same
name in ``TEXT_MODULES``.

Each text column's vector joins the encoded input beside the numeric columns and
the categorical embeddings, so that every expert and every gate reads it, and an
expert that reads the columns as tokens reads it as the text column's token.
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

    def build(self, encoder, index, n_ids, width, slots):
        """Register column ``index``'s table on ``encoder``: ``(n_ids, width)``,
        the padding's row zero."""
        weight = torch.randn(n_ids, width)
        weight[0] = 0.0
        encoder.register_parameter(f"text{index}_weight", nn.Parameter(weight))

    def width(self, width):
        """The encoded input's values of a text of vectors of ``width``."""
        return width

    def pool(self, p, ops, ids, index):
        """Each text's vector ``(B, width)`` from its ids ``(B, slots)``."""
        return ops.bag_mean(p[f"text{index}_weight"], ids)


TEXT_MODULES = Registry()
TEXT_MODULES.register(HashedBag)
