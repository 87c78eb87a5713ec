"""scikit-learn's estimator checks, on every estimator's defaults and on every
architecture."""

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor

# The defaults, plus few variants, each combining options that run different code (every
# variant costs a full run of the checks, about 40 s on two cores).
ESTIMATORS = [
    MMoEClassifier(),
    MMoERegressor(),
    MMoEMultiTask(),
    # Deep experts and gates through the batched (M, B, H) layers, PLE with unequal
    # shared and task-specific expert counts over two levels, attention gates, top-k
    # gating and the load-balancing loss.
    MMoEClassifier(
        architecture="ple",
        n_experts=3,
        n_task_experts=2,
        n_levels=2,
        expert_units=(16, 8),
        gate_units=(8,),
        tower_units=(),
        gate_type="attention",
        top_k=2,
        balance_weight=0.1,
    ),
    # One gate, an ensemble inside the network, averaged weights scored by early
    # stopping on held-out rows, the piecewise-linear numeric encoding, two networks
    # cross-fitted on folds, each trained again on every row.
    MMoERegressor(
        architecture="omoe",
        ensemble_size=2,
        ema_decay=0.9,
        early_stopping=True,
        numeric_encoding="piecewise",
        n_cv=2,
        refit=True,
    ),
    # No gates; constant learning rate, numbers passed through as given; task weights
    # learned (the checks' targets make its task a classification or a regression one).
    MMoEMultiTask(
        architecture="shared_bottom",
        ensemble_size=3,
        learning_rate_schedule="constant",
        numeric_encoding=None,
        task_weights="uncertainty",
    ),
    # Transformer experts: a full block, then the [CLS]-only last block.
    MMoEClassifier(expert_type="transformer", n_experts=2, n_blocks=2, n_heads=2),
]


# The checks fit with the default max_epochs on tiny data, where the training loss keeps
# creeping down until the last epoch; that warning is the expected outcome there.
# MMoEMultiTask's "auto" reads the checks' labels 0, 1, 2 as a count and says so, as
# it does for every ambiguous column (tests/test_multitask.py checks that warning).
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:.*task_types='auto' reads:UserWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_convergence_warning_is_filtered_only_in_estimator_checks():
    """The filter above is scoped: elsewhere, stopping at max_epochs warns."""
    import numpy as np

    X = np.random.RandomState(0).normal(size=(40, 3))
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        MMoERegressor(max_epochs=2, random_state=0).fit(X, X[:, 0])
