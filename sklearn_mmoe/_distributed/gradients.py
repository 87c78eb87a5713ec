"""Each training step's gradients added across the ranks of a data-parallel fit.

Each rank's gradient is that of its batch's mean loss; the step's gradient is their
mean weighted by the batches' rows (a rank whose batch is empty adds nothing), as
one process would take from the union of the batches. Dense gradients travel as one
flat all-reduce per step (with a flag per parameter: one no rank computed stays
None, as a network's unused expert's does); a text table's sparse gradient (the
rows its batch read) is gathered as rows and values, so that no rank sends the
whole table.
"""

import torch


class GradientReduction:
    """Adds a net's gradients across ``group``'s ranks after each backward pass.

    Parameters
    ----------
    group : Collective
        The fit's ranks (see :mod:`sklearn_mmoe._distributed.group`).
    """

    def __init__(self, group):
        self.group = group
        self.sparse = None  # per parameter: whether its gradient is sparse

    def __call__(self, parameters, rows):
        """Replace each of ``parameters``' gradients by the ranks' weighted mean,
        this rank's batch holding ``rows`` rows."""
        parameters = list(parameters)
        if self.sparse is None:
            kinds = [0 if p.grad is None else 1 + p.grad.is_sparse for p in parameters]
            self.sparse = [k == 2 for k in self.group.max(kinds).tolist()]
        dense = [p for p, s in zip(parameters, self.sparse) if not s]
        total = self._dense(dense, rows)
        for p, sparse in zip(parameters, self.sparse):
            if sparse:
                p.grad = self._sparse(p, rows, total)

    def _dense(self, parameters, rows):
        """Reduce the dense gradients in one flat buffer; return the step's rows."""
        like = parameters[0]
        grads = [
            p.new_zeros(p.numel()) if p.grad is None else p.grad.reshape(-1)
            for p in parameters
        ]
        flags = [float(p.grad is not None) for p in parameters] + [float(rows)]
        flags = torch.tensor(flags, dtype=like.dtype, device=like.device)
        flat = torch.cat([*grads, flags])
        values = flat[: -len(flags)]
        values *= rows
        self.group.reduce_(flat)
        total = float(flat[-1])
        if total:
            values /= total
        # each gradient a view of the reduced buffer
        for p, has, grad in zip(
            parameters,
            flat[-len(flags) : -1].tolist(),
            values.split([p.numel() for p in parameters]),
        ):
            p.grad = grad.view_as(p) if has and total else None
        return total

    def _sparse(self, p, rows, total):
        """The ranks' sparse gradients of ``p`` joined, in rank order."""
        mine = None
        if p.grad is not None:
            grad = p.grad.coalesce()
            mine = (grad.indices().cpu(), grad.values().cpu() * rows)
        parts = [part for part in self.group.gather(mine) if part is not None]
        if not parts or not total:
            return None
        indices = torch.cat([i for i, _ in parts], 1).to(p.device)
        values = torch.cat([v for _, v in parts]).to(p.device) / total
        return torch.sparse_coo_tensor(indices, values, p.shape).coalesce()
