"""An estimator given as itself or as the last step of a scikit-learn Pipeline."""


def final_step(estimator):
    """The estimator at the end of ``estimator`` (the last step of a Pipeline, or
    ``estimator`` itself) and the transform that brings ``X`` to its input.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_mmoe import MMoERegressor
    >>> from sklearn_mmoe._utils.pipeline import final_step
    >>> type(final_step(make_pipeline(StandardScaler(), MMoERegressor()))[0]).__name__
    'MMoERegressor'
    """
    if hasattr(estimator, "steps"):
        return estimator[-1], estimator[:-1].transform
    return estimator, lambda X: X
