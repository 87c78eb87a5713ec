"""The wide part of the network: what each categorical code adds to each task's
output on its own (a learned bias per code), and what the codes of the
high-cardinality columns (users, items) add together (a factorisation machine's
pairwise products of their learned factors, one machine per task).

A recommender's table is mostly ids, and a user's rating of a film is, before
anything else, a user bias, a film bias and a user x film product (Koren's biased
matrix factorisation; Rendle's factorisation machines). MLP experts over the ids'
embeddings learn such a product poorly (Rendle et al., RecSys 2020), so the network
gives it explicitly, beside the experts: each task's output is its tower's plus

- the sum over the categorical columns of their codes' biases (one per output);
- for a regression, count or binary task, the sum over every pair ``(i, j)`` of
  id columns (:data:`ID_CATEGORIES` categories or more) of the dot product of the
  two codes' factors, ``w_ij,t * v_i . v_j`` (a binary task's on the logit of its second
  class). The factors are shared by the tasks, as the experts are; each task
  weighs each pair's product by its own ``w_ij,t``, which starts at 1 (a plain
  factorisation machine) and is penalised with the factors, or the factors could
  shrink while the weights grow and the penalty would restrain nothing.

Every row of these tables is trained only when a batch reads its code, so they learn
at :data:`SPARSE_LR_SCALE` times the network's rate, without weight decay: the
penalty ``embedding_l2`` shrinks them instead, each time a batch reads them (as
stochastic gradient descent on a factorisation machine regularises).

Written once against the array operations of :mod:`sklearn_mmoe._network.module`
(``ops``),
so that it runs in PyTorch, in NumPy and in the ONNX graph alike.
"""

import numpy as np
import torch
from torch import nn

# The factors' initial spread: small, so that the products start near zero and the
# network starts as it would without them.
_FACTOR_SCALE = 0.01
# A categorical column of at least this many categories is an id column (users,
# items): interactions="auto" turns the wide part on where a table has one, and the
# products pair these columns. Tabular tables' categories (a census' occupations,
# countries) stay below it.
ID_CATEGORIES = 100


def is_id_column(n_codes):
    """Whether a categorical column of ``n_codes`` codes (its categories, an
    unseen and a missing one: see :mod:`sklearn_mmoe._inputs.categorical`) is an id
    column."""
    return n_codes - 2 >= ID_CATEGORIES


# embedding_l2="auto" where the wide part is on: chosen on the defaults suite's four
# recommender cases against a smaller and a larger weight
# (benchmarks/records/embedding_l2.json).
AUTO_EMBEDDING_L2 = 0.05
# The learning rate of the codes' rows (embeddings, biases, factors) over the
# network's, where the wide part is on.
SPARSE_LR_SCALE = 3.0


def resolve_wide(interactions, embedding_l2, n_codes):
    """``interactions`` and ``embedding_l2`` with ``"auto"`` resolved for
    categorical columns of ``n_codes`` codes each: the wide part where a column is an
    id column, and then :data:`AUTO_EMBEDDING_L2` (else 0).

    Examples
    --------
    >>> from sklearn_mmoe._network.interactions import resolve_wide
    >>> resolve_wide("auto", "auto", [945, 1684, 4])
    (True, 0.05)
    >>> resolve_wide("auto", "auto", [12, 4])
    (False, 0.0)
    """
    on = bool(interactions)
    if interactions == "auto":
        on = any(is_id_column(n) for n in n_codes)
    return on, embedding_penalty(on, embedding_l2)


def embedding_penalty(wide, embedding_l2):
    """The codes' penalty weight: ``embedding_l2``, or for ``"auto"``
    :data:`AUTO_EMBEDDING_L2` where the wide part is on (``wide``), else 0."""
    if embedding_l2 == "auto":
        return AUTO_EMBEDDING_L2 if wide else 0.0
    return float(embedding_l2)


class Interactions(nn.Module):
    """Per-code biases, and factorised pairwise products of some columns' codes.

    Parameters
    ----------
    n_codes : sequence of int
        Codes of each categorical column (its tables' rows, in the encoder's per-code
        layout: see :meth:`~sklearn_mmoe._network.encoders.InputEncoder.codes`).
    n_outputs : int
        The outputs every code's bias feeds: every task's outputs side by side,
        ``n_tasks * width``.
    slots : sequence of int
        The outputs a task's factorisation machine feeds (one per task that has
        one).
    paired : sequence of int
        The columns whose codes' factors are multiplied pairwise (all pairs); fewer
        than two: no products.
    dim : int
        Width of every code's factor.
    """

    def __init__(self, n_codes, n_outputs, slots, paired, dim):
        super().__init__()
        self.dim, self.n_outputs = int(dim), int(n_outputs)
        self.id_bias = nn.Parameter(torch.zeros(int(sum(n_codes)), n_outputs))
        self.n_paired = len(paired) if len(paired) > 1 and len(slots) else 0
        if not self.n_paired:
            return
        base = np.concatenate([[0], np.cumsum(n_codes)[:-1]])
        rows = sum(n_codes[c] for c in paired)
        self.register_buffer("paired_column", torch.as_tensor(paired), False)
        # the paired columns' codes index their own table, column after column
        offset = np.concatenate([[0], np.cumsum([n_codes[c] for c in paired])[:-1]])
        shift = torch.as_tensor(offset - base[list(paired)])
        self.register_buffer("paired_shift", shift, persistent=False)
        # the factors, shared by every task; each task weighs each pair's product
        # (starting at 1, as a factorisation machine does)
        factor = torch.randn(rows, dim) * _FACTOR_SCALE
        for start in offset:  # an unseen and a missing id add nothing at first
            factor[start : start + 2] = 0.0
        self.id_factor = nn.Parameter(factor)
        first, second = np.triu_indices(len(paired), 1)
        self.register_buffer(
            "pair_index", torch.as_tensor(first * len(paired) + second), False
        )
        self.pair_weight = nn.Parameter(torch.ones(len(first), len(slots)))
        # (S, outputs): each task's products into its own output
        place = torch.zeros(len(slots), n_outputs)
        place[torch.arange(len(slots)), torch.as_tensor(slots)] = 1.0
        self.register_buffer("slot_place", place, persistent=False)

    def output(self, p, codes, ops):
        """What the codes ``(B, C)`` add to every task's outputs: ``(B,
        n_outputs)``."""
        out = ops.take_rows(p["id_bias"], codes).sum(1)
        if not self.n_paired:
            return out
        index = ops.take_columns(codes, p["paired_column"]) + p["paired_shift"]
        factors = ops.take_rows(p["id_factor"], index)  # (B, C', d)
        products = ops.matmul(factors, factors.swapaxes(1, 2))  # (B, C', C')
        n = products.shape[0]
        pairs = ops.take_columns(products.reshape(n, -1), p["pair_index"])  # (B, P)
        weighted = ops.matmul(pairs, p["pair_weight"])  # (B, S)
        return out + ops.matmul(weighted, p["slot_place"])  # (B, outputs)

    def penalty(self, p, codes):
        """Per row ``(B,)``: the squared norms of the bias and factor rows it reads
        (the codes ``(B, C)``), as
        :meth:`~sklearn_mmoe._network.encoders.InputEncoder.penalty` does."""
        per_row = p["id_bias"][codes].square().sum((1, 2))
        if self.n_paired:
            index = codes.index_select(1, self.paired_column) + p["paired_shift"]
            per_row = per_row + p["id_factor"][index].square().sum((1, 2))
            # the pairs' weights: shrunk too, or the factors would shrink while the
            # weights grow, and the penalty would restrain nothing
            per_row = per_row + p["pair_weight"].square().sum()
        return per_row
