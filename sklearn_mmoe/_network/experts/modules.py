"""Experts of a user's own ``torch.nn.Module`` class: one instance per expert, their
states stacked and run together with ``torch.func.vmap``."""

import copy

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ..layers import Block
from .base import ExpertType


class ModuleExperts(ExpertType):
    """Experts of a ``torch.nn.Module`` subclass of the user's own.

    Each expert is built as ``cls(n_inputs, n_outputs, **options)`` (``n_outputs``
    is the last of ``expert_units``); their parameters and buffers are stacked along
    an expert axis (``torch.func.stack_module_state``) and kept as the network's own,
    and all experts run as one computation: ``torch.func.vmap`` over that axis of
    ``functional_call`` on one copy of the module. A module that cannot run so (it
    branches on a tensor's value, reads one into Python with ``.item()``, or writes
    into its input in place, which breaks the backward pass), or that returns
    another shape than ``(n_rows, n_outputs)`` or no floats, is refused when the
    network is built, with the reason; a float64 output is read as float32, and a
    parameter the module freezes (``requires_grad=False``) stays frozen. Buffers
    are stacked too, so batch normalisation's running statistics are each
    expert's own.
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

    def build(self, level, n_inputs, units, columns):
        width = units[-1]
        experts = StackedModules(
            [self._one(n_inputs, width) for _ in range(level.n_experts)]
        )
        if not any(value.is_meta for value in experts.parameters()):  # sizing only
            self._probe(experts, level, n_inputs, width)
        return experts

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

    def _probe(self, experts, level, n_inputs, width):
        """Run the experts once on two rows, in training mode with a backward pass
        and in inference mode: a module that cannot be batched over experts, that
        writes into its input in place, that returns another shape or no floats,
        is refused here, at fit, rather than deep inside training."""
        # copies of the weights: the probe must not move running statistics (batch
        # normalisation's) off their initial values, nor leave gradients behind
        p = {
            name: value.detach().clone().requires_grad_(value.requires_grad)
            for name, value in {**experts._parameters, **experts._buffers}.items()
        }
        x = torch.zeros(2, n_inputs, requires_grad=True)
        for training in (True, False):
            mode = "training" if training else "inference"
            try:
                with torch.set_grad_enabled(training):
                    rows = x.expand(level.n_experts, 2, n_inputs) if level.index else x
                    # a product that keeps the input for its backward pass, as the
                    # gates' does in the network: an expert that writes into its
                    # input breaks it
                    kept = (rows * rows).sum()
                    out = self._vmapped(experts, p, level, rows, training)
                    if training and isinstance(out, torch.Tensor):
                        (kept + out.float().sum()).backward()
            except Exception as error:  # torch raises many kinds here
                raise ValueError(
                    f"expert_type={self.name} cannot run batched over the experts "
                    f"with torch.func.vmap ({mode} mode, with its backward pass): "
                    f"{type(error).__name__}: {error}"
                ) from error
            expected = (level.n_experts, 2, width)
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
                got = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else out
                raise ValueError(
                    f"expert_type={self.name} returned {got} for a batch of 2 rows "
                    f"of {n_inputs} inputs; an expert must return (n_rows, "
                    f"{width}): n_outputs is expert_units[-1]."
                )
            if not out.is_floating_point():
                raise ValueError(
                    f"expert_type={self.name} returned {out.dtype} values; an expert "
                    "must return floats (float64 and float16 are cast to float32)."
                )

    def _vmapped(self, experts, p, level, x, training):
        base, params, buffers = experts.state(p, training)

        def one(params, buffers, rows):
            return functional_call(base, (params, buffers), (rows,))

        in_rows = 0 if level.index else None
        run = vmap(one, in_dims=(0, 0, in_rows), randomness="different")
        out = run(params, buffers, x)
        # an expert of another float precision is read in the network's
        if isinstance(out, torch.Tensor) and out.is_floating_point():
            return out.to(x.dtype)
        return out

    def run(self, experts, p, ops, level, x):
        generator = getattr(ops, "generator", None)
        if not experts.training or generator is None:
            return self._vmapped(experts, p, level, x, experts.training)
        # The module's own randomness draws from torch's global generator: seeded
        # here from the fit's generator, inside fork_rng, so that a fit is
        # reproducible and the caller's random state untouched.
        seed = torch.randint(2**62, (), generator=generator, device=generator.device)
        devices = [x.device.index or 0] if x.is_cuda else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            return self._vmapped(experts, p, level, x, True)


class StackedModules(Block):
    """The parameters and buffers of one module per expert, stacked on an expert
    axis (``torch.func.stack_module_state``), under the module's own names with
    ``.`` as ``__`` (a buffer's after ``buffer_``); and the module's structure,
    without weights, that :meth:`state` fills in for ``functional_call``."""

    def __init__(self, experts):
        super().__init__()
        params, buffers = stack_module_state(experts)
        self._names, self._buffer_names = {}, {}
        for name, value in params.items():
            self._names[name] = attr = name.replace(".", "__")
            # a parameter the module froze (requires_grad=False) stays frozen
            frozen = nn.Parameter(value.detach(), requires_grad=value.requires_grad)
            self.register_parameter(attr, frozen)
        for name, value in buffers.items():
            self._buffer_names[name] = attr = "buffer_" + name.replace(".", "__")
            self.register_buffer(attr, value.detach().clone())
        # in a tuple, not a submodule: its meta weights are none of the network's
        self._structure = (copy.deepcopy(experts[0]).to("meta"),)

    def state(self, p, training):
        """The module's structure (in ``training`` mode) and the stacked
        parameters and buffers under the module's own names, from ``p``."""
        params = {name: self.tensor(p, a) for name, a in self._names.items()}
        buffers = {name: self.tensor(p, a) for name, a in self._buffer_names.items()}
        return self._structure[0].train(training), params, buffers
