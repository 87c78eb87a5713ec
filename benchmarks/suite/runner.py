"""One run of the defaults suite: a model fitted on a case's splits for one seed, and
scored.

:func:`run_one` returns the record's row for ``(case, model, seed)``: the task scores
(R2, ROC AUC for a binary task, accuracy for a multiclass one), the mean fit seconds
and, for the MMoE, its epochs and the numeric encoding it used.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from benchmarks.suite.cases import subset
from benchmarks.suite.competitors import fitted_mmoe, make_model, predictions


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


def _fit(model, X, Y, train):
    """Fit ``model`` on the rows ``train``; returns its fit seconds."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # task_types="auto" names the kind it reads for an integer column
        warnings.filterwarnings("ignore", ".*task_types='auto' reads")
        model.fit(subset(X, train), subset(Y, train))
    return time.perf_counter() - start


def _mmoe_facts(model):
    """What a fitted MMoE tells beside its scores: its epochs, each one's mean
    seconds (validation included), the numeric encoding and its code's width, and a
    cross-fitted ensemble's members' best validation scores (None if not one)."""
    fitted = fitted_mmoe(model)
    history = fitted.net_.history
    encoder = fitted.net_.module_.encoder
    members = None
    if getattr(fitted, "n_cv_", 1) > 1:
        members = fitted.cv_validation_scores_.tolist()
    return {
        "epochs": len(history),
        "per_epoch": float(np.mean([row["dur"] for row in history])),
        "encoding": (encoder.numeric_kind, int(encoder.code_width)),
        "members": members,
    }


def _pooled(parts, kind, n_tasks):
    """The test rows of every split and their predictions, concatenated."""
    test = np.concatenate([index for index, _ in parts])
    if kind == "regression":
        return test, np.concatenate([p for _, p in parts])
    return test, [np.concatenate([p[t] for _, p in parts]) for t in range(n_tasks)]


def _mmoe_fields(facts):
    """The record's MMoE-only fields, from each split's :func:`_mmoe_facts`."""
    if not facts:
        return {}
    members = [f["members"] for f in facts if f["members"] is not None]
    kind, width = facts[-1]["encoding"]  # the last split's fit's
    return {
        "epochs": float(np.mean([f["epochs"] for f in facts])),
        "seconds_per_epoch": float(np.mean([f["per_epoch"] for f in facts])),
        "numeric_encoding": kind,
        "code_width": width,
        # each split's members' best validation scores (negated validation losses)
        **({"member_validation_scores": members} if members else {}),
    }


def run_one(case, name, seed, mmoe_params):
    """Fit one model on every split of a case for one seed, and score it.

    Parameters
    ----------
    case : Case
        The case (:mod:`benchmarks.suite.cases`).
    name : str
        The model, one of ``competitors.MODELS``.
    seed : int
        Draws the splits and seeds the model.
    mmoe_params : dict
        The MMoE's parameters on top of its defaults.

    Returns
    -------
    row : dict
        The record's row: case, model, seed, params, task scores, mean fit seconds
        (and the MMoE's epochs and encoding). Cross-validated cases are scored on
        their pooled out-of-fold predictions (a fold of a small table is too small
        to score on its own).
    """
    X, Y = case.load()
    kinds = case.task_kinds(Y)
    if case.kind == "mixed" and Y.isna().any(axis=None):
        # refused by default with a message that names this switch; the models one
        # per task train on each task's labelled rows
        mmoe_params = {"missing_labels": "ignore", **mmoe_params}
    seconds, parts, facts = [], [], []
    for train, test in case.splits(X, Y, seed):
        model = make_model(name, case.kind, X, seed, mmoe_params, kinds)
        seconds.append(_fit(model, X, Y, train))
        if name == "MMoE":
            facts.append(_mmoe_facts(model))
        parts.append((test, predictions(model, case.kind, subset(X, test))))
    test, pred = _pooled(parts, case.kind, Y.shape[1])
    return {
        "case": case.name,
        "model": name,
        "seed": seed,
        "params": mmoe_params if name == "MMoE" else {},
        "task_scores": task_scores(case.kind, subset(Y, test), pred, kinds),
        "fit_seconds": float(np.mean(seconds)),
        **_mmoe_fields(facts),
    }
