"""MMoEMultiTask: tasks of different kinds (classification, regression) in one model."""

from sklearn.base import _fit_context
from sklearn.utils import ClassifierTags
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import StrOptions

from .._tasks.kinds import TASK_TYPES
from . import inference
from .base import FUNNEL_CONSTRAINTS, FUNNEL_DEFAULTS, _BaseMMoE, init_with
from .docstrings import (
    COMMON_PARAMETERS,
    FITTED_ATTRIBUTES,
    FUNNEL_PARAMETERS,
    REFERENCES,
    partial_fit_doc,
)


def _has_classification_task(estimator):
    """``predict_proba`` exists before fit, and after it when a task has classes."""
    tasks = getattr(estimator, "_tasks", None)
    return tasks is None or any(task.has_proba for task in tasks)


class MMoEMultiTask(_BaseMMoE):
    __doc__ = f"""Multi-task learning with tasks of different kinds in one
    Multi-gate Mixture-of-Experts.

    Each column of ``y`` is a task of its own type: a **classification** task (binary
    or multiclass, labels of any type) or a **regression** task, for instance whether
    a user buys a film and the rating given, or whether income exceeds a threshold and
    the weeks worked in the year. The tasks share a set of experts; each task mixes
    them with its own gate and feeds the mixture to its own tower: one logit per
    class for a classification task, one output for a regression task (Ma et al.,
    2018). Training minimises the weighted sum of each task's loss, cross-entropy or
    the squared error of the target standardised inside ``fit``, so that losses of
    different kinds start on comparable scales; ``task_weights="uncertainty"`` learns
    the weights instead (Kendall et al., 2018).

    Parameters
    ----------
    task_types : "auto" or list of {{"classification", "regression", "count"}}, \
default="auto"
        The kind of each task (column of ``y``): ``"classification"`` (cross-entropy),
        ``"regression"`` (squared error of the standardised target) or ``"count"``
        (Poisson deviance with a log link, for non-negative targets such as a number
        of events; predictions are expected counts, scored by :math:`R^2`). A list
        names the kind of every task. ``"auto"`` reads each column by this rule:

        - a pandas ``category`` column, bools and strings: classification;
        - numbers that are not all whole (``type_of_target`` says
          ``"continuous"``): regression;
        - whole numbers (ints, or floats of whole values such as an int column with
          missing labels) of two distinct values: classification (a binary label);
        - a DataFrame's (or Series') float column of more whole values: regression,
          as its dtype says;
        - other whole numbers are ambiguous, and are read with a ``UserWarning``
          that names the choice and how to make another: non-negative ones of four
          or more distinct values as a count (a number of visits, children, a 1-5
          score), of three values as classes (codes such as 0, 1, 2), signed ones
          as classes up to 20 distinct values and as a quantity (regression)
          beyond.
{FUNNEL_PARAMETERS}{COMMON_PARAMETERS}
    Attributes
    ----------
    task_types_ : list of str
        The kind of each task: ``"classification"``, ``"regression"`` or
        ``"count"``.
    classes_ : list of ndarray or None
        The sorted labels of each classification task, ``None`` for a regression task
        (one entry per task).
{FITTED_ATTRIBUTES}
    See Also
    --------
    MMoEClassifier : Every task a classification task.
    MMoERegressor : Every task a regression task.

    Notes
    -----
    ``predict`` returns one column per task in the task's own type: labels for a
    classification task, floats for a regression task, in an object array when the
    types differ (``np.asarray(column, dtype=float)`` recovers a regression column).
    ``predict_proba`` returns a list with one entry per task: the (n_samples,
    n_classes) probabilities of a classification task, ``None`` for a regression task
    (for a single task, the task's array, as :class:`MMoEClassifier` does); a model
    of regression tasks only has no ``predict_proba``. ``score`` is the mean over
    tasks of the accuracy (classification) and :math:`R^2` (regression); score a
    single task with
    :func:`~sklearn_mmoe.task_scorer`.

    Regression targets are standardised per task inside ``fit`` (predictions are mapped
    back); ``loss_curve_`` and the task curves are on that scale for regression tasks.

    References
    ----------
{REFERENCES}
    .. [5] A. Kendall, Y. Gal and R. Cipolla, "Multi-Task Learning Using Uncertainty
       to Weigh Losses for Scene Geometry and Semantics", CVPR 2018,
       :arxiv:`1705.07115`.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_mmoe import MMoEMultiTask
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4))
    >>> Y = pd.DataFrame({{
    ...     "buys": np.where(X[:, 0] + X[:, 1] > 0, "yes", "no"),
    ...     "rating": 3 + X[:, 0] - 0.5 * X[:, 2] + 0.1 * rng.normal(size=300),
    ... }})
    >>> model = MMoEMultiTask(n_experts=4, random_state=0).fit(X, Y)
    >>> model.task_types_
    ['classification', 'regression']
    >>> model.task_names_.tolist()
    ['buys', 'rating']
    >>> model.predict(X[:2]).dtype
    dtype('O')
    >>> proba = model.predict_proba(X[:2])
    >>> proba[0].shape, proba[1] is None
    ((2, 2), True)
    >>> bool(model.score(X, Y) > 0.8)
    True
    """

    _parameter_constraints: dict = {
        **_BaseMMoE._parameter_constraints,
        "task_types": [StrOptions({"auto"}), "array-like"],
        **FUNNEL_CONSTRAINTS,
    }

    # The base's keyword-only parameters, plus task_types and the funnels'.
    __init__ = init_with(task_types="auto", **FUNNEL_DEFAULTS)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # What predict_proba offers for a classification task (read by scikit-learn's
        # checks of estimators that have one), as MMoEClassifier's tags say.
        tags.classifier_tags = ClassifierTags(multi_label=True)
        return tags

    def _declared_task_types(self, n_tasks):
        if isinstance(self.task_types, str):  # "auto", as validated
            return None
        types = list(self.task_types)
        if len(types) != n_tasks or any(
            not isinstance(t, str) or t not in TASK_TYPES for t in types
        ):
            raise ValueError(
                f"task_types must name the kind of each of the {n_tasks} task(s), "
                f"one of {', '.join(map(repr, TASK_TYPES))}; got {self.task_types!r}."
            )
        return types

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` and the tasks' labels and targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Input samples; categorical columns (see ``categorical_features``) of any
            type. Sparse input is densified one batch at a time.
        y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
            One column per task, of its own type (a DataFrame of mixed dtypes, or an
            object array); a DataFrame's column names become ``task_names_``. With
            ``missing_labels="ignore"``, NaN or None marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in every task's loss (training and
            early-stopping validation) and in the regression targets'
            standardisation; ``None`` weighs all samples equally.

        Returns
        -------
        self : MMoEMultiTask
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    def _set_task_attributes(self):
        self.task_types_ = [task.kind for task in self._tasks]
        self.classes_ = [getattr(task, "classes", None) for task in self._tasks]

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    partial_fit.__doc__ = partial_fit_doc(
        "MMoEMultiTask",
        "the tasks, their kinds and classes, and the scaling of the inputs and of "
        "the regression targets",
        "Labels and targets of every task.",
        """        classes : list of (array-like or None), default=None
            Every label each classification task can have, ``None`` for a
            regression task; on the first call only. A classification task without
            classes takes those of the first call's labels.
""",
    )

    def predict(self, X):
        """Predict every task: labels for a classification task, values for a
        regression task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            One column per task in its own type; an object array when the tasks'
            types differ. 1-D when ``y`` was 1-D at fit.
        """
        return inference.predictions(self, X)

    @available_if(_has_classification_task)
    def predict_proba(self, X):
        """Class probabilities of every classification task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : list of (ndarray of shape (n_samples, n_classes) or None)
            One entry per task: the probabilities of a classification task, whose
            columns follow that task's ``classes_``, and ``None`` for a regression
            task. For a single task, the task's array.
        """
        return inference.probabilities(self, X)
