"""Where a default fit's seconds go on the suite's large tables, against boosting.

Usage:
    python benchmarks/large_tables.py [ratio|optimizer|all]

- ratio: census at 60,000 rows (both groups) and MovieLens-100K (80,000 ratings),
  cases of ``benchmarks/defaults.py``, the first split of seeds 0 to 2: a default fit
  (every parameter default) timed whole, against HistGradientBoosting (one model per
  task, the suite's) fitted on the same rows in the same run, with the test scores of
  both. The default fit's seconds are split into its fixed cost (input validation,
  the encoding's fit, building the network, the shrinkage: everything outside the
  epochs), its validation passes and its training steps, and each step into the
  forward pass, the backward pass and the optimiser's update; the first layer's
  floating-point work per step (forward, and the gradients of its weights and of its
  input) is timed alone on the same shapes, which says how much of a step is dense
  arithmetic a CPU cannot do faster.
- optimizer: one AdamW update of each fitted network's parameters, PyTorch's
  ``foreach`` implementation against its ``fused`` one (the estimator's), in the same
  run.

Each figure is printed and kept in ``records/large_tables.json`` under its key (a
run of one part replaces that part's figures only), with the command, the date and
the machine. MovieLens is read from recbole's wheel, as in ``recommendation.py``.
"""

import os
import sys
import time
import warnings
from contextlib import contextmanager

import numpy as np
import torch

from benchmarks.bench_core import write_record
from benchmarks.recording import RECORDS
from benchmarks.suite.cases import CASES as SUITE
from benchmarks.suite.cases import subset
from benchmarks.suite.competitors import fitted_mmoe, make_model, predictions
from benchmarks.suite.runner import task_scores
from sklearn_mmoe._training.net import MultiTaskNet

warnings.simplefilter("ignore")  # ConvergenceWarning, none expected here

RECORD = os.path.join(RECORDS, "large_tables.json")
CASES = ("census1-60k", "census2-60k", "movielens")
SEEDS = (0, 1, 2)
MEASURED = {}


@contextmanager
def step_clock():
    """Seconds spent in training steps, their forward and backward passes, summed
    over a fit: the net's methods wrapped while the block runs."""
    spent = {"steps": 0.0, "forward": 0.0, "forward_backward": 0.0, "n_steps": 0}
    train_step, single, step = (
        MultiTaskNet.train_step,
        MultiTaskNet.train_step_single,
        MultiTaskNet._step,
    )

    def timed(method, key):
        def run(self, *args, **kwargs):
            if key == "forward" and not self.module_.training:
                return method(self, *args, **kwargs)  # a validation batch
            start = time.perf_counter()
            result = method(self, *args, **kwargs)
            spent[key] += time.perf_counter() - start
            spent["n_steps"] += key == "steps"
            return result

        return run

    MultiTaskNet.train_step = timed(train_step, "steps")
    MultiTaskNet.train_step_single = timed(single, "forward_backward")
    MultiTaskNet._step = timed(step, "forward")
    try:
        yield spent
    finally:
        MultiTaskNet.train_step = train_step
        MultiTaskNet.train_step_single = single
        MultiTaskNet._step = step


def first_layer_seconds(n_rows, n_in, n_out, n_grad_in, repeat=200):
    """Seconds of the first layer's arithmetic in one training step: its product
    ``(n_rows, n_in) @ (n_in, n_out)``, the gradient of its weights and of the
    ``n_grad_in`` inputs that learn (the embeddings), the median of ``repeat``."""
    x = torch.randn(n_rows, n_in)
    w = torch.randn(n_out, n_in, requires_grad=True)
    b = torch.zeros(n_out, requires_grad=True)
    times = []
    for _ in range(repeat):
        learned = x[:, n_in - n_grad_in :].clone().requires_grad_(True)
        start = time.perf_counter()
        inputs = torch.cat([x[:, : n_in - n_grad_in], learned], 1)
        torch.nn.functional.linear(inputs, w, b).sum().backward()
        times.append(time.perf_counter() - start)
        w.grad = b.grad = None
    flops = 2 * n_rows * n_in * n_out * 2 + 2 * n_rows * n_grad_in * n_out
    return float(np.median(times)), flops


def timed_fit(case, seed, name, **params):
    """Model ``name`` of the suite (``params``: the MMoE's, beside the suite's own)
    fitted on ``case``'s first split for ``seed``: the model, its seconds and the
    split's test scores."""
    X, Y = case.load()
    kinds = case.task_kinds(Y)
    if name == "MMoE" and case.kind == "mixed":
        params = {"missing_labels": "ignore", **params}
    train, test = case.splits(X, Y, seed)[0]
    model = make_model(name, case.kind, X, seed, params, kinds)
    start = time.perf_counter()
    model.fit(subset(X, train), subset(Y, train))
    seconds = time.perf_counter() - start
    pred = predictions(model, case.kind, subset(X, test))
    scores = task_scores(case.kind, subset(Y, test), pred, kinds)
    return model, seconds, scores


def bench_ratio():
    rows = []
    for name in CASES:
        case = SUITE[name]
        for seed in SEEDS:
            with step_clock() as spent:
                model, seconds, scores = timed_fit(case, seed, "MMoE")
            _, hgb_seconds, hgb_scores = timed_fit(case, seed, "HGB")
            est = fitted_mmoe(model)
            history = est.net_.history
            epochs = float(sum(row["dur"] for row in history))
            weight = est.net_.module_.input_weight
            n_grad_in = sum(w for _, w in est.net_.module_.encoder.embeddings)
            layer, flops = first_layer_seconds(
                est.net_.batch_size, weight.shape[0], weight.shape[1], n_grad_in
            )
            n = max(spent["n_steps"], 1)
            row = dict(
                case=name,
                seed=seed,
                seconds=seconds,
                hgb_seconds=hgb_seconds,
                ratio=seconds / hgb_seconds,
                scores=[float(s) for s in scores],
                hgb_scores=[float(s) for s in hgb_scores],
                epochs=len(history),
                steps=spent["n_steps"],
                batch_size=int(est.net_.batch_size),
                fixed=seconds - epochs,
                validation=epochs - spent["steps"],
                step_ms=1e3 * spent["steps"] / n,
                forward_ms=1e3 * spent["forward"] / n,
                backward_ms=1e3 * (spent["forward_backward"] - spent["forward"]) / n,
                optimizer_ms=1e3 * (spent["steps"] - spent["forward_backward"]) / n,
                first_layer=[int(weight.shape[0]), int(weight.shape[1])],
                first_layer_ms=1e3 * layer,
                first_layer_gflops=flops / layer / 1e9,
            )
            rows.append(row)
            print(
                f"{name:<12} seed {seed}: {seconds:5.1f} s = {row['ratio']:.2f}x "
                f"boosting's {hgb_seconds:.1f} s; scores "
                f"{np.round(row['scores'], 4)} vs {np.round(row['hgb_scores'], 4)}; "
                f"{row['epochs']} epochs, {row['steps']} steps of {row['step_ms']:.2f} "
                f"ms (forward {row['forward_ms']:.2f}, backward "
                f"{row['backward_ms']:.2f}, optimiser {row['optimizer_ms']:.2f}; "
                f"first layer {weight.shape[0]} x {weight.shape[1]} alone "
                f"{row['first_layer_ms']:.2f} ms at {row['first_layer_gflops']:.0f} "
                f"GFLOP/s), validation {row['validation']:.1f} s, fixed "
                f"{row['fixed']:.1f} s",
                flush=True,
            )
    MEASURED["ratio"] = dict(
        what="a default fit against boosting on the large tables", rows=rows
    )


def update_seconds(params, repeat=200, **kind):
    """Median seconds of one AdamW update of ``params`` (random gradients)."""
    params = [p.detach().clone().requires_grad_(True) for p in params]
    for p in params:
        p.grad = torch.randn_like(p)
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4, **kind)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_optimizer():
    rows = []
    for name in CASES:
        model, _, _ = timed_fit(SUITE[name], 0, "MMoE", max_epochs=1)
        learned = [
            p for p in fitted_mmoe(model).net_.module_.parameters() if p.requires_grad
        ]
        foreach = update_seconds(learned, foreach=True)
        fused = update_seconds(learned, fused=True)
        rows.append(
            dict(
                case=name,
                parameters=int(sum(p.numel() for p in learned)),
                tensors=len(learned),
                foreach_ms=1e3 * foreach,
                fused_ms=1e3 * fused,
            )
        )
        print(
            f"{name:<12} AdamW update of {rows[-1]['parameters']:,} parameters in "
            f"{len(learned)} tensors: foreach {1e3 * foreach:.3f} ms, fused "
            f"{1e3 * fused:.3f} ms ({foreach / fused:.1f}x)",
            flush=True,
        )
    MEASURED["optimizer"] = dict(what="one AdamW update, foreach and fused", rows=rows)


BENCHES = {"ratio": bench_ratio, "optimizer": bench_optimizer}

if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which not in {*BENCHES, "all"}:  # before the record is touched
        sys.exit(f"usage: python -m benchmarks.large_tables [{'|'.join(BENCHES)}|all]")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    try:
        for part in BENCHES if which == "all" else [which]:
            BENCHES[part]()
    finally:
        write_record(which, RECORD, MEASURED, "large_tables")
