"""The multi-task network of the Mixture-of-Experts family, in PyTorch.

This module imports no scikit-learn: it holds the network alone (the input's numeric
encoding and embeddings are :class:`~sklearn_mmoe._network.encoders.InputEncoder`'s).
The forward pass is written once, against a handful of array operations (``_TorchOps`` /
``_NumpyOps``): PyTorch runs it for training and for large inputs, NumPy in float64 for
small inputs, where PyTorch's per-operation dispatch costs more than the arithmetic.

Everything that reads the input (the first layer of every expert and every gate) is
one matrix product (for a piecewise-linear code, where faster, a lookup of two rows
of a table of running sums per column: see ``_lookup_first_layer``); every later
layer of a group of parallel networks (experts, gates, towers) is one batched product
over weights stacked as ``(n_members, in, out)``; all gates of a level are mixed by
one batched product.
"""

import math

import numpy as np
import torch
from torch import nn

from .._tasks.funnels import FUNNELS
from .._tasks.kinds import task_groups
from .architectures import ARCHITECTURES
from .encoders import InputEncoder
from .experts import expert_type_of
from .gates import GATE_TYPES
from .interactions import Interactions, is_id_column
from .layers import StackedMLP, _uniform, name_blocks
from .names import rename_old_keys
from .ops import _NumpyOps, _TorchOps
from .output import NetworkOutput

# Where the piecewise-linear code's lookup beats the dense product in PyTorch (see
# _lookup_pays), timed on 2 CPU cores: without a gradient from _LOOKUP_ROWS rows; in
# training, where the table and its gradient are built every step, only from
# _LOOKUP_TRAINING_ROWS rows of a code of _LOOKUP_TRAINING_WIDTH inputs (the timings:
# benchmarks/README.md, "Constants").
_LOOKUP_ROWS = 256
_LOOKUP_TRAINING_ROWS = 512
_LOOKUP_TRAINING_WIDTH = 2048


class MMoEModule(nn.Module):
    """Multi-task network: Shared-Bottom, OMoE, MMoE or PLE, with task towers.

    Parameters
    ----------
    n_features : int
        Number of numeric input columns.
    output_sizes : tuple of int
        Number of outputs of each task's tower: 1 for a regression task, the number of
        classes for a classification task. Towers are padded to the largest size; padded
        logits are set to ``-inf`` so that a softmax gives them zero probability.
    architecture : str
        A key of :data:`~sklearn_mmoe._network.architectures.ARCHITECTURES` (``"mmoe"``,
        ``"omoe"``, ``"shared_bottom"``, ``"ple"``), whose plan lays out the levels of
        experts and gates.
    n_experts : int
        Number of (shared) experts; ignored by ``"shared_bottom"``.
    expert_units : tuple of int
        Hidden sizes of each expert (of the shared bottom); at least one layer.
    gate_units : tuple of int
        Hidden sizes of each gate network; ``()`` is the paper's linear gate.
    tower_units : tuple of int
        Hidden sizes of each task tower.
    activation : str
        Hidden-layer activation, one of ``ACTIVATIONS``.
    dropout : float
        Dropout rate after hidden layers of the experts and towers.
    gate_type : str
        A key of :data:`~sklearn_mmoe._network.gates.GATE_TYPES` (``"softmax"``,
        ``"attention"``): what each gate network outputs and how it scores the
        experts.
    top_k : int or None
        Mix only the ``top_k`` highest-scoring experts of each gate per sample,
        renormalised over those.
    n_task_experts : int
        Experts per task and level, for ``"ple"``.
    n_levels : int
        Extraction levels, for ``"ple"``.
    embeddings : tuple of (int, int)
        ``(n_codes, width)`` of each categorical input column. The input then holds
        ``n_features`` numeric columns followed by one column of integer codes per
        categorical column; each code's learned vector replaces it, so the network reads
        ``n_features + sum(widths)`` values. Codes 0 and 1 (an unseen category, a
        missing value) start at zero: a code never seen in training stays a zero vector.
    texts : tuple of (str, int, int, int, tuple), default=()
        ``(encoder, n_ids, width, slots, settings)`` of each text column, whose
        token ids
        follow the categorical codes (see
        :class:`~sklearn_mmoe._network.encoders.InputEncoder`).
    ensemble_size : int
        Members of an efficient ensemble inside the network (TabM-mini, Gorishniy et
        al., 2025): member ``k`` scales the network's input by its own vector of
        weights (initialised to random signs) and has its own task towers; everything
        between (embeddings, experts, gates) is shared, and each batch runs through
        it once per member. ``1`` is the plain network.
    kinds : tuple of {"classification", "regression", "count"}, default=None
        Each task's kind, which says how its members' outputs are combined outside
        training (see :mod:`sklearn_mmoe._tasks.kinds`): the log of their mean class
        probabilities (so that a softmax gives the mean probability), or their mean
        value. ``None``: every task is a classification task.
    numeric : dict, default=None
        The numeric columns' encoding, as fitted by
        :func:`~sklearn_mmoe._inputs.numeric.fit_numeric` (None: the numbers as given).
    expert_type : str or type, default="mlp"
        A key of :data:`~sklearn_mmoe._network.experts.EXPERT_TYPES`, or a
        ``torch.nn.Module`` subclass built as ``cls(n_inputs, expert_units[-1],
        **expert_options)`` once per expert (see
        :class:`~sklearn_mmoe._network.experts.ModuleExperts`).
    expert_options : dict, default=None
        A registered expert type's own parameters (its ``parameters``, such as the
        Transformer's ``token_dim``), or the keyword arguments of a module class's
        constructor.

    Attributes
    ----------
    experts : nn.ModuleDict
        Each level's experts, under the level's index (``experts["0"]``): the
        module their expert type built (:meth:`ExpertType.build
        <sklearn_mmoe._network.experts.ExpertType.build>`).
    gates : nn.ModuleDict
        Each level's gate networks, under the level's index: a
        :class:`~sklearn_mmoe._network.layers.StackedMLP` (with no layer where the
        input product gives the first level's logits), and the attention gates'
        ``key`` projection.
    towers : StackedMLP
        The task towers, ``n_tasks * ensemble_size`` members.
    funnel : nn.Module or None
        The funnel's own weights, where it has any (see
        :meth:`~sklearn_mmoe._tasks.funnels.FunnelType.build`).
    """

    def __init__(
        self,
        n_features,
        output_sizes,
        architecture="mmoe",
        n_experts=8,
        expert_units=(64,),
        gate_units=(),
        tower_units=(32,),
        activation="relu",
        dropout=0.0,
        gate_type="softmax",
        top_k=None,
        n_task_experts=1,
        n_levels=1,
        embeddings=(),
        ensemble_size=1,
        kinds=None,
        numeric=None,
        expert_type="mlp",
        expert_options=None,
        interactions=False,
        interaction_dim=16,
        funnel_edges=(),
        funnel="esmm",
        texts=(),
    ):
        super().__init__()
        self._plan_tasks(output_sizes, kinds, ensemble_size)
        self._plan_variants(architecture, gate_type, expert_type, expert_options)
        self.activation, self.dropout = activation, dropout
        expert_units, gate_units = tuple(expert_units), tuple(gate_units)
        self._units = expert_units, tuple(tower_units)
        self._n_shared, self._n_task_experts = n_experts, n_task_experts
        self._plan_levels(n_experts, n_task_experts, n_levels)
        self.top_k = self._checked_top_k(top_k)
        self._scale = 1.0 / math.sqrt(expert_units[-1])
        self._build_first_layer(n_features, numeric, embeddings, gate_units, texts)
        self._build_levels(gate_units)
        self._build_wide(interactions, interaction_dim)
        if self.encoder.texts:  # the texts' own linear term on every output
            self.encoder.add_text_outputs(self.n_tasks * max(self.output_sizes))
        self._build_towers()
        self._build_funnel(funnel_edges, funnel)
        self._name_blocks()
        self._numpy_cache = self._slots = None
        # Dropout's random draws while training; set by the estimator for each fit.
        self.generator = None
        self.register_load_state_dict_pre_hook(_old_keys)

    # -- construction, step by step (in this order: each step draws its weights
    # from torch's generator after the steps before it)
    # -------------------------------------------------------------------------

    def _plan_tasks(self, output_sizes, kinds, ensemble_size):
        """The tasks' tower widths and kinds, and the ensemble's members."""
        self.ensemble_size = int(ensemble_size)
        self.output_sizes = tuple(int(k) for k in output_sizes)
        self.n_tasks = T = len(self.output_sizes)
        self.kinds = ("classification",) * T if kinds is None else tuple(kinds)
        self._groups = task_groups(self.kinds)
        if len(self._groups) > 1:  # task order of the kinds' outputs put side by side
            self._inverse = np.argsort(np.concatenate([i for _, i in self._groups]))

    def _plan_variants(self, architecture, gate_type, expert_type, expert_options):
        """The architecture, gate type and expert type, from their registries."""
        self.architecture = architecture
        self.gate_type = gate_type
        self._gate = GATE_TYPES[gate_type]
        self.expert_type = expert_type
        self._expert = expert_type_of(expert_type, expert_options)

    def _plan_levels(self, n_experts, n_task_experts, n_levels):
        """The architecture's levels, each gate's mask of the experts it does not
        see registered as a buffer."""
        self.levels = ARCHITECTURES[self.architecture].levels(
            self.n_tasks, n_experts, n_task_experts, n_levels
        )
        for level in self.levels:
            if level.hidden_mask is not None:
                mask = torch.from_numpy(level.hidden_mask)
                self.register_buffer(_hidden(level), mask, persistent=False)

    def _checked_top_k(self, top_k):
        """``top_k``, checked against the experts each gate mixes; None without
        gates."""
        if top_k is None or not self.levels[0].n_gates:
            return None
        seen = min(self.visible_experts(t).size for t in range(self.n_tasks))
        if not 1 <= top_k <= seen:
            raise ValueError(
                f"top_k={top_k} must be between 1 and {seen}, the number of "
                "experts each gate mixes."
            )
        return top_k

    def _build_first_layer(self, n_features, numeric, embeddings, gate_units, texts):
        """The input encoder and the first layer of every expert and every gate of
        the first level side by side: one (F, E*H1 + G*U1) product reads the input
        for all of them."""
        expert_units = self._units[0]
        first, width = self.levels[0], expert_units[-1]
        gate_first = (
            gate_units[0]
            if gate_units
            else self._gate.output_width(width, first.n_experts)
        )
        self._split = self._expert.first_layer_width(first.n_experts, expert_units)
        width_in = self._split + first.n_gates * gate_first
        self.encoder = encoder = InputEncoder(n_features, numeric, embeddings, texts)
        n_in = encoder.width
        # The piecewise-linear code's product with the first layer as a lookup (see
        # _lookup_first_layer): True, False (the code and the dense product) or
        # "auto", where it is the faster (see _lookup_pays).
        self.piecewise_lookup = "auto" if encoder.numeric_kind == "piecewise" else False
        self.input_weight = _uniform((n_in, width_in), n_in)
        self.input_bias = _uniform((width_in,), n_in)
        with torch.no_grad():  # drawn all the same: the other weights do not move
            # the encoded inputs of columns constant where the encoding was fitted
            constant = torch.from_numpy(encoder.constant_inputs)
            self.input_weight[constant.to(self.input_weight.device)] = 0.0
        K = self.ensemble_size
        if K > 1:  # random signs keep the members apart from the first step
            signs = torch.randint(0, 2, (K, 1, n_in)).float() * 2.0 - 1.0
            self.member_scale = nn.Parameter(signs)
            if encoder.numeric_kind == "piecewise":  # the rows of one member's table
                n_columns, n_bins = encoder.bin_interior.shape
                n_sums = n_columns * (n_bins + 1)
                offset = torch.arange(K).reshape(K, 1, 1) * n_sums
                self.register_buffer("member_offset", offset, persistent=False)

    @property
    def _reads_texts(self):
        """Whether the first level's experts read the text columns' tokens."""
        texts = getattr(self.encoder, "texts", ())  # none in a pickle before texts
        return bool(texts) and getattr(self._expert, "reads_text_tokens", False)

    def _build_levels(self, gate_units):
        """Every level's experts (a module their type builds) and gates (a stacked
        MLP, with the attention gates' key projection), kept under the level's
        index in ``experts`` and ``gates``."""
        expert_units = self._units[0]
        width = expert_units[-1]
        self.experts, self.gates = nn.ModuleDict(), nn.ModuleDict()
        for level in self.levels:
            at = str(level.index)
            n_inputs, columns = width, None  # a later level reads the one below
            texts = {}
            if not level.index:
                n_inputs, columns = self.encoder.width, self.encoder.columns()
                if self._reads_texts:  # the texts' tokens too
                    texts["texts"] = [(d, s) for _, _, d, s, _ in self.encoder.texts]
                    self.encoder.tokens_are_read()
            experts = self._expert.build(
                level, n_inputs, expert_units, columns, **texts
            )
            self.experts[at] = experts
            if not level.n_gates:
                continue
            gate_sizes = (*gate_units, self._gate.output_width(width, level.n_experts))
            if level.index:
                gate_sizes = (width, *gate_sizes)
            elif not gate_units:
                gate_sizes = ()  # the input product gives the logits (queries)
            gates = StackedMLP(level.n_gates, gate_sizes)
            if self._gate.has_key:  # the experts' keys, scored by every gate
                gates.key = _uniform((width, width), width)
            self.gates[at] = gates

    def _build_wide(self, interactions, interaction_dim):
        """The wide part beside the experts: each categorical code's bias and the
        pairwise products of the columns' factors, added to every task's outputs
        (None without it, or without categorical columns)."""
        self.interactions = None
        if not (interactions and self.encoder.embeddings):
            return
        n_codes = [n for n, _ in self.encoder.embeddings]
        W = max(self.output_sizes)
        slots = [  # a task's output the products feed: its value, or its
            t * W + (k == 2)  # second class's logit; none for many classes
            for t, k in enumerate(self.output_sizes)
            if k <= 2
        ]
        paired = [c for c, n in enumerate(n_codes) if is_id_column(n)]
        self.interactions = Interactions(
            n_codes, self.n_tasks * W, slots, paired, interaction_dim
        )

    def _build_towers(self):
        """The towers, ordered task by task, each task's members in a row: (T * K,
        ...); and the mask of the output slots that pad a narrower tower."""
        expert_units, tower_units = self._units
        T, widest = self.n_tasks, max(self.output_sizes)
        self.towers = StackedMLP(
            T * self.ensemble_size, (expert_units[-1], *tower_units, widest)
        )
        padded = np.zeros((T, widest), dtype=bool)
        for t, k in enumerate(self.output_sizes):
            padded[t, k:] = True
        # (T, W): True where a tower's output slot is padding; buffers are never saved.
        self.register_buffer("padding", torch.from_numpy(padded), persistent=False)
        self._has_padding = bool(padded.any())

    def _build_funnel(self, funnel_edges, funnel):
        """A funnel's children trained from their parents (see
        :mod:`sklearn_mmoe._tasks.funnels`)."""
        self.funnel_edges = tuple((int(a), int(b)) for a, b in funnel_edges)
        self._funnel = FUNNELS[funnel] if self.funnel_edges else None
        self.funnel = None  # the funnel's own weights, where it has any
        if self._funnel is not None:
            expert_units, tower_units = self._units
            self.funnel = self._funnel.build(
                self.funnel_edges, (expert_units[-1], *tower_units)[-1]
            )

    def _name_blocks(self):
        """Tell every block its path (where it finds its tensors in ``p``), and
        keep the parts the pass reads as plain references, rather than through
        nn.Module's attribute lookup (a Python call each, which a single row's
        predict would pay per part): each level's ``(level, experts, gates)``
        (gates None without) as ``_route``; the encoder, the wide part and the
        towers as ``_parts``."""
        name_blocks(self)
        self._route = tuple(
            (level, self.experts[at], self.gates[at] if level.n_gates else None)
            for level, at in ((level, str(level.index)) for level in self.levels)
        )
        self._parts = (self.encoder, self.interactions, self.towers)

    def floats_per_row(self):
        """About how many float activations one row's forward pass holds at once:
        the encoded input, the input product, every level's experts and gates, the
        towers, for every ensemble member (what sizes a batch's memory and an
        inference chunk's rows). Computed once: the network's sizes are fixed."""
        if getattr(self, "_floats_per_row", None) is None:
            self._floats_per_row = self._count_floats_per_row()
        return self._floats_per_row

    def _count_floats_per_row(self):
        expert_units, tower_units = self._units
        width = expert_units[-1]
        n = self.encoder.width + self.input_weight.shape[1]
        for level in self.levels:
            n += self._expert.floats_per_row(level, expert_units)
            n += level.n_gates * (2 * level.n_experts + width)
        n += self.n_tasks * (sum(tower_units) + max(self.output_sizes))
        n += 6 * len(self.funnel_edges) * (width, *tower_units)[-1]  # AITM's
        return int(n * self.ensemble_size)

    @property
    def runs_numpy(self):
        """Whether ``forward_numpy`` can run this network (experts of a module class
        of the user's own run in PyTorch only)."""
        return self._expert.numpy and self.encoder.runs_numpy

    def expert_labels(self):
        """Labels of the experts each task's last gate mixes, in the order of
        :meth:`gate_weights` (the architecture's own)."""
        n_visible = self.visible_experts(0).size
        return ARCHITECTURES[self.architecture].expert_labels(
            n_visible, self._n_shared, self._n_task_experts
        )

    def expert_weights(self, level=0):
        """The learned weights of the experts of ``level`` (0: the first), by name,
        as their expert type lays them out (see
        :meth:`~sklearn_mmoe._network.experts.ExpertType.weights`)."""
        first = self.input_weight[:, : self._split], self.input_bias[: self._split]
        return self._expert.weights(self.experts[str(level)], self.levels[level], first)

    def visible_experts(self, task):
        """Indices of the experts that ``task``'s gate of the last level mixes."""
        level = self.levels[-1]
        if level.hidden_mask is None:
            return np.arange(level.n_experts)
        hidden = self._buffers[_hidden(level)][min(task, level.n_gates - 1)]
        return np.flatnonzero(~hidden.cpu().numpy())

    # -- the forward pass, written once for both backends
    # ------------------------------------------------------------------------

    def _run(self, p, x, ops):
        """Every member's task outputs ``(B, K, T, W)`` and each level's gate weights
        ``(K * B, G, E)``, the members' rows one after another."""
        n, first, K = x.shape[0], self.levels[0], self.ensemble_size
        reads_input = not self._split  # the experts read the encoded input
        if not reads_input and self._lookup_pays(n, ops):
            z, inputs = self._lookup_first_layer(p, x, ops), None
        else:
            z, inputs = self._dense_first_layer(p, x, ops)
        n = K * n
        experts_in = inputs if reads_input else z[:, : self._split]
        _, experts, networks = self._route[0]
        texts = {}
        if self._reads_texts:  # each text's tokens, every member's rows
            texts["texts"] = self.encoder.text_tokens(p, x, ops, K)
        h = self._expert.run(experts, p, ops, first, experts_in, **texts)  # (E, B, H)
        g = None
        if first.n_gates:
            g = z[:, self._split :].reshape(n, first.n_gates, -1)  # (B, G, U1)
            if networks.n_layers:
                g = networks.run(p, ops, ops.act(g).swapaxes(0, 1)).swapaxes(0, 1)
        gates = []
        streams = self._mix(p, ops, first, networks, h, g, gates)
        for level, experts, networks in self._route[1:]:
            h = ops.cat(
                [ops.expand0(streams[s : s + 1], c) for s, c in level.expert_stream]
            )
            h = self._expert.run(experts, p, ops, level, h)
            g = networks.run(p, ops, streams[: level.gate_stream]).swapaxes(0, 1)
            streams = self._mix(p, ops, level, networks, h, g, gates)
        if streams.shape[0] != self.n_tasks:  # one network or one gate for all tasks
            streams = ops.expand0(streams, self.n_tasks)
        encoder, wide_part, towers = self._parts
        T, H = self.n_tasks, streams.shape[-1]
        streams = streams.reshape(T * K, n // K, H)  # (T, K * B, H) -> (T * K, B, H)
        last = towers.n_layers - 1
        hidden = towers.run(p, ops, streams, True, True, stop=last)
        if self._funnel is not None:  # children read their parents' towers
            hidden = hidden.reshape(T, n, -1)  # (T * K, B, H) -> (T, K * B, H)
            hidden = self._funnel.transfer(p, ops, hidden, self.funnel_edges, "funnel.")
            hidden = hidden.reshape(T * K, n // K, -1)
        out = towers.run(p, ops, hidden, start=last)
        out = out.reshape(T, K, n // K, -1).swapaxes(0, 2)  # (B, K, T, W)
        if wide_part is not None:  # the same for every member
            wide = wide_part.output(p, encoder.codes(p, x, ops), ops)
            out = out + wide.reshape(n // K, 1, T, -1)
        if getattr(encoder, "text_outputs_width", 0):  # 0 in a pickle before texts
            out = out + encoder.text_outputs(p, x, ops).reshape(n // K, 1, T, -1)
        if self._has_padding:
            out = ops.masked_fill(out, p["padding"], -math.inf)
        if self._funnel is not None:
            out = self._funnel.outputs(out, self.funnel_edges, ops)
        return out, gates

    def _lookup_pays(self, n, ops):
        """Whether ``_lookup_first_layer`` runs for a batch of ``n`` rows:
        ``piecewise_lookup`` True or False decides; ``"auto"`` takes it where it
        is the faster (measured on 2 CPU cores): always in NumPy, whose table is
        kept with the weights; in PyTorch, from _LOOKUP_ROWS rows without a
        gradient (the table is built once per call), and in training (where the
        table and its gradient are built every step) from _LOOKUP_TRAINING_ROWS
        rows of a code of at least _LOOKUP_TRAINING_WIDTH inputs."""
        lookup = getattr(self, "piecewise_lookup", False)
        if lookup != "auto":
            return bool(lookup)
        if isinstance(ops, _NumpyOps):
            return True
        if torch.is_grad_enabled() and self.input_weight.requires_grad:
            return (
                n >= _LOOKUP_TRAINING_ROWS
                and self.encoder.code_width >= _LOOKUP_TRAINING_WIDTH
            )
        return n >= _LOOKUP_ROWS

    def _dense_first_layer(self, p, x, ops):
        """The input product ``(K * B, first width)`` and the encoded input it
        multiplies, ``(K * B, n_in)``, of a batch ``(B, n_inputs)``."""
        n, K = x.shape[0], self.ensemble_size
        x = self._parts[0].encode(p, x, ops)
        if K > 1:  # (K, 1, F) * (B, F): every member's scaled copy of the batch
            x = (p["member_scale"] * x).reshape(K * n, -1)
        return ops.linear(x, p["input_weight"], p["input_bias"]), x

    def _lookup_first_layer(self, p, x, ops):
        """``_dense_first_layer`` for a piecewise-linear code, as a lookup.

        A column's code is a run of ones (the bins below its value), one fraction
        ``f`` (the bin ``i`` it falls in; below 0 under the first bin, above 1 over
        the last) and zeros, so its product with the first layer is the sum ``S_i``
        of that layer's rows of the bins below, plus ``f`` times the row of bin
        ``i``: ``(1 - f) S_i + f S_{i+1}``. Two rows of a table of the running sums
        (``_piecewise_table``) per column, gathered and weighed in one embedding
        bag, instead of a dense product over every bin.
        """
        n, K, P = x.shape[0], self.ensemble_size, self.encoder.code_width
        flat, fraction, rest = self.encoder.piecewise_parts(p, x, ops)
        below = flat + p["bin_column"]  # column j's sums start at row j (T + 1)
        if K > 1:  # member k's rows of the table follow member k - 1's
            rest = (p["member_scale"][:, :, P:] * rest).reshape(K * n, -1)
            below = (below + p["member_offset"]).reshape(K * n, -1)
            fraction = ops.expand0(fraction[None], K).reshape(K * n, -1)
        table = p.get("piecewise_table")
        if table is None:
            table = self._piecewise_table(p, ops)
        rows = ops.ramps(table, below, fraction)
        return rows + ops.linear(rest, p["input_weight"][P:], p["input_bias"])

    def _piecewise_table(self, p, ops):
        """The lookup table of ``_lookup_first_layer``, per member: for each column,
        the running sums ``S_0 = 0, S_1, ..., S_T`` of the first layer's rows of its
        bins; ``(K * n_numeric * (T + 1), first width)``."""
        K, P = self.ensemble_size, self.encoder.code_width
        rows = p["input_weight"][:P]
        if K > 1:
            rows = p["member_scale"][:, 0, :P, None] * rows  # (K, P, O)
        else:
            rows = rows[None]
        n_columns, T = p["bin_interior"].shape
        if (
            self.encoder.all_bins
        ):  # every column has T bins: the layout is the padded one
            own = rows.reshape(K, n_columns * T, -1)
        else:
            own = ops.scatter_rows(rows, p["bin_index"], n_columns * T)  # (K, F T, O)
        sums = ops.pad_front(ops.cumsum(own.reshape(K, n_columns, T, -1), 2))
        return sums.reshape(K * n_columns * (T + 1), -1)

    def _combine(self, out, ops):
        """The members' outputs ``(B, K, T, W)`` as one ``(B, T, W)``: their mean
        probabilities (as logits) or mean values."""
        if self.ensemble_size == 1:
            return out[:, 0]
        return self.combine_members(out, ops)

    def combine_members(self, out, ops):
        """Outputs ``(B, K, T, W)`` of ``K`` members of this network's tasks as one
        ``(B, T, W)``, each task's in its own units: the log of the mean class
        probabilities (a softmax gives their mean), the mean value, or the log of
        the mean expected count."""
        if len(self._groups) == 1:
            return self._groups[0][0].combine(out, ops)
        parts = [task.combine(out[:, :, index], ops) for task, index in self._groups]
        return ops.cat(parts, 1)[:, self._inverse]

    def _mix(self, p, ops, level, networks, h, g, gates):
        """Each gate's mixture of the experts' outputs ``h`` (E, B, H): (G, B, H),
        from the outputs ``g`` of the level's gate ``networks``."""
        if not level.n_gates:
            return h  # the shared bottom
        h = h.swapaxes(0, 1)  # (B, E, H)
        key = networks.tensor(p, "key") if self._gate.has_key else None
        logits = self._gate.scores(g, h, key, self._scale)  # (B, G, E)
        if level.hidden_mask is not None:
            logits = ops.masked_fill(logits, p[_hidden(level)], -math.inf)
        if self.top_k is not None:
            logits = ops.keep_top_k(logits, self.top_k)
        weights = ops.softmax(logits)
        gates.append(weights)
        return (weights @ h).swapaxes(0, 1)

    def _task_gates(self, weights):
        """The last level's weights ``(B, G, E)`` as each task's weights over the
        experts it sees, ``(B, T, n_visible)``."""
        level = self.levels[-1]
        if self.ensemble_size > 1:  # the members' mean weights
            weights = weights.reshape(self.ensemble_size, -1, *weights.shape[1:])
            weights = weights.mean(0)
        if level.hidden_mask is not None:
            seen = np.stack([self.visible_experts(t) for t in range(self.n_tasks)])
            return weights[:, np.arange(self.n_tasks)[:, None], seen]
        if level.n_gates != self.n_tasks:
            return weights[:, [0] * self.n_tasks]  # one gate for all tasks
        return weights

    # -- PyTorch
    # -----------------------------------------------------------------------------

    def _tensors(self):
        """The network's tensors by name: its own, its encoder's and wide part's
        (by their names there), and its blocks' (by their paths: ``p``)."""
        encoder, wide_part, _ = self._parts
        parts = [self, encoder] if wide_part is None else [self, encoder, wide_part]
        tensors = {
            name: tensor
            for part in parts
            for name, tensor in {**part._parameters, **part._buffers}.items()
        }
        if self._slots is None:
            self._slots = self._block_slots()
        for name, held, local in self._slots:
            tensors[name] = held[local]
        return tensors

    def _block_slots(self):
        """Where each tensor of the blocks (experts, gates, towers, the funnel's)
        is held: ``(path, its module's parameters or buffers, its name there)``;
        read on every pass, so that a moved or loaded tensor is always the one
        read."""
        slots = []
        for root in ("experts", "gates", "towers", "funnel"):
            part = getattr(self, root)
            if part is None:
                continue
            for path, held in part.named_modules(prefix=root):
                for tensors in (held._parameters, held._buffers):
                    slots.extend((f"{path}.{name}", tensors, name) for name in tensors)
        return slots

    def forward(self, x):
        """The network on ``x`` (B, n_inputs): a :class:`NetworkOutput`, whose
        ``outputs`` are the logits (or regression outputs) of every task, (B, T, W),
        or, while training with ``ensemble_size > 1``, every member's: (B, K, T, W).
        """
        ops = _TorchOps(
            self.activation,
            self.dropout if self.training else 0.0,
            getattr(self, "generator", None),
        )
        return self._result(self._tensors(), x, ops, self.training)

    def _result(self, p, x, ops, training):
        out, gates = self._run(p, x, ops)
        if not (training and self.ensemble_size > 1):
            out = self._combine(out, ops)
        return NetworkOutput(out, self, p, gates, x)

    @staticmethod
    def _imbalance(p, level, weights):
        """The squared coefficient of variation of each gate's total weight per
        expert it sees, over the batch, averaged over the level's gates; written
        for NumPy arrays and tensors alike."""
        importance = weights.sum(0)  # (G, E)
        if level.hidden_mask is None:
            mean = importance.mean(-1)[..., None]
            var = ((importance - mean) ** 2).mean(-1)[..., None]
        else:
            seen = ~p[_hidden(level)]
            count = seen.sum(-1)[..., None]
            mean = importance.sum(-1)[..., None] / count
            var = (((importance - mean) ** 2) * seen).sum(-1)[..., None] / count
        return (var / mean**2).mean()

    def gate_weights(self, x):
        """Each task's mixing weights over the experts it sees, (B, T, n_visible)."""
        ops = _TorchOps(self.activation, 0.0)
        return self._result(self._tensors(), x, ops, False).gate_weights

    # -- NumPy inference
    # ---------------------------------------------------------------------

    def _arrays(self):
        """The weights as float64 arrays, converted once per change of the weights."""
        tensors = self._tensors()
        key = tuple((t.data_ptr(), t._version) for t in tensors.values())
        if self._numpy_cache is None or self._numpy_cache[0] != key:
            arrays = {name: t.detach().cpu().numpy() for name, t in tensors.items()}
            arrays = {  # float weights in float64; masks and indices as they are
                name: a.astype(np.float64) if a.dtype.kind == "f" else a
                for name, a in arrays.items()
            }
            ops = _NumpyOps(self.activation)
            if self._lookup_pays(1, ops):
                # float32, as the weights it sums: a gather of half the bytes (a
                # single row's predict_proba is bound by reading the table)
                table = self._piecewise_table(arrays, ops).astype(np.float32)
                arrays["piecewise_table"] = table
            self._numpy_cache = (key, arrays)
        return self._numpy_cache[1]

    def forward_numpy(self, x):
        """``forward`` in float64 NumPy, for inference: a :class:`NetworkOutput` of
        arrays."""
        x = np.asarray(x, dtype=np.float64)
        return self._result(self._arrays(), x, _NumpyOps(self.activation), False)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_numpy_cache"] = None
        state["generator"] = None  # a fit's dropout generator is not kept
        return state


def _hidden(level):
    """The name of the buffer of ``level``'s mask of the experts each gate does
    not see."""
    return f"level{level.index}_hidden"


def _old_keys(module, state, prefix, *_):
    """Read a state of an earlier layout, as files saved then have it (see
    :mod:`sklearn_mmoe._network.names`)."""
    rename_old_keys(state, module.state_dict(keep_vars=True), prefix)
