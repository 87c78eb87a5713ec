"""The estimator base shared by every estimator: the parameter surface and its
validation, the one fit sequence (validate, describe and encode each task, merge
repeated rows, standardise, resolve the fit's configuration, then train with a
:class:`~sklearn_mmoe._training.engine.Trainer`), and the public inference methods,
which call :mod:`sklearn_mmoe._estimators.inference`. An estimator says only which
kind each of its tasks is (``_declared_task_types``) and how its predictions are laid
out."""

import inspect
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
)

from .._distributed.group import active, resolve_group
from .._inputs.numeric import NUMERIC_ENCODINGS
from .._network.architectures import ARCHITECTURES
from .._network.experts import EXPERT_TYPES
from .._network.gates import GATE_TYPES
from .._network.ops import ACTIVATIONS
from .._tasks.funnels import FUNNELS
from . import inference
from .fitting import fit_sequence


class _BaseMMoE(BaseEstimator):
    """Parameters, validation, the fit sequence and inference, for every estimator.

    The estimator owns its collaborators and calls them: the input validation of
    :mod:`sklearn_mmoe._inputs.validation` (with the categorical columns' encoder,
    ``_encoder``), the task descriptions (``_tasks``, one per task, of the kinds in
    :data:`~sklearn_mmoe._tasks.registry.TASKS`), the fit's configuration
    (``fit_config_``, :func:`~sklearn_mmoe._training.config.resolve`), the
    :class:`~sklearn_mmoe._training.engine.Trainer` that trains the network, and
    the inference of :mod:`sklearn_mmoe._estimators.inference`.
    """

    _parameter_constraints: dict = {
        "architecture": [StrOptions(ARCHITECTURES.keys())],  # a later registration too
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "expert_units": ["array-like"],
        # a registered name, or a torch.nn.Module subclass (check_expert_type)
        "expert_type": [StrOptions(EXPERT_TYPES.keys()), type],
        "expert_options": [dict, None],
        # each expert type's own parameters (the Transformer's sizes)
        **{
            name: constraints
            for expert in EXPERT_TYPES.values()
            for name, (_, constraints, *_) in expert.parameters.items()
        },
        "gate_units": ["array-like"],
        "gate_type": [StrOptions(GATE_TYPES.keys())],
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
        "validation_fraction": [
            Interval(Real, 0, 1, closed="neither"),
            StrOptions({"auto"}),
        ],
        "refit": ["boolean", StrOptions({"auto"})],
        "n_cv": [Interval(Integral, 1, None, closed="left")],
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
        "min_frequency": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
            None,
        ],
        "max_categories": [Interval(Integral, 1, None, closed="left"), None],
        "hash_buckets": [dict, None],
        "interactions": ["boolean", StrOptions({"auto"})],
        "interaction_dim": [Interval(Integral, 1, None, closed="left")],
        "embedding_l2": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "text_features": ["array-like", StrOptions({"auto"}), None],
        "text_encoder": [str],
        "text_options": [dict, None],
        "distributed": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        *,
        architecture="mmoe",
        n_experts=8,
        expert_units=(64,),
        expert_type="mlp",
        expert_options=None,
        token_dim=32,
        n_blocks=1,
        n_heads=4,
        attention_dropout=0.1,
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
        validation_fraction="auto",
        refit=False,
        n_cv=1,
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
        min_frequency=None,
        max_categories=None,
        hash_buckets=None,
        interactions="auto",
        interaction_dim=32,
        embedding_l2="auto",
        text_features="auto",
        text_encoder="hashed",
        text_options=None,
        distributed="auto",
    ):
        self.architecture = architecture
        self.n_experts = n_experts
        self.expert_units = expert_units
        self.expert_type = expert_type
        self.expert_options = expert_options
        self.token_dim = token_dim
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.attention_dropout = attention_dropout
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
        self.refit = refit
        self.n_cv = n_cv
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
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.hash_buckets = hash_buckets
        self.interactions = interactions
        self.interaction_dim = interaction_dim
        self.embedding_l2 = embedding_l2
        self.text_features = text_features
        self.text_encoder = text_encoder
        self.text_options = text_options
        self.distributed = distributed

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # A numeric encoding fills missing values (NaN); raw inputs must be finite.
        tags.input_tags.allow_nan = self.numeric_encoding is not None
        tags.target_tags.multi_output = True
        return tags

    # -- hyper-parameters
    # ---------------------------------------------------------------------

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

    # -- inference
    # -----------------------------------------------------------------------

    def score(self, X, y, sample_weight=None):
        """The score of each task, averaged over tasks: accuracy for a
        classification task, :math:`R^2` for a regression task.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True labels or targets of every task, laid out as at fit (1-D only for a
            single task); with ``missing_labels="ignore"``, NaN or None marks a
            missing label, left out of its task's score.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean over tasks of each task's (weighted) score on the rows that have its
            label.
        """
        return inference.mean_score(self, X, y, sample_weight)

    def expert_weights(self, level=0):
        """The experts' learned weights, by name.

        Parameters
        ----------
        level : int, default=0
            Which level's experts: 0, the first (the only one but for ``"ple"``,
            which has ``n_levels``).

        Returns
        -------
        weights : dict of str to ndarray
            Each weight as a float32 copy, the expert axis first where each expert
            has its own. Feed-forward experts (``expert_type="mlp"``): ``weight0``,
            ``bias0``, ``weight1``, ... of shapes ``(n_experts, n_in, n_out)`` and
            ``(n_experts, 1, n_out)``, ``n_in`` of layer 0 on the first level being
            the encoded input's width. Transformer experts: the shared tokenizer's
            ``token_weight`` ``(encoded inputs, token_dim)`` and ``token_bias``,
            each expert's ``cls`` token, its blocks' projections and its ``head``.
            Experts of your own module: its parameters by their names (``.`` as
            ``__``), stacked on the expert axis. A cross-fitted ensemble
            (``n_cv_ > 1``) puts its members' axis before all of these.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_mmoe import MMoERegressor
        >>> X = np.random.RandomState(0).normal(size=(60, 3))
        >>> model = MMoERegressor(n_experts=4, max_epochs=2, random_state=0)
        >>> model = model.fit(X, X[:, :2])
        >>> {name: w.shape for name, w in model.expert_weights().items()}
        {'weight0': (4, 3, 64), 'bias0': (4, 1, 64)}
        """
        return inference.expert_weights(self, level)

    def gate_weights(self, X):
        """The weight each task's gate gives each expert, for every sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        weights : ndarray of shape (n_samples, n_tasks, n_experts)
            Non-negative mixing weights that sum to one over the last axis (with
            ``top_k``, all but ``top_k`` of them are zero). ``"omoe"`` repeats its
            single gate for every task; ``"shared_bottom"`` has no gates and returns
            ones of shape (n_samples, n_tasks, 1). For ``"ple"``, the gates of the last
            level, over the experts each task sees there: the ``n_experts`` shared
            experts first, then the task's own ``n_task_experts``. The task axis is
            kept when ``y`` was 1-D.
        """
        return inference.gate_weights(self, X)

    # -- training
    # ------------------------------------------------------------------------

    def _declared_task_types(self, n_tasks):
        """The kind (a key of :data:`sklearn_mmoe._tasks.registry.TASKS`) of each of
        ``n_tasks`` tasks as the estimator's class and parameters fix it, or None
        where each task's labels decide (``task_types="auto"``)."""
        raise NotImplementedError

    def _fit(self, X, y, sample_weight, partial=False, classes=None):
        """The fit sequence of every estimator (and of ``partial_fit``, one pass):
        validate, describe and encode each task, merge repeated rows, standardise,
        train."""
        # A fit that raises, or is interrupted, leaves the estimator as it was.
        state = self.__dict__.copy()
        try:
            # Every rank of an initialised process group, or this process alone.
            group = resolve_group(self.distributed, self.device)
            if group.world > 1 and self.verbose and group.rank == 0:
                print(
                    f"{type(self).__name__} trains data-parallel on {group.world} "
                    f"processes (torch.distributed, distributed={self.distributed!r});"
                    " rank 0 reports.",
                    flush=True,
                )
            # Training needs autograd even where the caller switched it off.
            with active(group), torch.inference_mode(False), torch.enable_grad():
                return fit_sequence(self, X, y, sample_weight, partial, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _set_task_attributes(self):
        """Set an estimator's own per-task fitted attributes (``classes_``, ...)."""


# The parameters of the estimators whose tasks can form funnels (classification
# tasks: MMoEClassifier, MMoEMultiTask), their defaults and constraints.
FUNNEL_DEFAULTS = {"task_parents": None, "funnel": "esmm", "funnel_calibration": 0.6}
FUNNEL_CONSTRAINTS = {
    "task_parents": [dict, None],
    "funnel": [StrOptions(FUNNELS.keys())],
    "funnel_calibration": [Interval(Real, 0, None, closed="left")],
}


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
