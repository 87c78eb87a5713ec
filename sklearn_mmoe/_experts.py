"""The expert types, one registration each, and experts of a user's own module class:
what the experts of a level are, how their weights are laid out (stacked, an expert
axis first) and how all of them run as one batched computation.

A level's experts read either the network's input (the first level) or the mixtures
of the level below (PLE's later levels), and return ``(E, B, H)``: every expert's
output of width ``H`` (the last of ``expert_units``). On the first level, an expert
type may take its first layer from the product that reads the input for every
expert and every gate at once (``first_layer_width`` columns of it): the MLP does,
so that the input (or its piecewise-linear code's lookup) is read once. The
estimators' accepted values of ``expert_type`` come from :data:`EXPERT_TYPES`; a
new expert type is a subclass of :class:`ExpertType` passed to :func:`register`, plus
its tests. A ``torch.nn.Module`` subclass of the user's own is not registered: it is
wrapped by :class:`ModuleExperts` (:func:`expert_type_of` resolves either).
"""

import copy

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ._registry import Registry


class ExpertType:
    """How the experts of a level are built and run.

    Subclasses set ``name`` and ``doc`` (the documentation of the value, RST, one
    paragraph) and implement :meth:`build` and :meth:`run`; ``numpy`` says whether
    :meth:`run` also runs on the NumPy inference path (its operations all come from
    ``ops``).
    """

    name = None
    doc = None
    numpy = True

    def first_layer_width(self, n_experts, units):
        """Columns of the first level's input product that feed the experts (0: the
        experts read the input themselves)."""
        return 0

    def build(self, module, level, n_inputs, units):
        """Register the weights of ``level.n_experts`` experts on ``module`` (drawn
        independently, so that the experts start apart), each reading ``n_inputs``
        values (on the first level, the encoded input's width) and returning
        ``units[-1]``."""
        raise NotImplementedError

    def run(self, module, p, ops, level, x):
        """Every expert's output ``(E, B, H)``. ``x``: on the first level, the
        experts' columns of the input product ``(B, first_layer_width)``, or the
        encoded input ``(B, n_inputs)`` when ``first_layer_width`` is 0; on a later
        level, what each expert reads, ``(E, B, n_inputs)``."""
        raise NotImplementedError


EXPERT_TYPES = Registry()
register = EXPERT_TYPES.register


@register
class MLP(ExpertType):
    name = "mlp"
    doc = (
        "feed-forward networks of ``expert_units`` hidden sizes; on the first level "
        "their first layer is part of the one product that reads the input."
    )

    def first_layer_width(self, n_experts, units):
        return n_experts * units[0]

    def build(self, module, level, n_inputs, units):
        # the first level's first layers are in the input product
        sizes = (n_inputs, *units) if level.index else units
        level.expert_layers = module._stack(
            f"level{level.index}_expert", level.n_experts, sizes
        )

    def run(self, module, p, ops, level, x):
        if not level.index:  # the first layer's pre-activations, (B, E * H1)
            x = ops.dropout(ops.act(x.reshape(x.shape[0], level.n_experts, -1)))
            x = x.swapaxes(0, 1)
        return module._mlp(p, ops, level.expert_layers, x, True, True)


class ModuleExperts(ExpertType):
    """Experts of a ``torch.nn.Module`` subclass of the user's own.

    Each expert is built as ``cls(n_inputs, n_outputs, **options)`` (``n_outputs``
    is the last of ``expert_units``); their parameters and buffers are stacked along
    an expert axis (``torch.func.stack_module_state``) and kept as the network's own,
    and all experts run as one computation: ``torch.func.vmap`` over that axis of
    ``functional_call`` on one copy of the module. A module that cannot run so (it
    branches on a tensor's value, or reads one into Python with ``.item()``), or
    that returns another shape than ``(n_rows, n_outputs)``, is refused when the
    network is built, with the reason. Buffers are stacked too, so batch
    normalisation's running statistics are each expert's own.
    It runs in PyTorch only (no NumPy inference path); its own randomness (dropout)
    draws from torch's global generator, seeded from the fit's own generator on each
    training step (each expert its own draws), so that ``random_state`` makes a fit
    reproducible.
    """

    numpy = False

    def __init__(self, cls, options=None):
        self.cls = cls
        self.options = dict(options or {})
        self.name = cls.__name__

    def build(self, module, level, n_inputs, units):
        width = units[-1]
        experts = [self._one(n_inputs, width) for _ in range(level.n_experts)]
        params, buffers = stack_module_state(experts)
        prefix = f"level{level.index}_expert_"
        names, buffer_names = {}, {}
        for name, value in params.items():
            names[name] = prefix + name.replace(".", "__")
            module.register_parameter(names[name], nn.Parameter(value.detach()))
        for name, value in buffers.items():
            buffer_names[name] = prefix + "buffer_" + name.replace(".", "__")
            module.register_buffer(buffer_names[name], value.detach().clone())
        # the module's structure, without weights: functional_call fills them in
        base = copy.deepcopy(experts[0]).to("meta")
        level.expert_module = (base, names, buffer_names)
        self._probe(module, level, n_inputs, width)

    def _one(self, n_inputs, width):
        call = f"{self.name}({n_inputs}, {width}, **expert_options)"
        try:
            expert = self.cls(n_inputs, width, **self.options)
        except TypeError as error:
            raise TypeError(
                f"expert_type={self.name} is built as {call} (n_inputs, n_outputs = "
                f"expert_units[-1], then expert_options); that call failed: {error}"
            ) from error
        if not isinstance(expert, nn.Module):
            raise TypeError(
                f"expert_type={self.name}: {call} returned a "
                f"{type(expert).__name__}, not a torch.nn.Module."
            )
        return expert

    def _probe(self, module, level, n_inputs, width):
        """Run the experts once on two rows, in training and in inference mode: a
        module that cannot be batched over experts, or returns another shape, is
        refused here, at fit, rather than deep inside training."""
        # copies of the buffers: a probe in training mode must not move running
        # statistics (batch normalisation's) away from their initial values
        buffers = {name: value.clone() for name, value in module._buffers.items()}
        p = {**module._parameters, **buffers}
        x = torch.zeros(2, n_inputs)
        if level.index:
            x = x.expand(level.n_experts, 2, n_inputs)
        for training in (True, False):
            try:
                with torch.no_grad():
                    out = self._vmapped(p, level, x, training)
            except Exception as error:  # torch raises many kinds here
                raise ValueError(
                    f"expert_type={self.name} cannot run batched over the experts "
                    f"with torch.func.vmap ({'training' if training else 'inference'}"
                    f" mode): {type(error).__name__}: {error}"
                ) from error
            expected = (level.n_experts, 2, width)
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
                got = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else out
                raise ValueError(
                    f"expert_type={self.name} returned {got} for a batch of 2 rows "
                    f"of {n_inputs} inputs; an expert must return (n_rows, "
                    f"{width}): n_outputs is expert_units[-1]."
                )

    @staticmethod
    def state(p, level, training):
        """The module's structure (in ``training`` mode) and the level's stacked
        parameters and buffers under the module's own names, from ``p``."""
        base, names, buffer_names = level.expert_module
        params = {name: p[attr] for name, attr in names.items()}
        buffers = {name: p[attr] for name, attr in buffer_names.items()}
        return base.train(training), params, buffers

    def _vmapped(self, p, level, x, training):
        base, params, buffers = self.state(p, level, training)

        def one(params, buffers, rows):
            return functional_call(base, (params, buffers), (rows,))

        in_rows = 0 if level.index else None
        run = vmap(one, in_dims=(0, 0, in_rows), randomness="different")
        return run(params, buffers, x)

    def run(self, module, p, ops, level, x):
        generator = getattr(ops, "generator", None)
        if not module.training or generator is None:
            return self._vmapped(p, level, x, module.training)
        # The module's own randomness draws from torch's global generator: seeded
        # here from the fit's generator, inside fork_rng, so that a fit is
        # reproducible and the caller's random state untouched.
        seed = torch.randint(2**62, (), generator=generator, device=generator.device)
        devices = [x.device.index or 0] if x.is_cuda else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            return self._vmapped(p, level, x, True)


def expert_type_of(expert_type, options=None):
    """The :class:`ExpertType` of an estimator's ``expert_type``: a registered
    name, or a ``torch.nn.Module`` subclass (wrapped by :class:`ModuleExperts`)."""
    if isinstance(expert_type, str):
        return EXPERT_TYPES[expert_type]
    return ModuleExperts(expert_type, options)
