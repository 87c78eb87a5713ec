"""The architectures, one registration each: how many experts and gates each level of
the network has, which experts a gate sees, what feeds each level, and the experts'
labels.

An architecture is a plan, plain data with no weights: :class:`Level` objects that
:class:`~sklearn_mmoe._network.module.MMoEModule` turns into blocks of stacked
weights (see :mod:`sklearn_mmoe._network.layers`) and one forward pass for all of
them. The estimators' accepted values of ``architecture``, their validation and their
documentation come from :data:`ARCHITECTURES`; a new architecture is a subclass of
:class:`Architecture` passed to :func:`register`, plus its tests
(``tests/test_module.py`` checks every registered one against a reference forward pass).
"""

import numpy as np

from .._utils.registry import Registry


class Level:
    """One level of experts and the gates that mix them (plain data, no weights).

    ``expert_stream``: runs ``(output, count)`` saying that the next ``count`` experts
    read that output of the previous level; ``gate_stream``: how many outputs of the
    previous level feed the gates, gate ``g`` reading output ``g`` (both None on the
    first level, which reads the input). Runs of broadcast copies rather than an index
    gather keep the backward pass a sum, deterministic, where a gather's backward
    scatters with atomic adds.
    ``hidden_mask``: a ``(n_gates, n_experts)`` boolean array, True where a gate does
    not see an expert (None when every gate sees every expert). The weights are the
    module's, never the level's: its experts' and gates' blocks are kept under the
    level's ``index``.
    """

    def __init__(
        self,
        index,
        n_experts,
        n_gates,
        expert_stream=None,
        gate_stream=None,
        hidden=None,
    ):
        self.index = index
        self.n_experts = n_experts
        self.n_gates = n_gates
        self.expert_stream = expert_stream
        self.gate_stream = gate_stream
        self.hidden_mask = hidden


class Architecture:
    """How the experts and gates of a network are laid out.

    Subclasses set ``name`` and ``doc`` (the documentation of the value, RST, one
    paragraph) and implement :meth:`levels`; :meth:`expert_labels` names the experts
    a task's gate sees, for displays.
    """

    name = None
    doc = None

    def levels(self, n_tasks, n_experts, n_task_experts, n_levels):
        """The network's levels, first to last: a list of :class:`Level`."""
        raise NotImplementedError

    def expert_labels(self, n_visible, n_experts, n_task_experts):
        """Labels of the ``n_visible`` experts that each task's last gate mixes, in
        the order of :meth:`MMoEModule.gate_weights`."""
        return [f"expert {e}" for e in range(n_visible)]


ARCHITECTURES = Registry()
register = ARCHITECTURES.register


@register
class MMoE(Architecture):
    name = "mmoe"
    doc = "one gate per task over the shared experts (Multi-gate MoE)."

    def levels(self, n_tasks, n_experts, n_task_experts, n_levels):
        return [Level(0, n_experts, n_tasks)]


@register
class OMoE(Architecture):
    name = "omoe"
    doc = "one gate shared by all tasks (One-gate MoE)."

    def levels(self, n_tasks, n_experts, n_task_experts, n_levels):
        return [Level(0, n_experts, 1)]


@register
class SharedBottom(Architecture):
    name = "shared_bottom"
    doc = (
        "one shared network built from ``expert_units``, no gates; ``n_experts``, "
        "``gate_units``, ``gate_type``, ``top_k`` and ``balance_weight`` are then "
        "unused."
    )

    def levels(self, n_tasks, n_experts, n_task_experts, n_levels):
        return [Level(0, 1, 0)]

    def expert_labels(self, n_visible, n_experts, n_task_experts):
        return ["shared bottom"]


@register
class PLE(Architecture):
    name = "ple"
    doc = (
        "Progressive Layered Extraction (Tang et al., 2020): ``n_levels`` levels, "
        "each of ``n_experts`` shared experts plus ``n_task_experts`` experts per "
        "task; each task's gate mixes its own and the shared experts, and below the "
        "last level a shared gate mixes all of them into the next level's shared "
        "input."
    )

    def levels(self, n_tasks, n_experts, n_task_experts, n_levels):
        # Experts ordered [shared..., task 0's..., task 1's..., ...]; outputs of a
        # level below the last: [task 0, ..., task T-1, shared].
        T, n_own = n_tasks, n_task_experts
        E = n_experts + T * n_own
        owner = np.repeat(np.arange(-1, T), [n_experts] + [n_own] * T)
        levels = []
        for index in range(n_levels):
            last = index == n_levels - 1
            G = T if last else T + 1
            hidden = np.ones((G, E), dtype=bool)
            for t in range(T):
                hidden[t] = (owner != -1) & (owner != t)
            if not last:
                hidden[T] = False  # the shared gate sees every expert
            streams = None, None
            if index:
                runs = [(T, n_experts)] + [(t, n_own) for t in range(T)]
                streams = [(s, c) for s, c in runs if c], G
            levels.append(Level(index, E, G, *streams, hidden))
        return levels

    def expert_labels(self, n_visible, n_experts, n_task_experts):
        return [f"shared {e}" for e in range(n_experts)] + [
            f"own {e}" for e in range(n_visible - n_experts)
        ]
