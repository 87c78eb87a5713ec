"""MMoERegressor: one regression task per column of y."""

from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from . import inference
from .base import _BaseMMoE, init_with
from .docstrings import (
    COMMON_PARAMETERS,
    FITTED_ATTRIBUTES,
    REFERENCES,
    partial_fit_doc,
)

# The task kind (sklearn_mmoe._tasks.kinds) that each loss trains.
_LOSS_KINDS = {"squared_error": "regression", "poisson": "count"}


class MMoERegressor(RegressorMixin, _BaseMMoE):
    __doc__ = f"""Multi-task regression with a Multi-gate Mixture-of-Experts.

    Each column of ``y`` is a task. The tasks share a set of experts; each task mixes
    the experts' outputs with its own softmax gate and feeds the mixture to its own
    tower (Ma et al., 2018). ``architecture`` switches to a single shared gate (OMoE), a
    plain shared network (Shared-Bottom) or task-specific plus shared experts over
    several levels (PLE); ``gate_weights`` shows how each task mixes the experts.
    Training minimises the (task-weighted)
    sum of the per-task mean squared errors with AdamW, through a skorch net kept as
    ``net_``.

    Each task's target is standardised inside ``fit`` (predictions are mapped back), so
    tasks on very different scales weigh alike in the loss and ``task_weights`` means
    what it says.

    Parameters
    ----------
    loss : {{"squared_error", "poisson"}}, default="squared_error"
        The loss of every task. ``"squared_error"``: the mean squared error of the
        standardised target. ``"poisson"``: the Poisson deviance with a log link, for
        counts and other non-negative targets whose spread grows with their level
        (as ``HistGradientBoostingRegressor(loss="poisson")``); predictions are
        expected counts, always positive, and a negative target is an error.
{COMMON_PARAMETERS}
    Attributes
    ----------
{FITTED_ATTRIBUTES}
    See Also
    --------
    MMoEClassifier : The classifier counterpart, one label set per task.
    sklearn.neural_network.MLPRegressor : A single multi-output network without experts.

    Notes
    -----
    ``loss_curve_`` and ``validation_scores_`` are on the standardised scale of the
    targets. ``score`` is the coefficient of determination :math:`R^2` averaged over
    tasks.

    References
    ----------
{REFERENCES}
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe import MMoERegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 5))
    >>> Y = np.column_stack([X[:, 0] + X[:, 1], X[:, 0] - 2 * X[:, 2]])
    >>> reg = MMoERegressor(n_experts=4, max_epochs=20, random_state=0).fit(X, Y)
    >>> reg.predict(X[:3]).shape
    (3, 2)
    >>> reg.n_outputs_
    2
    """

    _parameter_constraints: dict = {
        **_BaseMMoE._parameter_constraints,
        "loss": [StrOptions(set(_LOSS_KINDS))],
    }

    # The base's keyword-only parameters, plus loss.
    __init__ = init_with(loss="squared_error")

    def _declared_task_types(self, n_tasks):
        return [_LOSS_KINDS[self.loss]] * n_tasks

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` and the task targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Input samples; categorical columns (see ``categorical_features``) of any
            type. Sparse input is densified one batch at a time.
        y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
            Targets; each column is a task (a DataFrame's column names become
            ``task_names_``). With ``missing_labels="ignore"``, NaN marks a missing
            target.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in every task's loss (training and
            early-stopping validation) and in the targets' standardisation; ``None``
            weighs all samples equally.

        Returns
        -------
        self : MMoERegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        return self._fit(X, y, sample_weight, partial=True)

    partial_fit.__doc__ = partial_fit_doc(
        "MMoERegressor",
        "the tasks and the scaling of the inputs and of the targets",
        "Targets of every task.",
    )

    def predict(self, X):
        """Predict every task's target.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Predictions, float64; 1-D when ``y`` was 1-D at fit.
        """
        return inference.predictions(self, X)

    def score(self, X, y, sample_weight=None):
        """:math:`R^2` of each task, averaged over tasks.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets of every task, laid out as at fit; with
            ``missing_labels="ignore"``, NaN marks a missing target, left out of its
            task's score.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean over tasks of the coefficient of determination.
        """
        return _BaseMMoE.score(self, X, y, sample_weight)
