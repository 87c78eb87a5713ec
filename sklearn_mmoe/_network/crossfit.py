"""A cross-fitted ensemble as one network: ``n_cv`` networks of the same settings,
each trained on all but one fold of the training rows and stopped early on that
fold, predicting together (``n_cv`` of the estimators).

The members are trained one by one (see :mod:`sklearn_mmoe._training.engine`); once
trained,
they are held by :class:`CrossFitModule`, which predicts, saves, loads and exports to
ONNX as a single network does: each member's outputs, shrunk by its own factors
(each regression and count task's, fitted on its own held-out fold), combined in each
task's units (the mean of the class probabilities, of the values, of the expected
counts).
"""

import numpy as np
import torch
from torch import nn

from .module import MMoEModule
from .ops import _NumpyOps, _TorchOps


def network_class(module_params):
    """The module class of a network of ``module_params``: a cross-fitted
    ensemble's where they name its ``n_members``, else a single network's."""
    return CrossFitModule if "n_members" in module_params else MMoEModule


class CrossFitModule(nn.Module):
    """``n_members`` networks of ``module_params`` (see
    :class:`~sklearn_mmoe._network.module.MMoEModule`) that predict as one.

    Parameters
    ----------
    n_members : int
        How many networks (the folds of ``n_cv``).
    **module_params
        The settings every member is built with.

    Attributes
    ----------
    members : nn.ModuleList
        The networks, member ``k`` trained without fold ``k``.
    shrink : tensor of shape (n_members, n_tasks)
        Each member's factor on each task's output (its shrinkage towards the
        training mean, chosen on its held-out fold; 1 for classification).

    Examples
    --------
    >>> import torch
    >>> module = CrossFitModule(3, n_features=2, output_sizes=(1, 2),
    ...                         kinds=("regression", "classification"))
    >>> module.eval()(torch.zeros(4, 2)).outputs.shape  # combined: (B, T, W)
    torch.Size([4, 2, 2])
    >>> module.train()(torch.zeros(4, 2)).outputs.shape  # each member's: (B, K, T, W)
    torch.Size([4, 3, 2, 2])
    """

    def __init__(self, n_members, **module_params):
        super().__init__()
        self.members = nn.ModuleList(
            [MMoEModule(**module_params) for _ in range(int(n_members))]
        )
        first = self.members[0]
        self.register_buffer("shrink", torch.ones(int(n_members), first.n_tasks))

    @classmethod
    def of(cls, members, shrink):
        """The ensemble of trained ``members`` (modules of the same settings) and
        their ``shrink`` factors (members x tasks)."""
        module = cls.__new__(cls)
        nn.Module.__init__(module)
        module.members = nn.ModuleList(members)
        device = members[0].padding.device
        shrink = torch.tensor(shrink, dtype=torch.float32, device=device)
        module.register_buffer("shrink", shrink)
        return module.eval()

    # What every member shares, read from the first.
    @property
    def first(self):
        return self.members[0]

    @property
    def encoder(self):
        return self.first.encoder

    @property
    def padding(self):
        return self.first.padding

    @property
    def levels(self):
        return self.first.levels

    @property
    def n_tasks(self):
        return self.first.n_tasks

    @property
    def funnel_edges(self):
        return self.first.funnel_edges

    @property
    def runs_numpy(self):
        return self.first.runs_numpy

    @property
    def piecewise_lookup(self):
        return self.first.piecewise_lookup

    @piecewise_lookup.setter
    def piecewise_lookup(self, value):
        for member in self.members:
            member.piecewise_lookup = value

    @property
    def generator(self):
        """The dropout generator of a training pass (``partial_fit``), the
        members'."""
        return getattr(self.first, "generator", None)

    @generator.setter
    def generator(self, value):
        for member in self.members:
            member.generator = value

    def refit_numeric(self, numeric):
        """Every member's numeric encoding refreshed (``partial_fit``: a column
        constant so far that varies now; see
        :meth:`~sklearn_mmoe._network.encoders.InputEncoder.refit_numeric`)."""
        for member in self.members:
            member.encoder.refit_numeric(numeric)

    def floats_per_row(self):
        """The members' activations per row, together (they run one after another,
        but their outputs are held until combined)."""
        return sum(member.floats_per_row() for member in self.members)

    def expert_labels(self):
        """The labels of the experts each member's gates mix (the same in every
        member)."""
        return self.first.expert_labels()

    def expert_weights(self, level=0):
        """The experts' weights of ``level``, each with the members' axis first."""
        weights = [member.expert_weights(level) for member in self.members]
        return {
            name: torch.stack([w[name].detach() for w in weights])
            for name in weights[0]
        }

    def gate_weights(self, x):
        """Each task's mixing weights over the experts it sees, the members' mean
        (B, T, n_visible), as ``ensemble_size`` reports its members'."""
        return torch.stack([m.gate_weights(x) for m in self.members]).mean(0)

    def forward(self, x):
        """The members' combined outputs on ``x``: a :class:`CrossFitOutput`; while
        training (``partial_fit`` continuing the ensemble), every member's own,
        side by side (B, n_members x ensemble_size, T, W), so that the loss trains
        each on its own, as it does an ensemble inside the network."""
        results = [member(x) for member in self.members]
        if self.training:
            return CrossFitOutput(self, results, None, training=True)
        return CrossFitOutput(self, results, _TorchOps(self.first.activation, 0.0))

    def forward_numpy(self, x):
        """``forward`` in float64 NumPy, for inference."""
        results = [member.forward_numpy(x) for member in self.members]
        return CrossFitOutput(self, results, _NumpyOps(self.first.activation))

    def member_run(self, k):
        """Member ``k`` alone, its outputs shrunk by its own factors: a function of
        a batch giving a :class:`CrossFitOutput` (an out-of-fold prediction)."""

        def run(x):
            result = self.members[k](x)
            return CrossFitOutput(self, [result], None, k)

        return run

    def combined(self, outputs, ops, first=0):
        """Member outputs (each (B, T, W)) as one (B, T, W): each scaled by its
        shrinkage (padding slots left -inf), then combined in the tasks' units."""
        numpy = isinstance(outputs[0], np.ndarray)
        shrink = self.shrink.detach().cpu().double().numpy() if numpy else self.shrink
        padding = self.padding.cpu().numpy() if numpy else self.padding
        scaled = []
        for k, out in enumerate(outputs, first):
            factor = shrink[k][:, None]  # (T, 1); 1 on padding, which stays -inf
            if numpy:
                scaled.append(out * np.where(padding, 1.0, factor))
            else:
                factor = factor.to(out.device, out.dtype)
                scaled.append(out * torch.where(padding.to(out.device), 1.0, factor))
        if len(scaled) == 1:
            return scaled[0]
        stacked = np.stack(scaled, 1) if numpy else torch.stack(scaled, 1)
        return self.first.combine_members(stacked, ops)


class CrossFitOutput:
    """What :class:`CrossFitModule` computes for a batch: ``outputs`` (B, T, W),
    the members' combined outputs (while ``training``, every member's own: (B, K,
    T, W)); ``gate_weights`` (B, T, n_visible), the members' mean weights, and the
    training terms ``balance``, ``penalty`` and ``funnel_violation``, the members'
    means (computed when read)."""

    __slots__ = ("outputs", "_results")

    def __init__(self, module, results, ops, first=0, training=False):
        self._results = results
        if training:
            outs = [r.outputs for r in results]
            outs = [o if o.dim() == 4 else o[:, None] for o in outs]
            self.outputs = torch.cat(outs, 1)
        else:
            self.outputs = module.combined([r.outputs for r in results], ops, first)

    def _mean(self, name):
        return sum(getattr(r, name) for r in self._results) / len(self._results)

    @property
    def balance(self):
        return self._mean("balance")

    @property
    def penalty(self):
        return self._mean("penalty")

    @property
    def funnel_violation(self):
        return self._mean("funnel_violation")

    @property
    def gate_weights(self):
        weights = [r.gate_weights for r in self._results]
        if isinstance(weights[0], np.ndarray):
            return np.mean(weights, axis=0)
        return torch.stack(weights).mean(0)
