"""Census-income (KDD) with a classification and a regression task in one model.

The tasks: whether income exceeds 50K (``income_50k``, binary, 6.2 % positive) and how
many weeks the person worked in the year (``weeks_worked``, 0 to 52, a regression
target; its column is removed from the inputs). Only the official test split (99,762
rows) is available offline; for each seed it is split 60/40 into training and test
rows (stratified on income). Per seed the script fits, every network with default
parameters (``task_types`` named; ``"auto"`` reads the 53 whole numbers of weeks as a
regression task too, with a warning):

- ``MMoEMultiTask`` on both tasks, equal task weights (the default);
- ``MMoEMultiTask`` on both tasks, ``task_weights="uncertainty"``;
- the same network trained on each task alone: ``MMoEClassifier`` on income and
  ``MMoERegressor`` on weeks worked;
- ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor`` per task,
  with native categorical support.

It prints the test AUC of income, the test R2 of weeks worked and the fit seconds of
each model (mean and standard deviation over seeds, per-seed values in the JSON), the
learned task weights, and the multi-task models' differences to the single-task pair.

Usage: python benchmarks/mixed_tasks.py [--seeds 0 1 2 3 4] [--rows N]
    [--data PATH (default: the test split shipped with the package)] [--out JSON]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from benchmarks.recording import RECORDS, command
from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor
from sklearn_mmoe.datasets import census_income_path, load_census_income

DEFAULT_DATA = census_income_path()  # the test split shipped with the package
TYPES = ["classification", "regression"]
MODELS = ["MMoEMultiTask", "MMoEMultiTask, uncertainty", "single-task MMoE", "HGB"]


def load(path):
    X, Y = load_census_income(path)
    weeks = X.pop("weeks_worked").astype(np.float64)
    return X, Y["income_50k"].to_numpy(), weeks.to_numpy()


def fit_and_score(name, X_train, X_test, income, weeks, seed):
    """Fit model ``name``; returns (income AUC, weeks R2, fit seconds, weights)."""
    y_train = {"income_50k": income[0], "weeks_worked": weeks[0]}
    weights = None
    start = time.perf_counter()
    if name.startswith("MMoEMultiTask"):
        import pandas as pd

        uncertainty = name.endswith("uncertainty")
        model = MMoEMultiTask(
            task_types=TYPES,
            task_weights="uncertainty" if uncertainty else None,
            random_state=seed,
        ).fit(X_train, pd.DataFrame(y_train))
        seconds = time.perf_counter() - start
        p_income = model.predict_proba(X_test)[0][:, 1]
        p_weeks = np.asarray(model.predict(X_test)[:, 1], dtype=np.float64)
        weights = model.task_weights_.tolist()
    elif name == "single-task MMoE":
        clf = MMoEClassifier(random_state=seed).fit(X_train, income[0])
        reg = MMoERegressor(random_state=seed).fit(X_train, weeks[0])
        seconds = time.perf_counter() - start
        p_income = clf.predict_proba(X_test)[:, 1]
        p_weeks = reg.predict(X_test)
    else:
        kw = dict(categorical_features="from_dtype", random_state=seed)
        clf = HistGradientBoostingClassifier(**kw).fit(X_train, income[0])
        reg = HistGradientBoostingRegressor(**kw).fit(X_train, weeks[0])
        seconds = time.perf_counter() - start
        p_income = clf.predict_proba(X_test)[:, 1]
        p_weeks = reg.predict(X_test)
    auc = roc_auc_score(income[1], p_income)
    r2 = r2_score(weeks[1], p_weeks)
    return float(auc), float(r2), seconds, weights


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--rows", type=int, default=None, help="subsample the file")
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--out", default=str(RECORDS / "mixed_tasks.json"))
    args = parser.parse_args()
    X, income, weeks = load(args.data)
    if args.rows:
        keep = np.random.RandomState(0).permutation(len(X))[: args.rows]
        X, income, weeks = X.iloc[keep], income[keep], weeks[keep]
    print(
        f"census-income test split: {len(X)} rows, {X.shape[1]} inputs; "
        f"income > 50K {income.mean():.3f}, weeks worked mean {weeks.mean():.1f}; "
        f"torch threads {torch.get_num_threads()}",
        flush=True,
    )
    results = {
        m: {"auc": [], "r2": [], "seconds": [], "weights": []} for m in args.models
    }
    for seed in args.seeds:
        parts = train_test_split(
            X, income, weeks, test_size=0.4, stratify=income, random_state=seed
        )
        X_train, X_test, inc_train, inc_test, wk_train, wk_test = parts
        for name in args.models:
            auc, r2, seconds, weights = fit_and_score(
                name, X_train, X_test, (inc_train, inc_test), (wk_train, wk_test), seed
            )
            record = results[name]
            record["auc"].append(auc)
            record["r2"].append(r2)
            record["seconds"].append(seconds)
            record["weights"].append(weights)
            w = "" if weights is None else f", learned weights {np.round(weights, 3)}"
            print(
                f"seed {seed} {name:<28} income AUC {auc:.4f}  weeks R2 {r2:.4f}  "
                f"{seconds:6.1f} s{w}",
                flush=True,
            )
    print()
    print(f"{'model':<28} {'income AUC':>16} {'weeks worked R2':>16} {'fit s':>8}")
    for name, record in results.items():
        auc, r2, sec = (np.array(record[k]) for k in ("auc", "r2", "seconds"))
        print(
            f"{name:<28} {auc.mean():.4f} +- {auc.std():.4f} "
            f"{r2.mean():.4f} +- {r2.std():.4f} {sec.mean():8.1f}"
        )
    single = results.get("single-task MMoE")
    if single:
        for name in ("MMoEMultiTask", "MMoEMultiTask, uncertainty"):
            if name not in results:
                continue
            d_auc = np.array(results[name]["auc"]) - np.array(single["auc"])
            d_r2 = np.array(results[name]["r2"]) - np.array(single["r2"])
            print(
                f"{name} - single-task: AUC {d_auc.mean():+.4f} "
                f"(ahead on {(d_auc >= 0).sum()}/{len(d_auc)} seeds), "
                f"R2 {d_r2.mean():+.4f} (ahead on {(d_r2 >= 0).sum()}/{len(d_r2)})"
            )
    payload = {
        "command": command("benchmarks.mixed_tasks"),
        "seeds": args.seeds,
        "rows": len(X),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(payload, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
