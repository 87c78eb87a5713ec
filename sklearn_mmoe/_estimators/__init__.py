"""The scikit-learn estimators: the shared base (its parameters and fit), the
classifier, the regressor and the multi-task estimator, prediction, and the
docstring sections they share."""
