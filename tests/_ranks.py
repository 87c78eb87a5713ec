"""Jobs of several processes on one ``torch.distributed`` process group (gloo, CPU),
started by the tests as ``torchrun`` would start them: :func:`run_ranks` spawns
``world`` processes, each joins the group and runs a job of this module, and returns
what each rank's job returned (or the error it raised, as ``(type name, message)``).

The jobs are functions of this module, importable by the spawned processes; each
takes its rank and the world size and returns something picklable.
"""

import faulthandler
import os
import pickle
import tempfile
import time

import numpy as np
import pandas as pd
import torch
import torch.multiprocessing as mp

# The longest a job of the suite may take before its processes are ended.
JOB_TIMEOUT = 240


def run_ranks(job, world=2, timeout=JOB_TIMEOUT, **kwargs):
    """Run ``job`` (a name of this module's functions) on ``world`` ranks; return
    each rank's result in rank order."""
    with tempfile.TemporaryDirectory() as folder:
        context = mp.start_processes(
            _rank_main,
            args=(world, folder, job, kwargs),
            nprocs=world,
            join=False,
            start_method="spawn",
        )
        deadline = time.monotonic() + timeout
        while not context.join(timeout=1):
            if time.monotonic() > deadline:
                for process in context.processes:
                    process.kill()
                raise TimeoutError(f"the job {job!r} took longer than {timeout} s")
        results = []
        for rank in range(world):
            with open(os.path.join(folder, f"rank{rank}.pkl"), "rb") as f:
                results.append(pickle.load(f))
        return results


def _rank_main(rank, world, folder, job, kwargs):
    import warnings

    import torch.distributed as dist

    from sklearn_mmoe._distributed.agreement import WeightsDifferWarning

    torch.set_num_threads(1)  # the ranks share the machine's cores
    # ranks whose weights differ before the fit's end agree on them: an error here
    warnings.simplefilter("error", WeightsDifferWarning)
    # a job that hangs says where, before the test ends it
    faulthandler.dump_traceback_later(JOB_TIMEOUT - 10)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{os.path.join(folder, 'group')}",
        rank=rank,
        world_size=world,
    )
    try:
        result = globals()[job](rank, world, **kwargs)
    except BaseException as exc:  # reported to the test, which asserts on it
        result = (type(exc).__name__, str(exc))
    with open(os.path.join(folder, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump(result, f)
    dist.destroy_process_group()


def shard(rank, world, *tables):
    """Rank ``rank``'s rows of each of ``tables``: every ``world``-th row."""
    return [
        t.iloc[rank::world] if hasattr(t, "iloc") else t[rank::world] for t in tables
    ]


def shop_table(n=1200, seed=0):
    """A shop's table: numbers, a city (``"Rome"`` in the first rows only) and
    tasks ``buys`` (binary), ``plan`` (three classes, ``"gold"`` in the last rows
    only), ``spend`` (a quantity) and ``visits`` (a count)."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["Lyon", "Oslo", "Pune"], n).astype(object)
    city[:40:2] = "Rome"  # on rank 0's shard only (its rows are the even ones)
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(3, 1, n)),
            "city": pd.Categorical(city),
        }
    )
    z = (X["age"] - 40) / 10 + (X["city"] == "Oslo") - 0.5
    plan = np.where(z > 0.5, "silver", "basic").astype(object)
    plan[-39::2] = "gold"  # on rank 1's shard only (its rows are the odd ones)
    Y = pd.DataFrame(
        {
            "buys": np.where(z + 0.3 * rng.normal(size=n) > 0, "yes", "no"),
            "plan": plan,
            "spend": 3 * z + rng.normal(size=n) * 0.3,
            "visits": rng.poisson(np.exp(0.5 * z + 0.5)),
        }
    )
    return X, Y


def saved_contents(model):
    """What ``sklearn_mmoe.save`` writes of a fitted estimator, comparable bit for
    bit: the file's description (the fitted attributes, the training record) and
    each tensor's bytes (a file's bytes are not: its header's keys come in no fixed
    order)."""
    import json

    from safetensors import safe_open

    import sklearn_mmoe

    if isinstance(model, dict):  # what a fit raised (see _outcome)
        return model
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model")
        sklearn_mmoe.save(model, path)
        with safe_open(path, framework="pt") as f:
            metadata = {
                k: json.loads(v) if k == "state" else v for k, v in f.metadata().items()
            }
            tensors = {k: f.get_tensor(k).numpy().tobytes() for k in f.keys()}
    return metadata, tensors


def _outcome(function, *args, **kwargs):
    """``function``'s result, or what it raised and how long it took to."""
    started = time.monotonic()
    try:
        return function(*args, **kwargs)
    except BaseException as exc:  # the test asserts on it
        return {
            "raised": type(exc).__name__,
            "message": str(exc),
            "seconds": time.monotonic() - started,
        }


def _raising_step(rank, failing_rank, error, after=3):
    """A patch of the training step that raises ``error`` on ``failing_rank`` at
    its ``after``-th step (out of memory, a Ctrl-C)."""
    from sklearn_mmoe._training.net import MultiTaskNet

    original = MultiTaskNet.train_step_single
    calls = []

    def step(self, batch, **fit_params):
        calls.append(1)
        if rank == failing_rank and len(calls) == after:
            raise error
        return original(self, batch, **fit_params)

    return original, step


def _fit_with_step(rank, error, X, Y, params):
    from sklearn_mmoe import MMoEMultiTask
    from sklearn_mmoe._training.net import MultiTaskNet

    original, step = _raising_step(rank, 1, error)
    MultiTaskNet.train_step_single = step
    try:
        return MMoEMultiTask(**params).fit(X, Y)
    finally:
        MultiTaskNet.train_step_single = original


def suite(rank, world):
    """The data-parallel scenarios the tests assert on, one process group: each
    scenario's result (or what it raised) by name."""
    from _helpers import FUNNEL, FUNNEL_KINDS, recommender_funnel, reviews_frame

    from sklearn_mmoe import MMoEMultiTask

    out = {}
    small = dict(n_experts=3, expert_units=(16,), tower_units=(8,), random_state=0)
    X, Y = shop_table()
    Xr, Yr = shard(rank, world, X, Y)
    model = _outcome(MMoEMultiTask(random_state=0).fit, Xr, Yr)
    out["shop"], out["shop model"] = saved_contents(model), model
    net = model.net_  # what the saved file leaves out of the net: its settings
    out["shop net"] = {
        "split": vars(net.train_split),
        "shuffling seed": net.iterator_train__seed,
        "attributes": sorted(vars(net)),
    }
    variants = {
        "cross-fitted and refit": dict(small, n_cv=2, refit=True, max_epochs=6),
        "top-2 gates, balanced, learned task weights": dict(
            small,
            top_k=2,
            balance_weight=0.01,
            task_weights="uncertainty",
            max_epochs=6,
        ),
        "PLE of Transformer experts": dict(
            small, architecture="ple", expert_type="transformer", max_epochs=3
        ),
        "warm start": dict(small, max_epochs=3, warm_start=True),
    }
    for name, params in variants.items():
        model = MMoEMultiTask(**params)
        fitted = _outcome(model.fit, Xr, Yr)
        if name == "warm start":
            fitted = _outcome(model.fit, Xr, Yr)
        out[name] = saved_contents(fitted)
    users, funnel = shard(rank, world, *recommender_funnel(600))
    recommender = MMoEMultiTask(
        **small,
        max_epochs=4,
        task_types=FUNNEL_KINDS,
        task_parents=FUNNEL,
        hash_buckets={"user_id": 64},
        missing_labels="ignore",
    )
    out["funnel, hashed ids and interactions"] = saved_contents(
        _outcome(recommender.fit, users, funnel)
    )
    # rank 1 with 4 rows: empty steps, and folds of none of its rows
    few = slice(0, 500) if rank == 0 else slice(500, 504)
    uneven = MMoEMultiTask(**small, n_cv=5, max_epochs=3)
    out["uneven shards"] = saved_contents(
        _outcome(uneven.fit, X.iloc[few], Y.iloc[few])
    )
    texts, stars = shard(rank, world, *reviews_frame(400))
    text_model = MMoEMultiTask(**small, max_epochs=4, text_features=["review"])
    out["text"] = saved_contents(_outcome(text_model.fit, texts, stars))
    stream = MMoEMultiTask(**small)
    for k in range(2):  # two calls, each with rows of every class
        part = np.arange(len(Xr)) % 2 == k
        _outcome(stream.partial_fit, Xr[part], Yr[part])
    out["partial_fit"] = saved_contents(stream)
    # failures: a bad shard, shards of other columns, a step that raises, a Ctrl-C
    bad = Yr.copy()
    if rank == 1:
        bad.iloc[5, 2] = np.nan  # a missing label, which missing_labels="raise" refuses
    out["bad shard"] = _outcome(MMoEMultiTask(**small, max_epochs=2).fit, Xr, bad)
    wider = dict(small, max_epochs=2, n_experts=4 if rank == 1 else 3)
    out["other parameters"] = _outcome(MMoEMultiTask(**wider).fit, Xr, Yr)
    other = Xr.drop(columns="income") if rank == 1 else Xr
    out["other columns"] = _outcome(MMoEMultiTask(**small, max_epochs=2).fit, other, Yr)
    for name, error in [
        ("out of memory", RuntimeError("CPU out of memory (simulated)")),
        ("Ctrl-C", KeyboardInterrupt()),
    ]:
        out[name] = _outcome(_fit_with_step, rank, error, Xr, Yr, small)
    after = _outcome(MMoEMultiTask(**small, max_epochs=2).fit, Xr, Yr)
    out["after the failures"] = saved_contents(after)
    return out
