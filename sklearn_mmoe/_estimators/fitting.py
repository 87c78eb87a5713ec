"""The fit sequence of every estimator (and of ``partial_fit``, one pass): validate
the data, describe and encode each task, draw the funnel, merge repeated rows,
standardise the targets, resolve the fit's configuration, train with a
:class:`~sklearn_mmoe._training.engine.Trainer`, and keep what it trained as fitted
attributes. Each function takes the estimator first; what a fit does is decided once,
at the top (:class:`FitMode`)."""

import copy

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from .._distributed.agreement import agreed
from .._distributed.group import current
from .._distributed.layout import check_shards
from .._inputs.categorical import input_layout
from .._inputs.validation import check_task_names, distinct_rows, validate_fit_data
from .._tasks.funnels import funnel_edges, funnel_targets
from .._tasks.inference import declared_dtypes, infer_task_type
from .._tasks.kinds import task_label
from .._tasks.pooling import pooled_classes, pooled_labels
from .._tasks.registry import TASKS
from .._training.config import resolve
from .._training.engine import Trainer
from .._utils.warn import warn
from . import inference
from .record import record_history, record_members


class FitMode:
    """What a call to ``fit`` or ``partial_fit`` does, decided once from the call
    and the estimator's state.

    - ``partial``: a ``partial_fit`` call: one pass at a constant rate, every row
      trains, no validation;
    - ``start``: ``"fresh"`` (new tasks, encoding and weights), ``"warm"`` (a refit
      that starts from the previous fit's weights, tasks and encoding, with
      ``warm_start=True``) or ``"continue"`` (a later ``partial_fit`` call).
    """

    def __init__(self, estimator, partial):
        fitted = hasattr(estimator, "net_")
        self.partial = partial
        if partial and fitted:
            self.start = "continue"
        elif fitted and estimator.warm_start and not partial:
            self.start = "warm"
        else:
            self.start = "fresh"

    @property
    def continuing(self):
        """A later ``partial_fit`` call, continuing the weights and the optimiser."""
        return self.start == "continue"

    @property
    def warm(self):
        """A fit that keeps the previous tasks, encoding and weights."""
        return self.start != "fresh"

    def __repr__(self):
        return f"FitMode(start={self.start!r}, partial={self.partial})"


def fit_sequence(model, X, y, sample_weight, partial, classes):
    """Fit ``model`` on ``X`` and ``y`` (with ``sample_weight``; ``partial``: a
    ``partial_fit`` call, with its ``classes``) and return it."""
    mode = FitMode(model, partial)  # fresh, warm or continuing: decided here only
    given_names, declared = _given_task_names(y), declared_dtypes(y)
    params = model.get_params(deep=False)
    declared = check_shards(
        current(), X, y, sample_weight, given_names, declared, params
    )
    y_1d = getattr(model, "_y_1d", None)
    X, rows, Y, present, weight = validate_fit_data(
        model, X, y, sample_weight, reset=not mode.continuing
    )
    # A partial_fit pass reports the rows of its call and the rows seen so far
    # (since the last fit, whose rows count).
    seen = getattr(model, "_rows_seen", 0) if mode.continuing else 0
    n_given = int(current().sum(len(Y)))  # every rank's rows, in a data-parallel fit
    stream = (n_given, seen + n_given) if mode.partial else None
    if mode.warm:
        check_task_names(model.task_names_, y)
    if mode.continuing:
        model._y_1d = y_1d  # the first call's layout
    names = _task_names(model, given_names, Y.shape[1], mode)
    where = [task_label(t, name, len(names)) for t, name in enumerate(names)]
    tasks, targets = _described_tasks(model, Y, present, where, declared, classes, mode)
    targets, present = _funnel_targets(
        model, names, where, tasks, targets, present, rows, mode
    )
    if mode.start == "warm":
        tasks = _warm_tasks(model, tasks)
    given = rows
    rows, present, weight, groups, tasks, Z = _training_targets(
        model, X, rows, tasks, targets, present, weight, mode.warm
    )
    copies = (given, groups)  # the rows given, and the distinct row of each
    config = _fit_config(model, X, len(rows), len(tasks), mode)
    data = (X, rows, torch.from_numpy(Z), present, weight)
    trained = _train(model, Trainer(config, names), mode, data, tasks, stream, copies)
    trained = agreed(current(), trained)
    model._rows_seen = seen + n_given
    _keep_fit(model, config, trained, names, mode)
    inference.set_out_of_fold(model, X, trained.out_of_fold)
    return model


def _train(model, trainer, mode, data, tasks, stream, copies):
    """What ``trainer`` trains on ``data`` (``X``, the training rows, their encoded
    targets, labels and weights) for ``tasks``: one more pass of the fitted
    network for a ``partial_fit`` that continues, else a network fitted afresh or
    from a warm start (``copies``: see
    :meth:`~sklearn_mmoe._training.engine.Trainer.fit`)."""
    if mode.continuing:
        return trainer.continue_fit(model.net_, model._numeric, *data, tasks, stream)
    warm = (model.net_, model._numeric) if mode.start == "warm" else None
    return trainer.fit(*data, tasks, model._funnel, warm, copies=copies, stream=stream)


def _fit_config(model, X, n_rows, n_tasks, mode):
    """The fit's configuration (:class:`~sklearn_mmoe._training.config.FitConfig`),
    every ``"auto"`` resolved for ``n_rows`` distinct training rows of ``X``;
    a ``partial_fit`` call that continues keeps the fitted network's and
    trains one pass of its own rows."""
    params = model.get_params(deep=False)
    group = current()  # a data-parallel fit: every rank's rows, rank 0's seed
    n_rows = int(group.sum(n_rows))
    if mode.continuing:
        config = model.fit_config_.continued(params, n_rows)
        return config.replace(seed=group.broadcast(config.seed))
    n_numeric, n_codes, texts = input_layout(model._encoder, X.shape[1])
    config = resolve(params, n_rows, n_numeric, n_codes, n_tasks, mode.partial, texts)
    return config.replace(seed=group.broadcast(config.seed))


def _task_names(model, given, n_tasks, mode):
    """The tasks' names: the first call's for a ``partial_fit`` that continues
    (whose tasks must be as many), else ``y``'s columns' (``given``) or
    ``task0``, ``task1``, ...; each distinct."""
    if mode.continuing:
        if n_tasks != model.n_outputs_:
            raise ValueError(
                "partial_fit continues the tasks of the first call, which had "
                f"{model.n_outputs_} task(s); y has {n_tasks}."
            )
        names = [str(n) for n in model.task_names_]
    elif given is None or len(given) != n_tasks:
        names = [f"task{t}" for t in range(n_tasks)]
    else:
        names = given
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"y's columns name the tasks, and {repeated} names more than one of "
            "them (as strings): give each task a distinct name."
        )
    return names


def _described_tasks(model, Y, present, where, declared, classes, mode):
    """Each task's description (its kind, classes or scaling: copies of the
    fitted ones for a ``partial_fit`` that continues, so that a call that fails
    leaves them as they were) and the labels ``Y`` encoded as its targets."""
    n_tasks = Y.shape[1]
    labels = [Y[present[:, t], t] for t in range(n_tasks)]
    targets = np.zeros(Y.shape)
    if mode.continuing:
        tasks = [copy.copy(task) for task in model._tasks]
        for t, task in enumerate(tasks):
            targets[present[:, t], t] = task.encode(labels[t], where[t])
        return tasks, targets
    group = current()  # a data-parallel fit's tasks are every rank's labels'
    pooled = labels if group.world == 1 else [pooled_labels(group, v) for v in labels]
    kinds = _task_types(model, pooled, where, declared)
    known = _partial_classes(model, classes, kinds) if mode.partial else None
    if group.world > 1:
        known = pooled_classes(group, labels, kinds, known, where)
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
    return tasks, targets


def _task_types(model, Y, where, declared):
    """Each task's kind from the (present) labels ``Y`` of each task, where the
    estimator does not fix it; ``where[t]`` names task ``t`` in errors and
    ``declared[t]`` what the dtype ``y`` gave it declares (see
    :func:`~sklearn_mmoe._tasks.kinds.declared_dtypes`), ``declared`` None for an
    array."""
    kinds = model._declared_task_types(len(Y))
    if kinds is not None:
        return kinds
    declared = declared or [None] * len(Y)
    return [infer_task_type(y, w, d) for y, w, d in zip(Y, where, declared)]


def _funnel_targets(model, names, where, tasks, targets, present, rows, mode):
    """The funnel ``task_parents`` draws over the tasks (the first call's, for a
    ``partial_fit`` that continues), kept for the network's settings, and the
    targets and labels it trains on."""
    edges = funnel_edges(getattr(model, "task_parents", None), names, tasks)
    if mode.continuing and edges != model.net_.module_.funnel_edges:
        raise ValueError(
            "partial_fit continues the funnel of the first call (task_parents "
            f"{model.net_.module_.funnel_edges} as (parent, child) columns); the "
            f"parameters now give {edges}."
        )
    targets, present = funnel_targets(edges, targets, present, rows, where)
    model._funnel = edges  # read by the network's settings
    return targets, present


def _warm_tasks(model, tasks):
    """The previous fit's tasks (and their scaling), which a warm start
    continues: the same number, kinds and classes as ``tasks``."""
    previous = model._tasks
    if len(previous) != len(tasks) or not all(
        a.same_layout(b) for a, b in zip(tasks, previous)
    ):
        raise ValueError(
            "warm_start=True needs the same tasks (their number, kinds and "
            f"classes) as the previous fit, which had {len(previous)} "
            f"task(s); y has {len(tasks)}."
        )
    return [copy.copy(task) for task in previous]


def _training_targets(model, X, rows, tasks, targets, present, weight, warm):
    """Repeated rows merged (on each task's bit-exact key of its target), each
    task's scaling fitted on its labelled rows, and the standardised targets
    ``Z`` the network trains on (0 where a label is missing)."""
    keys = np.column_stack([task.key(targets[:, t]) for t, task in enumerate(tasks)])
    rows, keys, present, weight, groups = distinct_rows(X, rows, keys, present, weight)
    targets = np.column_stack(
        [task.from_key(keys[:, t]) for t, task in enumerate(tasks)]
    )
    for t, task in enumerate(tasks):
        task.fit_scale(targets[present[:, t], t], weight[present[:, t]], warm)
    tasks = [
        task.seen(targets[present[:, t], t], widen=warm) for t, task in enumerate(tasks)
    ]
    Z = np.column_stack(
        [task.standardise(targets[:, t]) for t, task in enumerate(tasks)]
    )
    Z = np.where(present, Z, 0.0).astype(np.float32)
    return rows, present, weight, groups, tasks, Z


def _keep_fit(model, config, trained, names, mode):
    """Keep what a fit learned (``trained``, with ``config``): the net, the
    tasks as they predict, their names, the loss's task weights, the numeric
    encoding and the training record. The configuration records the encoding the
    network reads: a warm start's previous one, or robust scaling where the
    piecewise code of ``"auto"`` came out too wide."""
    kind = None if trained.numeric is None else trained.numeric["kind"]
    model.fit_config_ = config.replace(numeric_encoding=kind)
    model.net_ = trained.net
    model._numeric = trained.numeric
    model._tasks = trained.tasks
    model.n_outputs_ = len(trained.tasks)
    model.task_names_ = np.asarray(names, dtype=object)
    weights = trained.net.criterion_.weights().detach().cpu().numpy()
    model.task_weights_ = weights.astype(np.float64)
    model._set_task_attributes()
    warm = mode.start == "warm"
    record_history(model, trained.history, warm, trained.validated)
    if mode.continuing:
        return
    model.n_cv_ = config.n_cv
    record_members(model, trained.members)
    if config.capped and not mode.partial and not all(trained.converged):
        warn(
            f"{type(model).__name__} stopped after max_epochs={config.max_epochs} "
            "epochs and the loss has not converged yet; raise max_epochs or tol.",
            ConvergenceWarning,
        )


def _partial_classes(model, classes, kinds):
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


def _given_task_names(y):
    """The task names a DataFrame's columns (or a named Series) give, else None."""
    if hasattr(y, "columns"):
        return [str(c) for c in y.columns]
    if hasattr(y, "name") and hasattr(y, "iloc") and y.name is not None:
        return [str(y.name)]
    return None
