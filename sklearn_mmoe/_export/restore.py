"""Rebuilding a fitted estimator from a model file's contents, trusting none of them.

:func:`sklearn_mmoe.load` parses the file's header as JSON and reads its tensors as
raw numbers; :func:`rebuild` makes an estimator of them only through these checks,
in this order:

1. the estimator's class is one of the package's three, by name;
2. its parameters are exactly that class's, and pass the class's own validation:
   ``_parameter_constraints`` and the checks ``fit`` makes before it reads data;
3. fitted attributes come from one declared list (:data:`FITTED`, plus each class's
   per-task attributes, derived from the tasks and compared with the file's), each
   checked for its type, shape and range; nothing else in the file is ever set;
4. the class fits the state: the tasks' kinds are those the class and its
   parameters give (a classifier's file named a regressor is refused);
5. the network's settings are derived from the parameters and the fitted state (the
   file's copy must agree), and every size the network would have is bounded by the
   file's own tensors (:class:`_Bounds`) before anything is built; it is then built
   on the meta device, which allocates nothing, and its tensors' names, shapes and
   dtypes compared with the file's (a file of an earlier version, whose names
   were others, read under today's: see :mod:`sklearn_mmoe._network.names`); only
   then is it built and its weights loaded;
6. every weight is finite, and the loss's fixed buffers are those its settings give.
"""

import numpy as np
import torch

from .._estimators.classifier import MMoEClassifier
from .._estimators.multitask import MMoEMultiTask
from .._estimators.regressor import MMoERegressor
from .._inputs.categorical import CategoricalEncoder, categorical_mask, input_layout
from .._inputs.columns import column_mask
from .._inputs.numeric import check_numeric
from .._inputs.text import TOKENIZER_TYPES, TextColumns, check_text_options
from .._network.crossfit import network_class
from .._network.experts import expert_type_of
from .._network.memory import network_on_meta
from .._network.names import rename_old_keys
from .._tasks.funnels import funnel_edges
from .._tasks.registry import TASKS
from .._training.config import FitConfig, resolve
from .._training.engine import Trainer
from .._training.parameters import check_task_weights, network_settings
from .._utils import checks as _checks

ESTIMATORS = {
    cls.__name__: cls for cls in (MMoEClassifier, MMoERegressor, MMoEMultiTask)
}
# What a file may describe as an object, by name: how each is rebuilt and checked.
OBJECTS = {
    **{cls.__name__: cls.from_state for cls in TASKS.values()},
    "CategoricalEncoder": CategoricalEncoder.from_state,
    "TextColumns": TextColumns.from_state,
    **{cls.__name__: cls.from_state for cls in TOKENIZER_TYPES},
    "FitConfig": FitConfig.from_state,
}
# What an object of a file of an earlier format version stands for, as a file of
# the current one holds it: (the first version that holds it as it is now, how an
# earlier one's state is brought up to it), by the object's name.
UPGRADES = {
    "CategoricalEncoder": [(3, lambda state: {**state, "text": None})],
    "FitConfig": [(3, lambda state: {**state, "texts": ()})],
}
# The parameters a file written before text columns (version 3) lacks: its string
# columns were categories.
PARAMS_BEFORE_3 = {
    "text_features": None,
    "text_encoder": "hashed",
    "text_options": None,
}
# The parameters a file written before data-parallel training (version 4) lacks:
# it trained in one process, as "auto" does where no process group is initialised.
PARAMS_BEFORE_4 = {"distributed": "auto"}
# The fitted attributes a file may hold, in the order they are checked: whether a
# file must hold it (feature names exist only for a DataFrame's fit, the validation
# record only for fits that held rows out). Each class's per-task attributes
# (classes_, task_types_) are derived from _tasks and compared with the file's.
FITTED = {
    "n_features_in_": True,
    "feature_names_in_": False,
    "is_categorical_": True,
    "is_text_": True,
    "_allow_nan": True,
    "_encoder": True,
    "_numeric": True,
    "_tasks": True,
    "n_outputs_": True,
    "_y_1d": True,
    "task_names_": True,
    "_funnel": True,
    "task_weights_": True,
    "n_iter_": True,
    "loss_curve_": True,
    "task_loss_curves_": True,
    "validation_scores_": False,
    "best_validation_score_": False,
    "task_validation_curves_": False,
    "_rows_seen": True,
    "n_cv_": True,
    "cv_n_iter_": False,
    "cv_validation_scores_": False,
    "fit_config_": True,
}
# The fitted attributes that files of earlier format versions lack: the first
# version that holds each.
SINCE = {"fit_config_": 2, "is_text_": 3}
# What a file of an earlier version stands for where it lacks an attribute that
# needs no decision of its fit (none of its columns was text).
BEFORE = {"is_text_": lambda model: np.zeros(model.n_features_in_, dtype=bool)}
# What an epoch of the training history records (the validation's entries only in
# a fit that held rows out), and whether each is one value or one per task.
_HISTORY = {
    "epoch": "int",
    "train_loss": "number",
    "valid_loss": "number",
    "dur": "number",
    "train_task_losses": "tasks",
    "valid_task_losses": "tasks",
    "task_weights": "tasks",
}
# The values the arrays a network derives from its settings may hold, beside 4 per
# value of the file's tensors (see _Bounds): 8 MB of float64 each.
_FLOOR = 2**20


def rebuild(state, tensors, reader, version):
    """The estimator of a model file of format ``version``: its decoded header
    ``state``, its ``tensors`` by name, and ``reader``, which decodes the header's
    values (see ``sklearn_mmoe._export.files``)."""
    _checks.keys(
        state, "the file", ("estimator", "params", "fitted", "module_params", "history")
    )
    cls = (
        ESTIMATORS.get(state["estimator"])
        if isinstance(state["estimator"], str)
        else None
    )
    if cls is None:
        raise ValueError(f"unknown estimator {state['estimator']!r:.60}")
    params = reader.decode(state["params"])
    if version < 3 and isinstance(params, dict):  # fitted before text columns
        params = {**PARAMS_BEFORE_3, **params}
    if version < 4 and isinstance(params, dict):
        params = {**PARAMS_BEFORE_4, **params}
    model = _model(cls, params)
    bounds = _Bounds(tensors)
    _set_fitted(model, reader.decode(state["fitted"]), bounds, version)
    held = [hasattr(model, n) for n in ("cv_n_iter_", "cv_validation_scores_")]
    if held != [model.n_cv_ > 1] * 2:
        raise ValueError("a cross-fitted ensemble's record (n_cv_ > 1) is incomplete")
    if not hasattr(model, "fit_config_"):  # a file from before it was kept
        model.fit_config_ = _network_config(model)
    config = model.fit_config_
    module_params = config.module_params(
        model._tasks, model._numeric, model._funnel, config.n_cv
    )
    given = reader.decode(state["module_params"])
    if version < 3 and isinstance(given, dict):  # written before text columns
        given = {**given, "texts": ()}
    if not _checks.same(given, module_params):
        raise ValueError("the network's settings are not those its estimator gives")
    history = _history(reader.decode(state["history"]), model)
    reader.check_all_used()
    weights = _split(tensors, reader.tensors)
    bounds.check(model, module_params)
    expected = _expected_state(module_params)
    rename_old_keys(weights["module."], expected)  # a file of an earlier version
    _checks.tensors_like(expected, weights["module."], "the network")
    for prefix, part in weights.items():
        for name, tensor in part.items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise ValueError(f"the weight {prefix}{name} is not finite")
    shrink = weights["module."].get("shrink")
    if shrink is not None and not ((shrink >= 0) & (shrink <= 1)).all():
        raise ValueError("the members' shrink factors must lie in [0, 1]")
    trainer = Trainer(config.replace(device="cpu"), model.task_names_)
    model.net_ = trainer.restored(
        module_params, weights["module."], weights["criterion."], history
    )
    learned = model.net_.criterion_.weights().detach().cpu().numpy()
    if not _checks.same(learned.astype(np.float64), model.task_weights_):
        raise ValueError("task_weights_ are not those of the saved loss")
    return model


def _model(cls, params):
    """An estimator of ``cls`` with the file's ``params``, validated as ``fit``
    validates them before it reads data."""
    _checks.keys(params, "the parameters", cls().get_params(deep=False))
    model = cls(**params)
    model._validate_params()
    if not isinstance(model.expert_type, str):
        raise ValueError("expert_type must name a registered expert type")
    network = network_settings(params)  # the units, checked
    expert_type_of(network["expert_type"], network["expert_options"])  # its sizes
    if not isinstance(model.random_state, (int, type(None))):
        raise ValueError("random_state must be None or an int")
    try:
        device = torch.device(model.device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={model.device!r:.60} is not a torch device") from exc
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={model.device!r:.60} is not a device to train on")
    return model


def _set_fitted(model, fitted, bounds, version):
    """Set the declared fitted attributes of ``model`` from ``fitted`` (of a file
    of format ``version``), each checked; anything else in ``fitted`` is
    refused."""
    if not isinstance(fitted, dict):
        raise ValueError("the fitted attributes must be a mapping")
    derived = _derived_names(model)
    unknown = sorted(set(fitted) - set(FITTED) - derived)
    if unknown:
        raise ValueError(f"attributes the estimator does not have: {unknown[:5]}")
    needed = {
        n for n, required in FITTED.items() if required and SINCE.get(n, 1) <= version
    }
    needed |= derived
    missing = sorted(needed - set(fitted))
    if missing:
        raise ValueError(f"the fitted attributes lack {missing}")
    for name in FITTED:
        if name in fitted:
            setattr(model, name, _CHECKS[name](fitted[name], model, bounds))
        elif name in BEFORE:
            setattr(model, name, BEFORE[name](model))
    _check_validation_record(model)
    model._set_task_attributes()
    for name in derived & set(fitted):
        if not _checks.same(fitted[name], getattr(model, name)):
            raise ValueError(f"{name} is not what the tasks give")


def _derived_names(model):
    """The per-task attributes ``model``'s class sets from its tasks."""
    probe = type(model).__new__(type(model))
    probe._tasks = []
    before = set(vars(probe))
    probe._set_task_attributes()
    return set(vars(probe)) - before


# -- each fitted attribute's check: (value, the model so far, bounds) -> value
# ---------------------------------------------------------------------------------


def _n_features(value, model, bounds):
    return _checks.integer(value, "n_features_in_", 1, bounds.elements)


def _feature_names(value, model, bounds):
    names = _checks.strings(value, "feature_names_in_", model.n_features_in_)
    if len(set(names.tolist())) != len(names):
        raise ValueError("feature_names_in_ must be distinct")
    return names


def _is_categorical(value, model, bounds):
    mask = _checks.array(value, "is_categorical_", "b", (model.n_features_in_,))
    spec = model.categorical_features
    if spec is not None and not isinstance(spec, str):  # the columns it names
        names = getattr(model, "feature_names_in_", None)
        given = categorical_mask(None, spec, model.n_features_in_, names)
        if not np.array_equal(given, mask):
            raise ValueError("is_categorical_ is not what categorical_features names")
    elif spec is None and mask.any():
        raise ValueError("is_categorical_ marks columns; categorical_features is None")
    return mask


def _allow_nan(value, model, bounds):
    if _checks.boolean(value, "_allow_nan") != (model.numeric_encoding is not None):
        raise ValueError("_allow_nan does not follow numeric_encoding")
    return value


def _is_text(value, model, bounds):
    mask = _checks.array(value, "is_text_", "b", (model.n_features_in_,))
    spec = model.text_features
    if spec is not None and not isinstance(spec, str):  # the columns it names
        names = getattr(model, "feature_names_in_", None)
        given = column_mask(spec, model.n_features_in_, names, "text_features")
        if not np.array_equal(given, mask):
            raise ValueError("is_text_ is not what text_features names")
    elif spec is None and mask.any():
        raise ValueError("is_text_ marks columns; text_features is None")
    if (mask & model.is_categorical_).any():
        raise ValueError("is_text_ and is_categorical_ mark the same column")
    return mask


def _encoder(value, model, bounds):
    if not (model.is_categorical_.any() or model.is_text_.any()):
        if value is not None:
            raise ValueError("an encoder, but no categorical or text column")
        return None
    if not isinstance(value, CategoricalEncoder):
        raise ValueError("the categorical and text columns need their encoder")
    names = getattr(model, "feature_names_in_", None)
    text = np.zeros_like(model.is_text_)
    if value.text is not None:
        text[value.text.columns] = True
        options = check_text_options(model.text_encoder, model.text_options)
        if not value.text.agrees(model.text_encoder, options):
            raise ValueError("the text columns' tokenizers are not text_options'")
    if (
        not np.array_equal(value.mask, model.is_categorical_)
        or not np.array_equal(text, model.is_text_)
        or value.allow_nan != model._allow_nan
        or not _checks.same(value.feature_names, names)
    ):
        raise ValueError("the categorical encoder is not the model's columns'")
    return value


def _numeric(value, model, bounds):
    n_numeric = int(
        model.n_features_in_ - model.is_categorical_.sum() - model.is_text_.sum()
    )
    return check_numeric(value, n_numeric, model.numeric_encoding)


def _tasks(value, model, bounds):
    if not isinstance(value, list) or not 1 <= len(value) <= bounds.elements:
        raise ValueError("_tasks must be a list of one task or more")
    kinds = [getattr(task, "kind", None) for task in value]
    if not all(type(task) is TASKS.get(kind) for task, kind in zip(value, kinds)):
        raise ValueError("_tasks must hold tasks")
    declared = model._declared_task_types(len(value))
    if declared is not None and declared != kinds:
        raise ValueError(
            f"a {type(model).__name__} with these parameters has tasks of kinds "
            f"{declared}; the file's are {kinds}"
        )
    check_task_weights(model.task_weights, len(value))
    return value


def _n_outputs(value, model, bounds):
    return _checks.integer(value, "n_outputs_", len(model._tasks), len(model._tasks))


def _y_1d(value, model, bounds):
    if _checks.boolean(value, "_y_1d") and model.n_outputs_ != 1:
        raise ValueError("_y_1d with more than one task")
    return bool(value)


def _task_names(value, model, bounds):
    return _checks.strings(value, "task_names_", model.n_outputs_)


def _funnel(value, model, bounds):
    """The funnel's edges, which the parameters give the file's tasks."""
    parents = getattr(model, "task_parents", None)
    edges = funnel_edges(parents, model.task_names_, model._tasks)
    if not _checks.same(value, edges):
        raise ValueError("_funnel is not the funnel task_parents gives")
    return edges


def _task_weights(value, model, bounds):
    w = _checks.array(value, "task_weights_", "f", (model.n_outputs_,), True)
    if np.any(w < 0):
        raise ValueError("task_weights_ must not be negative")
    return w


def _n_iter(value, model, bounds):
    return _checks.integer(value, "n_iter_", 1)


def _loss_curve(value, model, bounds):
    return _curve(value, "loss_curve_", model.n_iter_, exact=True)


def _task_curves(value, model, bounds):
    shape = (model.n_iter_, model.n_outputs_)
    return _checks.array(value, "task_loss_curves_", "f", shape)


def _validation_scores(value, model, bounds):
    return _curve(value, "validation_scores_", model.n_iter_, exact=False)


def _best_validation(value, model, bounds):
    return _checks.number(value, "best_validation_score_")


def _validation_curves(value, model, bounds):
    shape = (None, model.n_outputs_)
    return _checks.array(value, "task_validation_curves_", "f", shape)


def _rows_seen(value, model, bounds):
    return _checks.integer(value, "_rows_seen", 0)


def _n_cv(value, model, bounds):
    # any count (a fit with n_cv, then partial_fit under another n_cv, continues
    # its members): the network's settings and tensors must match it
    return _checks.integer(value, "n_cv_", 1, bounds.tensors)


def _cv_n_iter(value, model, bounds):
    shape = (getattr(model, "n_cv_", 1),)
    epochs = _checks.array(value, "cv_n_iter_", "i", shape)
    if epochs.min() < 1:
        raise ValueError("cv_n_iter_ must count at least one epoch per member")
    return epochs


def _fit_config(value, model, bounds):
    """The fit's configuration: what makes the network and its loss is what the
    parameters and the fitted inputs give (and the encoding the fitted one); what
    the fit ran with is kept as it was, each value of its type (None where the
    fit had no rows to decide it from)."""
    if type(value) is not FitConfig:
        raise ValueError("fit_config_ must be a FitConfig")
    given = _network_config(model)
    for name in (*FitConfig.NETWORK, "n_cv", "numeric_encoding"):
        if not _checks.same(getattr(value, name), getattr(given, name)):
            raise ValueError(f"fit_config_.{name} is not what the parameters give")
    for name, check in _RAN_WITH.items():
        field = getattr(value, name)
        if field is not None or name in _NEVER_NONE:
            check(field, f"fit_config_.{name}")
    return value


def _device_name(value, name):
    if not isinstance(value, str) or value.split(":")[0] not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name} is not a device to train on")


def _one_of(*allowed):
    def check(value, name):
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}")

    return check


# What a fit ran with, beyond the network: each field's check.
_RAN_WITH = {
    "n_rows": lambda v, n: _checks.integer(v, n, 1),
    "seed": lambda v, n: _checks.integer(v, n, 0),
    "device": _device_name,
    "numeric_max_width": lambda v, n: _checks.integer(v, n, 1),
    "early_stopping": _checks.boolean,
    "validation_fraction": lambda v, n: _checks.number(v, n, 0, 1),
    "batch_size": lambda v, n: _checks.integer(v, n, 1),
    "max_batch_size": lambda v, n: _checks.integer(v, n, 1),
    "max_epochs": lambda v, n: _checks.integer(v, n, 1),
    "patience": lambda v, n: _checks.integer(v, n, 1),
    "refit": _checks.boolean,
    "capped": _checks.boolean,
    "learning_rate": lambda v, n: _checks.number(v, n, 0),
    "weight_decay": lambda v, n: _checks.number(v, n, 0),
    "ema_decay": lambda v, n: _checks.number(v, n, 0, 1),
    "learning_rate_schedule": _one_of("cosine", "constant"),
    "tol": lambda v, n: _checks.number(v, n, 0),
    "verbose": lambda v, n: _checks.integer(v, n, 0),
}
# ... of which these are never None.
_NEVER_NONE = (
    "device",
    "max_batch_size",
    "patience",
    "capped",
    "learning_rate",
    "weight_decay",
    "learning_rate_schedule",
    "tol",
    "verbose",
)


def _network_config(model):
    """The configuration the parameters and the fitted state give (without what
    the fit decided from its rows, which a file written before the configuration
    was kept does not hold): the network's settings, the loss's and the
    optimiser's."""
    n_numeric, n_codes, texts = input_layout(model._encoder, model.n_features_in_)
    params = model.get_params(deep=False)
    config = resolve(params, None, n_numeric, n_codes, len(model._tasks), texts=texts)
    kind = None if model._numeric is None else model._numeric["kind"]
    return config.replace(n_cv=model.n_cv_, numeric_encoding=kind)


def _cv_scores(value, model, bounds):
    shape = (getattr(model, "n_cv_", 1),)
    return _checks.array(value, "cv_validation_scores_", "f", shape, finite=True)


def _curve(value, name, n_iter, exact):
    """A list of finite numbers, ``n_iter`` of them (at most, unless ``exact``)."""
    if (
        not isinstance(value, list)
        or len(value) > n_iter
        or exact
        and len(value) != n_iter
    ):
        raise ValueError(f"{name} must be a list of {n_iter} numbers")
    return [_checks.number(v, name) for v in value]


_CHECKS = {
    "n_features_in_": _n_features,
    "feature_names_in_": _feature_names,
    "is_categorical_": _is_categorical,
    "is_text_": _is_text,
    "_allow_nan": _allow_nan,
    "_encoder": _encoder,
    "_numeric": _numeric,
    "_tasks": _tasks,
    "n_outputs_": _n_outputs,
    "_y_1d": _y_1d,
    "task_names_": _task_names,
    "_funnel": _funnel,
    "task_weights_": _task_weights,
    "n_iter_": _n_iter,
    "loss_curve_": _loss_curve,
    "task_loss_curves_": _task_curves,
    "validation_scores_": _validation_scores,
    "best_validation_score_": _best_validation,
    "task_validation_curves_": _validation_curves,
    "_rows_seen": _rows_seen,
    "n_cv_": _n_cv,
    "fit_config_": _fit_config,
    "cv_n_iter_": _cv_n_iter,
    "cv_validation_scores_": _cv_scores,
}


def _check_validation_record(model):
    """The validation record is whole or absent, and consistent."""
    names = ("validation_scores_", "best_validation_score_", "task_validation_curves_")
    held = [hasattr(model, name) for name in names]
    if any(held) and not all(held):
        raise ValueError(f"the validation record must hold all of {list(names)}")
    if all(held):
        scores = model.validation_scores_
        if not scores or model.best_validation_score_ != max(scores):
            raise ValueError("best_validation_score_ is not the best score")
        if len(model.task_validation_curves_) > len(scores):
            raise ValueError("task_validation_curves_ is longer than its scores")


def _history(rows, model):
    """The net's epoch history: at most ``n_iter_`` epochs of declared entries."""
    if not isinstance(rows, list) or len(rows) > model.n_iter_:
        raise ValueError("the history must be a list of at most n_iter_ epochs")
    valid = ("valid_loss", "valid_task_losses")
    for row in rows:
        held = valid if isinstance(row, dict) and valid[0] in row else ()
        _checks.keys(
            row, "an epoch of the history", set(_HISTORY) - set(valid) | set(held)
        )
        for name, value in row.items():
            kind = _HISTORY[name]
            if kind == "int":
                _checks.integer(value, f"the history's {name}", 1)
            elif kind == "number":
                _checks.number(value, f"the history's {name}", finite=False)
            elif not isinstance(value, list) or len(value) != model.n_outputs_:
                raise ValueError(f"the history's {name} must hold one number per task")
            else:
                for v in value:
                    _checks.number(v, f"the history's {name}", finite=False)
    return rows


def _split(tensors, arrays):
    """The network's and the loss's tensors, by their names within each; any other
    tensor that no part of the header names is refused."""
    weights = {
        prefix: {
            k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)
        }
        for prefix in ("module.", "criterion.")
    }
    named = set(arrays) | {p + k for p, part in weights.items() for k in part}
    other = sorted(set(tensors) - named)
    if other:
        raise ValueError(f"tensors no part of the model names: {other[:5]}")
    return weights


class _Bounds:
    """What a file's tensors allow the network built from it to be.

    Every width and count a network has (experts, units, tokens, features, tasks)
    implies at least that many of its weights, and every level, block and layer at
    least one tensor of them, so none may exceed the file's; the few arrays the
    network derives from its settings beyond its weights (PLE's masks of which
    expert a gate sees, the padded bins of the piecewise code, the Transformer's
    table of each token's inputs) hold at most ``budget`` values: 4 per value of
    the file's tensors, and ``_FLOOR``. A small file can therefore never make
    ``load`` allocate much.
    """

    def __init__(self, tensors):
        module = [t for k, t in tensors.items() if k.startswith("module.")]
        self.tensors = len(module)
        self.elements = sum(t.numel() for t in module)
        self.budget = 4 * sum(t.numel() for t in tensors.values()) + _FLOOR

    def check(self, model, params):
        expert_units, gate_units, tower_units = (
            params["expert_units"],
            params["gate_units"],
            params["tower_units"],
        )
        counts = {
            "n_levels": params["n_levels"],
            "n_blocks": model.n_blocks,
            "layers of expert_units": len(expert_units),
            "layers of gate_units": len(gate_units),
            "layers of tower_units": len(tower_units),
        }
        widths = {
            "n_experts": params["n_experts"],
            "n_task_experts": params["n_task_experts"],
            "ensemble_size": params["ensemble_size"],
            "token_dim": model.token_dim,
            "n_heads": model.n_heads,
            "a unit": max((*expert_units, *gate_units, *tower_units, 1)),
            "a task's outputs": max(params["output_sizes"]),
        }
        for name, value in counts.items():
            self._within(name, value, self.tensors, "tensors")
        for name, value in widths.items():
            self._within(name, value, self.elements, "values")
        n_tasks = len(params["output_sizes"])
        n_experts = params["n_experts"] + n_tasks * params["n_task_experts"]
        masks = params["n_levels"] * (n_tasks + 1) * n_experts
        numeric = params["numeric"]
        bins = max((len(e) for e in (numeric or {}).get("edges", ())), default=1)
        widest = max((d for _, d in params["embeddings"]), default=1)
        derived = {
            "the gates' masks": masks,
            "the padded bins": params["n_features"] * bins,
            "the tokens' inputs": model.n_features_in_ * (bins + 1 + widest),
        }
        members = params.get("n_members", 1)  # each derives its own
        for name, value in derived.items():
            self._within(name, value * members, self.budget, "values to derive")

    @staticmethod
    def _within(name, value, bound, unit):
        if value > bound:
            raise ValueError(
                f"{name} ({value}) is more than the file's {bound} {unit} allow"
            )


def _expected_state(module_params):
    """The state of the network of ``module_params``, built on the meta device
    (no memory): the names, shapes and dtypes the file's tensors must have."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        return network_on_meta(network_class(module_params), module_params).state_dict()
    finally:
        torch.set_default_dtype(dtype)
