"""The checks ``fit`` makes of the parameters before it reads data, beyond
scikit-learn's ``_parameter_constraints``: the units, the expert type and its
options, the task weights and the device, as the network and the training take
them (:func:`sklearn_mmoe._training.config.resolve` calls them; a model file's
parameters pass them too)."""

from numbers import Integral

import numpy as np
import torch
from torch import nn

from .._network.experts import EXPERT_TYPES


def network_settings(params):
    """The network's settings the parameters give alone, checked: the units, the
    expert type and its options, the gates and the architecture."""
    expert_type, options = check_expert_type(
        params["expert_type"], params["expert_options"], params
    )
    names = (
        "architecture n_experts gate_type top_k n_task_experts n_levels activation "
        "dropout ensemble_size"
    ).split()
    return dict(
        **{name: params[name] for name in names},
        expert_units=check_units(params["expert_units"], "expert_units", False),
        gate_units=check_units(params["gate_units"], "gate_units", True),
        tower_units=check_units(params["tower_units"], "tower_units", True),
        expert_type=expert_type,
        expert_options=options,
    )


def check_units(units, name, allow_empty):
    """``units`` (the parameter ``name``: hidden layer sizes) as a tuple of ints."""
    given = units
    try:
        units = tuple(units)
        ok = all(
            isinstance(u, Integral) and not isinstance(u, bool) and u >= 1
            for u in units
        )
    except TypeError:
        ok = False
    if not ok or (not units and not allow_empty):
        need = "a" if allow_empty else "a non-empty"
        raise ValueError(
            f"{name} must be {need} tuple of positive ints (hidden layer sizes); "
            f"got {given!r}."
        )
    return tuple(int(u) for u in units)


def check_expert_type(expert_type, options, params):
    """``expert_type`` and ``expert_options`` as the network takes them: a
    registered type with its own parameters' values (from ``params``), or a module
    class with its constructor's arguments."""
    if not isinstance(expert_type, str) and not issubclass(expert_type, nn.Module):
        raise TypeError(
            "expert_type must be one of "
            f"{sorted(EXPERT_TYPES)} or a torch.nn.Module subclass; got the class "
            f"{expert_type.__name__}."
        )
    if isinstance(expert_type, str):
        if options:
            raise ValueError(
                "expert_options are the arguments of a module class's "
                f"constructor; expert_type={expert_type!r} takes none (got "
                f"{sorted(options)})."
            )
        own = EXPERT_TYPES[expert_type].parameters
        return expert_type, {name: params[name] for name in own}
    return expert_type, (None if options is None else dict(options))


def check_task_weights(task_weights, n_tasks):
    """``task_weights`` for ``n_tasks`` tasks: a tuple of weights (ones for None),
    or ``"uncertainty"`` (learned in training)."""
    if task_weights is None:
        return (1.0,) * n_tasks
    if isinstance(task_weights, str):
        return task_weights
    try:
        w = np.asarray(task_weights, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"task_weights must hold {n_tasks} numbers (one per task) or be "
            f"'uncertainty'; got {task_weights!r}."
        ) from exc
    if (
        w.shape != (n_tasks,)
        or not np.all(np.isfinite(w))
        or np.any(w < 0)
        or not w.any()
    ):
        raise ValueError(
            f"task_weights must hold {n_tasks} finite non-negative weights "
            f"(one per task), not all zero; got {task_weights!r}."
        )
    return tuple(float(v) for v in w)


def check_device(device):
    """``device`` as a torch device the estimators train on, available here."""
    given = device
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={given!r} is not a valid torch device.") from exc
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device={given!r}: the estimators train on 'cpu', 'cuda' "
            f"(or 'cuda:<index>') or 'mps', not on {device.type!r} devices."
        )
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={given!r} was requested but CUDA is not available.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={given!r} was requested but MPS is not available.")
    return device
