"""Synthetic users rating items: ids, side features, and a purchase and a rating task
drawn from shared latent factors with a controlled correlation."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

# Side features: numeric columns per user and per item, and the levels of each one's
# categorical column (a segment of users, a genre of items).
_N_NUMERIC = 3
_N_SEGMENTS, _N_GENRES = 6, 10


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_users": [Interval(Integral, 1, None, closed="left")],
        "n_items": [Interval(Integral, 1, None, closed="left")],
        "n_factors": [Interval(Integral, 1, None, closed="left")],
        "correlation": [Interval(Real, -1, 1, closed="both")],
        "side_information": [Interval(Real, 0, 1, closed="both")],
        "popularity": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_recommendation(
    n_samples=20_000,
    n_users=500,
    n_items=300,
    n_factors=8,
    correlation=0.5,
    side_information=0.5,
    popularity=0.5,
    noise=0.5,
    random_state=None,
):
    r"""Users and items, their side features, whether a user buys an item and the
    rating given: a recommender's table with two tasks of controlled correlation.

    Every user ``u`` and item ``i`` has a bias (:math:`b_u`, :math:`b_i`) and latent
    factors :math:`p_u, q_i \in R^k` (``n_factors``). Side features explain a share
    ``side_information`` of each one's factors and bias: each user has three numeric
    features and a segment, each item three numeric features and a genre, drawn first,
    and the factors are :math:`\sqrt{s}` times a fixed linear map of them plus
    :math:`\sqrt{1 - s}` times noise of their own. A row is a (user, item) pair:
    users and items are drawn with a popularity skew (the ``r``-th most popular with
    a probability proportional to :math:`r^{-a}`, ``a`` being ``popularity``; 0 for
    uniform), as ratings are in real catalogues. Its two tasks share the factors:

    - ``rating`` (regression) is :math:`3 + b_u + b_i + p_u^T q_i` plus Gaussian
      ``noise``;
    - ``purchase`` (binary) is drawn with probability :math:`\sigma(2 z)`, where
      :math:`z = \rho\,\tilde r + \sqrt{1 - \rho^2}\,\tilde o` mixes the standardised
      rating signal :math:`\tilde r` with a standardised second user-item interaction
      :math:`\tilde o = p_u^T M q_i` that the rating does not see (``M`` a random
      rotation), ``rho`` being ``correlation``, as the MMoE paper's synthetic study
      sets the tasks' correlation.

    Parameters
    ----------
    n_samples : int, default=20_000
        Rows: (user, item) pairs, drawn with replacement.
    n_users, n_items : int, default=500, 300
        Users and items in the catalogue (a row's ``user_id`` and ``item_id``).
    n_factors : int, default=8
        Width ``k`` of every latent factor.
    correlation : float, default=0.5
        ``rho`` in [-1, 1]: how much the purchase shares the rating's signal.
    side_information : float, default=0.5
        ``s`` in [0, 1]: the share of each latent factor's and bias's variance the
        side features explain (0: ids alone say anything; 1: the side features say
        everything, and an unseen user or item is as well predicted as a known one).
    popularity : float, default=0.5
        ``a``, the skew of the users' and items' frequencies (0: uniform).
    noise : float, default=0.5
        Standard deviation of the rating's noise.
    random_state : int, RandomState instance or None, default=None
        Seed of the catalogue, the rows and the noise.

    Returns
    -------
    X : DataFrame of shape (n_samples, 10)
        ``user_id`` and ``item_id`` (categorical, ``"u0"``... and ``"i0"``...), the
        user's ``user_x0``, ``user_x1``, ``user_x2`` and ``user_segment``
        (categorical), the item's ``item_x0``, ``item_x1``, ``item_x2`` and
        ``item_genre`` (categorical).
    Y : DataFrame of shape (n_samples, 2)
        ``purchase`` (bool) and ``rating`` (float).

    References
    ----------
    .. [1] S. Rendle, W. Krichene, L. Zhang and J. Anderson, "Neural Collaborative
       Filtering vs. Matrix Factorization Revisited", RecSys 2020.
    .. [2] J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong and E. H. Chi, "Modeling Task
       Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts",
       KDD 2018, :doi:`10.1145/3219819.3220007`.

    Examples
    --------
    >>> from sklearn_mmoe.datasets import make_recommendation
    >>> X, Y = make_recommendation(n_samples=1000, random_state=0)
    >>> X.shape, Y.columns.tolist()
    ((1000, 10), ['purchase', 'rating'])
    >>> X["user_id"].dtype.name, Y["purchase"].dtype.name
    ('category', 'bool')
    """
    rng = check_random_state(random_state)
    users = _catalogue(rng, n_users, n_factors, side_information, _N_SEGMENTS)
    items = _catalogue(rng, n_items, n_factors, side_information, _N_GENRES)
    u = _skewed(rng, n_users, popularity, n_samples)
    i = _skewed(rng, n_items, popularity, n_samples)
    p, q = users["factors"][u], items["factors"][i]
    signal = users["bias"][u] + items["bias"][i] + (p * q).sum(axis=1)
    rotation, _ = np.linalg.qr(rng.standard_normal((n_factors, n_factors)))
    other = (p * (q @ rotation.T)).sum(axis=1)
    z = correlation * _standard(signal) + np.sqrt(1 - correlation**2) * _standard(other)
    purchase = rng.uniform(size=n_samples) < 1.0 / (1.0 + np.exp(-2.0 * z))
    rating = 3.0 + signal + noise * rng.standard_normal(n_samples)
    X = pd.DataFrame(
        {
            "user_id": _ids("u", u, n_users),
            "item_id": _ids("i", i, n_items),
            **{f"user_x{j}": users["numeric"][u, j] for j in range(_N_NUMERIC)},
            "user_segment": _ids("segment", users["group"][u], _N_SEGMENTS),
            **{f"item_x{j}": items["numeric"][i, j] for j in range(_N_NUMERIC)},
            "item_genre": _ids("genre", items["group"][i], _N_GENRES),
        }
    )
    return X, pd.DataFrame({"purchase": purchase, "rating": rating})


def _catalogue(rng, n, k, side, n_groups):
    """``n`` users (or items): their side features (numeric, and a group drawn from
    them) and their bias and factors, which the features explain a share ``side``
    of."""
    numeric = rng.standard_normal((n, _N_NUMERIC))
    group_weights = rng.standard_normal((_N_NUMERIC, n_groups))
    group = (numeric @ group_weights + rng.gumbel(size=(n, n_groups))).argmax(axis=1)
    features = np.c_[numeric, np.eye(n_groups)[group]]
    # the features' part and a free part, each of unit variance per coordinate
    mapping = rng.standard_normal((features.shape[1], k + 1))
    explained = _standard(features @ mapping)
    latent = np.sqrt(side) * explained + np.sqrt(1 - side) * rng.standard_normal(
        (n, k + 1)
    )
    return {
        "numeric": numeric,
        "group": group,
        "bias": 0.5 * latent[:, 0],
        "factors": latent[:, 1:] / np.sqrt(k),
    }


def _skewed(rng, n, skew, size):
    """``size`` draws of ``0 .. n-1``, the ``r``-th with probability ``r**-skew``
    (shuffled, so that popularity does not follow the id)."""
    weights = np.arange(1, n + 1, dtype=float) ** -skew
    order = rng.permutation(n)
    return order[rng.choice(n, size=size, p=weights / weights.sum())]


def _standard(values):
    """Each column (or the vector) at mean 0 and standard deviation 1."""
    values = values - values.mean(axis=0)
    spread = values.std(axis=0)
    return values / np.where(spread > 0, spread, 1.0)


def _ids(prefix, codes, n):
    """``codes`` as a categorical of ``prefix0 .. prefix{n-1}``, every level
    declared (a level no row drew is still one of the catalogue's)."""
    levels = [f"{prefix}{c}" for c in range(n)]
    return pd.Categorical.from_codes(codes, categories=levels)
