"""A synthetic funnel: impressions, some clicked, some clicks converted, with the
true click and conversion probabilities known."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 2, None, closed="left")],
        "click_rate": [Interval(Real, 0, 1, closed="neither")],
        "conversion_rate": [Interval(Real, 0, 1, closed="neither")],
        "correlation": [Interval(Real, -1, 1, closed="both")],
        "signal": [Interval(Real, 0, None, closed="left")],
        "probabilities": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_funnel(
    n_samples=20_000,
    n_features=10,
    click_rate=0.2,
    conversion_rate=0.1,
    correlation=0.5,
    signal=2.0,
    probabilities=False,
    random_state=None,
):
    r"""Impressions, clicks and purchases: a funnel whose conditional rate is known.

    Each row has ``n_features`` standard normal features ``x``. It is clicked with
    probability :math:`\sigma(a + s\,u^T x)` and, once clicked, bought with
    probability :math:`\sigma(b + s\,v^T x)` (the conversion probability), where
    ``u`` and ``v`` are unit vectors at cosine ``correlation`` and ``s`` is
    ``signal``; ``a`` and ``b`` are set so that the mean click probability is
    ``click_rate`` and the mean conversion probability ``conversion_rate``. A purchase
    without a click never happens. A model of the conversion trained on the clicked
    rows alone learns from a sample unlike the impressions it predicts for (with
    ``correlation`` > 0 the clicked rows lean towards likely buyers) and from few
    labels: the case ESMM and AITM are built for.

    Parameters
    ----------
    n_samples : int, default=20_000
        Impressions (rows).
    n_features : int, default=10
        Features per row (at least 2).
    click_rate : float, default=0.2
        Mean click probability, in (0, 1).
    conversion_rate : float, default=0.1
        Mean probability of a purchase given a click, in (0, 1).
    correlation : float, default=0.5
        Cosine of the click's and the conversion's directions in feature space.
    signal : float, default=2.0
        ``s``: how strongly the features decide (0: every row alike).
    probabilities : bool, default=False
        Also return each row's true click and conversion probabilities.
    random_state : int, RandomState instance or None, default=None
        Seed of the directions, the features and the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The features.
    Y : DataFrame of shape (n_samples, 2)
        ``click`` and ``purchase`` (bool), a purchase only where a click is.
    P : DataFrame of shape (n_samples, 2)
        With ``probabilities=True``: ``click`` (the click probability) and
        ``conversion`` (the probability of a purchase given a click).

    Examples
    --------
    >>> from sklearn_mmoe.datasets import make_funnel
    >>> X, Y, P = make_funnel(n_samples=1000, probabilities=True, random_state=0)
    >>> X.shape, Y.columns.tolist(), P.columns.tolist()
    ((1000, 10), ['click', 'purchase'], ['click', 'conversion'])
    >>> bool((Y["purchase"] <= Y["click"]).all())
    True
    """
    rng = check_random_state(random_state)
    u = _unit(rng.standard_normal(n_features))
    other = rng.standard_normal(n_features)
    other = _unit(other - (other @ u) * u)
    v = correlation * u + np.sqrt(1.0 - correlation**2) * other
    X = rng.standard_normal((n_samples, n_features))
    p_click = _at_mean(signal * X @ u, click_rate)
    p_conversion = _at_mean(signal * X @ v, conversion_rate)
    click = rng.uniform(size=n_samples) < p_click
    purchase = click & (rng.uniform(size=n_samples) < p_conversion)
    Y = pd.DataFrame({"click": click, "purchase": purchase})
    if not probabilities:
        return X, Y
    return X, Y, pd.DataFrame({"click": p_click, "conversion": p_conversion})


def _unit(vector):
    return vector / np.linalg.norm(vector)


def _at_mean(scores, rate):
    """:math:`\\sigma(c + \\text{scores})` with the intercept ``c`` that makes its
    mean ``rate``."""
    c = brentq(lambda c: expit(c + scores).mean() - rate, -50.0, 50.0)
    return expit(c + scores)
