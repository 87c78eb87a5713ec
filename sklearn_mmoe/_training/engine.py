"""The training engine shared by every estimator: the skorch net built for a fit, its
training budget and schedule, a fresh, warm or continuing fit, the epoch history kept
as fitted attributes and the shrinkage fitted on the validation rows.

What a fit does is decided once, at the top of the shared fit sequence
(:class:`FitMode`); the engine reads that decision and the estimator's
hyper-parameters, and returns the trained net with the tasks as they predict from it.
"""

import copy
import threading

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from skorch.history import History

from .._inputs.numeric import fit_numeric, refresh_constant
from .._inputs.rows import task_row_weights
from .._inputs.tensors import (
    BatchIterator,
    FoldSplit,
    HoldOutSplit,
    TensorData,
    as_tensor,
    n_validation,
    random_folds,
)
from .._network.crossfit import CrossFitModule, network_class
from .._network.interactions import SPARSE_LR_SCALE, embedding_penalty, resolve_wide
from .._network.memory import check_fits, network_on_meta, rows_per_chunk
from .._tasks.funnels import FUNNELS
from .._utils import checks as _checks
from .._utils.warn import warn
from .loss import MultiTaskLoss
from .monitor import EpochMonitor
from .net import MultiTaskNet

# The "auto" training budget, chosen on the suite of benchmarks/defaults.py: batches of
# _AUTO_BATCH rows, _STEPS_PER_ROW optimiser steps per training row within [_MIN_STEPS,
# _MAX_STEPS], and at least _MIN_EPOCHS epochs. Tiny tables are memorised within a
# hundred steps or so (more overfit them, and would slow scikit-learn's checks, which
# fit about 160 times on up to 200 rows); from 1,000 rows on, 2,000 steps. The floor of
# epochs binds from 25,600 training rows on (100 batches per epoch), where census at
# 60,000 rows scored the same in 10 epochs as in 20, in less time (benchmarks/README.md,
# "Constants").
_AUTO_BATCH = 256
_STEPS_PER_ROW = 2
_MIN_STEPS = 100
_MAX_STEPS = 2000
_MIN_EPOCHS = 10
# early_stopping="auto" holds out a validation split from this many (distinct) training
# rows on, and keeps the best epoch's weights: a small noisy table trained to the end of
# its budget ended far below a constant prediction. Below _EARLY_STOPPING_ROWS an "auto"
# budget waits 1 / _PATIENCE_SHARE of its epochs for a better one (an epoch is one or
# two steps there, so n_iter_no_change epochs would stop it within its warm-up; a
# shorter share stopped small tables early, a longer one slowed scikit-learn's checks:
# benchmarks/README.md, "Constants"); from there on it stops after n_iter_no_change
# epochs without improvement.
_EARLY_STOPPING_MIN_ROWS = 20
# validation_fraction="auto" holds out 20 % of fewer than _SMALL_TABLE_ROWS (distinct)
# training rows, 10 % from there on. The shrinkage of each output and the best epoch are
# chosen on these rows: a tenth of a small table chose a pure-noise task's shrinkage too
# noisily, while the suite's small tables scored the same either way
# (benchmarks/README.md, "Constants"). RealMLP and TabM hold out a fifth at every size.
_SMALL_TABLE_ROWS = 5_000
_SMALL_TABLE_FRACTION, _LARGE_TABLE_FRACTION = 0.2, 0.1
_PATIENCE_SHARE = 3
_EARLY_STOPPING_ROWS = 1_000
# refit="auto" trains again on every row below this many (distinct) rows.
_REFIT_ROWS = 5_000
# Fraction of the budget over which the cosine schedule warms up.
_WARMUP = 0.05
# The learned log-variances of task_weights="uncertainty" take steps this many times
# the network's: one number per task that tracks its loss's level (its optimum is the
# log of the task's loss), which at the network's step size moves by about one per
# thousand steps, too slow to settle within the "auto" budget of at most 2,000 steps.
_LOG_VARIANCE_LR = 10.0
# Held while a network is initialised from torch's process-wide generator.
_INITIALISING = threading.Lock()


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


class _EngineMixin:
    """Builds and trains the estimator's skorch net; reads the hyper-parameters and
    the inputs mixin's ``_embeddings``."""

    def _fit_net(
        self,
        X,
        rows,
        Y,
        present,
        weight,
        tasks,
        names,
        mode,
        stream=None,
        copies=None,
    ):
        """Build (or warm-start, or continue, as ``mode`` says) the skorch net for
        ``tasks`` (named ``names``) and train it on rows ``rows`` of ``X``, with
        encoded targets ``Y`` (a tensor), labels ``present`` and row weights
        ``weight``; return it with the tasks as they predict from it (each regression
        and count task's shrinkage towards its mean fitted on the validation rows,
        when there are some) and, for a cross-fitted ensemble, what predicts its
        rows out of fold (see :meth:`_fit_members`; ``copies``, the rows given and
        the distinct row each was merged into), else None."""
        n_numeric = X.shape[1] - len(self._embeddings())
        module_params = self._module_params(n_numeric, tasks)
        task_weights = self._check_task_weights(len(tasks))
        device = self._check_device()
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        data = _training_data(X, rows, Y, present, weight, device)
        if mode.continuing:
            return self._continue_fit(
                data, X, rows, weight, tasks, device, seed, stream
            )
        previous = self.net_ if mode.start == "warm" else None
        early_stopping, batch_size, max_epochs = self._budget(len(rows))
        patience = self._patience(len(rows), early_stopping, max_epochs)
        if mode.partial:  # one pass at a constant rate, every row trains
            early_stopping, max_epochs = False, 1
        self._numeric = self._fitted_numeric(
            X, rows, Y, present, weight, n_numeric, tasks, seed, previous
        )
        module_params["numeric"] = self._numeric
        build = (module_params, task_weights, device, seed, names)
        schedule = dict(
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr_schedule="constant" if mode.partial else self.learning_rate_schedule,
            train_split=(
                HoldOutSplit(self._validation_fraction(len(rows)), seed)
                if early_stopping
                else None
            ),
        )
        n_members = self._n_members(len(rows), early_stopping, mode)
        self.n_cv_ = n_members
        if n_members > 1:
            return self._fit_members(
                data, tasks, previous, build, schedule, patience, stream, copies, X
            )
        self._forget_members()
        return self._fit_single(
            data, tasks, previous, build, schedule, patience, stream, mode, len(rows)
        )

    def _continue_fit(self, data, X, rows, weight, tasks, device, seed, stream):
        """``partial_fit`` after a fit: the fitted network (each member of an
        ensemble) trained one more pass on ``data``, the numeric encoding's constant
        columns refreshed; the tasks predict the network's outputs unshrunk."""
        if isinstance(self.net_.module_, CrossFitModule):
            # the members' shrinkage was chosen for the weights as they were
            # (a single network's tasks drop theirs too: below)
            with torch.no_grad():
                self.net_.module_.shrink.fill_(1.0)
        numeric = refresh_constant(self._numeric, X, rows, weight)
        net = self._continue_net(self.net_, data, device, seed, stream, numeric)
        self._numeric = numeric
        return net, [task.unshrunk() for task in tasks], None

    def _fitted_numeric(
        self, X, rows, Y, present, weight, n_numeric, tasks, seed, previous
    ):
        """The numeric columns' encoding: fitted (the binning reads the tasks'
        labels), or a warm start's previous one, a column constant then refreshed
        where it varies now."""
        if previous is not None:
            return refresh_constant(self._numeric, X, rows, weight)
        targets = None
        if self.numeric_encoding in ("auto", "piecewise"):
            labels = np.where(present, Y.numpy().astype(np.float64), np.nan)
            targets = (labels, [task.kind for task in tasks])
        return fit_numeric(
            X, rows, weight, n_numeric, self.numeric_encoding, targets, seed
        )

    def _fit_single(
        self, data, tasks, previous, build, schedule, patience, stream, mode, n_rows
    ):
        """One network trained on ``data`` (``n_rows`` distinct rows; from
        ``previous``'s weights for a warm start; ``schedule``, ``patience`` and
        ``stream`` as :meth:`_new_net` takes them); with early stopping, each
        task's shrinkage chosen on the held-out rows, and for ``refit``, the network
        trained again on every row."""
        _, _, device, seed, _ = build
        early_stopping = schedule["train_split"] is not None
        net = self._new_net(*build, schedule, patience, stream)
        if previous is not None:
            self._load_previous(net, _member_of(previous, 0, 1))
        _train(net, data, device, seed)
        self._record_history(net.history, previous is not None, early_stopping)
        if not mode.partial:
            self._warn_unconverged([_monitor(net).converged_], schedule["max_epochs"])
        if not early_stopping:
            return net, [task.unshrunk() for task in tasks], None
        _, valid = net.train_split(data)
        tasks = _shrunk_on(net, valid, tasks)
        if self._refits(n_rows):
            start = _member_of(previous, 0, 1)
            net = self._refit_net(net, data, start, build, schedule, stream)
        return net, tasks, None

    def _n_members(self, n_rows, early_stopping, mode):
        """Networks the fit trains: ``n_cv``, or one for ``partial_fit`` and where
        ``"auto"`` early stopping holds nothing out (fewer than 20 rows)."""
        n_cv = self.n_cv
        if n_cv == 1 or mode.partial:
            return 1
        if self.early_stopping is False:
            raise ValueError(
                f"n_cv={n_cv} stops each member early on its held-out fold, and "
                "early_stopping=False holds nothing out: pass early_stopping=True "
                "or 'auto', or n_cv=1."
            )
        if not early_stopping:
            return 1
        if n_cv > n_rows:
            raise ValueError(
                f"n_cv={n_cv} folds need at least {n_cv} training rows; got "
                f"n_samples = {n_rows} (distinct rows: identical rows with the same "
                "labels are merged). Lower n_cv."
            )
        return n_cv

    def _fit_members(
        self, data, tasks, previous, build, schedule, patience, stream, copies, X
    ):
        """A cross-fitted ensemble: member ``k`` (initialised, shuffled and dropped
        out from a seed of its own) trains on every fold of ``data``'s rows but the
        ``k``-th, stopped early on that one, which also fits its shrinkage; with
        ``refit``, each member trains again on every row for its own epochs. The
        members become one :class:`~sklearn_mmoe._network.crossfit.CrossFitModule` net;
        returned with the tasks (unshrunk: the module shrinks each member's
        outputs) and the out-of-fold predictor: the member that did not train on
        each row of ``X`` (-1 for none) and the members early stopping kept."""
        module_params, task_weights, device, seed, names = build
        n_members = self.n_cv_
        folds = random_folds(len(data), n_members, seed)
        nets, selected, shrink, scores, epochs, converged = [], [], [], [], [], []
        for k in range(n_members):
            member = (module_params, task_weights, device, _member_seed(seed, k), names)
            # batches of the member's own training rows (the budget's size is
            # that of a fold of average size: a member of one row more would take
            # a batch of that one row in every epoch)
            split = {
                **schedule,
                "train_split": FoldSplit(folds, k),
                "batch_size": self._batch(int((folds != k).sum())),
            }
            net = self._new_net(*member, split, patience, stream)
            _monitor(net).member = (k, n_members)
            start = _member_of(previous, k, n_members)
            if start is not None:
                self._load_previous(net, start)
            _train(net, data, device, member[3])
            if k == 0:
                self._record_history(net.history, previous is not None, True)
            _, valid = net.train_split(data)
            shrunk = _shrunk_on(net, valid, tasks)
            shrink.append([getattr(task, "shrink", 1.0) for task in shrunk])
            scores.append(-min(float(v) for v in net.history[:, "valid_loss"]))
            epochs.append(len(net.history))
            selected.append(net.module_)
            converged.append(_monitor(net).converged_)
            if self._refits(len(data)):
                net = self._refit_net(net, data, start, member, schedule, stream)
            nets.append(net)
        self._warn_unconverged(converged, schedule["max_epochs"])
        self.cv_n_iter_ = np.asarray(epochs, dtype=np.int64)
        self.cv_validation_scores_ = np.asarray(scores, dtype=np.float64)
        ensemble = self._ensemble_net(nets, shrink, build, schedule, patience)
        given, groups = copies
        of_rows = np.full(X.shape[0], -1, dtype=np.int64)
        of_rows[given] = folds[groups]
        # the out-of-fold predictions are those of the members early stopping kept
        # (a refit member has trained on every row)
        refitted = self._refits(len(data))
        folded = CrossFitModule.of(selected, shrink) if refitted else ensemble.module_
        return ensemble, [task.unshrunk() for task in tasks], (of_rows, folded)

    def _ensemble_net(self, nets, shrink, build, schedule, patience):
        """The net that predicts with the trained member ``nets`` together, each
        output scaled by its ``shrink`` factors (members x tasks); its loss's
        learned task weights are the members' mean, its history the first
        member's."""
        module_params, task_weights, device, seed, names = build
        params = {**module_params, "n_members": len(nets)}
        net = self._new_net(
            params, task_weights, device, seed, names, schedule, patience, sized=False
        )
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

    def _forget_members(self):
        """A single network's fit leaves no stale record of a cross-fitted one."""
        for name in ("cv_n_iter_", "cv_validation_scores_"):
            if hasattr(self, name):
                delattr(self, name)

    def _warn_unconverged(self, converged, max_epochs):
        """Warn once where an int ``max_epochs`` cut training short: ``converged``,
        whether each network (one, or the members of an ensemble) stopped on its
        own (an ``"auto"`` budget is a complete schedule, not a cap)."""
        if self.max_epochs != "auto" and not all(converged):
            warn(
                f"{type(self).__name__} stopped after max_epochs={max_epochs} "
                "epochs and the loss has not converged yet; raise max_epochs or tol.",
                ConvergenceWarning,
            )

    def _refits(self, n_rows):
        """Whether a fit that held rows out for early stopping trains again on every
        row (``refit``, with ``"auto"`` resolved for ``n_rows`` distinct rows)."""
        if self.refit == "auto":
            return n_rows < _REFIT_ROWS
        return bool(self.refit)

    def _refit_net(self, selected, data, previous, build, schedule, stream):
        """A net trained again, from where ``selected`` (early stopping's fit)
        started, on every row of ``data`` for the epochs ``selected`` kept (its best
        epoch's number), at the learning rates those epochs had. The training
        record (``n_iter_``, ``loss_curve_``, the validation curves) stays the
        selection fit's: it is how the epochs were chosen."""
        epochs = _monitor(selected).best_epoch_
        # the learning rates of the selection fit's epochs, epoch for epoch (a
        # schedule spread over the kept epochs alone scored worse on small tables)
        schedule = {
            **schedule,
            "max_epochs": epochs,
            "schedule_epochs": selected.max_epochs,
            "train_split": None,
        }
        # a patience longer than the run: it trains every one of its epochs
        net = self._new_net(*build, schedule, epochs + 1, stream)
        monitor = _monitor(net)
        monitor.refit_rows, monitor.member = len(data), _monitor(selected).member
        if previous is not None:
            self._load_previous(net, previous)
        _, _, device, seed, _ = build
        _train(net, data, device, seed)
        return net

    def _param_groups(self, task_weights, wide):
        """The optimiser's groups beside the network's: learned log-variances
        (``task_weights="uncertainty"``) are not shrunk towards zero and step faster
        than the network (see _LOG_VARIANCE_LR); with the wide part on (``wide``),
        the codes' rows step :data:`~sklearn_mmoe._network.interactions.SPARSE_LR_SCALE`
        times faster, shrunk by ``embedding_l2`` instead of weight decay."""
        scales = {}
        if isinstance(task_weights, str):
            scales["log_variances"] = _LOG_VARIANCE_LR
        if wide:  # a network's, or each member's of a cross-fitted ensemble
            scales["*interactions.*"] = SPARSE_LR_SCALE
            scales["*encoder.embedding_weight"] = SPARSE_LR_SCALE
        return [
            (
                pattern,
                {"weight_decay": 0.0, "lr": self.learning_rate * s, "lr_scale": s},
            )
            for pattern, s in scales.items()
        ]

    def _calibration_weight(self, module_params):
        """The funnel calibrator's weight in the objective: ``funnel_calibration``
        for a funnel that has one (see :mod:`sklearn_mmoe._tasks.funnels`), else 0."""
        edges, funnel = module_params["funnel_edges"], module_params["funnel"]
        if not edges or not FUNNELS[funnel].calibrated:
            return 0.0
        return float(self.funnel_calibration)

    def _funnel_edges(self):
        """The fitted funnel's ``(parent, child)`` task pairs, parents first (see
        :func:`~sklearn_mmoe._tasks.funnels.funnel_edges`): none for an estimator
        without funnels."""
        return getattr(self, "_funnel", ())

    def _module_params(self, n_numeric, tasks, numeric=None, n_members=1):
        """The network's settings (:class:`~sklearn_mmoe._network.module.MMoEModule`'s
        arguments) for ``n_numeric`` numeric input columns, the fitted categorical
        columns, ``tasks`` and the numeric encoding ``numeric``: the estimator's
        hyper-parameters, checked, and what the fit derived from the data; with
        ``n_members`` above 1, those of a cross-fitted ensemble of as many (see
        :class:`~sklearn_mmoe._network.crossfit.CrossFitModule`)."""
        expert_type, expert_options = self._check_expert_type()
        embeddings = self._embeddings()
        members = {} if n_members == 1 else {"n_members": int(n_members)}
        return dict(
            **members,
            n_features=n_numeric,
            output_sizes=tuple(task.width for task in tasks),
            embeddings=embeddings,
            architecture=self.architecture,
            n_experts=self.n_experts,
            expert_units=self._check_units("expert_units", allow_empty=False),
            expert_type=expert_type,
            expert_options=expert_options,
            gate_units=self._check_units("gate_units", allow_empty=True),
            tower_units=self._check_units("tower_units", allow_empty=True),
            activation=self.activation,
            dropout=self.dropout,
            gate_type=self.gate_type,
            top_k=self.top_k,
            n_task_experts=self.n_task_experts,
            n_levels=self.n_levels,
            ensemble_size=self.ensemble_size,
            kinds=tuple(task.kind for task in tasks),
            numeric=numeric,
            interactions=resolve_wide(
                self.interactions, self.embedding_l2, [n for n, _ in embeddings]
            )[0],
            interaction_dim=int(self.interaction_dim),
            funnel_edges=self._funnel_edges(),
            funnel=getattr(self, "funnel", "esmm"),
        )

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
        sized=True,
    ):
        """The skorch net of this estimator's settings for a module of
        ``module_params``, initialised (seeded by ``seed``, on ``device``) once
        ``sized`` has checked that it fits in ``device``'s memory to train;
        ``schedule`` holds its ``max_epochs``, ``batch_size``, ``lr_schedule`` and
        ``train_split``, ``patience`` and ``stream`` go to its monitor."""
        net = MultiTaskNet(
            module=network_class(module_params),
            **{f"module__{k}": v for k, v in module_params.items()},
            criterion=MultiTaskLoss,
            **self._criterion_params(module_params, task_weights),
            **self._optimizer_params(module_params, task_weights),
            ema_decay=None if self.ema_decay is None else float(self.ema_decay),
            warmup=_WARMUP,
            **_iterator_params(seed, device),
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
        _initialise(net, module_params, schedule["batch_size"], device, seed, sized)
        return net

    def _criterion_params(self, module_params, task_weights):
        """The loss's settings, as the net's ``criterion__`` parameters."""
        params = dict(
            kinds=module_params["kinds"],
            task_weights=task_weights,
            balance_weight=float(self.balance_weight),
            penalty_weight=embedding_penalty(
                module_params["interactions"], self.embedding_l2
            ),
            calibration_weight=self._calibration_weight(module_params),
        )
        return {f"criterion__{k}": v for k, v in params.items()}

    def _optimizer_params(self, module_params, task_weights):
        """AdamW and its settings, as the net's ``optimizer`` parameters."""
        return dict(
            optimizer=torch.optim.AdamW,
            lr=self.learning_rate,
            optimizer__weight_decay=self.weight_decay,
            # One fused kernel per update, on the CPU as on CUDA: foreach loops over
            # the parameters there, several operations per parameter and step
            # (benchmarks/large_tables.py's "optimizer" part times both).
            optimizer__fused=True,
            optimizer__param_groups=self._param_groups(
                task_weights, module_params["interactions"]
            ),
        )

    def _restored_net(self, module_params, module_state, criterion_state, history):
        """The net of a model read from a file (:func:`sklearn_mmoe.load`): built
        for ``module_params`` on the CPU, with the saved weights (every tensor the
        network has, of its shape and dtype; the loss's fixed buffers equal to
        those its settings give) and epoch ``history``."""
        net = self._new_net(
            module_params,
            self._check_task_weights(self.n_outputs_),
            torch.device("cpu"),
            0,
            [str(name) for name in self.task_names_],
            dict(max_epochs=1, batch_size=1, lr_schedule="constant", train_split=None),
            self.n_iter_no_change,
            sized=False,  # the file's own tensors bound its size (see _restore)
        )
        _load_exactly(net.module_, module_state, "the network", fixed_buffers=False)
        _load_exactly(net.criterion_, criterion_state, "the loss", fixed_buffers=True)
        net.module_.eval()
        net.history_ = History([dict(row) for row in history])
        return net

    def _continue_net(self, net, data, device, seed, stream, numeric):
        """One more pass of ``partial_fit`` over ``data``, continuing the weights and
        the optimiser's state, with the numeric encoding ``numeric`` (the fitted
        one, or that with a constant column refreshed); if it raises or is
        interrupted, all three are put back. ``stream`` (rows of the call, rows
        seen) is what the pass reports."""
        saved = [
            copy.deepcopy(part.state_dict())
            for part in (net.module_, net.criterion_, net.optimizer_)
        ]
        n_epochs = len(net.history)
        net.max_epochs, net.train_split, net.lr_schedule = 1, None, "constant"
        if self.batch_size == "auto":  # of this call's rows: a first chunk of one
            net.batch_size = min(
                _AUTO_BATCH, len(data)
            )  # row does not fix batches of 1
        _monitor(net).rows = stream
        # Each call shuffles and drops out with draws of its own.
        net.module_.generator = torch.Generator(device=device).manual_seed(
            seed + 2 + n_epochs
        )
        refreshed = numeric is not self._numeric
        try:
            if refreshed:
                _refit_numeric(net.module_, numeric)
            net.iterator_train__seed = seed + 1 + n_epochs
            net.partial_fit(data)
        except BaseException:
            if refreshed:
                _refit_numeric(net.module_, self._numeric)
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

    def _validation_fraction(self, n_rows):
        """``validation_fraction`` with ``"auto"`` resolved for ``n_rows`` (distinct)
        training rows."""
        if self.n_cv > 1:  # a member's held-out fold
            return 1.0 / self.n_cv
        if self.validation_fraction != "auto":
            return self.validation_fraction
        if n_rows < _SMALL_TABLE_ROWS:
            return _SMALL_TABLE_FRACTION
        return _LARGE_TABLE_FRACTION

    def _budget(self, n_rows):
        """Early stopping, batch size and epochs for ``n_rows`` training rows, with
        the ``"auto"`` values resolved."""
        early = self.early_stopping
        if early == "auto":
            early = n_rows >= _EARLY_STOPPING_MIN_ROWS
        n_train = n_rows
        if early:
            n_train -= n_validation(self._validation_fraction(n_rows), n_rows)
        n_train = max(n_train, 1)
        batch = self._batch(n_train)
        epochs = self.max_epochs
        if epochs == "auto":
            steps = min(max(_STEPS_PER_ROW * n_train, _MIN_STEPS), _MAX_STEPS)
            per_epoch = -(-n_train // batch)
            epochs = max(-(-steps // per_epoch), _MIN_EPOCHS)
        return bool(early), int(batch), int(epochs)

    def _batch(self, n_train):
        """Rows per batch for ``n_train`` training rows: ``batch_size`` (``"auto"``
        resolved), at most ``n_train``."""
        batch = _AUTO_BATCH if self.batch_size == "auto" else self.batch_size
        return int(min(batch, n_train))

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
        """Start ``net`` from ``previous`` (a ``(module, criterion)`` pair: see
        :func:`_member_of`)."""
        module, criterion = previous
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


def _member_of(previous, k, n_members):
    """What member ``k`` of ``n_members`` of a warm fit starts from, as a
    ``(module, criterion)`` pair: the previous fit's network, or its member ``k``
    when it was a cross-fitted ensemble of as many; None without a previous fit."""
    if previous is None:
        return None
    module = previous.module_
    had = len(module.members) if isinstance(module, CrossFitModule) else 1
    if had != n_members and had != 1:
        raise ValueError(
            f"warm_start=True continues each of the previous fit's {had} members "
            f"(n_cv={had}); this fit has n_cv={n_members}. Fit with n_cv={had}, or "
            "with warm_start=False."
        )
    if had > 1:
        module = module.members[k]
    return module, previous.criterion_


def _train(net, data, device, seed):
    """Train ``net`` on ``data``; training draws from generators of its own:
    shuffling (the iterator's) and dropout (the module's, seeded from ``seed``)."""
    net.module_.generator = torch.Generator(device=device).manual_seed(seed + 2)
    try:
        net.partial_fit(data)
    finally:
        net.module_.generator = None
    net.module_.eval()


def _shrunk_on(net, valid, tasks):
    """``tasks`` with each one's output shrinkage fitted on the validation rows
    ``valid`` (see :meth:`sklearn_mmoe._tasks.kinds.RegressionTask.fit_shrink`)."""
    module = net.module_
    outs, targets, weights = [], [], []
    with torch.inference_mode():
        chunk = rows_per_chunk(module)
        for Xb, Yb, Wb in BatchIterator(valid, chunk, device=net.device):
            outs.append(module(Xb).outputs.float())
            targets.append(Yb)
            weights.append(torch.ones_like(Yb) if Wb is None else Wb)
        out, Y, W = torch.cat(outs), torch.cat(targets), torch.cat(weights)
    # out of inference mode: the factor's derivatives are taken by autograd
    out, Y, W = out.clone(), Y.clone(), W.clone()
    return [
        task.fit_shrink(out[:, t], Y[:, t], W[:, t].to(out.dtype))
        for t, task in enumerate(tasks)
    ]


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


def _monitor(net):
    """The net's :class:`~sklearn_mmoe._training.net.EpochMonitor`, by its name."""
    return dict(net.callbacks_)["monitor"]
