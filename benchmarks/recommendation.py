"""Recommendation: users and films, "will they like it" and "what rating".

MovieLens-100K (100,000 ratings by 943 users of 1,682 films), read from the files
recbole's wheel bundles (``pip install --no-deps recbole``: its files only, never
imported; never downloaded, never shipped with sklearn_mmoe, never read by the tests:
its licence does not allow redistribution). The table: ``user_id`` and ``item_id``
(categorical), the user's age, gender, occupation and zip code's first digit, the
film's release year and its 19 genres (0/1). The tasks: ``liked`` (rating >= 4, ROC
AUC) and ``rating`` (RMSE, and R2 for the defaults suite).

Cases, each scored by 5 folds (seed 0), the means over folds reported:

- ``movielens``: shuffled 5-fold over the ratings, as Surprise's table (the films'
  and users' ids are known at prediction time, mostly);
- ``movielens-ids``: the same folds, ``user_id`` and ``item_id`` alone;
- ``movielens-cold``: a fifth of the users absent from training (5 folds of users):
  every rating predicted is of a user never seen.

Models, on the same folds:

- ``Constant``: the training mean and the like rate;
- ``Bias``: the mean plus a user bias plus a film bias, fitted by alternating least
  squares with a ridge penalty (ten lines of pandas), the like rate by the same on the
  0/1 labels;
- ``HGB``: ``HistGradientBoosting*`` per task, the ids target-encoded
  (:class:`~sklearn.preprocessing.TargetEncoder`), the other categories native;
- ``MLP``: ``MLPClassifier`` / ``MLPRegressor`` with ``early_stopping=True`` on one-hot
  columns (numbers standardised);
- ``DeepCTR``: DeepCTR-Torch 0.3.0's ``MMOE`` as its multi-task example sets it up
  (every column a sparse feature embedded in 4 values, batch 256, 10 epochs;
  ``pip install deepctr-torch``);
- ``MMoE``: ``MMoEMultiTask()``, the defaults;
- ``Side``: ``MMoEMultiTask()`` on the side features alone (no ids): what a model
  knows of a user it has never seen, the yardstick of the cold-start case.

The published ids-alone figures (Surprise's README, 5-fold: SVD 0.934, SVD++ 0.920,
the bias baseline 0.944) are in ``published.json`` and quoted beside ours.

Usage::

    python benchmarks/recommendation.py [--cases movielens movielens-ids movielens-cold]
        [--models Constant Bias HGB MLP DeepCTR MMoE Side] [--folds 0 1 2 3 4]
        [--mmoe '{"learning_rate": 3e-3}']
        [--out benchmarks/records/recommendation.json]
"""

import argparse
import datetime
import importlib.util
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.metrics import mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import GroupKFold, KFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder
from threadpoolctl import threadpool_limits

from benchmarks.recording import RECORDS, command
from sklearn_mmoe import MMoEMultiTask

CASES = ("movielens", "movielens-ids", "movielens-cold")
MODELS = ("Constant", "Bias", "HGB", "MLP", "DeepCTR", "MMoE", "Side")
IDS = ["user_id", "item_id"]
N_FOLDS = 5


def movielens_folder():
    """Where recbole's wheel keeps MovieLens-100K (its files; the package is not
    imported)."""
    spec = importlib.util.find_spec("recbole")
    if spec is None:
        raise SystemExit(
            "MovieLens-100K is read from recbole's wheel: pip install --no-deps recbole"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "dataset_example/ml-100k"


def load_movielens():
    """The ratings joined with their users and films: ``X`` (a DataFrame), ``Y``
    (``liked``, ``rating``)."""
    folder = movielens_folder()

    def read(name):
        frame = pd.read_csv(folder / f"ml-100k.{name}", sep="\t", dtype=str)
        frame.columns = [c.split(":")[0] for c in frame.columns]
        return frame

    ratings, users, items = read("inter"), read("user"), read("item")
    table = ratings.merge(users, on="user_id").merge(items, on="item_id")
    genres = table["class"].fillna("").str.get_dummies(sep=" ")
    X = pd.DataFrame(
        {
            "user_id": table["user_id"],
            "item_id": table["item_id"],
            "age": table["age"].astype(float),
            "gender": table["gender"],
            "occupation": table["occupation"],
            "zip_region": table["zip_code"].str[0],
            "year": pd.to_numeric(table["release_year"], errors="coerce"),
        }
    )
    for column in ("user_id", "item_id", "gender", "occupation", "zip_region"):
        X[column] = X[column].astype("category")
    X = pd.concat([X, genres.add_prefix("genre_").astype(float)], axis=1)
    rating = table["rating"].astype(float)
    Y = pd.DataFrame({"liked": rating >= 4, "rating": rating})
    return X, Y


def folds(case, X):
    """The 5 (train, test) index pairs of ``case``."""
    if case == "movielens-cold":
        return list(GroupKFold(N_FOLDS).split(X, groups=X["user_id"].cat.codes))
    return list(KFold(N_FOLDS, shuffle=True, random_state=0).split(X))


def columns(case, X):
    """The columns a case's models read."""
    return X[IDS] if case == "movielens-ids" else X


# -- the baselines
# ---------------------------------------------------------------------------------


def bias_baseline(train, y, test, reg=(15.0, 10.0), sweeps=10):
    """The mean plus a user and a film bias, by alternating ridge least squares
    (Surprise's ``BaselineOnly``): the biases' predictions for ``test``."""
    mean = y.mean()
    user, item = train["user_id"].to_numpy(), train["item_id"].to_numpy()
    bu = pd.Series(0.0, index=np.unique(user))
    bi = pd.Series(0.0, index=np.unique(item))
    r = y.to_numpy() - mean
    for _ in range(sweeps):
        resid = r - bu.reindex(user).to_numpy()
        grouped = pd.DataFrame({"k": item, "r": resid}).groupby("k")["r"]
        bi = grouped.sum() / (grouped.count() + reg[0])
        resid = r - bi.reindex(item).to_numpy()
        grouped = pd.DataFrame({"k": user, "r": resid}).groupby("k")["r"]
        bu = grouped.sum() / (grouped.count() + reg[1])
    known_u = bu.reindex(test["user_id"].to_numpy()).fillna(0.0).to_numpy()
    known_i = bi.reindex(test["item_id"].to_numpy()).fillna(0.0).to_numpy()
    return mean + known_u + known_i


def _hgb(task, X):
    """HGB per task with the ids target-encoded (native categories take at most 255
    levels); the other categorical columns native."""
    high = [c for c in X.columns if c in IDS]
    other = [c for c in X.columns if c not in high]
    encode = ColumnTransformer(
        [("ids", TargetEncoder(random_state=0), high), ("rest", "passthrough", other)],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    model = (
        HistGradientBoostingClassifier(random_state=0)
        if task == "liked"
        else HistGradientBoostingRegressor(random_state=0)
    )
    return make_pipeline(encode, model)


def _mlp(task, X):
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    encode = ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore"), categorical),
            (
                "scale",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                numeric,
            ),
        ]
    )
    model = (
        MLPClassifier(early_stopping=True, random_state=0)
        if task == "liked"
        else MLPRegressor(early_stopping=True, random_state=0)
    )
    return make_pipeline(encode, model)


def deepctr(train, Y_train, test):
    """DeepCTR-Torch's MMOE as its multi-task example sets it up: every column a
    sparse feature (numbers binned), embeddings of 4, batch 256, 10 epochs."""
    from deepctr_torch.inputs import SparseFeat, get_feature_names
    from deepctr_torch.models import MMOE

    torch.manual_seed(0)
    frames = {}
    features = []
    for column in train.columns:
        values = pd.concat([train[column], test[column]]).astype(str)
        codes = pd.factorize(values, use_na_sentinel=False)[0]
        codes = pd.Series(codes, index=values.index)
        frames[column] = codes
        features.append(SparseFeat(column, int(codes.max()) + 1, embedding_dim=4))
    names = get_feature_names(features)
    model = MMOE(
        features,
        task_types=["binary", "regression"],
        task_names=["liked", "rating"],
        device="cpu",
    )
    model.compile("adam", loss=["binary_crossentropy", "mse"])
    n = len(train)
    inputs = {c: frames[c].to_numpy()[:n] for c in names}
    targets = np.c_[Y_train["liked"].to_numpy(float), Y_train["rating"].to_numpy()]
    model.fit(inputs, targets, batch_size=256, epochs=10, verbose=0)
    pred = model.predict({c: frames[c].to_numpy()[n:] for c in names}, 1024)
    return pred[:, 0], pred[:, 1]


# -- one fit
# ---------------------------------------------------------------------------------


def run_one(case, model, fold, X, Y, split, mmoe_params):
    """Fit ``model`` on a case's fold: its liked AUC, rating RMSE and R2, seconds."""
    train, test = split
    Xc = columns(case, X) if model != "Side" else X.drop(columns=IDS)
    X_train, X_test = Xc.iloc[train], Xc.iloc[test]
    Y_train, Y_test = Y.iloc[train], Y.iloc[test]
    start = time.perf_counter()
    if model == "Constant":
        liked = np.full(len(test), Y_train["liked"].mean())
        rating = np.full(len(test), Y_train["rating"].mean())
    elif model == "Bias":
        liked = bias_baseline(X_train, Y_train["liked"].astype(float), X_test)
        rating = bias_baseline(X_train, Y_train["rating"], X_test)
    elif model in ("HGB", "MLP"):
        make = _hgb if model == "HGB" else _mlp
        liked_model = make("liked", X_train).fit(X_train, Y_train["liked"])
        liked = liked_model.predict_proba(X_test)[:, 1]
        rating = make("rating", X_train).fit(X_train, Y_train["rating"]).predict(X_test)
    elif model == "DeepCTR":
        liked, rating = deepctr(X_train, Y_train, X_test)
    else:  # MMoE, Side
        params = dict(random_state=fold, **mmoe_params)
        mmoe = MMoEMultiTask(**params).fit(X_train, Y_train)
        liked = mmoe.predict_proba(X_test)[0][:, 1]
        rating = mmoe.predict(X_test)[:, 1].astype(float)
    seconds = time.perf_counter() - start
    truth = Y_test["rating"].to_numpy()
    return {
        "case": case,
        "model": model,
        "fold": fold,
        "auc": float(roc_auc_score(Y_test["liked"], liked)),
        "rmse": float(np.sqrt(mean_squared_error(truth, rating))),
        "r2": float(r2_score(truth, rating)),
        "seconds": seconds,
    }


def summary(results):
    """Per case and model: the means over folds."""
    table = {}
    for r in results:
        table.setdefault(r["case"], {}).setdefault(r["model"], []).append(r)
    return {
        case: {
            model: {
                key: float(np.mean([r[key] for r in rows]))
                for key in ("auc", "rmse", "r2", "seconds")
            }
            for model, rows in models.items()
        }
        for case, models in table.items()
    }


def write(args, old, results):
    """Write the record: ``results`` over the ``old`` results of the same cells."""
    fresh = {(r["case"], r["model"], r["fold"]) for r in results}
    kept = [r for r in old if (r["case"], r["model"], r["fold"]) not in fresh]
    record = {
        "command": command("benchmarks.recommendation"),
        "measured": datetime.date.today().isoformat(),
        "mmoe_params": args.mmoe,
        "threads": args.threads,
        "torch": torch.__version__,
        "results": kept + results,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--folds", nargs="+", type=int, default=list(range(N_FOLDS)))
    parser.add_argument("--mmoe", type=json.loads, default={})
    parser.add_argument("--out", type=Path, default=RECORDS / "recommendation.json")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    # every model on the same threads (HGB's OpenMP, the BLAS, torch's)
    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    X, Y = load_movielens()
    old = json.loads(args.out.read_text())["results"] if args.out.exists() else []
    results = []
    for case in args.cases:
        splits = folds(case, X)
        for model in args.models:
            if model == "Side" and case != "movielens-cold":
                continue
            for fold in args.folds:
                r = run_one(case, model, fold, X, Y, splits[fold], args.mmoe)
                results.append(r)
                print(
                    f"{case:<15} {model:<9} fold {fold}: AUC {r['auc']:.4f}, "
                    f"RMSE {r['rmse']:.4f}, {r['seconds']:.1f} s",
                    flush=True,
                )
        record = write(args, old, results)  # after each case: a crash keeps the rest
    for case, models in summary(record["results"]).items():
        print(f"\n{case}: model, liked AUC, rating RMSE, seconds per fit")
        for model, m in models.items():
            print(f"  {model:<9} {m['auc']:.4f} {m['rmse']:.4f} {m['seconds']:7.1f} s")


if __name__ == "__main__":
    main()
