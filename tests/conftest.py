import os

# scikit-learn's check_array_api_input runs (rather than skips) only when scipy was
# imported with array API support switched on.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
from _helpers import QUICK, code_blocks, mixed_frame

from sklearn_mmoe.datasets import census_income_path


def pytest_collection_modifyitems(items):
    """The documentation's build first: the longest file, it starts on a worker of
    its own while the other takes the rest (pyproject.toml's ``--dist loadfile``)."""
    items.sort(key=lambda item: item.path.name != "test_docs.py")


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
    return dict(**QUICK, early_stopping=False)


@pytest.fixture
def mixed_table():
    """A DataFrame ``X`` with numeric, NaN and categorical columns and a ``Y`` of
    mixed tasks: a binary string label, a quantity and a count."""
    return mixed_frame()


@pytest.fixture(scope="session")
def docs_code():
    """:func:`_helpers.code_blocks`, for the tests that run the documentation's
    code."""
    return code_blocks


@pytest.fixture
def interrupt_after(monkeypatch):
    """``interrupt_after(n)``: the n-th training step from now raises
    KeyboardInterrupt, as a Ctrl-C arriving then would (undone at the test's end, or
    by ``monkeypatch.undo()``)."""
    from sklearn_mmoe._training.net import MultiTaskNet

    def arm(n_steps):
        step = MultiTaskNet.train_step
        count = {"n": 0}

        def interrupted(self, batch, **kwargs):
            count["n"] += 1
            if count["n"] == n_steps:
                raise KeyboardInterrupt
            return step(self, batch, **kwargs)

        monkeypatch.setattr(MultiTaskNet, "train_step", interrupted)

    return arm
