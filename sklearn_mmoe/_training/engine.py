"""The training engine: :class:`Trainer` builds the skorch net a
:class:`~sklearn_mmoe._training.config.FitConfig` describes and trains it, fresh, from
a warm start or one ``partial_fit`` pass further, as one network or a cross-fitted
ensemble, with each task's shrinkage fitted on the validation rows; it returns what
it trained as :class:`Trained`, which the estimator keeps.

What a fit does is decided before the engine runs: whether it starts fresh, warm or
continues (the estimator's fit sequence, :mod:`sklearn_mmoe._estimators.fitting`) and
its configuration (every ``"auto"`` value resolved); the engine reads both and decides
nothing again.
"""

import copy
import dataclasses
import threading

import numpy as np
import torch
from skorch.history import History

from .._distributed.group import current
from .._inputs.numeric import fit_numeric, pooled_rows, refresh_constant
from .._inputs.rows import task_row_weights
from .._inputs.tensors import (
    BatchIterator,
    FoldSplit,
    HoldOutSplit,
    TensorData,
    as_tensor,
    random_folds,
)
from .._network.crossfit import CrossFitModule, network_class
from .._network.interactions import SPARSE_LR_SCALE
from .._network.memory import check_fits, network_on_meta, rows_per_chunk
from .._network.text import TEXT_MODULES
from .._utils import checks as _checks
from .average import WeightAveraging
from .loss import MultiTaskLoss
from .monitor import EarlyStopping
from .net import MultiTaskNet
from .optimizer import RowSparseAdamW
from .progress import ProgressDisplay
from .schedule import LearningRateScheduler

# Fraction of the budget over which the cosine schedule warms up.
_WARMUP = 0.05
# The learned log-variances of task_weights="uncertainty" take steps this many times
# the network's: one number per task that tracks its loss's level (its optimum is the
# log of the task's loss), which at the network's step size moves by about one per
# thousand steps, too slow to settle within the "auto" budget of at most 2,000 steps.
_LOG_VARIANCE_LR = 10.0
# Held while a network is initialised from torch's process-wide generator.
_INITIALISING = threading.Lock()


@dataclasses.dataclass
class Trained:
    """What a fit trained, for the estimator to keep.

    ``net``: the skorch net that predicts; ``tasks``: the tasks as they predict from
    it (with their shrinkage); ``numeric``: the numeric encoding it reads;
    ``history``: the epochs the fit's record reads (the selection run's, for a refit;
    the first member's, for a cross-fitted ensemble); ``validated``: whether those
    epochs hold validation losses; ``converged``: whether each network stopped on its
    own; ``members``: for a cross-fitted ensemble, each member's epochs and best
    validation score; ``out_of_fold``: what predicts each given row out of fold
    (see :meth:`Trainer.fit`), else None.
    """

    net: object
    tasks: list
    numeric: object
    history: object
    validated: bool
    converged: list
    members: tuple = None
    out_of_fold: tuple = None


class Trainer:
    """Builds and trains the skorch net of a fit's configuration.

    Parameters
    ----------
    config : FitConfig
        The fit's configuration, every ``"auto"`` value resolved.
    task_names : sequence
        The tasks' names, for the progress display.
    """

    def __init__(self, config, task_names):
        self.config = config
        self.task_names = [str(name) for name in task_names]
        self.device = torch.device(config.device)

    def fit(
        self,
        X,
        rows,
        Y,
        present,
        weight,
        tasks,
        funnel_edges,
        warm=None,
        copies=None,
        stream=None,
    ):
        """Train a network for ``tasks`` on rows ``rows`` of ``X``, with encoded
        targets ``Y`` (a tensor), labels ``present`` and row weights ``weight``;
        ``warm``: a warm start's ``(net, numeric encoding)``; ``copies``: the
        rows given and the distinct row each was merged into (for a cross-fitted
        ensemble's out-of-fold predictor); ``stream``: what a ``partial_fit``
        pass reports. Returns :class:`Trained`."""
        c = self.config
        data = _training_data(X, rows, Y, present, weight, self.device)
        numeric = self._numeric(X, rows, Y, present, weight, tasks, warm)
        module_params = c.module_params(tasks, numeric, funnel_edges)
        warm_net = None if warm is None else warm[0]
        if c.n_cv > 1:
            given = (copies, X.shape[0])
            trained = self._fit_members(
                data, tasks, module_params, warm_net, stream, given
            )
        else:
            trained = self._fit_single(data, tasks, module_params, warm_net, stream)
        trained.numeric = numeric
        return trained

    def continue_fit(self, net, numeric, X, rows, Y, present, weight, tasks, stream):
        """``partial_fit`` after a fit: the fitted ``net`` (each member of an
        ensemble) trained one more pass, its numeric encoding ``numeric``'s constant
        columns refreshed; the tasks predict the network's outputs unshrunk."""
        data = _training_data(X, rows, Y, present, weight, self.device)
        refreshed = _refreshed(numeric, X, rows, weight, self.config)
        net = self._continue_net(net, data, stream, numeric, refreshed)
        tasks = [task.unshrunk() for task in tasks]
        return Trained(
            net=net,
            tasks=tasks,
            numeric=refreshed,
            history=net.history,
            validated=False,
            converged=[True],
        )

    def _numeric(self, X, rows, Y, present, weight, tasks, warm):
        """The numeric columns' encoding: fitted (the bins read the tasks' labels),
        or a warm start's previous one, a column constant then refreshed where it
        varies now."""
        c = self.config
        if warm is not None:
            return _refreshed(warm[1], X, rows, weight, c)
        labels = None
        if c.numeric_encoding == "piecewise":
            labels = np.where(present, Y.numpy().astype(np.float64), np.nan)
        if c.numeric_encoding is not None and c.n_numeric:
            X, rows, weight, labels = _statistics_rows(X, rows, weight, labels, c)
        targets = None if labels is None else (labels, [task.kind for task in tasks])
        return fit_numeric(
            X,
            rows,
            weight,
            c.n_numeric,
            c.numeric_encoding,
            targets,
            c.seed,
            max_width=c.numeric_max_width,
        )

    def _schedule(self, **changes):
        """The net's budget: epochs, batch size, learning-rate schedule and
        validation split, as the configuration gives them, with ``changes``."""
        c = self.config
        split = (
            HoldOutSplit(c.validation_fraction, c.seed) if c.early_stopping else None
        )
        schedule = dict(
            max_epochs=c.max_epochs,
            batch_size=c.batch_size,
            lr_schedule=c.learning_rate_schedule,
            schedule_epochs=None,
            train_split=split,
        )
        return {**schedule, **changes}

    def _fit_single(self, data, tasks, module_params, warm_net, stream):
        """One network trained on ``data`` (from ``warm_net``'s weights for a warm
        start); with early stopping, each task's shrinkage chosen on the held-out
        rows, and for ``refit``, the network trained again on every row."""
        c = self.config
        schedule = self._schedule()
        net = self._new_net(module_params, c.seed, schedule, c.patience, stream)
        start = _member_of(warm_net, 0, 1)
        if start is not None:
            _load_start(net, start)
        _train(net, data, self.device, c.seed)
        trained = Trained(
            net=net,
            tasks=[task.unshrunk() for task in tasks],
            numeric=None,  # fit's, which fitted it
            history=net.history,
            validated=c.early_stopping,
            converged=[_callback(net, "stopping").converged_],
        )
        if not c.early_stopping:
            return trained
        _, valid = net.train_split(data)
        trained.tasks = _shrunk_on(net, valid, tasks)
        if c.refit:
            trained.net = self._refit_net(
                net, data, start, module_params, c.seed, stream
            )
        return trained

    def _fit_members(self, data, tasks, module_params, warm_net, stream, given):
        """A cross-fitted ensemble: member ``k`` (initialised, shuffled and dropped
        out from a seed of its own) trains on every fold of ``data``'s rows but the
        ``k``-th, stopped early on that one, which also fits its shrinkage; with
        ``refit``, each member trains again on every row for its own epochs. The
        members become one :class:`~sklearn_mmoe._network.crossfit.CrossFitModule`
        net, returned with the tasks unshrunk (the module shrinks each member's
        outputs); ``out_of_fold`` holds each given row's fold (``given``: see
        :func:`_given_folds`) and the members early stopping kept."""
        c = self.config
        folds = random_folds(len(data), c.n_cv, current().seed(c.seed))
        nets, selected, shrink, scores, epochs, converged = [], [], [], [], [], []
        for k in range(c.n_cv):
            seed = _member_seed(c.seed, k)
            net = self._member_net(module_params, folds, k, stream)
            start = _member_of(warm_net, k, c.n_cv)
            if start is not None:
                _load_start(net, start)
            _train(net, data, self.device, seed)
            if k == 0:  # the fit's record: the first member's selection run
                history = net.history
            _, valid = net.train_split(data)
            shrunk = _shrunk_on(net, valid, tasks)
            shrink.append([getattr(task, "shrink", 1.0) for task in shrunk])
            scores.append(-min(float(v) for v in net.history[:, "valid_loss"]))
            epochs.append(len(net.history))
            selected.append(net.module_)
            converged.append(_callback(net, "stopping").converged_)
            if c.refit:
                net = self._refit_net(net, data, start, module_params, seed, stream)
            nets.append(net)
        ensemble = self._ensemble_net(nets, shrink, module_params)
        # the out-of-fold predictions are those of the members early stopping kept
        # (a refit member has trained on every row)
        kept = CrossFitModule.of(selected, shrink) if c.refit else ensemble.module_
        members = (
            np.asarray(epochs, dtype=np.int64),
            np.asarray(scores, dtype=np.float64),
        )
        tasks = [task.unshrunk() for task in tasks]
        trained = Trained(
            net=ensemble,
            tasks=tasks,
            numeric=None,  # fit's, which fitted it
            history=history,
            validated=True,
            converged=converged,
            members=members,
            out_of_fold=(_given_folds(folds, *given), kept),
        )
        return trained

    def _member_net(self, module_params, folds, k, stream):
        """Member ``k``'s net: trained on every fold but the ``k``-th, stopped early
        on it, in batches of its own training rows (the budget's size is that of a
        fold of average size: a member of one row more would take a batch of that
        one row in every epoch)."""
        c = self.config
        schedule = self._schedule(
            train_split=FoldSplit(folds, k),
            # (every rank's member rows, in a data-parallel fit)
            batch_size=c.batch_for(int(current().sum((folds != k).sum()))),
        )
        seed = _member_seed(c.seed, k)
        net = self._new_net(module_params, seed, schedule, c.patience, stream)
        _callback(net, "progress").member = (k, c.n_cv)
        return net

    def _ensemble_net(self, nets, shrink, module_params):
        """The net that predicts with the trained member ``nets`` together, each
        output scaled by its ``shrink`` factors (members x tasks); its loss's
        learned task weights are the members' mean, its history the first
        member's."""
        c = self.config
        params = {**module_params, "n_members": len(nets)}
        schedule = self._schedule()
        net = self._new_net(params, c.seed, schedule, c.patience, sized=False)
        with torch.no_grad():
            for member, trained in zip(net.module_.members, nets):
                member.load_state_dict(trained.module_.state_dict())
            net.module_.shrink.copy_(torch.tensor(shrink, dtype=torch.float32))
            net.criterion_.load_state_dict(nets[0].criterion_.state_dict())
            learned = getattr(net.criterion_, "log_variances", None)
            if learned is not None:
                mean = torch.stack([n.criterion_.log_variances for n in nets]).mean(0)
                learned.copy_(mean)
        net.module_.eval()
        net.history_ = nets[0].history
        return net

    def _refit_net(self, selected, data, start, module_params, seed, stream):
        """A net trained again, from where ``selected`` (early stopping's fit)
        started, on every row of ``data`` for the epochs ``selected`` kept (its best
        epoch's number), at the learning rates those epochs had. The training
        record (``n_iter_``, ``loss_curve_``, the validation curves) stays the
        selection fit's: it is how the epochs were chosen."""
        epochs = _callback(selected, "stopping").best_epoch_
        # the learning rates of the selection fit's epochs, epoch for epoch (a
        # schedule spread over the kept epochs alone scored worse on small tables)
        schedule = self._schedule(
            max_epochs=epochs, schedule_epochs=selected.max_epochs, train_split=None
        )
        # a patience longer than the run: it trains every one of its epochs
        net = self._new_net(module_params, seed, schedule, epochs + 1, stream)
        progress = _callback(net, "progress")
        progress.refit_rows = len(data)
        progress.member = _callback(selected, "progress").member
        if start is not None:
            _load_start(net, start)
        _train(net, data, self.device, seed)
        return net

    def _new_net(
        self, module_params, seed, schedule, patience, stream=None, sized=True
    ):
        """The skorch net of the configuration for a module of ``module_params``,
        initialised (seeded by ``seed``) once ``sized`` has checked that it fits in
        the device's memory to train; ``schedule`` holds its ``max_epochs``,
        ``batch_size``, ``train_split``, and its learning rates' ``lr_schedule`` and
        ``schedule_epochs``; ``patience`` goes to its early stopping, ``stream`` to
        its progress display."""
        c = self.config
        schedule = dict(schedule)
        verbose = c.verbose if current().rank == 0 else 0  # one rank reports
        rates = LearningRateScheduler(
            schedule.pop("lr_schedule"), _WARMUP, schedule.pop("schedule_epochs")
        )
        net = MultiTaskNet(
            module=network_class(module_params),
            **{f"module__{k}": v for k, v in module_params.items()},
            criterion=MultiTaskLoss,
            **_criterion_params(c, module_params),
            **_optimizer_params(c, module_params),
            **_iterator_params(seed, self.device),
            **schedule,
            # in this order: the display reports each epoch as the stopping rule
            # judged it (the epoch that stops training at on_train_end), and the
            # best weights are restored after the average's are in
            callbacks=[
                ("schedule", rates),
                ("average", WeightAveraging(c.ema_decay)),
                ("stopping", EarlyStopping(patience, c.tol)),
                ("progress", ProgressDisplay(verbose, self.task_names, rows=stream)),
            ],
            device=str(self.device),
        )
        _initialise(
            net, module_params, schedule["batch_size"], self.device, seed, sized
        )
        return net

    def restored(self, module_params, module_state, criterion_state, history):
        """The net of a model read from a file (:func:`sklearn_mmoe.load`): built
        for ``module_params`` (on the configuration's device: the CPU, where a file
        loads), with the saved weights (every tensor the network has, of its shape
        and dtype; the loss's fixed buffers equal to those its settings give) and
        epoch ``history``."""
        schedule = self._schedule(
            max_epochs=1, batch_size=1, lr_schedule="constant", train_split=None
        )
        # the file's own tensors bound its size (see sklearn_mmoe._export.restore)
        patience = self.config.patience
        net = self._new_net(module_params, 0, schedule, patience, sized=False)
        _load_exactly(net.module_, module_state, "the network", fixed_buffers=False)
        _load_exactly(net.criterion_, criterion_state, "the loss", fixed_buffers=True)
        net.module_.eval()
        net.history_ = History([dict(row) for row in history])
        return net

    def _continue_net(self, net, data, stream, numeric, refreshed):
        """One more pass of ``partial_fit`` over ``data``, continuing the weights and
        the optimiser's state, with the numeric encoding ``refreshed`` (``numeric``,
        the fitted one, or that with a constant column refreshed); if it raises or
        is interrupted, all three are put back, and the net's settings. ``stream``
        (rows of the call, rows seen) is what the pass reports."""
        parts = (net.module_, net.criterion_, net.optimizer_)
        saved = [copy.deepcopy(part.state_dict()) for part in parts]
        settings, n_epochs = _pass_settings(net), len(net.history)
        if isinstance(net.module_, CrossFitModule):
            # the members' shrinkage was chosen for the weights as they were
            # (a single network's tasks drop theirs too: continue_fit)
            with torch.no_grad():
                net.module_.shrink.fill_(1.0)
        self._set_pass(net, stream, n_epochs)
        changed = refreshed is not numeric
        try:
            if changed:
                _refit_numeric(net.module_, refreshed)
            net.partial_fit(data)
        except BaseException:
            if changed:
                _refit_numeric(net.module_, numeric)
            for part, state in zip(parts, saved):
                part.load_state_dict(state)
            _set_pass_settings(net, settings)
            del net.history[n_epochs:]
            raise
        finally:
            net.module_.generator = None
            net.module_.eval()
        return net

    def _set_pass(self, net, stream, n_epochs):
        """Set ``net`` for one pass at a constant rate over every row of the call,
        in batches of them (a first chunk of one row does not fix batches of 1),
        shuffled and dropped out with draws of the call's own."""
        seed, batch = self.config.seed, self.config.batch_size
        _set_pass_settings(
            net, (1, None, batch, "constant", stream, seed + 1 + n_epochs)
        )
        net.module_.generator = torch.Generator(device=self.device).manual_seed(
            seed + 2 + n_epochs
        )


def _pass_settings(net):
    """What a ``partial_fit`` pass sets on ``net`` (see :func:`_set_pass_settings`),
    as it is now."""
    return (
        net.max_epochs,
        net.train_split,
        net.batch_size,
        _callback(net, "schedule").kind,
        _callback(net, "progress").rows,
        getattr(net, "iterator_train__seed", None),
    )


def _set_pass_settings(net, settings):
    """Set ``net``'s epochs, split, batch size, schedule, the rows its progress
    reports and its shuffling seed to ``settings``."""
    net.max_epochs, net.train_split, net.batch_size, kind, rows, seed = settings
    _callback(net, "schedule").kind = kind
    _callback(net, "progress").rows = rows
    net.iterator_train__seed = seed


def _criterion_params(config, module_params):
    """The loss's settings, as the net's ``criterion__`` parameters."""
    params = dict(
        kinds=module_params["kinds"],
        task_weights=config.task_weights,
        balance_weight=config.balance_weight,
        penalty_weight=config.embedding_l2,
        calibration_weight=config.calibration_weight(module_params["funnel_edges"]),
    )
    return {f"criterion__{k}": v for k, v in params.items()}


def _optimizer_params(config, module_params):
    """AdamW (whose text tables step only the rows a batch read) and its
    settings, as the net's ``optimizer`` parameters."""
    return dict(
        optimizer=RowSparseAdamW,
        lr=config.learning_rate,
        optimizer__weight_decay=config.weight_decay,
        # One fused kernel per update, on the CPU as on CUDA: foreach loops over
        # the parameters there, several operations per parameter and step
        # (benchmarks/large_tables.py's "optimizer" part times both).
        optimizer__fused=True,
        optimizer__param_groups=_param_groups(config, module_params["interactions"]),
    )


def _param_groups(config, wide):
    """The optimiser's groups beside the network's: learned log-variances
    (``task_weights="uncertainty"``) are not shrunk towards zero and step faster
    than the network (see _LOG_VARIANCE_LR); with the wide part on (``wide``),
    the codes' rows step :data:`~sklearn_mmoe._network.interactions.SPARSE_LR_SCALE`
    times faster, shrunk by ``embedding_l2`` instead of weight decay; a text
    encoder's tables step at their own rates (its ``lr_scales``, see
    :mod:`sklearn_mmoe._network.text`), without weight decay."""
    scales = {}
    if isinstance(config.task_weights, str):
        scales["log_variances"] = _LOG_VARIANCE_LR
    if wide:  # a network's, or each member's of a cross-fitted ensemble
        scales["*interactions.*"] = SPARSE_LR_SCALE
        scales["*encoder.embedding_weight"] = SPARSE_LR_SCALE
    for name in {text[0] for text in config.texts}:  # each text encoder's own
        scales.update(TEXT_MODULES[name].lr_scales)
    return [
        (
            pattern,
            {"weight_decay": 0.0, "lr": config.learning_rate * s, "lr_scale": s},
        )
        for pattern, s in scales.items()
    ]


def _given_folds(folds, copies, n_given):
    """Each of the ``n_given`` rows' fold (the member that did not train on it, -1
    for none) from the distinct rows' ``folds``; ``copies``: the rows that trained
    and the distinct row each was merged into."""
    given, groups = copies
    of_rows = np.full(n_given, -1, dtype=np.int64)
    of_rows[given] = folds[groups]
    return of_rows


def _load_start(net, start):
    """Start ``net`` from a warm start's ``start`` (a ``(module, criterion)``
    pair: see :func:`_member_of`)."""
    module, criterion = start
    try:
        net.module_.load_state_dict(module.state_dict())
    except RuntimeError as exc:
        raise ValueError(
            "warm_start=True continues the previous fit, which needs the same "
            "features, tasks (and classes) and network shape as that fit."
        ) from exc
    learned = getattr(criterion, "log_variances", None)
    if learned is not None and net.criterion_.uncertainty:
        with torch.no_grad():  # the learned task weights continue too
            net.criterion_.log_variances.copy_(learned)


def _iterator_params(seed, device):
    """The net's batch iterators: shuffled training batches drawn from a generator
    of their own (seeded from ``seed``), validation batches in order."""
    return dict(
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__seed=seed + 1,
        iterator_train__device=str(device),
        iterator_valid=BatchIterator,
        iterator_valid__device=str(device),
    )


def _initialise(net, module_params, batch_size, device, seed, sized):
    """Initialise ``net``'s network, seeded by ``seed``, once ``sized`` has checked
    that it fits in ``device``'s memory to train in batches of ``batch_size``."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    # Initialisation draws from the process-wide torch generator (torch.nn's way),
    # so it runs seeded inside fork_rng, which leaves the caller's random state as
    # it was, and under a lock, so that fits in other threads cannot draw from it
    # meanwhile; float32 whatever the caller set as torch's default dtype.
    with _INITIALISING, torch.random.fork_rng(devices=cuda):
        dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.float32)
        try:
            if sized:  # what the network will take, before it takes it
                _check_size(module_params, batch_size, device)
            torch.manual_seed(seed)
            net.initialize()
        finally:
            torch.set_default_dtype(dtype)


def _training_data(X, rows, Y, present, weight, device):
    """The rows a fit trains on, as tensors (on ``device`` when they fit there, else
    pinned batches): the inputs, the encoded targets ``Y``, each task's row weights
    (labels ``present`` times ``weight``) and which row of ``X`` each is."""
    W = task_row_weights(weight, present)
    return TensorData(
        as_tensor(X),
        Y,
        None if W is None else torch.from_numpy(W),
        torch.from_numpy(rows),
    ).placed(device)


def _refit_numeric(module, numeric):
    """The numeric encoding of ``module`` (a network, or every member of a
    cross-fitted ensemble) refreshed to ``numeric``."""
    if isinstance(module, CrossFitModule):
        module.refit_numeric(numeric)
    else:
        module.encoder.refit_numeric(numeric)


def _member_seed(seed, k):
    """Member ``k``'s seed (its initial weights, shuffling and dropout): the
    fit's for the first, others of their own."""
    return seed if k == 0 else int((seed + 104_729 * k) % np.iinfo(np.int32).max)


def _member_of(warm_net, k, n_members):
    """What member ``k`` of ``n_members`` of a warm fit starts from, as a
    ``(module, criterion)`` pair: the previous fit's network, or its member ``k``
    when it was a cross-fitted ensemble of as many; None without a previous fit."""
    if warm_net is None:
        return None
    module = warm_net.module_
    had = len(module.members) if isinstance(module, CrossFitModule) else 1
    if had != n_members and had != 1:
        raise ValueError(
            f"warm_start=True continues each of the previous fit's {had} members "
            f"(n_cv={had}); this fit has n_cv={n_members}. Fit with n_cv={had}, or "
            "with warm_start=False."
        )
    if had > 1:
        module = module.members[k]
    return module, warm_net.criterion_


def _train(net, data, device, seed):
    """Train ``net`` on ``data``; training draws from generators of its own:
    shuffling (the iterator's) and dropout (the module's, seeded from ``seed``)."""
    seed = current().seed(seed)  # each rank's own dropout
    net.module_.generator = torch.Generator(device=device).manual_seed(seed + 2)
    try:
        net.partial_fit(data)
    finally:
        net.module_.generator = None
    net.module_.eval()


def _shrunk_on(net, valid, tasks):
    """``tasks`` with each one's output shrinkage fitted on the validation rows
    ``valid`` (see :meth:`sklearn_mmoe._tasks.kinds.RegressionTask.fit_shrink`;
    in a data-parallel fit, on every rank's, each rank adding its own to the
    factor's sums)."""
    module = net.module_
    out = Y = W = None  # a rank of a data-parallel fit with none of its rows
    if len(valid):
        outs, targets, weights = [], [], []
        with torch.inference_mode():
            chunk = rows_per_chunk(module)
            for Xb, Yb, Wb in BatchIterator(valid, chunk, device=net.device):
                outs.append(module(Xb).outputs.float())
                targets.append(Yb)
                weights.append(torch.ones_like(Yb) if Wb is None else Wb)
            out, Y, W = torch.cat(outs), torch.cat(targets), torch.cat(weights)
    if current().world > 1:
        out, Y, W = _or_empty(out, Y, W, len(tasks), net.device)
    # out of inference mode: the factor's derivatives are taken by autograd
    out, Y, W = out.clone(), Y.clone(), W.clone()
    return [
        task.fit_shrink(out[:, t], Y[:, t], W[:, t].to(out.dtype))
        for t, task in enumerate(tasks)
    ]


def _or_empty(out, Y, W, n_tasks, device):
    """A data-parallel rank's validation outputs, targets and weights, or none of
    them (of the outputs' width on the ranks that have rows)."""
    width = int(current().max(0 if out is None else out.shape[-1]))
    if out is not None:
        return out, Y, W
    nothing = torch.zeros((0, n_tasks), device=device)
    return torch.zeros((0, n_tasks, width), device=device), nothing, nothing


def _statistics_rows(X, rows, weight, labels, config):
    """The rows the numeric encoding's statistics read: ``rows`` of ``X`` (with
    their ``weight`` and ``labels``), or in a data-parallel fit every rank's
    share of them, the same on each."""
    if current().world == 1:
        return X, rows, weight, labels
    return pooled_rows(X, rows, weight, labels, config.n_numeric, config.seed)


def _refreshed(numeric, X, rows, weight, config):
    """The numeric encoding ``numeric`` with its constant columns refreshed from
    rows ``rows`` of ``X`` (see :func:`_statistics_rows`)."""
    if numeric is not None and numeric["constant"].any():
        X, rows, weight, _ = _statistics_rows(X, rows, weight, None, config)
    return refresh_constant(numeric, X, rows, weight)


def _load_exactly(part, state, what, fixed_buffers):
    """Load ``state`` into the module ``part``: the same names, shapes and dtypes as
    its own tensors, or a ValueError naming the first that differs; with
    ``fixed_buffers``, its buffers (derived from its settings) must equal the
    file's rather than be loaded."""
    own = part.state_dict()
    _checks.tensors_like(own, state, what)
    if fixed_buffers:
        for name, _ in part.named_buffers():
            if name in state and not torch.equal(state[name], own[name]):
                raise ValueError(f"{what}'s {name} is not what its settings give")
    part.load_state_dict(state, strict=True)


def _check_size(module_params, batch_size, device):
    """Refuse, with the sizes, a network of ``module_params`` that would not fit in
    ``device``'s memory to train in batches of ``batch_size`` rows, before any of it
    is allocated: it is built on the meta device first. An expert module of the
    user's own that cannot be built there is sized by its real build instead."""
    try:
        sized = network_on_meta(network_class(module_params), module_params)
    except Exception as exc:
        if not isinstance(module_params["expert_type"], str):
            return
        if isinstance(exc, RuntimeError) and "overflow" in str(exc):
            raise ValueError(
                "This network's sizes are too large for any machine: a weight "
                f"would have more values than an index can count ({exc}). Lower "
                "n_experts, expert_units, tower_units, token_dim or n_blocks."
            ) from exc
        raise
    check_fits(sized, batch_size, device)


def _callback(net, name):
    """The net's callback named ``name``: ``"schedule"``, ``"average"``,
    ``"stopping"`` or ``"progress"``."""
    return dict(net.callbacks_)[name]
