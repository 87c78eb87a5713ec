"""The expert types: what the experts of a level are, how their weights are laid
out (stacked, an expert axis first) and how all of them run as one batched
computation. The interface and the registry are in ``base``; each registered type
is a file of its own (``mlp``, ``transformer``), imported here in the order the
estimators list them; a user's own ``torch.nn.Module`` class is wrapped by
``modules.ModuleExperts``."""

from .base import EXPERT_TYPES, ExpertType, register
from .mlp import MLP
from .modules import ModuleExperts
from .transformer import Transformer

__all__ = [
    "EXPERT_TYPES",
    "MLP",
    "ExpertType",
    "ModuleExperts",
    "Transformer",
    "expert_type_of",
    "register",
]


def expert_type_of(expert_type, options=None):
    """The :class:`ExpertType` of an estimator's ``expert_type``: a registered
    name (``options``: the values of its :attr:`ExpertType.parameters`), or a
    ``torch.nn.Module`` subclass (wrapped by :class:`ModuleExperts`; ``options``:
    its constructor's keyword arguments)."""
    if isinstance(expert_type, str):  # built with its own parameters' values
        return type(EXPERT_TYPES[expert_type])(**(options or {}))
    return ModuleExperts(expert_type, options)
