"""Experts of other kinds: a user's module run batched over the experts against the
same module run in a loop over them.

``batching``: the census-income table (group 1: income and never married, as the
package loads it; its 28 categorical columns embedded and its numeric ones encoded
by the defaults) at 10,000 training rows, ``MMoEClassifier`` with 8 experts of a
small residual module (a projection to the experts' width, then a pre-norm residual
block of 64 hidden units), every other parameter at its default. Seconds per
training epoch (the fastest of a 4-epoch fit's, best of ``--repeats`` fits, the
validation pass included) with the experts

- batched: what the estimator does (``torch.func.stack_module_state`` and one
  ``vmap`` of ``functional_call`` over the expert axis);
- in a loop: the same stacked weights, one ``functional_call`` per expert, the
  outputs stacked (what LibMTL does with its list of expert modules);

and, for scale, the built-in feed-forward experts (8 of ``(64,)``, the default). The
loop's outputs equal the batched ones (checked on one batch before timing).

Usage::

    python benchmarks/experts.py batching [--repeats 3] [--experts 8]
"""

import argparse
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from sklearn_mmoe import MMoEClassifier, _experts
from sklearn_mmoe._module import _TorchOps
from sklearn_mmoe.datasets import load_census_income

warnings.simplefilter("ignore")  # ConvergenceWarning from the short fits


class ResidualExpert(nn.Module):
    """The user module measured: a projection, then a pre-norm residual block."""

    def __init__(self, n_inputs, n_outputs, hidden=64):
        super().__init__()
        self.project = nn.Linear(n_inputs, n_outputs)
        self.block = nn.Sequential(
            nn.LayerNorm(n_outputs),
            nn.Linear(n_outputs, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_outputs),
        )

    def forward(self, x):
        h = self.project(x)
        return torch.relu(h + self.block(h))


class LoopedModuleExperts(_experts.ModuleExperts):
    """The same experts, run one after another: one functional_call each."""

    def _vmapped(self, p, level, x, training):
        base, params, buffers = self.state(p, level, training)
        outputs = []
        for e in range(level.n_experts):
            own = [
                {name: value[e] for name, value in d.items()} for d in (params, buffers)
            ]
            rows = x[e] if level.index else x
            outputs.append(functional_call(base, tuple(own), (rows,)))
        return torch.stack(outputs)


@contextmanager
def looped():
    """User modules run in a loop over the experts while inside."""
    batched = _experts.ModuleExperts
    _experts.ModuleExperts = LoopedModuleExperts
    try:
        yield
    finally:
        _experts.ModuleExperts = batched


def epoch_seconds(make, X, Y, repeats):
    best = np.inf
    for _ in range(repeats):
        model = make().fit(X, Y)
        best = min(best, min(row["dur"] for row in model.net_.history))
    return best, model


def check_equal(model, X):
    """The loop's expert outputs equal the batched ones on one batch."""
    module = model.net_.module_.eval()
    level = module.levels[0]
    p = {**module._parameters, **module._buffers}
    with torch.no_grad():
        x = torch.as_tensor(module_inputs(model, X[:256]))
        batched = module._expert.run(module, p, None, level, x)
        loop = LoopedModuleExperts(ResidualExpert)._vmapped(p, level, x, False)
    torch.testing.assert_close(batched, loop, rtol=1e-5, atol=1e-5)


def module_inputs(model, X):
    """The encoded input the first level's experts read, for ``X``."""
    module = model.net_.module_
    raw = torch.as_tensor(model._validate_X(X), dtype=torch.float32)
    ops = _TorchOps(module.activation, 0.0)
    return module._dense_first_layer(module._tensors(), raw, ops)[1]


def bench_batching(repeats, n_experts):
    X, Y = load_census_income(group=1)
    X, Y = X.iloc[:10_000], Y.iloc[:10_000].to_numpy()
    torch.set_num_threads(2)
    params = dict(n_experts=n_experts, max_epochs=4, random_state=0)
    user = dict(params, expert_type=ResidualExpert)
    MMoEClassifier(**params).fit(X[:1000], Y[:1000])  # warm everything up
    batched, model = epoch_seconds(lambda: MMoEClassifier(**user), X, Y, repeats)
    with looped():
        loop, _ = epoch_seconds(lambda: MMoEClassifier(**user), X, Y, repeats)
    check_equal(model, X)
    mlp, _ = epoch_seconds(lambda: MMoEClassifier(**params), X, Y, repeats)
    n_in = model.net_.module_.input_weight.shape[0]
    print(
        f"census group 1, 10,000 rows ({n_in} encoded inputs), {n_experts} experts, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"residual module, batched (vmap):      {batched:.3f} s per epoch")
    print(f"residual module, loop over experts:   {loop:.3f} s per epoch")
    print(f"speed-up of batching:                 {loop / batched:.2f}x")
    print(f"built-in MLP experts (64,), for scale: {mlp:.3f} s per epoch")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["batching"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--experts", type=int, default=8)
    args = parser.parse_args()
    if args.mode == "batching":
        bench_batching(args.repeats, args.experts)


if __name__ == "__main__":
    main()
