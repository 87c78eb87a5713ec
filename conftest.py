"""For the tests and the doctests alike: figures are drawn off-screen, then closed."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

# The suite runs on two pytest-xdist workers (pyproject.toml's addopts): each computes
# on one thread, or two workers of two threads each would fight over two cores.
# The processes the tests start (the documentation's build, measurements in a fresh
# process) inherit the one thread through the environment.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    _ONE_THREAD = threadpool_limits(1)  # BLAS and OpenMP, for the worker's life


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
