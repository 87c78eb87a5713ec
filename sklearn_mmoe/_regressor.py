"""MMoERegressor: one regression task per column of y."""

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context

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
    def fit(self, X, y):
        """Fit the model to ``X`` and the task targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples. Sparse input is densified one batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets; each column is a task.

        Returns
        -------
        self : MMoERegressor
            The fitted estimator.
        """
        X, y = self._validate_fit_data(X, y)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if self.warm_start and hasattr(self, "net_") and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"warm_start=True needs the same number of tasks as the previous fit "
                f"({self.n_outputs_}); y has {Y.shape[1]}."
            )
        if not (self.warm_start and hasattr(self, "net_")):
            # A constant task keeps scale 0: it trains on zeros and predicts its
            # constant.
            self._y_mean, self._y_scale = Y.mean(axis=0), Y.std(axis=0)
        divisor = np.where(self._y_scale > 0, self._y_scale, 1.0)
        Z = torch.from_numpy(((Y - self._y_mean) / divisor).astype(np.float32))
        self._y_1d = y.ndim == 1
        self.n_outputs_ = Y.shape[1]
        self.net_ = self._fit_net(X, Z, [1] * Y.shape[1], kind="regression")
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
