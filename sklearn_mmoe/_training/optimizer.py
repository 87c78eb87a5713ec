"""The optimiser: AdamW, whose tables read by row (a text's token ids) step only
the rows a batch read.

A text encoder's tables have a row per token id, up to 2**18 of them, and a batch
reads a few thousand. With a dense gradient, every step of AdamW writes every row:
the gradient's zeros, both moments and the weights, most of an epoch's time on a
table of texts (``benchmarks/text.py``). Read with a sparse gradient
(:meth:`~sklearn_mmoe._network.ops._TorchOps.bag_mean`), a table steps as
:class:`torch.optim.SparseAdam` steps it (TensorFlow's LazyAdam): the rows the batch
read update their moments and move, the others stay as they are, their moments
too. A row read in every step steps as AdamW would step it.
"""

import math

import torch


class RowSparseAdamW(torch.optim.AdamW):
    """:class:`torch.optim.AdamW`, whose parameters with a sparse gradient step
        lazily, row by row (see the module's description); every other parameter
        steps as AdamW's (fused, where asked).

        Parameters
        ----------
        params, **options
            As :class:`torch.optim.AdamW`'s.

        Examples
        --------
        >>> import math

    import torch
        >>> table = torch.nn.Parameter(torch.ones(4, 2))
        >>> optimizer = RowSparseAdamW([table], lr=0.1)
        >>> ids = torch.tensor([[1, 2]])
        >>> torch.nn.functional.embedding_bag(ids, table, sparse=True).sum().backward()
        >>> optimizer.step()
        >>> table.detach()[:, 0]
        tensor([1.0000, 0.8990, 0.8990, 1.0000])
    """

    @torch.no_grad()
    def step(self, closure=None):
        """One step: AdamW's for the dense gradients, then the rows of each
        sparse one; ``closure`` (skorch passes the batch's forward and backward)
        runs first."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        sparse = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and p.grad.is_sparse:
                    sparse.append((group, p, p.grad))
                    p.grad = None  # AdamW steps the others
        try:
            super().step()
            for group, p, grad in sparse:
                self._step_rows(group, p, grad.coalesce())
        finally:
            for _, p, grad in sparse:
                p.grad = grad
        return loss

    def _step_rows(self, group, p, grad):
        """Adam's update of the rows of ``p`` that ``grad`` holds, AdamW's
        decoupled weight decay on them."""
        if group["amsgrad"] or group["maximize"]:
            raise ValueError("a sparse gradient steps without amsgrad or maximize")
        state = self.state[p]
        if not state:  # as AdamW's own, so that either can step it next
            state["step"] = torch.tensor(0.0, dtype=torch.float32, device=p.device)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(
                p, memory_format=torch.preserve_format
            )
        state["step"] += 1
        step = float(state["step"])
        beta1, beta2 = group["betas"]
        lr, eps = float(group["lr"]), group["eps"]
        rows, values = grad.indices()[0], grad.values()  # each row once
        weights = p[rows]
        if group["weight_decay"]:
            weights.mul_(1.0 - lr * group["weight_decay"])
        exp_avg = state["exp_avg"][rows].lerp_(values, 1.0 - beta1)
        exp_avg_sq = state["exp_avg_sq"][rows].mul_(beta2)
        exp_avg_sq.addcmul_(values, values, value=1.0 - beta2)
        state["exp_avg"].index_copy_(0, rows, exp_avg)
        state["exp_avg_sq"].index_copy_(0, rows, exp_avg_sq)
        denominator = exp_avg_sq.sqrt_().div_(math.sqrt(1.0 - beta2**step)).add_(eps)
        weights.addcdiv_(exp_avg, denominator, value=-lr / (1.0 - beta1**step))
        p.index_copy_(0, rows, weights)
