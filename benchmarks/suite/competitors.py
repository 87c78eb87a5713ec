"""The models the defaults suite compares, each with its defaults.

``MODELS`` names them; :func:`make_model` builds one for a case's kind of tasks:
the MMoE (``MMoEClassifier`` / ``MMoERegressor``, ``MMoEMultiTask`` on mixed cases),
scikit-learn's MLP behind the preprocessing it needs, ``HistGradientBoosting*``,
pytabkit's RealMLP-TD and TabM, the constant prediction, and the MMoE one model per
task (``MMoE-solo``). :func:`predictions` reads any of them the same way.
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from benchmarks.suite.cases import subset
from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor

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
    """What scikit-learn's MLP needs in front: numbers imputed and
    standardised, categories one-hot encoded."""
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
    """The MLP's defaults for ``kind``, a regressor's targets standardised."""
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
            self.models.append(model.fit(subset(X, np.flatnonzero(known)), target))
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
    """Model ``name`` for a case of ``kind`` (``kinds``: a mixed case's
    tasks), seeded with ``seed``; the MMoE with ``mmoe_params`` on its defaults."""
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
    """The threads torch computes on (pytabkit's models are told the same)."""
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


def fitted_mmoe(model):
    """The MMoE estimator inside ``model``, one of this module's wrappers or the
    estimator itself."""
    while not hasattr(model, "net_"):
        model = model.model
    return model
