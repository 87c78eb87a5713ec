"""The MMoE paper's synthetic regression tasks with a controlled correlation."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "correlation": [Interval(Real, -1, 1, closed="both")],
        "scale": [Interval(Real, 0, None, closed="neither")],
        "n_sines": [Interval(Integral, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "coef": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_multitask_regression(
    n_samples=10_000,
    n_features=100,
    n_tasks=2,
    correlation=0.5,
    scale=1.0,
    n_sines=10,
    noise=0.01,
    coef=False,
    random_state=None,
):
    r"""Regression tasks with a controlled correlation, as in the MMoE paper (sec. 3.2).

    Draw orthonormal ``u_1, ..., u_T`` in :math:`R^d` and set ``w_1 = c u_1`` and
    :math:`w_k = c (p u_1 + \sqrt{1 - p^2} u_k)` for ``k >= 2``, so that every task's
    weight vector has cosine ``p`` (``correlation``) with the first task's. With
    :math:`x \sim N(0, I_d)`, task ``k`` is

    .. math:: y_k = w_k^T x + \sum_{i=1}^{m} \sin(\alpha_i w_k^T x + \beta_i)
              + \epsilon_k

    with :math:`\alpha_i = i`, :math:`\beta_i = i^2` (shared by all tasks) and
    :math:`\epsilon_k \sim N(0, \sigma^2)`. The labels' Pearson correlation grows with
    ``p`` but is not equal to it.

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of samples.
    n_features : int, default=100
        Dimension ``d`` of the inputs; at least ``n_tasks``.
    n_tasks : int, default=2
        Number of tasks ``T``.
    correlation : float, default=0.5
        Cosine ``p`` between each task's weight vector and the first task's, in [-1, 1].
    scale : float, default=1.0
        Norm ``c`` of every weight vector.
    n_sines : int, default=10
        Number ``m`` of sine terms.
    noise : float, default=0.01
        Standard deviation ``sigma`` of the Gaussian noise of each task.
    coef : bool, default=False
        Whether to also return the weight vectors.
    random_state : int, RandomState instance or None, default=None
        Seed of the weight vectors, inputs and noise.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Inputs.
    Y : ndarray of shape (n_samples, n_tasks)
        Targets, one column per task.
    W : ndarray of shape (n_features, n_tasks)
        The weight vectors ``w_k`` as columns; only when ``coef=True``.

    References
    ----------
    .. [1] J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong and E. H. Chi, "Modeling Task
       Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts",
       KDD 2018, :doi:`10.1145/3219819.3220007`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe.datasets import make_multitask_regression
    >>> X, Y, W = make_multitask_regression(
    ...     n_samples=500, n_tasks=3, correlation=0.9, coef=True, random_state=0)
    >>> X.shape, Y.shape
    ((500, 100), (500, 3))
    >>> cosine = W[:, 0] @ W[:, 2] / np.linalg.norm(W[:, 0]) / np.linalg.norm(W[:, 2])
    >>> round(float(cosine), 6)
    0.9
    """
    if n_tasks > n_features:
        raise ValueError(
            f"n_tasks={n_tasks} orthogonal directions need n_features >= n_tasks; "
            f"got n_features={n_features}."
        )
    rng = check_random_state(random_state)
    u, _ = np.linalg.qr(
        rng.standard_normal((n_features, n_tasks))
    )  # orthonormal columns
    W = np.empty((n_features, n_tasks))
    W[:, 0] = u[:, 0]
    W[:, 1:] = correlation * u[:, :1] + np.sqrt(1 - correlation**2) * u[:, 1:]
    W *= scale
    X = rng.standard_normal((n_samples, n_features))
    Z = X @ W  # (n_samples, n_tasks): w_k . x
    i = np.arange(1, n_sines + 1)
    Y = Z + np.sin(Z[:, :, None] * i + i**2).sum(axis=2)
    Y += noise * rng.standard_normal(Y.shape)
    return (X, Y, W) if coef else (X, Y)
