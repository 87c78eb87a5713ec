"""scikit-learn's estimator checks, on the defaults and on every architecture."""

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mmoe import MMoEClassifier, MMoERegressor

ESTIMATORS = [
    MMoEClassifier(),
    MMoERegressor(),
    MMoEClassifier(architecture="omoe"),
    MMoERegressor(architecture="omoe"),
    MMoEClassifier(architecture="shared_bottom"),
    MMoERegressor(architecture="shared_bottom"),
    # Deep experts and gates go through the batched (M, B, H) layers as well.
    MMoEClassifier(expert_units=(16, 8), gate_units=(8,), tower_units=()),
    # PLE with unequal shared and task-specific expert counts over two levels.
    MMoEClassifier(architecture="ple", n_experts=3, n_task_experts=2, n_levels=2),
    MMoERegressor(architecture="ple", n_experts=1, n_task_experts=3, n_levels=2),
    # Attention gates, sparse top-k gating and the load-balancing loss.
    MMoEClassifier(gate_type="attention", top_k=2, balance_weight=0.1),
    MMoERegressor(gate_type="attention", gate_units=(8,), top_k=3, balance_weight=0.1),
    # Averaged weights, scored on held-out rows by early stopping.
    MMoEClassifier(ema_decay=0.9, early_stopping=True),
    # An efficient ensemble inside the network (members' mean probability / value).
    MMoEClassifier(ensemble_size=3),
    MMoERegressor(ensemble_size=2, early_stopping=True),
]


# The checks fit with the default max_epochs on tiny data, where the training loss keeps
# creeping down until the last epoch; that warning is the expected outcome there.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_convergence_warning_is_filtered_only_in_estimator_checks():
    """The filter above is scoped: elsewhere, stopping at max_epochs warns."""
    import numpy as np

    X = np.random.RandomState(0).normal(size=(40, 3))
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        MMoERegressor(max_epochs=2, random_state=0).fit(X, X[:, 0])
