"""Data sets for multi-task learning.

``make_multitask_regression`` draws the MMoE paper's synthetic tasks of controlled
correlation; ``make_recommendation`` a recommender's table (users, items, their side
features, a purchase and a rating task); ``make_funnel`` impressions, clicks and
purchases with their true probabilities; ``make_reviews`` product reviews, a text
beside table columns; ``load_census_income`` reads the UCI
Census-Income (KDD) data as the paper's two task groups, from the test split shipped
with the package (offline) or any UCI file; ``fetch_census_income`` downloads and
caches the official splits.
"""

from ._census import census_income_path, fetch_census_income, load_census_income
from ._funnel import make_funnel
from ._recommendation import make_recommendation
from ._reviews import make_reviews
from ._synthetic import make_multitask_regression

__all__ = [
    "census_income_path",
    "fetch_census_income",
    "load_census_income",
    "make_funnel",
    "make_multitask_regression",
    "make_recommendation",
    "make_reviews",
]
