"""The cases of the defaults suite: a table, its tasks' kind and how it is split.

:class:`Case` holds one; ``CASES`` is the suite's table of them, by name, in the order
the suite runs and reports them. The tables themselves are read by
:mod:`benchmarks.suite.loaders`.
"""

import functools

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupShuffleSplit,
    KFold,
    StratifiedKFold,
    train_test_split,
)

from benchmarks.suite import loaders

N_FOLDS = 5


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


def subset(X, index):
    """The rows ``index`` of ``X``, a DataFrame, Series or array."""
    return X.iloc[index] if isinstance(X, (pd.DataFrame, pd.Series)) else X[index]


# MLP*() with its defaults (200 epochs without early stopping) over 80,000 ratings of
# 2,650 one-hot columns ran for more than 20 minutes on one fit; recommendation.py
# runs it with early_stopping=True on these tables.
MOVIELENS_MLP = "over 20 minutes a fit: see recommendation.py's MLP"


def _movielens_case(name, about, ids_only=False, groups=None):
    """A MovieLens case: 80,000 training and 20,000 test ratings."""
    return Case(
        name,
        "mixed",
        functools.partial(loaders.load_movielens, ids_only),
        about,
        n_train=80_000,
        n_test=20_000,
        tasks=["classification", "regression"],
        groups=groups,
        not_run={"MLP": MOVIELENS_MLP},
    )


def _census_case(group, n_train):
    """A census case of task group ``group`` with ``n_train`` training rows."""
    task = "income" if group == 1 else "college"
    return Case(
        f"census{group}-{n_train // 1000}k",
        "classification",
        lambda: loaders.load_census(group),
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
            loaders.load_linnerud,
            "20 rows, 3 features, 3 targets (scikit-learn)",
        ),
        Case(
            "diabetes",
            "regression",
            loaders.load_diabetes,
            "442 rows, 10 unscaled features, 1 target (scikit-learn)",
        ),
        Case(
            "auto",
            "regression",
            loaders.load_auto,
            "392 cars: mpg and acceleration from 6 features (ISLR)",
        ),
        Case(
            "meats",
            "regression",
            loaders.load_meats,
            "215 meat samples: water, fat and protein from 100 spectra (modeldata)",
        ),
        Case(
            "concrete",
            "regression",
            loaders.load_concrete,
            "1,030 mixes: compressive strength from 8 features (modeldata)",
        ),
        Case(
            "ames",
            "regression",
            loaders.load_ames,
            "2,930 houses: log sale price from 73 mixed features (modeldata)",
        ),
        Case(
            "college",
            "regression",
            loaders.load_college,
            "777 colleges: tuition and graduation rate from 16 features (ISLR)",
        ),
        Case(
            "wages",
            "regression",
            loaders.load_wages,
            "CPS 1988 log wage, noisy, 6 features (AER), 10,000 training rows",
            n_train=10_000,
            n_test=10_000,
        ),
        Case(
            "synthetic-0.5",
            "regression",
            lambda: loaders.load_synthetic(0.5),
            "the paper's generator, task correlation 0.5, 10,000 training rows",
            n_train=10_000,
            n_test=2_000,
        ),
        Case(
            "synthetic-0.9",
            "regression",
            lambda: loaders.load_synthetic(0.9),
            "the paper's generator, task correlation 0.9, 10,000 training rows",
            n_train=10_000,
            n_test=2_000,
        ),
        Case(
            "breast-cancer",
            "classification",
            loaders.load_breast_cancer,
            "569 rows, 30 features, binary (scikit-learn)",
        ),
        Case(
            "wine",
            "classification",
            loaders.load_wine,
            "178 rows, 13 features, 3 classes (scikit-learn)",
        ),
        Case(
            "digits",
            "classification",
            loaders.load_digits,
            "1,797 rows, 64 features, 10 classes (scikit-learn)",
        ),
        Case(
            "penguins",
            "classification",
            loaders.load_penguins,
            "333 penguins: species (3) and sex from 5 features (palmerpenguins)",
        ),
        Case(
            "psid",
            "mixed",
            loaders.load_psid,
            "753 women (PSID 1976): works (binary) and hours worked (AER)",
            tasks=["classification", "regression"],
        ),
        Case(
            "nmes",
            "mixed",
            loaders.load_nmes,
            "4,406 elderly patients (NMES 1988): doctor visits and hospital stays "
            "(counts) and health (3 classes) (AER)",
            tasks=["count", "count", "classification"],
        ),
        Case(
            "creditcard",
            "mixed",
            loaders.load_creditcard,
            "1,319 applicants: card granted (binary) and monthly spending (AER)",
            tasks=["classification", "regression"],
        ),
        Case(
            "affairs",
            "mixed",
            loaders.load_affairs,
            "601 people: affairs in a year (a count, 0-12) and marriage rating (1-5), "
            "noisy (AER)",
            tasks=["count", "regression"],
        ),
        Case(
            "doctorvisits",
            "mixed",
            loaders.load_doctorvisits,
            "5,190 Australians: doctor visits (0-9) and days of reduced activity "
            "(0-14), counts (AER)",
            tasks=["count", "count"],
        ),
        Case(
            "wage",
            "mixed",
            loaders.load_wage,
            "3,000 workers: log wage and health insurance (binary) (ISLR)",
            tasks=["regression", "classification"],
        ),
        Case(
            "rwm",
            "mixed",
            loaders.load_rwm,
            "3,874 Germans (1984): doctor and hospital visits, counts (COUNT)",
            tasks=["count", "count"],
        ),
        Case(
            "chile",
            "mixed",
            loaders.load_chile,
            "2,700 voters: vote (4 classes) and support for the status quo, numeric "
            "and label NaN (carData)",
            tasks=["classification", "regression"],
        ),
        Case(
            "credit",
            "mixed",
            loaders.load_credit,
            "4,454 loans: status (binary) and log amount, numeric NaN (modeldata)",
            tasks=["classification", "regression"],
        ),
        Case(
            "attrition",
            "mixed",
            loaders.load_attrition,
            "1,470 employees: attrition (binary) and log monthly income (modeldata)",
            tasks=["classification", "regression"],
        ),
        Case(
            "birthwt",
            "mixed",
            loaders.load_birthwt,
            "189 births: low weight (binary) and weight, small and noisy (MASS)",
            tasks=["classification", "regression"],
        ),
        Case(
            "churn",
            "mixed",
            loaders.load_churn,
            "5,000 phone customers: churn (binary) and service calls (a count, 0-9) "
            "(modeldata)",
            tasks=["classification", "count"],
        ),
        Case(
            "recommendation",
            "mixed",
            loaders.load_recommendation,
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
