"""Scoring one task of a multi-task estimator, for GridSearchCV and cross_validate."""

import inspect
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer, get_scorer_names, roc_auc_score
from sklearn.utils.metadata_routing import MetadataRequest

from .._tasks.inference import natural_dtype
from .._utils.pipeline import final_estimator
from .ranking import grouped_auc, grouped_ndcg

_RESPONSE_METHODS = ("predict", "predict_proba")
# Metrics of each group's rows (each user's), by name: the metric and its response
# method (None: the task's score, a binary task's probability or a quantity).
_GROUPED = {"gauc": (grouped_auc, "predict_proba"), "ndcg": (grouped_ndcg, None)}


def task_scorer(
    score_func, task, *, response_method=None, greater_is_better=None, **kwargs
):
    """Make a scorer that scores one task (one column of ``y``) of a multi-task model.

    scikit-learn's built-in scorers see a 2-D ``y`` and a list of probability arrays
    and give up; this scorer picks the task's column of ``y`` and the task's part of
    the predictions, leaves out the rows whose label of that task is missing (NaN or
    None), then calls ``score_func`` on them. Pass several in a dict to
    :class:`~sklearn.model_selection.GridSearchCV` to score every task.

    Parameters
    ----------
    score_func : callable or str
        ``score_func(y_true, y_pred, **kwargs)``, e.g.
        :func:`~sklearn.metrics.roc_auc_score` or :func:`~sklearn.metrics.r2_score`;
        or the name of one of scikit-learn's scorers
        (:func:`~sklearn.metrics.get_scorer_names`, e.g. ``"roc_auc"``,
        ``"neg_log_loss"``, ``"r2"``), which brings its metric, its arguments, its
        response method and its sign; or a recommender's metric of each group's rows
        (each user's), averaged over the groups, which needs ``groups``:

        - ``"gauc"``: the per-user ROC AUC of a binary task, weighted by the user's
          rows (users whose labels are all one class left out);
        - ``"ndcg"``: NDCG@k of each user's rows ranked by the task's score (a
          binary task's probability, a quantity's prediction), ``y`` the relevance;
          ``k=10`` unless given.

        The scorer then takes ``groups`` as scikit-learn's scorers take metadata:
        ``scorer(estimator, X, y, groups=users)``, or, in
        :class:`~sklearn.model_selection.GridSearchCV` and
        :func:`~sklearn.model_selection.cross_validate` with
        ``sklearn.set_config(enable_metadata_routing=True)``, from ``fit(X, y,
        groups=users)`` / ``params={"groups": users}`` (the scorer requests
        ``groups``; a splitter such as :class:`~sklearn.model_selection.GroupKFold`
        may request them too).
    task : int or str
        The task: its index (the column of ``y``) or its name, one of the fitted
        estimator's ``task_names_`` (the column names of a DataFrame ``y``).
    response_method : {"predict", "predict_proba"}, default=None
        What ``score_func`` receives: predictions, or class probabilities; None:
        ``"predict"`` for a metric, the scorer's own for a scorer's name (class
        probabilities for ``"roc_auc"``, ``"neg_log_loss"``...). For a
        binary task the probability of the second class of ``classes_`` (the greater
        label) is passed, as scikit-learn's ``roc_auc`` scorer does; for a multiclass
        task, the whole ``(n_samples, n_classes)`` array, with ``labels`` set to the
        task's ``classes_`` when ``score_func`` takes ``labels`` (so that a fold
        without some class still scores) and, for
        :func:`~sklearn.metrics.roc_auc_score`, ``multi_class="ovr"`` unless given.
    greater_is_better : bool, default=None
        If False, the scorer returns the negated score (for losses); None: True for
        a metric, the scorer's own sign for a scorer's name (``"neg_..."`` scorers
        negate).
    **kwargs
        Further arguments of ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None, groups=None)`` returning a
        float, with ``set_score_request`` and ``get_metadata_routing`` for metadata
        routing.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import get_scorer, get_scorer_names, roc_auc_score
    >>> from sklearn_mmoe import MMoEClassifier, task_scorer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    >>> clf = MMoEClassifier(max_epochs=30, random_state=0).fit(X, Y)
    >>> auc_task_1 = task_scorer(roc_auc_score, 1, response_method="predict_proba")
    >>> bool(auc_task_1(clf, X, Y) > 0.9)
    True
    >>> bool(task_scorer("roc_auc", 1)(clf, X, Y) == auc_task_1(clf, X, Y))
    True
    >>> users = np.arange(200) % 10
    >>> bool(task_scorer("gauc", 1)(clf, X, Y, groups=users) > 0.9)
    True
    """
    grouped = isinstance(score_func, str) and score_func in _GROUPED
    if grouped:
        score_func, response_method = _grouped(score_func, response_method)
    elif isinstance(score_func, str):
        score_func, response_method, greater_is_better, kwargs = _named(
            score_func, response_method, greater_is_better, kwargs
        )
    elif not callable(score_func):
        raise TypeError(
            "score_func must be a metric function (y_true, y_pred) -> float or the "
            "name of a scikit-learn scorer (sklearn.metrics.get_scorer_names()); "
            f"got {score_func!r} of type {type(score_func).__name__}."
        )
    if response_method is None and not grouped:
        response_method = "predict"
    greater_is_better = True if greater_is_better is None else greater_is_better
    if isinstance(task, bool) or not isinstance(task, (Integral, str)):
        raise TypeError(
            "task must be a task's index (an int) or its name (a str, one of the "
            f"estimator's task_names_); got {task!r} of type {type(task).__name__}."
        )
    if response_method not in _RESPONSE_METHODS and not (
        grouped and response_method is None
    ):
        raise ValueError(
            f"response_method must be one of {_RESPONSE_METHODS}; "
            f"got {response_method!r}."
        )
    requests = {"groups": True} if grouped else {}
    return _TaskScorer(
        score_func, task, response_method, greater_is_better, kwargs, requests
    )


def _grouped(name, response_method):
    """The metric and response method of a metric of each group's rows."""
    score_func, method = _GROUPED[name]
    if response_method is not None and method is not None and response_method != method:
        raise ValueError(
            f"score_func={name!r} scores {method}; got response_method="
            f"{response_method!r}."
        )
    return score_func, response_method if method is None else method


def _named(name, response_method, greater_is_better, kwargs):
    """The metric, response method, sign and arguments of scikit-learn's scorer
    ``name``; a ``response_method`` or ``greater_is_better`` given as well must agree
    with the scorer's."""
    if name not in get_scorer_names():
        raise ValueError(
            f"score_func={name!r} is not the name of a scikit-learn scorer; see "
            "sklearn.metrics.get_scorer_names(), or pass a metric function."
        )
    scorer = get_scorer(name)
    methods = getattr(scorer, "_response_method", None)
    methods = (methods,) if isinstance(methods, str) else tuple(methods or ())
    # Our estimators have no decision_function: a scorer that takes one, or
    # probabilities, gets probabilities.
    method = next((m for m in _RESPONSE_METHODS[::-1] if m in methods), None)
    if method is None and "decision_function" in methods:
        method = "predict_proba"
    if method is None or not hasattr(scorer, "_score_func"):
        raise ValueError(
            f"score_func={name!r}: this scorer cannot score one task of a multi-task "
            "model; pass its metric function instead."
        )
    sign = getattr(scorer, "_sign", 1) > 0
    for given, own, what in (
        (response_method, method, "response_method"),
        (greater_is_better, sign, "greater_is_better"),
    ):
        if given is not None and given != own:
            raise ValueError(
                f"score_func={name!r} sets {what}={own!r}; got {what}={given!r}. Pass "
                "the metric function itself to choose another."
            )
    return scorer._score_func, method, sign, {**scorer._kwargs, **kwargs}


class _TaskScorer:
    def __init__(
        self, score_func, task, response_method, greater_is_better, kwargs, requests
    ):
        self.requests = requests  # the metadata it takes: {name: True or alias}
        self.score_func = score_func
        self.task = task
        self.response_method = response_method
        self.sign = 1 if greater_is_better else -1
        self.kwargs = kwargs

    def __repr__(self):
        return (
            f"task_scorer({getattr(self.score_func, '__name__', self.score_func)}, "
            f"task={self.task}, response_method={self.response_method!r})"
        )

    def get_metadata_routing(self):
        """The metadata this scorer takes (see scikit-learn's metadata routing):
        ``groups`` for a metric of each group's rows, what ``set_score_request``
        set."""
        request = MetadataRequest(owner=self)
        for param, alias in self.requests.items():
            request.score.add_request(param=param, alias=alias)
        return request

    def set_score_request(self, *, sample_weight=None, groups=None):
        """Request metadata for the scorer, as scikit-learn's scorers do.

        Parameters
        ----------
        sample_weight, groups : bool, str or None, default=None
            True: take it; False: do not; a str: take it under that name
            (an alias); None: leave the request as it is.

        Returns
        -------
        self
        """
        for param, alias in (("sample_weight", sample_weight), ("groups", groups)):
            if alias is not None:
                self.requests = {**self.requests, param: alias}
        return self

    def _accept_sample_weight(self):
        # scikit-learn asks this of every scorer when routing is off
        return True

    def _index(self, estimator, n_tasks):
        """The task's column, from its index or from the estimator's task names."""
        if isinstance(self.task, str):
            final = final_estimator(estimator)
            names = [str(n) for n in getattr(final, "task_names_", [])]
            if self.task not in names:
                raise ValueError(
                    f"task={self.task!r} is not the name of a task of this model; "
                    f"its tasks are {names}."
                )
            return names.index(self.task)
        if not 0 <= self.task < n_tasks:
            raise ValueError(f"task={self.task} but y has {n_tasks} task(s).")
        return int(self.task)

    def __call__(self, estimator, X, y, sample_weight=None, groups=None):
        y = np.asarray(y)
        n_tasks = y.shape[1] if y.ndim == 2 else 1
        task = self._index(estimator, n_tasks)
        if task >= n_tasks:
            raise ValueError(f"task={self.task!r} but y has {n_tasks} task(s).")
        y_true = y[:, task] if y.ndim == 2 else y
        # Missing labels (NaN, None) are left out of the task's score.
        present = ~np.asarray(pd.isna(y_true), dtype=bool)
        y_true = natural_dtype(y_true[present], "")
        kwargs = dict(self.kwargs)
        method = self.response_method or _score_method(estimator, task)
        if self.score_func in (grouped_auc, grouped_ndcg):
            kwargs["groups"] = None if groups is None else np.asarray(groups)[present]
        if method == "predict":
            pred = estimator.predict(X)
            pred = pred[:, task] if pred.ndim == 2 else pred
        else:
            proba = estimator.predict_proba(X)
            pred = proba[task] if isinstance(proba, list) else proba
            if pred is None:
                raise ValueError(
                    f"task={self.task!r} is a regression task: it has no class "
                    "probabilities; use response_method='predict'."
                )
            if pred.shape[1] == 2:
                pred = pred[:, 1]
            elif self.score_func in (grouped_auc, grouped_ndcg):
                raise ValueError(
                    f"task={self.task!r} has {pred.shape[1]} classes: a ranking "
                    "metric scores a binary task's probability or a quantity."
                )
            else:
                kwargs = self._multiclass_kwargs(estimator, task, kwargs)
        pred = pred[present]
        if sample_weight is not None:
            kwargs["sample_weight"] = np.asarray(sample_weight)[present]
        return self.sign * float(self.score_func(y_true, pred, **kwargs))

    def _multiclass_kwargs(self, estimator, task, kwargs):
        """Arguments that let a metric score a multiclass task's probabilities."""
        if self.score_func is roc_auc_score:
            kwargs.setdefault("multi_class", "ovr")
        try:
            takes_labels = "labels" in inspect.signature(self.score_func).parameters
        except (TypeError, ValueError):
            takes_labels = False
        final = final_estimator(estimator)
        classes = getattr(final, "classes_", None)
        if takes_labels and classes is not None:
            classes = classes[task] if isinstance(classes, list) else classes
            kwargs.setdefault("labels", classes)
        return kwargs


def _score_method(estimator, task):
    """A ranking's response method for ``task``: a classification task's
    probabilities, a quantity's predictions."""
    classes = getattr(final_estimator(estimator), "classes_", None)
    if isinstance(classes, list):
        classes = classes[task]
    return "predict" if classes is None else "predict_proba"
