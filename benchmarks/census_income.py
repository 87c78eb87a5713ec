"""Census-income (KDD): MMoE against OMoE, Shared-Bottom, single-task MMoE and HGB.

Only the official test split (99,762 rows) is available offline. For each seed it is
split 60/20/20 into train, validation and test (stratified on the main task). Per task
group (1: income > 50K + never married; 2: education at least college + never
married), the script fits

- MMoE, OMoE and Shared-Bottom on both tasks at once,
- a single-task MMoE per task (same sizes, one task),
- an average of five MMoEs trained from different seeds (the probabilities averaged),
- one MMoE holding an efficient ensemble (``ensemble_size``: TabM-mini members that
  share the embeddings, experts and gates, each with its own input scaling and towers),
- ``HistGradientBoostingClassifier`` per task, with native categorical support,

and reports the test AUC of every task (mean and standard deviation over seeds) and
the training time. Everything the networks need is inside one Pipeline: numeric
columns either log-scaled (money) and standardised or piecewise-linear encoded
(``PiecewiseLinearEncoder``, with bins at the quantiles or at the thresholds of a
tree fitted on the training targets), the 28 nominal columns passed through as pandas
categories, which the estimator embeds itself.

Tuning (``--tune``) uses the validation splits of seeds 0 and 1 only, scored by the
main task's validation AUC as in the paper (the mean over the two splits, each with a
network fitted on that split's training part from that seed), in five stages: a grid
over the MMoE's experts, expert width and learning rate (numeric columns
standardised, automatic embedding widths); then, from the best of those, a grid over
the numeric encoding (standardised, quantile bins, tree bins) and the embedding width;
then, from the best so far, with and without a moving average of the weights
(``ema_decay``); then the early-stopping patience; then a hidden layer in the gates.
The chosen settings are used for every network. A sixth stage scores, from them,
the sizes of an in-network ensemble, for the ensemble's own row only. HGB gets a
grid over its learning rate and leaf count, scored the same way. Results go to
``census_income.json``; ``--recorded`` takes the scores of candidates an earlier
tuning already fitted (MMoE and HGB) from its output, so that a stage added later
costs only its own fits.

Usage: python benchmarks/census_income.py [--tune [--recorded JSON]]
    [--seeds 0 1 2 3 4] [--groups 1 2] [--models MMoE "MMoE, ensemble" HGB ...]
    [--data PATH (default: the test split shipped with the package)]
"""

import argparse
import itertools
import json
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from benchmarks.recording import RECORDS, command
from sklearn_mmoe import MMoEClassifier
from sklearn_mmoe.datasets import census_income_path, load_census_income
from sklearn_mmoe.preprocessing import PiecewiseLinearEncoder

DEFAULT_DATA = census_income_path()  # the test split shipped with the package
MONEY = ["wage_per_hour", "capital_gains", "capital_losses", "stock_dividends"]
# Paper (Ma et al., 2018, table 3/4): best-run / mean test AUC of MMoE.
PAPER = {1: (0.9410, 0.9930), 2: (0.8860, 0.9932)}

# Settings the grid does not search (fixed before looking at any score).
NET = dict(
    tower_units=(16,),
    batch_size=512,
    max_epochs=100,
    early_stopping=True,
    validation_fraction=0.1,
    n_iter_no_change=10,  # MLPClassifier's default; stage 4 tries 5 and 20
    tol=1e-4,
)
# The schedule and input handling the settings were tuned and recorded with (the
# pipeline encodes the numeric columns itself), not the later defaults.
PINNED = dict(learning_rate_schedule="constant", numeric_encoding=None)
NET_GRID = dict(
    n_experts=[4, 8],
    expert_units=[(16,), (64,)],
    learning_rate=[3e-4, 1e-3],
)
# Stage 2, from stage 1's best: numeric None standardises the numeric columns (log1p
# first for money); (strategy, n_bins) piecewise-linear encodes them with bins placed
# by that PiecewiseLinearEncoder strategy.
INPUT_GRID = dict(
    numeric=[
        None,
        ("quantile", 32),
        ("quantile", 64),
        ("tree", 16),
        ("tree", 32),
        ("tree", 64),
    ],
    embedding_dim=["auto", 2, 4],
)
STAGE_1 = dict(numeric=None, embedding_dim="auto")
# Stage 3, from stage 2's best: averaging the weights (None, stage 2's fit, is kept).
AVERAGING_GRID = dict(ema_decay=[0.99, 0.999])
# Stage 4, from stage 3's best: the early-stopping patience (10 is kept).
PATIENCE_GRID = dict(n_iter_no_change=[5, 20])
# Stage 5, from stage 4's best: a hidden layer in every gate (the paper's linear gate,
# gate_units=(), is kept).
GATE_GRID = dict(gate_units=[(16,), (32,)])
# Stage 6, from stage 5's best, for the in-network ensemble's row only: its number
# of members (each costs about one more pass of every batch through the network, so
# larger ensembles were not tried on these 2 cores).
ENSEMBLE_GRID = dict(ensemble_size=[2, 4])
N_AVERAGED = 5
# Every tuning candidate is fitted once per tuning seed s, on split s's training part
# with network seed s, and scored by the mean AUC over the splits' validation parts:
# one network's AUC moves by about 0.001 from seed to seed and from split to split,
# as much as most differences between the candidates.
TUNING_SEEDS = (0, 1)
HGB_GRID = dict(learning_rate=[0.05, 0.1], max_leaf_nodes=[15, 31, 63])


def preprocessing(X, numeric=None):
    columns = [c for c in X.columns if not isinstance(X[c].dtype, pd.CategoricalDtype)]
    if numeric is None:
        money = make_pipeline(FunctionTransformer(np.log1p), StandardScaler())
        steps = [
            ("money", money, [c for c in columns if c in MONEY]),
            ("numeric", StandardScaler(), [c for c in columns if c not in MONEY]),
        ]
    else:  # bins: no log needed, the encoding ignores monotone rescaling
        strategy, n_bins = numeric
        encoder = PiecewiseLinearEncoder(n_bins, strategy=strategy)
        steps = [("numeric", encoder, columns)]
    return ColumnTransformer(
        steps,
        remainder="passthrough",  # the categories, kept as pandas categories
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


def network(X, architecture="mmoe", seed=0, numeric=None, **params):
    params = {**NET, **params}
    if architecture == "shared_bottom":
        # One bottom as wide as all the experts together: similar capacity.
        params["expert_units"] = tuple(
            u * params["n_experts"] for u in params["expert_units"]
        )
    model = MMoEClassifier(
        architecture=architecture, random_state=seed, **PINNED, **params
    )
    return make_pipeline(preprocessing(X, numeric), model)


class Averaged:
    """The mean predicted probabilities of networks trained from different seeds."""

    def __init__(self, X, seed, n_networks, **params):
        seeds = range(seed * n_networks, (seed + 1) * n_networks)
        self.models = [network(X, "mmoe", s, **params) for s in seeds]

    def fit(self, X, y):
        for model in self.models:
            model.fit(X, y)
        return self

    def predict_proba(self, X):
        probas = [model.predict_proba(X) for model in self.models]
        return [np.mean(task, axis=0) for task in zip(*probas)]


def hgb(seed=0, **params):
    return HistGradientBoostingClassifier(
        categorical_features="from_dtype",
        max_iter=1000,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        random_state=seed,
        **params,
    )


def split(X, Y, seed):
    main = Y.iloc[:, 0]
    X_train, X_rest, Y_train, Y_rest = train_test_split(
        X, Y, test_size=0.4, random_state=seed, stratify=main
    )
    X_valid, X_test, Y_valid, Y_test = train_test_split(
        X_rest, Y_rest, test_size=0.5, random_state=seed, stratify=Y_rest.iloc[:, 0]
    )
    return (X_train, Y_train), (X_valid, Y_valid), (X_test, Y_test)


def task_aucs(model, X, Y, task=None):
    proba = model.predict_proba(X)
    if task is not None:
        return [roc_auc_score(Y.iloc[:, task], proba[:, 1])]
    return [roc_auc_score(Y.iloc[:, t], p[:, 1]) for t, p in enumerate(proba)]


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def grid(space):
    keys = list(space)
    return [dict(zip(keys, values)) for values in itertools.product(*space.values())]


# What a tuning record keeps of a candidate's fits, in from_seeds' order.
RECORD_SCORES = ("seconds", "valid_auc", "valid_auc_per_seed")


def candidate_key(params):
    return json.dumps(params, sort_keys=True)  # tuples and lists alike


def recorded_candidates(path, group):
    """The candidates that the ``--tune`` run which wrote ``path`` scored for
    ``group``: ``{"mmoe": ..., "hgb": ...}``, each by ``candidate_key``; none when it
    fixed other settings (``NET``) or tuned on other seeds, whose scores would not be
    comparable."""
    entry = json.loads(Path(path).read_text()).get(f"group{group}") or {}
    same = entry.get("net_fixed") == json.loads(json.dumps(NET)) and entry.get(
        "tuning_seeds"
    ) == list(TUNING_SEEDS)
    if not entry.get("tuning") or not same:
        print(f"  {path}: no comparable tuning record for group {group}", flush=True)
        return {}
    return {
        model: {candidate_key(r["params"]): r for r in records}
        for model, records in entry["tuning"].items()
    }


def tune(X, Y, recorded=None):
    """Grid search on the validation splits of ``TUNING_SEEDS``, scored by the main
    task's AUC (the mean over those splits). A candidate in ``recorded`` (from
    ``recorded_candidates``) keeps its recorded scores instead of being fitted again.
    Returns the MMoE's settings, the ensemble size, HGB's settings and the records."""
    recorded = recorded or {}
    splits = {s: split(X, Y, s)[:2] for s in TUNING_SEEDS}
    net_scores, hgb_scores = [], []

    def from_seeds(make, task=None):
        """Fit ``make(s)`` on split ``s``'s training part for every tuning seed: mean
        seconds, mean validation AUC per task and every split's AUCs."""
        seconds, per_seed = [], []
        for s, ((X_train, Y_train), (X_valid, Y_valid)) in splits.items():
            model = make(s)
            y_train = Y_train.to_numpy() if task is None else Y_train.iloc[:, task]
            seconds.append(timed_fit(model, X_train, y_train))
            per_seed.append(task_aucs(model, X_valid, Y_valid, task))
        return np.mean(seconds), list(np.mean(per_seed, axis=0)), per_seed

    def score(params, stage):
        old = recorded.get("mmoe", {}).get(candidate_key(params))
        if old is None:
            seconds, auc, per_seed = from_seeds(partial(network, X, "mmoe", **params))
        else:
            seconds, auc, per_seed = (old[k] for k in RECORD_SCORES)
        record = dict(zip(RECORD_SCORES, (seconds, auc, per_seed)))
        net_scores.append(
            {"stage": stage, "params": params, **record, "recorded": old is not None}
        )
        print(
            f"  MMoE {params}: valid AUC {auc[0]:.4f} / {auc[1]:.4f}, {seconds:.0f} s"
            + (" (recorded)" if old is not None else ""),
            flush=True,
        )

    def best(stages=range(1, 6)):
        scored = [r for r in net_scores if r["stage"] in stages]
        return max(scored, key=lambda r: r["valid_auc"][0])["params"]

    for params in grid(NET_GRID):
        score({**params, **STAGE_1}, stage=1)
    start = best()
    for inputs in grid(INPUT_GRID):
        if inputs != STAGE_1:  # that one was fitted in stage 1
            score({**start, **inputs}, stage=2)
    for stage, space in ((3, AVERAGING_GRID), (4, PATIENCE_GRID), (5, GATE_GRID)):
        start = best()
        for params in grid(space):
            score({**start, **params}, stage=stage)
    chosen = best()
    for params in grid(ENSEMBLE_GRID):
        score({**chosen, **params}, stage=6)
    ensemble_size = best(stages=[6])["ensemble_size"]
    for params in grid(HGB_GRID):
        old = recorded.get("hgb", {}).get(candidate_key(params))
        if old is None:
            seconds, auc, _ = from_seeds(partial(hgb, **params), task=0)
        else:
            seconds, auc = old["seconds"], old["valid_auc"]
        hgb_scores.append(
            dict(
                params=params, valid_auc=auc, seconds=seconds, recorded=old is not None
            )
        )
        print(
            f"  HGB {params}: valid AUC {auc[0]:.4f}, {seconds:.0f} s"
            + (" (recorded)" if old is not None else "")
        )
    best_hgb = max(hgb_scores, key=lambda r: r["valid_auc"][0])
    return chosen, ensemble_size, best_hgb["params"], net_scores, hgb_scores


# The rows of the result tables, in order: the name --models picks a row by, and
# whether the model is fitted per task (one model per column of y) or on all tasks.
MODELS = (
    ("MMoE", False),
    ("OMoE", False),
    ("Shared-Bottom", False),
    (f"MMoE, {N_AVERAGED} averaged", False),
    ("MMoE, ensemble", False),
    ("single-task MMoE", True),
    ("HGB", True),
)


def model_maker(name, X, seed, net_params, ensemble_size, hgb_params):
    """A function that returns a new, unfitted model of the row ``name``."""
    return {
        "MMoE": lambda: network(X, "mmoe", seed, **net_params),
        "OMoE": lambda: network(X, "omoe", seed, **net_params),
        "Shared-Bottom": lambda: network(X, "shared_bottom", seed, **net_params),
        f"MMoE, {N_AVERAGED} averaged": lambda: Averaged(
            X, seed, N_AVERAGED, **net_params
        ),
        "MMoE, ensemble": lambda: network(
            X, "mmoe", seed, **net_params, ensemble_size=ensemble_size
        ),
        "single-task MMoE": lambda: network(X, "mmoe", seed, **net_params),
        "HGB": lambda: hgb(seed, **hgb_params),
    }[name]


def run_seed(X, Y, seed, net_params, ensemble_size, hgb_params, models):
    (X_train, Y_train), _, (X_test, Y_test) = split(X, Y, seed)
    y_train = Y_train.to_numpy()
    results = {}
    for name, per_task in MODELS:
        if name not in models:
            continue
        make = model_maker(name, X, seed, net_params, ensemble_size, hgb_params)
        if per_task:
            aucs, seconds = [], 0.0
            for t in range(Y.shape[1]):
                model = make()
                seconds += timed_fit(model, X_train, y_train[:, t])
                aucs += task_aucs(model, X_test, Y_test, task=t)
        else:
            model = make()
            seconds = timed_fit(model, X_train, y_train)
            aucs = task_aucs(model, X_test, Y_test)
        label = (
            f"MMoE, ensemble_size={ensemble_size}" if name == "MMoE, ensemble" else name
        )
        results[label] = {"auc": aucs, "seconds": seconds}
    for name, r in results.items():
        auc = " / ".join(f"{a:.4f}" for a in r["auc"])
        print(f"  seed {seed} {name}: test AUC {auc}, {r['seconds']:.0f} s", flush=True)
    return results


def summarise(group, tasks, per_seed):
    lines = [
        f"Group {group} ({tasks[0]} main, {tasks[1]} auxiliary), "
        f"{len(per_seed)} seeds, test AUC mean +- sd:",
        f"| model | {tasks[0]} | {tasks[1]} | train s |",
        "|---|---|---|---|",
    ]
    for name in per_seed[0]:
        auc = np.array([r[name]["auc"] for r in per_seed])
        seconds = np.mean([r[name]["seconds"] for r in per_seed])
        cells = [f"{m:.4f} +- {s:.4f}" for m, s in zip(auc.mean(0), auc.std(0))]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {seconds:.0f} |")
    best, mean = PAPER[group]
    lines.append(f"Paper MMoE: {tasks[0]} best run {best}, {tasks[1]} mean {mean}.")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tune", action="store_true")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=[name for name, _ in MODELS],
        default=[name for name, _ in MODELS],
        help="the rows to fit and report (default: all)",
    )
    parser.add_argument("--out", default=str(RECORDS / "census_income.json"))
    parser.add_argument(
        "--recorded",
        metavar="JSON",
        help="with --tune: take the scores of candidates that this earlier output "
        "already holds (same fixed settings and tuning seeds) instead of refitting",
    )
    args = parser.parse_args()
    if args.recorded and not args.tune:
        parser.error("--recorded takes scores for the tuning: pass --tune as well")
    warnings.simplefilter("ignore")  # ConvergenceWarning when max_epochs is reached

    report = {}
    for group in args.groups:
        X, Y = load_census_income(args.data, group=group)
        tasks = list(Y.columns)
        print(f"group {group}: {X.shape[0]} rows, tasks {tasks}", flush=True)
        # Without --tune: the settings the last tuning chose for group 1.
        net_params = dict(
            n_experts=8,
            expert_units=(64,),
            learning_rate=3e-4,
            numeric=("tree", 64),
            embedding_dim="auto",
            ema_decay=0.999,
            n_iter_no_change=20,
            gate_units=(32,),
        )
        ensemble_size = 4
        hgb_params = dict(learning_rate=0.05, max_leaf_nodes=15)
        tuning = None
        if args.tune:
            recorded = args.recorded and recorded_candidates(args.recorded, group)
            net_params, ensemble_size, hgb_params, net_scores, hgb_scores = tune(
                X, Y, recorded
            )
            tuning = {"mmoe": net_scores, "hgb": hgb_scores}
            print(
                f"  chosen: MMoE {net_params}, ensemble_size={ensemble_size}, "
                f"HGB {hgb_params}",
                flush=True,
            )
        per_seed = [
            run_seed(X, Y, s, net_params, ensemble_size, hgb_params, args.models)
            for s in args.seeds
        ]
        table = summarise(group, tasks, per_seed)
        print(table, flush=True)
        report[f"group{group}"] = {
            "tasks": tasks,
            "seeds": args.seeds,
            "mmoe_params": net_params,  # tuples are written as JSON lists
            "ensemble_size": ensemble_size,
            "hgb_params": hgb_params,
            "net_fixed": NET,
            "tuning_seeds": TUNING_SEEDS,
            "tuning": tuning,
            "results": per_seed,
            "table": table,
        }
    report = {"command": command("benchmarks.census_income"), **report}
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
