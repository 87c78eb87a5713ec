import os

# scikit-learn's check_array_api_input runs (rather than skips) only when scipy was
# imported with array API support switched on.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest

from sklearn_mmoe.datasets import census_income_path


@pytest.fixture(scope="session")
def census_test_path():
    """The UCI Census-Income (KDD) test split shipped with the package."""
    return census_income_path()


@pytest.fixture
def two_task_data():
    """A binary int task and a 3-class string task that share their inputs."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5))
    binary = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    multi = np.array(["low", "mid", "high"])[
        np.digitize(X[:, 1] - X[:, 2], [-0.7, 0.7])
    ]
    Y = np.empty((300, 2), dtype=object)
    Y[:, 0], Y[:, 1] = binary, multi
    return X, Y, binary, multi


@pytest.fixture
def fast():
    """Parameters of a small network trained briefly on all rows: for tests of what
    a fit does, not of how well it learns."""
    return dict(
        n_experts=3,
        expert_units=(16,),
        tower_units=(8,),
        max_epochs=30,
        batch_size=32,
        learning_rate=0.01,
        early_stopping=False,
        random_state=0,
    )
