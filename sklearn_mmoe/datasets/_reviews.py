"""Product reviews: a text beside table columns, and two tasks the words decide."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

# What the reviews say: each aspect's words, liked or not; "not" before a liked
# word turns it (so that a pair of words says what neither says alone).
_ASPECTS = {
    "fit": (["fits perfectly", "runs true to size"], ["runs small", "too tight"]),
    "fabric": (
        ["soft fabric", "lovely material"],
        ["scratchy fabric", "thin material"],
    ),
    "look": (["looks great", "flattering cut"], ["looks cheap", "odd shape"]),
    "quality": (["well made", "sturdy seams"], ["came apart", "loose threads"]),
}
_TURNED = ["not great", "not flattering", "not soft", "not worth it"]
_FILLER = [
    "I bought this for a wedding",
    "ordered it online",
    "wore it twice",
    "the colour is as pictured",
    "my sister has the same one",
    "arrived on time",
    "bought it on sale",
]
_DEPARTMENTS = ["dresses", "tops", "bottoms", "jackets"]


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "missing_text": [Interval(Real, 0, 1, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_reviews(n_samples=2000, *, missing_text=0.02, random_state=None):
    """Product reviews: a review text beside table columns, a recommendation and a
    rating decided by what the text says.

    Each customer likes or dislikes each of a few aspects of the product (its fit,
    fabric, look, quality) and says so in a review of one to four phrases among
    filler sentences; some praise is turned by "not" ("not flattering"), so a word
    alone misleads where a pair of words does not. The rating (1 to 5) follows the
    share of liked aspects, the age and the department; the recommendation follows
    the rating, with noise. The table's columns (age, department, price) say little:
    what decides is in the text, as in real review tables.

    Parameters
    ----------
    n_samples : int, default=2000
        Reviews (rows).
    missing_text : float, default=0.02
        Share of the reviews with no text (None): their tasks follow the aspects
        all the same.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    X : DataFrame of shape (n_samples, 4)
        ``age`` (float), ``department`` (category), ``price`` (float) and
        ``review`` (str, or None where missing).
    Y : DataFrame of shape (n_samples, 2)
        ``recommended`` (int, 0 or 1) and ``rating`` (float, 1 to 5).

    Examples
    --------
    >>> from sklearn_mmoe.datasets import make_reviews
    >>> X, Y = make_reviews(5, random_state=0)
    >>> list(X.columns), list(Y.columns)
    (['age', 'department', 'price', 'review'], ['recommended', 'rating'])
    >>> bool(X["review"].str.split().str.len().min() >= 3)
    True
    """
    rng = check_random_state(random_state)
    aspects = list(_ASPECTS)
    texts, liking = [], np.zeros(n_samples)
    for i in range(n_samples):
        said = rng.choice(len(aspects), size=rng.randint(1, 5), replace=False)
        phrases, liked = [], 0
        for a in said:
            good, bad = _ASPECTS[aspects[a]]
            if rng.rand() < 0.55:
                phrases.append(good[rng.randint(len(good))])
                liked += 1
            elif rng.rand() < 0.3:
                phrases.append(_TURNED[rng.randint(len(_TURNED))])
            else:
                phrases.append(bad[rng.randint(len(bad))])
        liking[i] = liked / len(said)
        filler = list(rng.choice(_FILLER, size=rng.randint(0, 3), replace=False))
        parts = phrases + filler
        rng.shuffle(parts)
        texts.append(". ".join(p[0].upper() + p[1:] for p in parts) + ".")
    age = rng.uniform(18, 80, n_samples).round()
    department = rng.choice(_DEPARTMENTS, n_samples)
    price = rng.lognormal(4, 0.4, n_samples).round(2)
    score = 1 + 4 * liking + 0.2 * (department == "dresses") - 0.005 * (age - 50)
    rating = np.clip(np.round(score + 0.4 * rng.normal(size=n_samples)), 1, 5)
    recommended = (score + 0.6 * rng.normal(size=n_samples) > 3).astype(int)
    review = pd.Series(texts, dtype=object)
    review[rng.rand(n_samples) < missing_text] = None
    X = pd.DataFrame(
        {
            "age": age,
            "department": pd.Categorical(department, categories=_DEPARTMENTS),
            "price": price,
            "review": review,
        }
    )
    Y = pd.DataFrame({"recommended": recommended, "rating": rating})
    return X, Y
