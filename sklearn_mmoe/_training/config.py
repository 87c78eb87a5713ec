"""What a fit trains with, decided once: :class:`FitConfig`, every ``"auto"`` value
resolved from the data at the start of ``fit`` (:func:`resolve`), then handed down to
the training and the network, which read it and decide nothing again. A fitted
estimator shows it as ``fit_config_``, and a model file keeps it.

The rules behind each ``"auto"`` value live here, beside the constants they read:
the training budget, the validation split, refitting, the cross-fitted ensemble's
size, the numeric encoding, the embeddings' widths and the wide part; the checks of
the parameters they start from are in :mod:`sklearn_mmoe._training.parameters`.
"""

import dataclasses

import numpy as np
import torch
from sklearn.utils import check_random_state

from .._inputs.categorical import auto_embedding_dim
from .._inputs.numeric import numeric_plan
from .._inputs.tensors import n_validation
from .._inputs.text import check_text_options
from .._network.interactions import resolve_wide
from .._tasks.funnels import FUNNELS
from .parameters import check_device, check_task_weights, network_settings

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
_PATIENCE_SHARE = 3
_EARLY_STOPPING_ROWS = 1_000
# validation_fraction="auto" holds out 20 % of fewer than _SMALL_TABLE_ROWS (distinct)
# training rows, 10 % from there on. The shrinkage of each output and the best epoch are
# chosen on these rows: a tenth of a small table chose a pure-noise task's shrinkage too
# noisily, while the suite's small tables scored the same either way
# (benchmarks/README.md, "Constants"). RealMLP and TabM hold out a fifth at every size.
_SMALL_TABLE_ROWS = 5_000
_SMALL_TABLE_FRACTION, _LARGE_TABLE_FRACTION = 0.2, 0.1
# Each text's vector (the mean of its tokens'), by default: measured on the text
# tables of benchmarks/text.py (benchmarks/README.md, "Constants").
TEXT_DIM = 32
# refit="auto" trains again on every row below this many (distinct) rows.
_REFIT_ROWS = 5_000

# The fields that make the network and its loss: a model file's must be what its
# parameters and fitted inputs give (the rest, what the fit ran with, it keeps as it
# was: see sklearn_mmoe._export.restore).
_NETWORK = (
    "n_numeric",
    "embeddings",
    "texts",
    "architecture",
    "n_experts",
    "expert_units",
    "expert_type",
    "expert_options",
    "gate_units",
    "gate_type",
    "top_k",
    "n_task_experts",
    "n_levels",
    "tower_units",
    "activation",
    "dropout",
    "ensemble_size",
    "interactions",
    "interaction_dim",
    "task_weights",
    "balance_weight",
    "embedding_l2",
    "funnel",
    "funnel_calibration",
)
# What a fit decides from its rows: None where there were none to decide from (a
# model read from a file written before the configuration was kept).
_FROM_ROWS = (
    "n_rows",
    "seed",
    "numeric_encoding",
    "numeric_max_width",
    "early_stopping",
    "validation_fraction",
    "batch_size",
    "max_epochs",
    "refit",
)


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Every value a fit trains with, each ``"auto"`` resolved (read-only).

    A fitted estimator's ``fit_config_``: what ``"auto"`` chose for its data, and
    the parameters' values the fit ran with (a later ``set_params`` does not change
    it). For a model read from a file written before the configuration was kept,
    what the fit decided from its rows is None (``n_rows``, ``seed``, the budget);
    the rest is what the parameters give.

    Attributes
    ----------
    n_rows : int or None
        The distinct rows the fit trained on (repeated rows merged).
    seed : int or None
        The seed of the fit's weights, shuffling, dropout and validation split,
        drawn from ``random_state``.
    device : str
        The ``device`` the fit ran on.
    n_numeric : int
        Numeric input columns.
    embeddings : tuple of (int, int)
        Each categorical column's codes and embedding width (``embedding_dim``).
    texts : tuple of (str, int, int, int, tuple)
        Each text column's encoder (``text_encoder``), ids (the tokenizer's, the
        padding's and the missing text's included), vector width, slots (the
        most tokens of a text read) and the encoder's settings (``(name,
        value)`` pairs: a pretrained encoder's source, what is fine-tuned).
    numeric_encoding : {"piecewise", "robust", "standard"} or None
        The numeric columns' encoding (``"auto"``: piecewise-linear bins where the
        table has enough rows per numeric column and the code is not too wide,
        else robust scaling).
    numeric_max_width : int or None
        For ``"auto"``: the widest piecewise code taken; a wider one falls back to
        robust scaling.
    interactions : bool
        Whether the wide part (codes' biases and pairwise products) is on.
    embedding_l2 : float
        The codes' penalty weight.
    task_weights : tuple of float or "uncertainty"
        Each task's weight in the loss, or learned.
    n_cv : int
        Networks trained: 1, or the members of a cross-fitted ensemble.
    early_stopping : bool or None
        Whether rows are held out to stop early and shrink the outputs.
    validation_fraction : float or None
        The held-out share (None without early stopping).
    batch_size, max_epochs : int or None
        Rows per batch and epochs.
    patience : int
        Epochs without improvement before stopping.
    max_batch_size : int
        ``batch_size`` as given (``"auto"``: 256): a batch holds at most the rows
        that train.
    refit : bool or None
        Whether a fit that held rows out trains again on every row.
    capped : bool
        Whether ``max_epochs`` was given (a cap, warned about when reached).

    The network's other settings (``architecture``, ``n_experts``, the units, the
    gates, ``dropout``, ``interaction_dim``), the loss's (``balance_weight``,
    ``funnel``, ``funnel_calibration``), the optimiser's (``learning_rate``,
    ``weight_decay``, ``ema_decay``, ``learning_rate_schedule``: ``"constant"``
    for ``partial_fit``), ``tol`` and ``verbose`` are the parameters' values,
    checked.
    """

    n_rows: int | None
    seed: int | None
    device: str
    n_numeric: int
    embeddings: tuple
    texts: tuple
    numeric_encoding: str | None
    numeric_max_width: int | None
    architecture: str
    n_experts: int
    expert_units: tuple
    expert_type: object
    expert_options: dict | None
    gate_units: tuple
    gate_type: str
    top_k: int | None
    n_task_experts: int
    n_levels: int
    tower_units: tuple
    activation: str
    dropout: float
    ensemble_size: int
    interactions: bool
    interaction_dim: int
    task_weights: object
    balance_weight: float
    embedding_l2: float
    funnel: str
    funnel_calibration: float
    learning_rate: float
    weight_decay: float
    ema_decay: float | None
    learning_rate_schedule: str
    n_cv: int
    early_stopping: bool | None
    validation_fraction: float | None
    batch_size: int | None
    max_batch_size: int
    max_epochs: int | None
    patience: int | None
    tol: float
    refit: bool | None
    capped: bool
    verbose: int

    # What makes the network and its loss (a model file's must be what its
    # parameters give); a model file holds every field.
    NETWORK = _NETWORK

    def module_params(self, tasks, numeric, funnel_edges, n_members=1):
        """The network's settings (:class:`~sklearn_mmoe._network.module.MMoEModule`'s
        arguments) for ``tasks``, the fitted numeric encoding ``numeric`` and the
        funnel's ``(parent, child)`` pairs ``funnel_edges``; with ``n_members``
        above 1, those of a cross-fitted ensemble of as many (see
        :class:`~sklearn_mmoe._network.crossfit.CrossFitModule`)."""
        members = {} if n_members == 1 else {"n_members": int(n_members)}
        return dict(
            **members,
            n_features=self.n_numeric,
            output_sizes=tuple(task.width for task in tasks),
            embeddings=self.embeddings,
            texts=self.texts,
            architecture=self.architecture,
            n_experts=self.n_experts,
            expert_units=self.expert_units,
            expert_type=self.expert_type,
            expert_options=self.expert_options,
            gate_units=self.gate_units,
            tower_units=self.tower_units,
            activation=self.activation,
            dropout=self.dropout,
            gate_type=self.gate_type,
            top_k=self.top_k,
            n_task_experts=self.n_task_experts,
            n_levels=self.n_levels,
            ensemble_size=self.ensemble_size,
            kinds=tuple(task.kind for task in tasks),
            numeric=numeric,
            interactions=self.interactions,
            interaction_dim=self.interaction_dim,
            funnel_edges=funnel_edges,
            funnel=self.funnel,
        )

    def calibration_weight(self, funnel_edges):
        """The funnel calibrator's weight in the objective: ``funnel_calibration``
        for a funnel that has one (see :mod:`sklearn_mmoe._tasks.funnels`), else 0."""
        if not funnel_edges or not FUNNELS[self.funnel].calibrated:
            return 0.0
        return float(self.funnel_calibration)

    def batch_for(self, n_train):
        """Rows per batch for ``n_train`` training rows (a cross-fitted member's, a
        ``partial_fit`` call's): ``max_batch_size``, at most ``n_train``."""
        return int(min(self.max_batch_size, n_train))

    def continued(self, params, n_rows):
        """The configuration of a ``partial_fit`` call that continues this fit:
        its network and optimiser, one pass at a constant rate over the call's
        ``n_rows`` rows, batches of ``batch_size`` (the parameters' now) of them,
        and a seed of the call's own."""
        random_state = check_random_state(params["random_state"])
        return self.replace(
            n_rows=n_rows,
            seed=int(random_state.randint(np.iinfo(np.int32).max)),
            batch_size=_batch(params, n_rows),
            max_batch_size=_batch_cap(params),
            early_stopping=False,
            validation_fraction=None,
            max_epochs=1,
            refit=False,
            learning_rate_schedule="constant",
        )

    def replace(self, **changes):
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    # A model file holds every field and from_state takes exactly them: a field
    # added later needs the value files written before it stand for (as
    # sklearn_mmoe._export.restore's SINCE does for fitted attributes).
    @classmethod
    def from_state(cls, state, where):
        """The configuration of a model file's ``state``, each name as the class
        has it (its values are compared with what the parameters give by
        :mod:`sklearn_mmoe._export.restore`)."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(state, dict) or set(state) != names:
            raise ValueError(f"{where} must name each of {sorted(names)}")
        return cls(**state)


def resolve(params, n_rows, n_numeric, n_codes, n_tasks, partial=False, texts=()):
    """The :class:`FitConfig` of a fit with the estimator's parameters ``params``
    (``get_params(deep=False)``) on ``n_rows`` distinct training rows (None: the
    network's part alone, for a model file), ``n_numeric`` numeric columns,
    categorical columns of ``n_codes`` codes each and ``n_tasks`` tasks;
    ``partial``: a first ``partial_fit`` call (one pass at a constant rate, every
    row trains); ``texts``: each text column's ``(ids, slots, width,
    settings)``, the width None where ``text_options``' ``dim`` sets it."""
    if n_rows is None:  # for a model file, which loads on the CPU whatever its device
        seed, device = None, torch.device(params["device"])
        budget = _undecided(params)
    else:
        random_state = check_random_state(params["random_state"])
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        device = check_device(params["device"])
        budget = _decided_from_rows(params, n_rows, n_numeric, partial)
    return FitConfig(
        n_rows=n_rows,
        seed=seed,
        device=str(device),
        n_numeric=int(n_numeric),
        **_codes_settings(params, n_codes),
        texts=_text_settings(params, texts),
        **network_settings(params),
        interaction_dim=int(params["interaction_dim"]),
        task_weights=check_task_weights(params["task_weights"], n_tasks),
        balance_weight=float(params["balance_weight"]),
        funnel=params.get("funnel", "esmm"),
        funnel_calibration=float(params.get("funnel_calibration", 0.0)),
        learning_rate=float(params["learning_rate"]),
        weight_decay=float(params["weight_decay"]),
        ema_decay=None if params["ema_decay"] is None else float(params["ema_decay"]),
        max_batch_size=_batch_cap(params),
        tol=float(params["tol"]),
        capped=params["max_epochs"] != "auto",
        verbose=int(params["verbose"]),
        **budget,
    )


def _undecided(params):
    """What a configuration without rows holds for the values a fit decides from
    them: None (``_FROM_ROWS``), but for what the parameters give alone."""
    return dict(
        dict.fromkeys(_FROM_ROWS[2:]),  # n_rows and seed are resolve's own
        patience=params["n_iter_no_change"],
        n_cv=int(params["n_cv"]),
        learning_rate_schedule=params["learning_rate_schedule"],
    )


def _codes_settings(params, n_codes):
    """The categorical columns' settings for columns of ``n_codes`` codes each:
    their embeddings (codes, width: ``embedding_dim``, ``"auto"`` by the rule of
    thumb), and whether the wide part is on and the codes' penalty."""
    wide, penalty = resolve_wide(
        params["interactions"], params["embedding_l2"], n_codes
    )
    dims = [
        auto_embedding_dim(n)
        if params["embedding_dim"] == "auto"
        else int(params["embedding_dim"])
        for n in n_codes
    ]
    embeddings = tuple((int(n), d) for n, d in zip(n_codes, dims))
    return dict(embeddings=embeddings, interactions=wide, embedding_l2=penalty)


def _text_settings(params, texts):
    """Each text column's ``(encoder, ids, width, slots, settings)`` for its
    tokenizer's ``(ids, slots, width, settings)``: a width None (the encoder's
    vectors are learned) is ``text_options``' ``dim``, TEXT_DIM by default."""
    if not texts:
        return ()
    options = check_text_options(params["text_encoder"], params["text_options"])
    dim = options.get("dim", TEXT_DIM)
    encoder = params["text_encoder"]
    return tuple(
        (encoder, int(n), int(dim if w is None else w), int(s), tuple(settings))
        for n, s, w, settings in texts
    )


def _decided_from_rows(params, n_rows, n_numeric, partial):
    """The values a fit decides from its ``n_rows`` distinct rows: early stopping,
    the validation share, batch size, epochs, patience, refitting, the
    cross-fitted ensemble's size and the numeric encoding. A first ``partial_fit``
    call (``partial``) trains one pass at a constant rate on every row, in
    batches of them."""
    encoding, max_width = numeric_plan(params["numeric_encoding"], n_rows, n_numeric)
    early, fraction, batch, epochs = budget(params, n_rows)
    patience = _patience(params, n_rows, early, epochs)
    n_cv = _n_members(params, n_rows, early, partial)
    refit = params["refit"]
    refit = n_rows < _REFIT_ROWS if refit == "auto" else bool(refit)
    schedule = params["learning_rate_schedule"]
    if partial:
        early, fraction, epochs, refit, schedule = False, None, 1, False, "constant"
        batch = _batch(params, n_rows)
    return dict(
        numeric_encoding=encoding,
        numeric_max_width=max_width,
        early_stopping=early,
        validation_fraction=fraction if early else None,
        batch_size=batch,
        max_epochs=epochs,
        patience=patience,
        refit=refit,
        n_cv=n_cv,
        learning_rate_schedule=schedule,
    )


def budget(params, n_rows):
    """Early stopping, the validation share, batch size and epochs for ``n_rows``
    training rows, with the ``"auto"`` values resolved.

    Examples
    --------
    >>> from sklearn_mmoe import MMoERegressor
    >>> from sklearn_mmoe._training.config import budget
    >>> budget(MMoERegressor().get_params(), 60_000)
    (True, 0.1, 256, 10)
    """
    early = params["early_stopping"]
    if early == "auto":
        early = n_rows >= _EARLY_STOPPING_MIN_ROWS
    fraction = validation_fraction(params, n_rows)
    n_train = n_rows
    if early:
        n_train -= n_validation(fraction, n_rows)
    n_train = max(n_train, 1)
    batch = _batch(params, n_train)
    epochs = params["max_epochs"]
    if epochs == "auto":
        steps = min(max(_STEPS_PER_ROW * n_train, _MIN_STEPS), _MAX_STEPS)
        per_epoch = -(-n_train // batch)
        epochs = max(-(-steps // per_epoch), _MIN_EPOCHS)
    return bool(early), fraction, int(batch), int(epochs)


def validation_fraction(params, n_rows):
    """``validation_fraction`` with ``"auto"`` resolved for ``n_rows`` (distinct)
    training rows; a cross-fitted member's held-out fold for ``n_cv`` above 1."""
    if params["n_cv"] > 1:
        return 1.0 / params["n_cv"]
    if params["validation_fraction"] != "auto":
        return params["validation_fraction"]
    if n_rows < _SMALL_TABLE_ROWS:
        return _SMALL_TABLE_FRACTION
    return _LARGE_TABLE_FRACTION


def _batch(params, n_train):
    """Rows per batch for ``n_train`` training rows: ``batch_size`` (``"auto"``
    resolved), at most ``n_train``."""
    return int(min(_batch_cap(params), n_train))


def _batch_cap(params):
    """``batch_size`` with ``"auto"`` resolved: the most rows a batch holds."""
    return _AUTO_BATCH if params["batch_size"] == "auto" else int(params["batch_size"])


def _patience(params, n_rows, early_stopping, max_epochs):
    """Epochs without improvement before training stops: ``n_iter_no_change``,
    or for ``"auto"`` early stopping within an ``"auto"`` budget below
    ``_EARLY_STOPPING_ROWS`` rows, a third of the budget if that is longer (an
    epoch there is a step or two, not a unit of patience)."""
    patience = params["n_iter_no_change"]
    auto = params["early_stopping"] == "auto" and params["max_epochs"] == "auto"
    if auto and early_stopping and n_rows < _EARLY_STOPPING_ROWS:
        return max(patience, -(-max_epochs // _PATIENCE_SHARE))
    return patience


def _n_members(params, n_rows, early_stopping, partial):
    """Networks the fit trains: ``n_cv``, or one for ``partial_fit`` and where
    ``"auto"`` early stopping holds nothing out (fewer than 20 rows)."""
    n_cv = params["n_cv"]
    if n_cv == 1 or partial:
        return 1
    if params["early_stopping"] is False:
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
