"""Data-parallel training on one machine: one process against two on gloo.

Usage::

    python -m benchmarks.data_parallel [--rows 1000000] [--epochs 3] [--out PATH]

Each case trains the same estimator (``max_epochs`` fixed, every row training, no
early stopping) once in one process that uses every core (torch's threads: the
machine's cores) and once data-parallel in as many processes as cores, one thread
each, so that both use the same cores; each process is started fresh (spawned, as
``torchrun`` starts them) and reads only its own shard of the rows:

- ``wide numeric``: ``--rows`` rows of 64 numeric columns (float32, drawn block by
  block so that a rank never holds another's rows) and two binary tasks;
- ``census``: the census-income (KDD) split shipped with the package, its tasks income
  and marital status, each rank taking every ``world``-th row.

A third run starts the same processes, each fitting alone on its rows
(``distributed=False``): their compute with nothing exchanged, so that the data-parallel
run's difference from it is what exchanging the gradients and the epochs' losses costs
per step.

Printed and recorded per case and per run: seconds per epoch (the mean of the
epochs after the first), rows per second, the whole fit's seconds, each process's
peak resident memory during the fit (Linux's ``VmHWM``, reset once the rows are read)
and its growth over the memory resident then, and the held-out ROC AUC of each task
(the data-parallel run's from rank 0's model, which every rank holds).
"""

import argparse
import json
import os
import pickle
import tempfile
import time

import numpy as np
import torch
import torch.multiprocessing as mp

from .recording import RECORDS, command

N_FEATURES = 64
BLOCK = 10_000
PARAMS = dict(early_stopping=False, random_state=0, batch_size=1024)


def _wide_block(k):
    """Rows of block ``k`` of the wide numeric table, and its two tasks."""
    rng = np.random.default_rng(1_000 + k)
    X = rng.standard_normal((BLOCK, N_FEATURES), dtype=np.float32)
    y = np.column_stack(
        [X[:, 0] + X[:, 1] > 0, X[:, 2] * X[:, 3] + 0.5 * X[:, 4] > 0]
    ).astype(np.int64)
    return X, y


def _wide(rank, world, n_rows):
    """Rank ``rank``'s blocks of the wide table, and a held-out block."""
    blocks = [_wide_block(k) for k in range(rank, n_rows // BLOCK, world)]
    X = np.concatenate([b[0] for b in blocks])
    y = np.concatenate([b[1] for b in blocks])
    return X, y, _wide_block(10_000)


def _census(rank, world, n_rows):
    """Rank ``rank``'s rows of the shipped census split (the last fifth held out),
    tasks income (> 50K) and marital status (never married)."""
    from sklearn_mmoe.datasets import load_census_income

    X, Y = load_census_income()
    held = np.arange(len(X)) >= int(0.8 * len(X))
    return (
        X[~held].iloc[rank::world],
        Y[~held].iloc[rank::world],
        (X[held], Y[held]),
    )


CASES = {"wide numeric": _wide, "census": _census}


def _scores(model, held):
    """Each task's ROC AUC on the held-out rows."""
    from sklearn.metrics import roc_auc_score

    X, Y = held
    Y = np.asarray(Y)
    return [
        float(roc_auc_score(Y[:, t] == model.classes_[t][-1], p[:, -1]))
        for t, p in enumerate(model.predict_proba(X))
    ]


def _status_mb(field):
    """A line of ``/proc/self/status`` (``VmRSS``: resident now, ``VmHWM``: its
    peak), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def _reset_peak():
    """Start the peak (``VmHWM``) again from the memory resident now."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _process(rank, world, threads, case, n_rows, epochs, folder, alone):
    torch.set_num_threads(threads)
    if world > 1 and not alone:
        import torch.distributed as dist

        init = f"file://{os.path.join(folder, 'group')}"
        dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    from sklearn_mmoe import MMoEClassifier

    X, y, held = CASES[case](rank, world, n_rows)
    data = X.memory_usage(deep=True).sum() if hasattr(X, "memory_usage") else X.nbytes
    loaded = _status_mb("VmRSS")
    _reset_peak()
    model = MMoEClassifier(
        **PARAMS, max_epochs=epochs, distributed=False if alone else "auto"
    )
    started = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    durations = [row["dur"] for row in model.net_.history]
    result = {
        "rows": len(X),
        "data_mb": data / 2**20,
        "fit_seconds": seconds,
        "epoch_seconds": float(np.mean(durations[1:] or durations)),
        "peak_mb": peak,
        "growth_mb": peak - loaded,
        "auc": _scores(model, held) if rank == 0 else None,
        "parameters": sum(p.numel() for p in model.net_.module_.parameters()),
    }
    with open(os.path.join(folder, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump(result, f)
    if world > 1 and not alone:
        dist.destroy_process_group()


def run(case, world, threads, n_rows, epochs, alone=False):
    """One run of ``case`` on ``world`` processes of ``threads`` threads each
    (``alone``: each fitting on its own rows, nothing exchanged): each process's
    figures, in rank order."""
    with tempfile.TemporaryDirectory() as folder:
        mp.start_processes(
            _process,
            args=(world, threads, case, n_rows, epochs, folder, alone),
            nprocs=world,
            start_method="spawn",
        )
        ranks = []
        for rank in range(world):
            with open(os.path.join(folder, f"rank{rank}.pkl"), "rb") as f:
                ranks.append(pickle.load(f))
    rows = sum(r["rows"] for r in ranks)
    epoch = ranks[0]["epoch_seconds"]
    return {
        "processes": world,
        "threads_per_process": threads,
        "rows": rows,
        "epoch_seconds": epoch,
        "rows_per_second": rows / epoch,
        "fit_seconds": max(r["fit_seconds"] for r in ranks),
        "data_mb_per_process": [r["data_mb"] for r in ranks],
        "peak_mb_per_process": [r["peak_mb"] for r in ranks],
        "growth_mb_per_process": [r["growth_mb"] for r in ranks],
        "auc": ranks[0]["auc"],
        "parameters": ranks[0]["parameters"],
        # every row trains (no early stopping), in batches of all the ranks' rows
        "steps_per_epoch": -(-rows // PARAMS["batch_size"]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    parser.add_argument("--out", default=str(RECORDS / "data_parallel.json"))
    args = parser.parse_args(argv)
    cores = os.cpu_count()
    record = {
        "command": command("benchmarks.data_parallel", argv),
        "cores": cores,
        "torch": torch.__version__,
        "params": {**PARAMS, "max_epochs": args.epochs},
        "cases": {},
    }
    for case in args.cases:
        one = run(case, 1, cores, args.rows, args.epochs)
        many = run(case, cores, 1, args.rows, args.epochs)
        # the same processes, each fitting alone on its rows: their compute alone
        alone = run(case, cores, 1, args.rows, args.epochs, alone=True)
        ratio = {
            "speed-up per epoch": one["epoch_seconds"] / many["epoch_seconds"],
            "speed-up per fit": one["fit_seconds"] / many["fit_seconds"],
            "peak memory per process / one process's": max(many["peak_mb_per_process"])
            / one["peak_mb_per_process"][0],
            "memory growth per process / one process's": max(
                many["growth_mb_per_process"]
            )
            / one["growth_mb_per_process"][0],
        }
        steps = one["steps_per_epoch"]
        ratio["exchange ms per step"] = (
            (many["epoch_seconds"] - alone["epoch_seconds"]) / steps * 1e3
        )
        record["cases"][case] = {
            "one process": one,
            f"{cores} processes": many,
            f"{cores} processes, each alone": alone,
            **ratio,
        }
        print(f"{case}: {one['rows']:,} rows")
        for name, r in (("1 process", one), (f"{cores} processes", many)):
            print(
                f"  {name:>12}: {r['epoch_seconds']:.2f} s/epoch, "
                f"{r['rows_per_second']:,.0f} rows/s, fit {r['fit_seconds']:.1f} s, "
                f"peak {max(r['peak_mb_per_process']):,.0f} MB/process (its rows "
                f"{max(r['data_mb_per_process']):,.0f} MB, growth in fit "
                f"{max(r['growth_mb_per_process']):,.0f} MB), "
                f"AUC {', '.join(f'{a:.4f}' for a in r['auc'])}"
            )
        print(
            f"  {cores} processes each alone on its rows: "
            f"{alone['epoch_seconds']:.2f} s/epoch (their compute, nothing exchanged)"
        )
        print("  " + ", ".join(f"{k} {v:.2f}" for k, v in ratio.items()))
        print(f"  {one['parameters']:,} parameters, {steps} steps per epoch")
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
