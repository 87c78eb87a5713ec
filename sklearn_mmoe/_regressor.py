"""MMoERegressor: one regression task per column of y."""

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_array

from ._base import _BaseMMoE
from ._docstrings import COMMON_PARAMETERS, FITTED_ATTRIBUTES, REFERENCES


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

    _y_numeric = True

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` and the task targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Input samples; categorical columns (see ``categorical_features``) of any
            type. Sparse input is densified one batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets; each column is a task. With ``missing_labels="ignore"``, NaN marks
            a missing target.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in every task's loss (training and
            early-stopping validation) and in the targets' standardisation; ``None``
            weighs all samples equally.

        Returns
        -------
        self : MMoERegressor
            The fitted estimator.
        """
        X, rows, Y, present, weight = self._validate_fit_data(X, y, sample_weight)
        if self.warm_start and hasattr(self, "net_") and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"warm_start=True needs the same number of tasks as the previous fit "
                f"({self.n_outputs_}); y has {Y.shape[1]}."
            )
        rows, Y, present, weight = self._distinct_rows(
            X, rows, Y.astype(np.float64), present, weight
        )
        if not (self.warm_start and hasattr(self, "net_")):
            # Weighted mean and standard deviation of each task's present targets. A
            # constant task keeps scale 0: it trains on zeros and predicts its constant.
            w = (weight / weight.max())[:, None] * present  # constant weights: ones
            self._y_mean = (w * Y).sum(axis=0) / w.sum(axis=0)
            self._y_scale = np.sqrt(
                (w * (Y - self._y_mean) ** 2).sum(axis=0) / w.sum(axis=0)
            )
        divisor = np.where(self._y_scale > 0, self._y_scale, 1.0)
        Z = np.where(present, (Y - self._y_mean) / divisor, 0.0).astype(np.float32)
        self.n_outputs_ = Y.shape[1]
        self.net_ = self._fit_net(
            X,
            rows,
            torch.from_numpy(Z),
            present,
            weight,
            [1] * Y.shape[1],
            kind="regression",
        )
        return self

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
        Y = self._forward(X)[..., 0].astype(np.float64) * self._y_scale + self._y_mean
        return Y[:, 0] if self._y_1d else Y

    def score(self, X, y, sample_weight=None):
        """:math:`R^2` of each task, averaged over tasks.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets of every task; with ``missing_labels="ignore"``, NaN marks a
            missing target, left out of its task's score.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean over tasks of the coefficient of determination.
        """
        Y_pred = self.predict(X)
        y = check_array(
            y, ensure_2d=False, ensure_all_finite="allow-nan", input_name="y"
        )
        return self._mean_task_score(
            lambda true, pred, w: r2_score(true, pred, sample_weight=w),
            y.reshape(len(y), -1),
            Y_pred.reshape(len(y), -1),
            sample_weight,
        )
