"""Experts of other kinds: a user's module run batched over the experts against the
same module run in a loop over them.

``batching``: the census-income table (group 1: income and never married, as the
package loads it; its 28 categorical columns embedded and its numeric ones encoded
by the defaults) at 10,000 training rows, ``MMoEClassifier`` with 8 experts of a
small residual module (a projection to the experts' width, then a pre-norm residual
block of 64 hidden units), every other parameter at its default. Seconds per
training epoch (the fastest of a 4-epoch fit's, best of ``--repeats`` fits, the
validation pass included) with the experts

- batched: what the estimator does (``torch.func.stack_module_state`` and one
  ``vmap`` of ``functional_call`` over the expert axis);
- in a loop: the same stacked weights, one ``functional_call`` per expert, the
  outputs stacked (what LibMTL does with its list of expert modules);

and, for scale, the built-in feed-forward experts (8 of ``(64,)``, the default). The
loop's outputs equal the batched ones (checked on one batch before timing).

``compare``: MLP experts against Transformer experts, each at its defaults (no other
parameter), on the census-income groups 1 and 2 at 10,000 and 60,000 training rows
(20,000 test rows) and three tables of the defaults suite (``ames``: regression, 73
mixed features; ``credit`` and ``churn``: a classification task beside a regression
or count task), seeds 0, 1 and 2, on the splits of ``defaults.py``. Per case and
seed: each task's score (ROC AUC, R2), fit seconds, epochs and seconds per epoch
(the mean of the fit's epochs, its validation pass included). Writes the records to
``--out`` and prints the per-case means and the Transformer's difference.

``mlp``: the default estimator's speed, to compare commits (run it in each checkout,
one after the other): seconds per training epoch of ``MMoEClassifier()`` on census
group 1 at 10,000 rows (the fastest of a 4-epoch fit's, best of ``--repeats``), and
the median latency of a single row's ``predict_proba`` (2,000 calls).

Usage::

    python benchmarks/experts.py batching [--repeats 3] [--experts 8]
        (the record: benchmarks/records/experts_batching.json, one entry per --experts)
    python benchmarks/experts.py mlp [--repeats 3]
    python benchmarks/experts.py compare [--cases ...] [--seeds 0 1 2]
        [--out benchmarks/records/experts.json]
"""

import argparse
import json
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from benchmarks.recording import RECORDS, command
from sklearn_mmoe import MMoEClassifier
from sklearn_mmoe._inputs.validation import validate_X
from sklearn_mmoe._network import experts as _experts
from sklearn_mmoe._network.ops import _TorchOps
from sklearn_mmoe.datasets import load_census_income

warnings.simplefilter("ignore")  # ConvergenceWarning from the short fits


class ResidualExpert(nn.Module):
    """The user module measured: a projection, then a pre-norm residual block."""

    def __init__(self, n_inputs, n_outputs, hidden=64):
        super().__init__()
        self.project = nn.Linear(n_inputs, n_outputs)
        self.block = nn.Sequential(
            nn.LayerNorm(n_outputs),
            nn.Linear(n_outputs, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_outputs),
        )

    def forward(self, x):
        h = self.project(x)
        return torch.relu(h + self.block(h))


class LoopedModuleExperts(_experts.ModuleExperts):
    """The same experts, run one after another: one functional_call each."""

    def _vmapped(self, experts, p, level, x, training):
        base, params, buffers = experts.state(p, training)
        outputs = []
        for e in range(level.n_experts):
            own = [
                {name: value[e] for name, value in d.items()} for d in (params, buffers)
            ]
            rows = x[e] if level.index else x
            outputs.append(functional_call(base, tuple(own), (rows,)))
        return torch.stack(outputs)


@contextmanager
def looped():
    """User modules run in a loop over the experts while inside."""
    batched = _experts.ModuleExperts
    _experts.ModuleExperts = LoopedModuleExperts
    try:
        yield
    finally:
        _experts.ModuleExperts = batched


def epoch_seconds(make, X, Y, repeats):
    best = np.inf
    for _ in range(repeats):
        model = make().fit(X, Y)
        best = min(best, min(row["dur"] for row in model.net_.history))
    return best, model


def check_equal(model, X):
    """The loop's expert outputs equal the batched ones on one batch."""
    module = model.net_.module_.eval()
    level, experts = module.levels[0], module.experts["0"]
    p = module._tensors()
    with torch.no_grad():
        x = torch.as_tensor(module_inputs(model, X[:256]))
        batched = module._expert.run(experts, p, None, level, x)
        looped = LoopedModuleExperts(ResidualExpert)
        loop = looped._vmapped(experts, p, level, x, False)
    torch.testing.assert_close(batched, loop, rtol=1e-5, atol=1e-5)


def module_inputs(model, X):
    """The encoded input the first level's experts read, for ``X``."""
    module = model.net_.module_
    raw = torch.as_tensor(validate_X(model, X), dtype=torch.float32)
    ops = _TorchOps(module.activation, 0.0)
    return module._dense_first_layer(module._tensors(), raw, ops)[1]


def bench_batching(repeats, n_experts):
    X, Y = load_census_income(group=1)
    X, Y = X.iloc[:10_000], Y.iloc[:10_000].to_numpy()
    torch.set_num_threads(2)
    params = dict(n_experts=n_experts, max_epochs=4, random_state=0)
    user = dict(params, expert_type=ResidualExpert)
    MMoEClassifier(**params).fit(X[:1000], Y[:1000])  # warm everything up
    batched, model = epoch_seconds(lambda: MMoEClassifier(**user), X, Y, repeats)
    with looped():
        loop, _ = epoch_seconds(lambda: MMoEClassifier(**user), X, Y, repeats)
    check_equal(model, X)
    mlp, _ = epoch_seconds(lambda: MMoEClassifier(**params), X, Y, repeats)
    n_in = model.net_.module_.input_weight.shape[0]
    print(
        f"census group 1, 10,000 rows ({n_in} encoded inputs), {n_experts} experts, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"residual module, batched (vmap):      {batched:.3f} s per epoch")
    print(f"residual module, loop over experts:   {loop:.3f} s per epoch")
    print(f"speed-up of batching:                 {loop / batched:.2f}x")
    print(f"built-in MLP experts (64,), for scale: {mlp:.3f} s per epoch")
    # kept in the record the documentation quotes, one entry per number of experts
    path = RECORDS / "experts_batching.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    record[str(n_experts)] = dict(
        batched=batched,
        loop=loop,
        mlp=mlp,
        command=command("benchmarks.experts"),
        measured=time.strftime("%Y-%m-%d"),
        threads=torch.get_num_threads(),
    )
    path.write_text(json.dumps(record, indent=1) + "\n")


def bench_mlp(repeats):
    X, Y = load_census_income(group=1)
    X, Y = X.iloc[:10_000], Y.iloc[:10_000].to_numpy()
    torch.set_num_threads(2)
    params = dict(max_epochs=4, random_state=0)
    MMoEClassifier(**params).fit(X[:1000], Y[:1000])  # warm everything up
    epoch, model = epoch_seconds(lambda: MMoEClassifier(**params), X, Y, repeats)
    row = X.iloc[:1]
    for _ in range(200):
        model.predict_proba(row)
    times = []
    for _ in range(2000):
        start = time.perf_counter()
        model.predict_proba(row)
        times.append(time.perf_counter() - start)
    print(f"default MLP experts, census group 1, 10,000 rows: {epoch:.3f} s per epoch")
    print(f"single-row predict_proba, median: {np.median(times) * 1e6:.0f} us")


COMPARED = {"MLP": {}, "Transformer": {"expert_type": "transformer"}}
COMPARE_CASES = (
    "census1-10k",
    "census2-10k",
    "census1-60k",
    "census2-60k",
    "ames",
    "credit",
    "churn",
)


def compare_one(case, seed, experts):
    """One seed of ``case`` with ``experts``' parameters, as ``defaults.py`` runs
    the MMoE: task scores, fit seconds, epochs and seconds per epoch."""
    from benchmarks.suite.runner import run_one

    record = run_one(case, "MMoE", seed, COMPARED[experts])
    return {
        "case": case.name,
        "experts": experts,
        "seed": seed,
        "task_scores": [float(v) for v in record["task_scores"]],
        "fit_seconds": record["fit_seconds"],
        "epochs": record["epochs"],
        "seconds_per_epoch": float(record["seconds_per_epoch"]),
    }


def bench_compare(cases, seeds, out):
    from benchmarks.suite.cases import CASES

    torch.set_num_threads(2)
    records = []
    for name in cases:
        for seed in seeds:
            for experts in COMPARED:
                record = compare_one(CASES[name], seed, experts)
                records.append(record)
                print(
                    f"{name:12s} seed {seed} {experts:11s} "
                    + " ".join(f"{v:.4f}" for v in record["task_scores"])
                    + f"  {record['seconds_per_epoch']:.3f} s/epoch, "
                    f"{record['epochs']:.0f} epochs, {record['fit_seconds']:.1f} s",
                    flush=True,
                )
                record = {"command": command("benchmarks.experts"), "results": records}
                out.write_text(json.dumps(record, indent=1))
    print_compare(records)


def print_compare(records):
    """Per case: each expert type's mean task scores over the seeds, seconds per
    epoch, and the Transformer's difference and time ratio (Markdown)."""
    print(
        "\n| case | task scores, MLP | task scores, Transformer | difference "
        "(mean of tasks) | s/epoch MLP | s/epoch Transformer | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for case in dict.fromkeys(r["case"] for r in records):
        by = {
            e: [r for r in records if r["case"] == case and r["experts"] == e]
            for e in COMPARED
        }
        scores = {e: np.mean([r["task_scores"] for r in by[e]], 0) for e in COMPARED}
        epoch = {e: np.mean([r["seconds_per_epoch"] for r in by[e]]) for e in COMPARED}
        diff = np.mean(scores["Transformer"] - scores["MLP"])
        # the per-seed differences, to see the spread
        spread = [
            np.mean(t["task_scores"]) - np.mean(m["task_scores"])
            for m, t in zip(by["MLP"], by["Transformer"])
        ]
        print(
            f"| {case} | "
            + " / ".join(f"{v:.4f}" for v in scores["MLP"])
            + " | "
            + " / ".join(f"{v:.4f}" for v in scores["Transformer"])
            + f" | {diff:+.4f} (seeds: "
            + ", ".join(f"{v:+.4f}" for v in spread)
            + f") | {epoch['MLP']:.3f} | {epoch['Transformer']:.3f} | "
            f"{epoch['Transformer'] / epoch['MLP']:.1f}x |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["batching", "compare", "mlp"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--experts", type=int, default=8)
    parser.add_argument("--cases", nargs="+", default=list(COMPARE_CASES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=RECORDS / "experts.json")
    parser.add_argument(
        "--recorded-only", action="store_true", help="print the table of --out"
    )
    args = parser.parse_args()
    if args.mode == "batching":
        bench_batching(args.repeats, args.experts)
    elif args.mode == "mlp":
        bench_mlp(args.repeats)
    elif args.recorded_only:
        print_compare(json.loads(args.out.read_text())["results"])
    else:
        bench_compare(args.cases, args.seeds, args.out)


if __name__ == "__main__":
    main()
