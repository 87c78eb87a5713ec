"""The estimator base shared by every estimator: parameters, the one fit sequence
and the skorch net (inference and scoring are :mod:`sklearn_mmoe._predict`'s); an
estimator says only which kind each of its tasks is (``_task_types``) and how its
predictions are laid out."""

import copy
import inspect
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
)
from skorch.history import History

from ._data import BatchIterator, HoldOutSplit, TensorData, as_tensor, n_validation
from ._inputs import _InputsMixin, check_task_names
from ._module import ACTIVATIONS, ARCHITECTURES, GATE_TYPES, MMoEModule
from ._net import EpochMonitor, MultiTaskLoss, MultiTaskNet
from ._numeric import NUMERIC_ENCODINGS, fit_numeric
from ._predict import _PREDICT_CHUNK, _PredictMixin
from ._rows import task_row_weights
from ._tasks import TASKS, declared_dtypes, task_label
from ._warn import warn

# The "auto" training budget, chosen on the suite of benchmarks/defaults.py: batches of
# _AUTO_BATCH rows, _STEPS_PER_ROW optimiser steps per training row within
# [_MIN_STEPS, _MAX_STEPS], and at least _MIN_EPOCHS epochs. Tiny tables are memorised
# within a hundred steps or so (more overfit them, and would slow scikit-learn's checks,
# which fit about 160 times on up to 200 rows); from 1,000 rows on, 2,000 steps.
_AUTO_BATCH = 256
_STEPS_PER_ROW = 2
_MIN_STEPS = 100
_MAX_STEPS = 2000
_MIN_EPOCHS = 20
# early_stopping="auto" holds out a validation split from this many (distinct) training
# rows on, and keeps the best epoch's weights: a small noisy table trained to the end of
# its budget ended far below a constant prediction. Below _EARLY_STOPPING_ROWS an "auto"
# budget waits 1 / _PATIENCE_SHARE of its epochs for a better one (an epoch is one or
# two steps there, so n_iter_no_change epochs would stop it within its warm-up: meats
# 0.88 -> 0.40 R2; a quarter stopped one seed of meats early, the whole budget made
# scikit-learn's checks 4.5x MLP's time, a third 2.7x); from there on it stops after
# n_iter_no_change epochs without improvement.
_EARLY_STOPPING_MIN_ROWS = 20
_PATIENCE_SHARE = 3
_EARLY_STOPPING_ROWS = 1_000
# Fraction of the budget over which the cosine schedule warms up.
_WARMUP = 0.05
# The learned log-variances of task_weights="uncertainty" take steps this many times
# the network's: one number per task that tracks its loss's level (its optimum is the
# log of the task's loss), which at the network's step size moves by about one per
# thousand steps, too slow to settle within the "auto" budget of at most 2,000 steps.
_LOG_VARIANCE_LR = 10.0
# Held while a network is initialised from torch's process-wide generator.
_INITIALISING = threading.Lock()


class _BaseMMoE(_PredictMixin, _InputsMixin, BaseEstimator):
    """Parameters, validation, the fit sequence and the skorch net, for every
    estimator."""

    _parameter_constraints: dict = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "expert_units": ["array-like"],
        "gate_units": ["array-like"],
        "gate_type": [StrOptions(set(GATE_TYPES))],
        "top_k": [Interval(Integral, 1, None, closed="left"), None],
        "balance_weight": [Interval(Real, 0, None, closed="left")],
        "n_task_experts": [Interval(Integral, 0, None, closed="left")],
        "n_levels": [Interval(Integral, 1, None, closed="left")],
        "tower_units": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "ema_decay": [Interval(Real, 0, 1, closed="left"), None],
        "learning_rate_schedule": [StrOptions({"cosine", "constant"})],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "max_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "task_weights": ["array-like", StrOptions({"uncertainty"}), None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "missing_labels": [StrOptions({"raise", "ignore"})],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "numeric_encoding": [StrOptions(set(NUMERIC_ENCODINGS)), None],
        "embedding_dim": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
    }

    def __init__(
        self,
        *,
        architecture="mmoe",
        n_experts=8,
        expert_units=(64,),
        gate_units=(),
        gate_type="softmax",
        top_k=None,
        balance_weight=0.0,
        n_task_experts=1,
        n_levels=1,
        tower_units=(32,),
        activation="relu",
        dropout=0.0,
        ensemble_size=1,
        learning_rate=1e-3,
        weight_decay=0.0,
        ema_decay=None,
        learning_rate_schedule="cosine",
        batch_size="auto",
        max_epochs="auto",
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        task_weights=None,
        device="cpu",
        random_state=None,
        verbose=0,
        warm_start=False,
        missing_labels="raise",
        categorical_features="from_dtype",
        embedding_dim="auto",
        numeric_encoding="auto",
    ):
        self.architecture = architecture
        self.n_experts = n_experts
        self.expert_units = expert_units
        self.gate_units = gate_units
        self.gate_type = gate_type
        self.top_k = top_k
        self.balance_weight = balance_weight
        self.n_task_experts = n_task_experts
        self.n_levels = n_levels
        self.tower_units = tower_units
        self.activation = activation
        self.dropout = dropout
        self.ensemble_size = ensemble_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.task_weights = task_weights
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.missing_labels = missing_labels
        self.categorical_features = categorical_features
        self.embedding_dim = embedding_dim
        self.numeric_encoding = numeric_encoding

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # A numeric encoding fills missing values (NaN); raw inputs must be finite.
        tags.input_tags.allow_nan = self.numeric_encoding is not None
        tags.target_tags.multi_output = True
        return tags

    # -- hyper-parameters
    # ---------------------------------------------------------------------

    def _check_units(self, name, allow_empty):
        units = getattr(self, name)
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
                f"got {getattr(self, name)!r}."
            )
        return tuple(int(u) for u in units)

    def _check_task_weights(self, n_tasks):
        if self.task_weights is None:
            return np.ones(n_tasks)
        if isinstance(self.task_weights, str):
            return self.task_weights  # "uncertainty": learned in training
        try:
            w = np.asarray(self.task_weights, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"task_weights must hold {n_tasks} numbers (one per task) or be "
                f"'uncertainty'; got {self.task_weights!r}."
            ) from exc
        if (
            w.shape != (n_tasks,)
            or not np.all(np.isfinite(w))
            or np.any(w < 0)
            or not w.any()
        ):
            raise ValueError(
                f"task_weights must hold {n_tasks} finite non-negative weights "
                f"(one per task), not all zero; got {self.task_weights!r}."
            )
        return w

    def _validate_params(self):
        super()._validate_params()
        # scikit-learn's Interval(Integral) takes a bool for an int; these do not.
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name)
            integral = any(
                isinstance(c, Interval) and c.type is Integral for c in constraints
            )
            if integral and isinstance(value, (bool, np.bool_)):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be an int, "
                    f"not a bool; got {value!r}."
                )

    def _check_device(self):
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device={self.device!r} is not a valid torch device."
            ) from exc
        if device.type not in ("cpu", "cuda", "mps"):
            raise ValueError(
                f"device={self.device!r}: the estimators train on 'cpu', 'cuda' "
                f"(or 'cuda:<index>') or 'mps', not on {device.type!r} devices."
            )
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} was requested but CUDA is not available."
            )
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(
                f"device={self.device!r} was requested but MPS is not available."
            )
        return device

    # -- training
    # ------------------------------------------------------------------------

    def _task_types(self, Y, where, declared):
        """Each task's kind (a key of :data:`sklearn_mmoe._tasks.TASKS`) from the
        (present) labels ``Y`` of each task; ``where[t]`` names task ``t`` in errors
        and ``declared[t]`` what the dtype ``y`` gave it declares (see
        :func:`~sklearn_mmoe._tasks.declared_dtypes`), ``declared`` None for an
        array."""
        raise NotImplementedError

    def _fit(self, X, y, sample_weight, partial=False, classes=None):
        """The fit sequence of every estimator (and of ``partial_fit``, one pass):
        validate, describe and encode each task, merge repeated rows, standardise,
        train."""
        # A fit that raises, or is interrupted, leaves the estimator as it was.
        state = self.__dict__.copy()
        try:
            # Training needs autograd even where the caller switched it off.
            with torch.inference_mode(False), torch.enable_grad():
                return self._fit_sequence(X, y, sample_weight, partial, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit_sequence(self, X, y, sample_weight, partial, classes):
        continuing = partial and hasattr(self, "net_")
        names = _given_task_names(y)
        declared = declared_dtypes(y)
        y_1d = getattr(self, "_y_1d", None)
        X, rows, Y, present, weight = self._validate_fit_data(
            X, y, sample_weight, reset=not continuing
        )
        # A partial_fit pass reports the rows of its call and the rows seen so far
        # (since the last fit, whose rows count).
        seen = getattr(self, "_rows_seen", 0) if continuing else 0
        stream = (len(Y), seen + len(Y)) if partial else None
        n_tasks = Y.shape[1]
        if continuing or (self.warm_start and hasattr(self, "net_")):
            check_task_names(self.task_names_, y)
        if continuing:
            self._y_1d = y_1d  # the first call's layout
            if n_tasks != self.n_outputs_:
                raise ValueError(
                    "partial_fit continues the tasks of the first call, which had "
                    f"{self.n_outputs_} task(s); y has {n_tasks}."
                )
            names = [str(n) for n in self.task_names_]
        elif names is None or len(names) != n_tasks:
            names = [f"task{t}" for t in range(n_tasks)]
        where = [task_label(t, name, n_tasks) for t, name in enumerate(names)]
        labels = [Y[present[:, t], t] for t in range(n_tasks)]
        targets = np.zeros(Y.shape)
        if continuing:
            tasks = self._tasks
            for t, task in enumerate(tasks):
                targets[present[:, t], t] = task.encode(labels[t], where[t])
        else:
            kinds = self._task_types(labels, where, declared)
            known = self._partial_classes(classes, kinds) if partial else None
            tasks = []
            for t, kind in enumerate(kinds):
                if known is not None and known[t] is not None:
                    task = TASKS[kind].from_classes(known[t], where[t])
                    targets[present[:, t], t] = task.encode(labels[t], where[t])
                else:
                    task, targets[present[:, t], t] = TASKS[kind].from_labels(
                        labels[t], where[t]
                    )
                tasks.append(task)
        warm = continuing or (self.warm_start and hasattr(self, "net_") and not partial)
        if warm and not continuing:
            previous = self._tasks
            if len(previous) != n_tasks or not all(
                a.same_layout(b) for a, b in zip(tasks, previous)
            ):
                raise ValueError(
                    "warm_start=True needs the same tasks (their number, kinds and "
                    f"classes) as the previous fit, which had {len(previous)} "
                    f"task(s); y has {n_tasks}."
                )
            tasks = previous  # and their scaling
        # Repeated rows are merged on each task's bit-exact key of its target.
        keys = np.column_stack(
            [task.key(targets[:, t]) for t, task in enumerate(tasks)]
        )
        rows, keys, present, weight = self._distinct_rows(
            X, rows, keys, present, weight
        )
        targets = np.column_stack(
            [task.from_key(keys[:, t]) for t, task in enumerate(tasks)]
        )
        if not warm:
            for t, task in enumerate(tasks):
                task.fit_scale(targets[present[:, t], t], weight[present[:, t]])
        tasks = [
            task.seen(targets[present[:, t], t], widen=warm)
            for t, task in enumerate(tasks)
        ]
        Z = np.column_stack(
            [task.standardise(targets[:, t]) for t, task in enumerate(tasks)]
        )
        Z = np.where(present, Z, 0.0).astype(np.float32)
        net, tasks = self._fit_net(
            X, rows, torch.from_numpy(Z), present, weight, tasks, names, partial, stream
        )
        self._rows_seen = seen + len(Y)
        self.net_ = net
        self._tasks = tasks
        self.n_outputs_ = n_tasks
        self.task_names_ = np.asarray(names, dtype=object)
        weights = net.criterion_.weights().detach().cpu().numpy()
        self.task_weights_ = weights.astype(np.float64)
        self._set_task_attributes()
        return self

    def _set_task_attributes(self):
        """Set an estimator's own per-task fitted attributes (``classes_``, ...)."""

    def _partial_classes(self, classes, kinds):
        """The classes of each task for the first ``partial_fit`` call: one array
        per task (None for a regression task, or to take them from the labels)."""
        n_tasks = len(kinds)
        if classes is None:
            return [None] * n_tasks
        if isinstance(classes, (str, bytes, dict)) or not hasattr(classes, "__len__"):
            raise TypeError(
                "classes must be an array of every label the task can have (one "
                "task), or a list with one such array (None for a regression task) "
                f"per task; got {classes!r} of type {type(classes).__name__}."
            )
        if n_tasks == 1 and not (
            isinstance(classes, (list, tuple))
            and len(classes)
            and (classes[0] is None or np.ndim(classes[0]) == 1)
        ):
            classes = [classes]
        classes = list(classes)
        if len(classes) != n_tasks:
            raise ValueError(
                f"classes must hold one array of labels per task ({n_tasks}); got "
                f"{len(classes)}."
            )
        for t, c in enumerate(classes):
            if c is not None and (isinstance(c, (str, bytes)) or np.ndim(c) != 1):
                raise TypeError(
                    f"classes[{t}] must be a 1-D array of task {t}'s labels (or None "
                    f"for a regression task); got {c!r}."
                )
        # A list keeps each label's own type (NumPy would turn [0, "a"] into strings).
        return [
            None
            if c is None
            else np.asarray(c, dtype=object if isinstance(c, (list, tuple)) else None)
            for c in classes
        ]

    def _fit_net(
        self, X, rows, Y, present, weight, tasks, names, partial=False, stream=None
    ):
        """Build (or warm-start) the skorch net for ``tasks`` (named ``names``) and
        train it on rows ``rows`` of ``X``, with encoded targets ``Y`` (a tensor),
        labels ``present`` and row weights ``weight``; return it with the tasks as
        they predict from it (each regression and count task's shrinkage towards its
        mean fitted on the validation rows, when there are some)."""
        n_tasks = len(tasks)
        kinds = tuple(task.kind for task in tasks)
        embeddings = self._embeddings()
        module_params = dict(
            n_features=X.shape[1] - len(embeddings),
            output_sizes=tuple(task.width for task in tasks),
            embeddings=embeddings,
            architecture=self.architecture,
            n_experts=self.n_experts,
            expert_units=self._check_units("expert_units", allow_empty=False),
            gate_units=self._check_units("gate_units", allow_empty=True),
            tower_units=self._check_units("tower_units", allow_empty=True),
            activation=self.activation,
            dropout=self.dropout,
            gate_type=self.gate_type,
            top_k=self.top_k,
            n_task_experts=self.n_task_experts,
            n_levels=self.n_levels,
            ensemble_size=self.ensemble_size,
            kinds=kinds,
        )
        task_weights = self._check_task_weights(n_tasks)
        device = self._check_device()
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        W = task_row_weights(weight, present)
        # Rows resident on the device when they fit there, else pinned batches.
        data = TensorData(
            as_tensor(X),
            Y,
            None if W is None else torch.from_numpy(W),
            torch.from_numpy(rows),
        ).placed(device)
        if partial and hasattr(self, "net_"):
            net = self._continue_net(self.net_, data, device, seed, stream)
            return net, [task.unshrunk() for task in tasks]
        previous = (
            getattr(self, "net_", None) if self.warm_start and not partial else None
        )
        early_stopping, batch_size, max_epochs = self._budget(len(rows))
        patience = self._patience(len(rows), early_stopping, max_epochs)
        if partial:  # one pass at a constant rate, every row trains
            early_stopping, max_epochs = False, 1
        n_numeric = X.shape[1] - len(embeddings)
        if previous is None:
            targets = None
            if self.numeric_encoding in ("auto", "piecewise"):
                labels = np.where(present, Y.numpy().astype(np.float64), np.nan)
                targets = (labels, list(kinds))
            self._numeric = fit_numeric(
                X, rows, weight, n_numeric, self.numeric_encoding, targets, seed
            )
        module_params["numeric"] = self._numeric

        net = self._new_net(
            module_params,
            task_weights,
            device,
            seed,
            names,
            dict(
                max_epochs=max_epochs,
                batch_size=batch_size,
                lr_schedule="constant" if partial else self.learning_rate_schedule,
                train_split=(
                    HoldOutSplit(self.validation_fraction, seed)
                    if early_stopping
                    else None
                ),
            ),
            patience,
            stream,
        )
        if previous is not None:
            self._load_previous(net, previous)
        # Training draws from generators of its own: shuffling (the iterator's) and
        # dropout (this one).
        net.module_.generator = torch.Generator(device=device).manual_seed(seed + 2)
        try:
            net.partial_fit(data)
        finally:
            net.module_.generator = None
        net.module_.eval()

        history = net.history
        self._record_history(history, previous is not None, early_stopping)
        # An "auto" budget is a complete schedule, not a cap that cut training short.
        if (
            not partial
            and self.max_epochs != "auto"
            and not _monitor(net).converged_
        ):
            warn(
                f"{type(self).__name__} stopped after max_epochs={max_epochs} "
                "epochs and the loss has not converged yet; raise max_epochs or tol.",
                ConvergenceWarning,
            )
        if not early_stopping:
            return net, [task.unshrunk() for task in tasks]
        _, valid = net.train_split(data)
        return net, _shrunk_on(net, valid, tasks)

    def _new_net(
        self,
        module_params,
        task_weights,
        device,
        seed,
        names,
        schedule,
        patience,
        stream=None,
    ):
        """The skorch net of this estimator's settings for a module of
        ``module_params``, initialised (seeded by ``seed``, on ``device``);
        ``schedule`` holds its ``max_epochs``, ``batch_size``, ``lr_schedule`` and
        ``train_split``, ``patience`` and ``stream`` go to its monitor."""
        net = MultiTaskNet(
            module=MMoEModule,
            **{f"module__{k}": v for k, v in module_params.items()},
            criterion=MultiTaskLoss,
            criterion__kinds=module_params["kinds"],
            criterion__task_weights=task_weights,
            criterion__balance_weight=float(self.balance_weight),
            optimizer=torch.optim.AdamW,
            lr=self.learning_rate,
            optimizer__weight_decay=self.weight_decay,
            # One multi-tensor kernel per update instead of one per parameter (the CUDA
            # default, not the CPU one).
            optimizer__foreach=True,
            # Learned log-variances are not shrunk towards zero, and step faster than
            # the network (see _LOG_VARIANCE_LR).
            optimizer__param_groups=(
                [
                    (
                        "log_variances",
                        {
                            "weight_decay": 0.0,
                            "lr": self.learning_rate * _LOG_VARIANCE_LR,
                            "lr_scale": _LOG_VARIANCE_LR,
                        },
                    )
                ]
                if isinstance(task_weights, str)
                else []
            ),
            ema_decay=None if self.ema_decay is None else float(self.ema_decay),
            warmup=_WARMUP,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__seed=seed + 1,
            iterator_train__device=str(device),
            iterator_valid=BatchIterator,
            iterator_valid__device=str(device),
            **schedule,
            callbacks=[
                (
                    "monitor",
                    EpochMonitor(
                        patience,
                        self.tol,
                        True,
                        self.verbose,
                        [str(name) for name in names],
                        rows=stream,
                    ),
                )
            ],
            device=str(device),
        )
        cuda = [device.index or 0] if device.type == "cuda" else []
        # Initialisation draws from the process-wide torch generator (torch.nn's way),
        # so it runs seeded inside fork_rng, which leaves the caller's random state as
        # it was, and under a lock, so that fits in other threads cannot draw from it
        # meanwhile; float32 whatever the caller set as torch's default dtype.
        with _INITIALISING, torch.random.fork_rng(devices=cuda):
            dtype = torch.get_default_dtype()
            torch.set_default_dtype(torch.float32)
            try:
                torch.manual_seed(seed)
                net.initialize()
            finally:
                torch.set_default_dtype(dtype)
        return net

    def _restored_net(self, module_params, module_state, criterion_state, history):
        """The net of a model read from a file (:func:`sklearn_mmoe.load`): built
        for ``module_params`` on the CPU, with the saved weights (``strict``: a
        missing, extra or misshapen tensor is an error) and epoch ``history``."""
        net = self._new_net(
            module_params,
            self._check_task_weights(self.n_outputs_),
            torch.device("cpu"),
            0,
            [str(name) for name in self.task_names_],
            dict(max_epochs=1, batch_size=1, lr_schedule="constant", train_split=None),
            self.n_iter_no_change,
        )
        for part, state in (
            (net.module_, module_state),
            (net.criterion_, criterion_state),
        ):
            try:
                part.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise ValueError(
                    "the saved weights do not fit the network its settings describe: "
                    + str(exc).replace("\n", " ")
                ) from exc
        net.module_.eval()
        net.history_ = History([dict(row) for row in history])
        return net

    def _continue_net(self, net, data, device, seed, stream):
        """One more pass of ``partial_fit`` over ``data``, continuing the weights and
        the optimiser's state; if it raises or is interrupted, both are put back.
        ``stream`` (rows of the call, rows seen) is what the pass reports."""
        saved = [
            copy.deepcopy(part.state_dict())
            for part in (net.module_, net.criterion_, net.optimizer_)
        ]
        n_epochs = len(net.history)
        net.max_epochs, net.train_split, net.lr_schedule = 1, None, "constant"
        _monitor(net).rows = stream
        # Each call shuffles and drops out with draws of its own.
        net.module_.generator = torch.Generator(device=device).manual_seed(
            seed + 2 + n_epochs
        )
        try:
            net.iterator_train__seed = seed + 1 + n_epochs
            net.partial_fit(data)
        except BaseException:
            for part, state in zip(
                (net.module_, net.criterion_, net.optimizer_), saved
            ):
                part.load_state_dict(state)
            del net.history[n_epochs:]
            raise
        finally:
            net.module_.generator = None
            net.module_.eval()
        self._record_history(net.history, False, False)
        return net

    def _budget(self, n_rows):
        """Early stopping, batch size and epochs for ``n_rows`` training rows, with
        the ``"auto"`` values resolved."""
        early = self.early_stopping
        if early == "auto":
            early = n_rows >= _EARLY_STOPPING_MIN_ROWS
        n_train = n_rows
        if early:
            n_train -= n_validation(self.validation_fraction, n_rows)
        n_train = max(n_train, 1)
        batch = _AUTO_BATCH if self.batch_size == "auto" else self.batch_size
        batch = min(batch, n_train)
        epochs = self.max_epochs
        if epochs == "auto":
            steps = min(max(_STEPS_PER_ROW * n_train, _MIN_STEPS), _MAX_STEPS)
            per_epoch = -(-n_train // batch)
            epochs = max(-(-steps // per_epoch), _MIN_EPOCHS)
        return bool(early), int(batch), int(epochs)

    def _patience(self, n_rows, early_stopping, max_epochs):
        """Epochs without improvement before training stops: ``n_iter_no_change``,
        or for ``"auto"`` early stopping within an ``"auto"`` budget below
        ``_EARLY_STOPPING_ROWS`` rows, a third of the budget if that is longer (an
        epoch there is a step or two, not a unit of patience)."""
        auto = self.early_stopping == "auto" and self.max_epochs == "auto"
        if auto and early_stopping and n_rows < _EARLY_STOPPING_ROWS:
            return max(self.n_iter_no_change, -(-max_epochs // _PATIENCE_SHARE))
        return self.n_iter_no_change

    @staticmethod
    def _load_previous(net, previous):
        try:
            net.module_.load_state_dict(previous.module_.state_dict())
        except RuntimeError as exc:
            raise ValueError(
                "warm_start=True continues the previous fit, which needs the same "
                "features, tasks (and classes) and network shape as that fit."
            ) from exc
        learned = getattr(previous.criterion_, "log_variances", None)
        if learned is not None and net.criterion_.uncertainty:
            with torch.no_grad():  # the learned task weights continue too
                net.criterion_.log_variances.copy_(learned)

    def _record_history(self, history, warm, early_stopping):
        train = [float(v) for v in history[:, "train_loss"]]
        task = np.array(history[:, "train_task_losses"], dtype=np.float64)
        valid = valid_task = None
        if early_stopping:
            valid = [-float(v) for v in history[:, "valid_loss"]]
            valid_task = np.array(history[:, "valid_task_losses"], dtype=np.float64)
        if warm and hasattr(self, "loss_curve_"):
            train = self.loss_curve_ + train
            task = np.concatenate([self.task_loss_curves_, task])
            if valid is not None:
                valid = getattr(self, "validation_scores_", []) + valid
                previous = getattr(self, "task_validation_curves_", None)
                if previous is not None:
                    valid_task = np.concatenate([previous, valid_task])
        self.loss_curve_ = train
        self.task_loss_curves_ = task
        self.n_iter_ = len(train)
        if valid is not None:
            self.validation_scores_ = valid
            self.best_validation_score_ = max(valid)
            self.task_validation_curves_ = valid_task
        else:
            # A fit without early stopping leaves no stale validation record behind.
            for name in (
                "validation_scores_",
                "best_validation_score_",
                "task_validation_curves_",
            ):
                if hasattr(self, name):
                    delattr(self, name)


def _shrunk_on(net, valid, tasks):
    """``tasks`` with each one's output shrinkage fitted on the validation rows
    ``valid`` (see :meth:`sklearn_mmoe._tasks.RegressionTask.fit_shrink`)."""
    module = net.module_
    outs, targets, weights = [], [], []
    with torch.inference_mode():
        for Xb, Yb, Wb in BatchIterator(valid, _PREDICT_CHUNK, device=net.device):
            outs.append(module(Xb).float())
            targets.append(Yb)
            weights.append(torch.ones_like(Yb) if Wb is None else Wb)
        out, Y, W = torch.cat(outs), torch.cat(targets), torch.cat(weights)
        return [
            task.fit_shrink(out[:, t], Y[:, t], W[:, t].to(out.dtype))
            for t, task in enumerate(tasks)
        ]


def _monitor(net):
    """The net's :class:`~sklearn_mmoe._net.EpochMonitor`, by its name."""
    return dict(net.callbacks_)["monitor"]


def _given_task_names(y):
    """The task names a DataFrame's columns (or a named Series) give, else None."""
    if hasattr(y, "columns"):
        return [str(c) for c in y.columns]
    if hasattr(y, "name") and hasattr(y, "iloc") and y.name is not None:
        return [str(y.name)]
    return None


def init_with(**extra):
    """An ``__init__`` for an estimator that adds keyword-only parameters (name:
    default) to :class:`_BaseMMoE`'s, written once: it stores every argument, as
    scikit-learn asks, and carries the whole signature (``__signature__``), which
    ``get_params``, ``clone``, ``repr`` and the docs read."""
    base = inspect.signature(_BaseMMoE.__init__)
    self_, *common = base.parameters.values()
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in extra.items()
    ]
    signature = base.replace(parameters=[self_, *added, *common])

    def __init__(self, **params):
        bound = signature.bind(self, **params)  # an unknown name: TypeError
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__
