"""An estimator given as itself or as the last step of a scikit-learn Pipeline."""


def final_estimator(estimator):
    """The estimator at the end of ``estimator``: the last step of a Pipeline, or
    ``estimator`` itself.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_mmoe import MMoERegressor
    >>> from sklearn_mmoe._utils.pipeline import final_estimator
    >>> type(final_estimator(make_pipeline(StandardScaler(), MMoERegressor()))).__name__
    'MMoERegressor'
    """
    return estimator[-1] if hasattr(estimator, "steps") else estimator


def input_transform(estimator):
    """What brings ``X`` to the input of :func:`final_estimator`'s estimator: the
    Pipeline's steps before it, or nothing."""
    if hasattr(estimator, "steps"):
        return estimator[:-1].transform
    return lambda X: X
