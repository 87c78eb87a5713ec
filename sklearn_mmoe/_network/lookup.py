"""The piecewise-linear code's lookup in PyTorch, with a backward that sorts half.

A numeric column's piecewise-linear code times the first layer is ``(1 - f)`` times
one row of a table of running sums plus ``f`` times the next (see
``MMoEModule._lookup_first_layer``): one ``embedding_bag`` forward. PyTorch's own
backward of that bag sorts all of its indices, both rows of every value, and
scatters every weighted gradient row: on a CPU it costs several times the forward.
:class:`RampLookup` knows the second row is the first plus one, so it sorts the
first rows' indices only, and takes the table's gradient as two bags over the batch's
output gradient (one weighted by ``1 - f``, one by ``f`` and moved down one row),
grouped by table row: the forward's cost again, not a scatter of every product.
"""

import torch
import torch.nn.functional as F


def ramp_lookup(table, below, fraction):
    """``sum_j (1 - f[b, j]) table[below[b, j]] + f[b, j] table[below[b, j] + 1]``,
    ``(B, O)``, of a table ``(R, O)``, rows ``below`` ``(B, J)`` and fractions
    ``f`` ``(B, J)``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mmoe._network.lookup import ramp_lookup
    >>> table = torch.tensor([[0.0], [1.0], [3.0]], requires_grad=True)
    >>> below, fraction = torch.tensor([[0], [1]]), torch.tensor([[0.5], [0.25]])
    >>> out = ramp_lookup(table, below, fraction)
    >>> out.detach().ravel()
    tensor([0.5000, 1.5000])
    >>> out.sum().backward()
    >>> table.grad.ravel()
    tensor([0.5000, 1.2500, 0.2500])
    """
    fraction = fraction.to(table.dtype)
    if torch.is_grad_enabled() and table.requires_grad:
        return RampLookup.apply(table, below, fraction)
    return _bag(table, below, fraction)


def _bag(table, below, fraction):
    index = torch.cat([below, below + 1], 1)
    weight = torch.cat([1.0 - fraction, fraction], 1)
    return F.embedding_bag(index, table, per_sample_weights=weight, mode="sum")


class RampLookup(torch.autograd.Function):
    """:func:`ramp_lookup` with the gradient of the table as two grouped bags."""

    @staticmethod
    def forward(ctx, table, below, fraction):
        ctx.save_for_backward(table, below, fraction)
        return _bag(table, below, fraction)

    @staticmethod
    def backward(ctx, grad):
        table, below, fraction = ctx.saved_tensors
        grad_table = grad_fraction = None
        if ctx.needs_input_grad[0]:
            grad_table = _table_gradient(grad, below, fraction, table.shape[0])
        if ctx.needs_input_grad[2]:  # the slope of each value's ramp, times grad
            slope = table[below + 1] - table[below]  # (B, J, O)
            grad_fraction = torch.einsum("bjo,bo->bj", slope, grad)
        return grad_table, None, grad_fraction


def _table_gradient(grad, below, fraction, n_rows):
    """The gradient of the table ``(n_rows, O)``: row ``r`` gathers ``(1 - f) grad``
    of the values whose first row is ``r`` and ``f grad`` of those whose is
    ``r - 1``; the values sorted by first row once, each batch row's gradient
    summed into its table rows by ``embedding_bag`` over the groups."""
    keys = below.reshape(-1)
    small = n_rows <= torch.iinfo(torch.int32).max  # a 32-bit sort is the faster
    _, order = torch.sort(keys.int() if small else keys, stable=True)
    rows = torch.div(order, below.shape[1], rounding_mode="floor")  # batch rows
    f = fraction.reshape(-1)[order]
    counts = torch.bincount(keys, minlength=n_rows)
    offsets = torch.cumsum(counts, 0) - counts
    low = F.embedding_bag(rows, grad, offsets, per_sample_weights=1.0 - f, mode="sum")
    high = F.embedding_bag(rows, grad, offsets, per_sample_weights=f, mode="sum")
    low[1:] += high[:-1]  # a value's second row is its first plus one
    return low
