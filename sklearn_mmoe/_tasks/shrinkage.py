"""The shrinkage of a regression or count task's output towards its training mean,
chosen on the validation rows: Newton's method on the task's own loss, with a
James-Stein guard against a noisy choice."""

import math

import numpy as np
import torch

from .._distributed.group import current

# The shrinkage factors a regression or count task's output is first tried at on the
# validation rows (see shrink_factor): 0 (the training mean) to 1 (the network as
# trained) in steps of 1/40; Newton's method refines the best of them.
_SHRINK_GRID = np.linspace(0.0, 1.0, 41)


_NEWTON_STEPS = 30


def shrink_factor(loss, out, y, w, doubt=0.0):
    """The factor (in [0, 1]) that a regression or count task's outputs ``out`` (n, W)
    are shrunk by, chosen on the validation rows (targets ``y``, weights ``w``), or
    None where the rows say nothing (no weight, or outputs that do not move the loss).
    Where Newton's method overflows, the grid's best factor is kept.

    ``c`` minimises ``sum(w * loss(c * out, y))``: the best factor of a grid, refined
    by Newton's method (each task's loss is convex in ``c``), with the derivatives
    taken by autograd through the task's own loss. Its standard error is the sandwich
    ``sqrt(sum((w * g)**2)) / sum(w * h)``, ``g`` and ``h`` being each row's first and
    second derivatives at ``c``. The factor kept is ``c - doubt * se**2 / c`` within
    ``[0, 1]`` (0 for ``c <= 0``): with ``doubt`` 0, ``c`` itself; with a positive
    ``doubt``, the positive-part James-Stein rule, which keeps a factor only where
    ``c`` stands ``sqrt(doubt)`` standard errors clear of 0.

    In a data-parallel fit, each rank holds its own validation rows, and every sum
    above is over all the ranks' rows (added in rank order): each rank chooses the
    same factor, and no rank holds another's rows.
    """
    total = current().sum  # over every rank's rows, in a data-parallel fit
    out, y, w = out.detach().double(), y.detach().double(), w.detach().double()
    if not total(float(w.sum())) > 0:
        return None
    grid = torch.as_tensor(_SHRINK_GRID, dtype=out.dtype, device=out.device)
    losses = total((loss(grid[:, None, None] * out, y) @ w).cpu().numpy())
    # the largest factor among the best: shrink no further than the data asks
    c = best = float(_SHRINK_GRID[len(losses) - 1 - int(np.argmin(losses[::-1]))])
    with torch.enable_grad():
        for _ in range(_NEWTON_STEPS):
            g, h = _derivatives(loss, out, y, c)
            slope, curve = (float(v) for v in total([float(w @ g), float(w @ h)]))
            if curve == 0:  # outputs that do not move the loss
                return None
            if not (curve > 0 and math.isfinite(slope)):  # overflow: the grid's
                return best
            step = slope / curve
            c -= step
            if abs(step) < 1e-9:
                break
    se = math.sqrt(total(float((w * g).square().sum()))) / curve
    if not math.isfinite(c - doubt * se**2 / max(c, 1e-300)):
        return best
    if not c > 0:
        return 0.0
    return min(max(c - doubt * se**2 / c, 0.0), 1.0)


def _derivatives(loss, out, y, c):
    """Each row's first and second derivatives of ``loss(c * out, y)`` in ``c``
    (none for no rows: a rank of a data-parallel fit whose rows are elsewhere)."""
    rows = torch.full_like(y, c, requires_grad=True)
    if not len(y):
        return rows.detach(), rows.detach()
    per_row = loss(rows[:, None] * out, y)
    (g,) = torch.autograd.grad(per_row.sum(), rows, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), rows)
    return g.detach(), h
