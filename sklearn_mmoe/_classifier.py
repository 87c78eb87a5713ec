"""MMoEClassifier: one classification task (binary or multiclass) per column of y."""

import numpy as np
import pandas as pd
import torch
from scipy.special import softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets

from ._base import _BaseMMoE
from ._docstrings import COMMON_PARAMETERS, FITTED_ATTRIBUTES, REFERENCES


class MMoEClassifier(ClassifierMixin, _BaseMMoE):
    __doc__ = f"""Multi-task classification with a Multi-gate Mixture-of-Experts.

    Each column of ``y`` is a task with its own label set, binary or multiclass, with
    labels of any type (ints, strings, bools). The tasks share a set of experts; each
    task mixes the experts' outputs with its own softmax gate and feeds the mixture to
    its own tower, which outputs one logit per class of that task (Ma et al., 2018).
    ``architecture`` switches to a single shared gate (OMoE), a plain shared network
    (Shared-Bottom) or task-specific plus shared experts over several levels (PLE);
    ``gate_weights`` shows how each task mixes the experts. Training minimises the
    (task-weighted) sum of the per-task cross-entropies with AdamW, through a skorch
    net kept as ``net_``.

    Parameters
    ----------
{COMMON_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of such arrays
        The labels of each task, sorted: one array when ``y`` has a single task, a list
        of ``n_tasks`` arrays otherwise (as
        :class:`~sklearn.multioutput.MultiOutputClassifier`).
{FITTED_ATTRIBUTES}
    See Also
    --------
    MMoERegressor : The regression counterpart.
    sklearn.multioutput.MultiOutputClassifier : One independent classifier per task.
    sklearn.neural_network.MLPClassifier : A single network, binary tasks only when
        multi-output.

    Notes
    -----
    ``score`` returns the accuracy of each task averaged over tasks (for one task, plain
    accuracy). scikit-learn's default for 2-D ``y`` is the subset accuracy, which does
    not accept multiclass-multioutput targets and rewards nothing short of every task
    right at once.

    References
    ----------
{REFERENCES}
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe import MMoEClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4))
    >>> Y = np.column_stack([X[:, 0] > 0, np.where(X[:, 1] > 0.5, "high", "low")])
    >>> clf = MMoEClassifier(n_experts=4, max_epochs=20, random_state=0).fit(X, Y)
    >>> [c.tolist() for c in clf.classes_]
    [['False', 'True'], ['high', 'low']]
    >>> [p.shape for p in clf.predict_proba(X[:3])]
    [(3, 2), (3, 2)]
    >>> clf.predict(X[:1]).shape
    (1, 2)
    """

    _y_numeric = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` and the task labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Input samples; categorical columns (see ``categorical_features``) of any
            type. Sparse input is densified one batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Labels; each column is a task with its own classes. With
            ``missing_labels="ignore"``, NaN or None marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in every task's loss (training and
            early-stopping validation); ``None`` weighs all samples equally.

        Returns
        -------
        self : MMoEClassifier
            The fitted estimator.
        """
        X, rows, Y, present, weight = self._validate_fit_data(X, y, sample_weight)
        classes, codes = [], np.zeros(Y.shape, dtype=np.int64)
        for t in range(Y.shape[1]):
            labels, codes[present[:, t], t] = _encode_task(
                Y[present[:, t], t], t if Y.shape[1] > 1 else None
            )
            classes.append(labels)
        if self.warm_start and hasattr(self, "net_"):
            previous = self._classes_list
            if len(previous) != len(classes) or any(
                not np.array_equal(a, b) for a, b in zip(previous, classes)
            ):
                raise ValueError(
                    "warm_start=True needs the same tasks and classes as the "
                    "previous fit."
                )
        rows, codes, present, weight = self._distinct_rows(
            X, rows, codes, present, weight
        )
        self.n_outputs_ = Y.shape[1]
        self.classes_ = classes[0] if len(classes) == 1 else classes
        self.net_ = self._fit_net(
            X,
            rows,
            torch.from_numpy(codes),
            present,
            weight,
            [len(c) for c in classes],
            kind="classification",
        )
        return self

    def _task_proba(self, X):
        """Class probabilities: one float64 array (n_samples, n_classes_t) per task.

        ``_forward`` checks that the model is fitted, so the public methods need not.
        """
        logits = self._forward(X).astype(np.float64)  # (n, T, W), padding = -inf
        proba = softmax(logits, axis=-1)
        return [proba[:, t, : len(c)] for t, c in enumerate(self._classes_list)]

    @property
    def _classes_list(self):
        return self.classes_ if isinstance(self.classes_, list) else [self.classes_]

    def predict_proba(self, X):
        """Class probabilities of every task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            One array when ``y`` had a single task, otherwise a list with one array per
            task, whose columns follow that task's ``classes_``.
        """
        proba = self._task_proba(X)
        return proba[0] if self.n_outputs_ == 1 else proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, in the same layout.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            The natural logarithm of the class probabilities.
        """
        with np.errstate(divide="ignore"):
            log = [np.log(p) for p in self._task_proba(X)]
        return log[0] if self.n_outputs_ == 1 else log

    def predict(self, X):
        """Predict every task's label.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            The most probable label of each task, in the labels' original type; 1-D when
            ``y`` was 1-D at fit.
        """
        proba = self._task_proba(X)
        labels = [c[p.argmax(axis=1)] for c, p in zip(self._classes_list, proba)]
        if self._y_1d:
            return labels[0]
        dtypes = {c.dtype.kind for c in self._classes_list}
        dtype = np.result_type(*labels) if len(dtypes) == 1 else object
        Y = np.empty((len(labels[0]), len(labels)), dtype=dtype)
        for t, column in enumerate(labels):
            Y[:, t] = column
        return Y

    def score(self, X, y, sample_weight=None):
        """Accuracy of each task, averaged over tasks.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True labels of every task.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean over tasks of the (weighted) fraction of correct labels; with
            ``missing_labels="ignore"``, of each task's rows that have a label.
        """
        Y_pred = self.predict(X)
        y = np.asarray(y, dtype=object if Y_pred.dtype == object else None)
        if y.shape != Y_pred.shape:
            y = y.reshape(Y_pred.shape) if y.size == Y_pred.size else y
        if y.shape != Y_pred.shape:
            raise ValueError(f"y has shape {y.shape}; expected {Y_pred.shape}.")
        return self._mean_task_score(
            lambda true, pred, w: np.average(true == pred, weights=w),
            y.reshape(len(y), -1),
            Y_pred.reshape(len(y), -1),
            sample_weight,
        )


def _encode_task(labels, task):
    """Sorted classes of one task and each row's class index; errors name the task."""
    where = "" if task is None else f"Task {task} (column {task} of y): "
    labels = _natural_dtype(labels, where)
    try:
        check_classification_targets(labels)
    except ValueError as exc:
        raise ValueError(where + str(exc)) from exc
    classes, codes = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"{where}Classifier can't train when only one class is present "
            f"({classes[0]!r}); every task needs at least two classes."
        )
    return classes, codes.reshape(-1)


def _natural_dtype(labels, where):
    """An object column (a task of a mixed-type ``y``) as bool, int or float."""
    if labels.dtype != object:
        return labels
    kind = pd.api.types.infer_dtype(labels, skipna=False)
    if kind in ("boolean", "integer", "floating"):
        return labels.astype(
            {"boolean": bool, "integer": np.int64, "floating": float}[kind]
        )
    if kind not in ("string", "bytes", "empty"):
        raise TypeError(
            f"{where}labels must be all strings, all numbers or all bools; got a mix "
            f"({kind}) such as {labels[:3].tolist()!r}."
        )
    return labels
