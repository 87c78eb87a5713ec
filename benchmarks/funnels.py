"""Funnels: what training a purchase from its click gains, on a funnel whose true
probabilities are known.

``sklearn_mmoe.datasets.make_funnel`` (impressions; clicks at a rate of 0.2;
purchases after a click at 0.1, so 2% of the rows; the click's and the conversion's
directions at cosine 0.5), a quarter of the rows held out, seeds 0 to 4. Models,
every one ``MMoEClassifier`` with its defaults otherwise:

- ``independent``: click and purchase as two tasks of one model, no funnel;
- ``clicked-only``: the conversion trained on the clicked rows alone, as a plain
  classifier would be given it, times a click model (one model each);
- ``esmm`` and ``aitm``: ``task_parents={"purchase": "click"}`` with
  ``funnel="esmm"`` or ``"aitm"``.

Scored on the held-out rows: the purchase's ROC AUC and log-loss, and how far the
predicted conversion (``p(purchase) / p(click)``, or the clicked-only model's own)
is from the true conversion probability over every impression (its mean absolute
error, and its Spearman correlation with the truth); the share of rows whose
purchase probability exceeds their click probability.

Usage::

    python benchmarks/funnels.py [--rows 5000 20000] [--seeds 0 1 2 3 4]
        [--out benchmarks/records/funnels.json]
"""

import argparse
import datetime
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from benchmarks.recording import RECORDS, command
from sklearn_mmoe import MMoEClassifier
from sklearn_mmoe.datasets import make_funnel

MODELS = ("independent", "clicked-only", "esmm", "aitm")


def predict(model, X_train, Y_train, X_test, seed):
    """Click, purchase and conversion probabilities of ``model`` on ``X_test``."""
    if model == "clicked-only":
        click = MMoEClassifier(random_state=seed).fit(X_train, Y_train["click"])
        clicked = Y_train["click"].to_numpy()
        conversion = MMoEClassifier(random_state=seed).fit(
            X_train[clicked], Y_train["purchase"][clicked]
        )
        p_click = click.predict_proba(X_test)[:, 1]
        p_conversion = conversion.predict_proba(X_test)[:, 1]
        return p_click, p_click * p_conversion, p_conversion
    params = {}
    if model != "independent":
        params = {"task_parents": {"purchase": "click"}, "funnel": model}
    fitted = MMoEClassifier(random_state=seed, **params).fit(X_train, Y_train)
    p_click, p_purchase = (p[:, 1] for p in fitted.predict_proba(X_test))
    return p_click, p_purchase, np.clip(p_purchase / p_click, 0.0, 1.0)


def run_one(model, n_rows, seed):
    X, Y, P = make_funnel(n_samples=n_rows, probabilities=True, random_state=seed)
    train, test = train_test_split(np.arange(n_rows), test_size=0.25, random_state=0)
    start = time.perf_counter()
    p_click, p_purchase, p_conversion = predict(
        model, X[train], Y.iloc[train].reset_index(drop=True), X[test], seed
    )
    seconds = time.perf_counter() - start
    truth = P["conversion"].to_numpy()[test]
    purchase = Y["purchase"].to_numpy()[test]
    return {
        "model": model,
        "rows": n_rows,
        "seed": seed,
        "purchase_auc": float(roc_auc_score(purchase, p_purchase)),
        "purchase_log_loss": float(log_loss(purchase, p_purchase, labels=[0, 1])),
        "conversion_mae": float(np.abs(p_conversion - truth).mean()),
        "conversion_spearman": float(spearmanr(p_conversion, truth).statistic),
        "above_parent": float((p_purchase > p_click + 1e-7).mean()),
        "seconds": seconds,
    }


def summary(results):
    table = {}
    for r in results:
        table.setdefault(r["rows"], {}).setdefault(r["model"], []).append(r)
    keys = [k for k in results[0] if k not in ("model", "rows", "seed")]
    return {
        rows: {
            model: {k: float(np.mean([r[k] for r in runs])) for k in keys}
            for model, runs in models.items()
        }
        for rows, models in table.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", type=int, default=[5000, 20000])
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(5)))
    parser.add_argument("--out", type=Path, default=RECORDS / "funnels.json")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    results = []
    for n_rows in args.rows:
        for model in MODELS:
            for seed in args.seeds:
                r = run_one(model, n_rows, seed)
                results.append(r)
                print(
                    f"{n_rows:>6} rows {model:<13} seed {seed}: purchase AUC "
                    f"{r['purchase_auc']:.4f}, conversion MAE "
                    f"{r['conversion_mae']:.4f}, {r['seconds']:.1f} s",
                    flush=True,
                )
    record = {
        "command": command("benchmarks.funnels"),
        "measured": datetime.date.today().isoformat(),
        "threads": args.threads,
        "torch": torch.__version__,
        "results": results,
        "summary": summary(results),
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    for rows, models in record["summary"].items():
        print(f"\n{rows} rows: purchase AUC, log-loss; conversion MAE, Spearman")
        for model, m in models.items():
            print(
                f"  {model:<13} {m['purchase_auc']:.4f} {m['purchase_log_loss']:.4f}"
                f"  {m['conversion_mae']:.4f} {m['conversion_spearman']:.4f}"
                f"  above parent {m['above_parent']:.3f}"
            )


if __name__ == "__main__":
    main()
