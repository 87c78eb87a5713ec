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

    python -m benchmarks.defaults [--cases NAME ...] [--models MMoE MLP HGB RealMLP]
        [--seeds 0 1 2] [--out benchmarks/records/defaults.json]
        [--recorded JSON --reuse MLP HGB RealMLP] [--mmoe '{"learning_rate": 0.01}']

``--recorded`` takes the results of the models named by ``--reuse`` from earlier runs'
records (same case, seed and model settings) instead of fitting them again (a reused
model is left out where no record holds it);
``--recorded-only`` fits nothing and summarises what the records hold.
``--mmoe`` fits the MMoE with the given parameters on top of the defaults (a candidate
default under evaluation); the record says which were used.

The suite's parts are in :mod:`benchmarks.suite`: the cases (``cases``, ``loaders``),
the models compared (``competitors``), one fit and its scores (``runner``) and the
report (``report``); this script only parses its arguments and runs them.
"""

import argparse
import json
from pathlib import Path

from benchmarks.recording import RECORDS, command
from benchmarks.suite.cases import CASES
from benchmarks.suite.competitors import (
    MODELS,
    REALMLP_MAX_ROWS,
    REFERENCES,
    UNRANKED,
)
from benchmarks.suite.report import (
    harm_report,
    joint_report,
    markdown_table,
    print_table,
    summarise,
    task_report,
    time_csv,
    time_report,
)
from benchmarks.suite.runner import run_one


def parse_args(argv=None):
    """The command line: which cases, models and seeds, and where the record goes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=RECORDS / "defaults.json")
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
    args = parser.parse_args(argv)
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; choose from {list(CASES)}")
    if args.recorded is None and args.reuse:
        parser.error("--reuse needs --recorded")
    return args


def load_recorded(paths, reuse):
    """The earlier records' rows of the models in ``reuse``, by (case, model, seed)."""
    recorded = {}
    for path in paths or ():
        for r in json.loads(path.read_text())["results"]:
            if r["model"] in reuse:
                recorded[r["case"], r["model"], r["seed"]] = r
    return recorded


def not_run(name, case, model):
    """Why ``model`` does not run on ``case`` (printed), or None where it runs;
    ``""`` where it is skipped silently (one model per task on a one-kind case)."""
    if model in REFERENCES and (case.n_train or 0) > REALMLP_MAX_ROWS:
        return f"{name:<16} {model:<8} not run (over {REALMLP_MAX_ROWS:,} rows)"
    if model in case.not_run:
        return f"{name:<16} {model:<8} not run ({case.not_run[model]})"
    if model == "MMoE-solo" and case.kind != "mixed":
        return ""
    return None


def print_row(name, model, seed, result):
    """One fit's task scores and seconds, as the run goes."""
    print(
        f"{name:<16} {model:<8} seed {seed}: "
        + " ".join(f"{s:.4f}" for s in result["task_scores"])
        + f"  {result['fit_seconds']:.1f} s"
        + (" (recorded)" if result.get("recorded") else ""),
        flush=True,
    )


def run_case(name, args, recorded):
    """Every model and seed of the case ``name``: fitted, or taken from a record."""
    case, results = CASES[name], []
    for model in args.models:
        reason = not_run(name, case, model)
        if reason is not None:
            if reason:
                print(reason)
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
            if not (result.get("recorded") and args.recorded_only):
                print_row(name, model, seed, result)
    return results


def report(results, args):
    """Print the suite's summary of ``results``; returns the table of case scores."""
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
    return table


def main(argv=None):
    args = parse_args(argv)
    recorded = load_recorded(args.recorded, args.reuse)
    run = {"command": command("benchmarks.defaults"), "mmoe_params": args.mmoe}
    results = []
    for name in args.cases:
        results += run_case(name, args, recorded)
        # written after each case, so that an interrupted run keeps what it measured
        args.out.write_text(json.dumps({**run, "results": results}, indent=1))
    table = report(results, args)
    args.out.write_text(
        json.dumps({**run, "results": results, "table": table}, indent=1)
    )


if __name__ == "__main__":
    main()
