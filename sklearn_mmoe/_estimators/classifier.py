"""MMoEClassifier: one classification task (binary or multiclass) per column of y."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context

from . import inference
from .base import FUNNEL_CONSTRAINTS, FUNNEL_DEFAULTS, _BaseMMoE, init_with
from .docstrings import (
    COMMON_PARAMETERS,
    FITTED_ATTRIBUTES,
    FUNNEL_PARAMETERS,
    REFERENCES,
    partial_fit_doc,
)


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
{FUNNEL_PARAMETERS}{COMMON_PARAMETERS}
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

    _parameter_constraints: dict = {
        **_BaseMMoE._parameter_constraints,
        **FUNNEL_CONSTRAINTS,
    }

    # The base's keyword-only parameters, plus the funnels'.
    __init__ = init_with(**FUNNEL_DEFAULTS)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _declared_task_types(self, n_tasks):
        return ["classification"] * n_tasks

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` and the task labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Input samples; categorical columns (see ``categorical_features``) of any
            type. Sparse input is densified one batch at a time.
        y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
            Labels; each column is a task with its own classes (a DataFrame's column
            names become ``task_names_``). With ``missing_labels="ignore"``, NaN or
            None marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in every task's loss (training and
            early-stopping validation); ``None`` weighs all samples equally.

        Returns
        -------
        self : MMoEClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    def _set_task_attributes(self):
        classes = [task.classes for task in self._tasks]
        self.classes_ = classes[0] if len(classes) == 1 else classes

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        if classes is None and not hasattr(self, "net_"):
            raise ValueError(
                "classes must be passed on the first call to partial_fit: every label "
                "each task can have, one array for a single task or a list of arrays, "
                "one per task, e.g. classes=[np.unique(Y[:, t]) for t in "
                "range(n_tasks)] (a chunk may lack some labels)."
            )
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    partial_fit.__doc__ = partial_fit_doc(
        "MMoEClassifier",
        "the tasks, their classes and the scaling of the inputs",
        "Labels of every task, within the first call's ``classes``.",
        """        classes : array-like or list of array-like, default=None
            Every label each task can have: one array for a single task, one per
            task otherwise. Required on the first call (``y`` of one chunk may miss
            some classes); ignored later.
""",
    )

    def predict_proba(self, X):
        """Class probabilities of every task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of such arrays
            One array for a single task, otherwise a list with one array per task,
            whose columns follow that task's ``classes_``.
        """
        return inference.probabilities(self, X)

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
        proba = inference.probabilities(self, X)
        with np.errstate(divide="ignore"):
            if isinstance(proba, list):
                return [np.log(p) for p in proba]
            return np.log(proba)

    def predict(self, X):
        """Predict every task's label.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            The most probable label of each task, in the labels' original type (an
            object array when the tasks' label types differ); 1-D when ``y`` was 1-D
            at fit.
        """
        return inference.predictions(self, X)

    def score(self, X, y, sample_weight=None):
        """Accuracy of each task, averaged over tasks.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True labels of every task, laid out as at fit.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean over tasks of the (weighted) fraction of correct labels; with
            ``missing_labels="ignore"``, of each task's rows that have a label.
        """
        return _BaseMMoE.score(self, X, y, sample_weight)
