"""Models saved by an earlier version of the package, kept as files, with the
predictions they made when saved: ``tests/test_saved_models.py`` loads each and
checks that it still predicts them. One model per configuration below, covering
every architecture, gate type, expert type, task kind and numeric encoding, the
in-network ensemble, the cross-fitted one, hashed categories, the wide part, a
funnel and a text column.

Written once, by the version whose files they are (a configuration added later gets
its files from the version that adds it; existing files are never written again)::

    python tests/_saved.py

Never rewrite them to make the test pass: a file that no longer loads, or loads and
predicts otherwise, is a change every user's saved model meets.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

FOLDER = Path(__file__).resolve().parent / "saved"
# Every network small, trained a few epochs: what is checked is what a file holds.
SMALL = dict(
    n_experts=3, expert_units=(8,), tower_units=(4,), max_epochs=3, random_state=0
)
CONFIGS = {
    "classifier-mmoe-piecewise": ("MMoEClassifier", dict(numeric_encoding="piecewise")),
    "classifier-ple-attention-top2": (
        "MMoEClassifier",
        dict(architecture="ple", n_levels=2, gate_type="attention", top_k=2),
    ),
    "regressor-shared-bottom-standard": (
        "MMoERegressor",
        dict(architecture="shared_bottom", numeric_encoding="standard"),
    ),
    "regressor-omoe-transformer-robust": (
        "MMoERegressor",
        dict(
            architecture="omoe",
            expert_type="transformer",
            token_dim=8,
            n_heads=2,
            numeric_encoding="robust",
        ),
    ),
    "multitask-mixed-ensemble-raw": (
        "MMoEMultiTask",
        dict(ensemble_size=2, balance_weight=0.1, numeric_encoding=None),
    ),
    "multitask-mixed-cross-fitted": ("MMoEMultiTask", dict(n_cv=2)),
    "multitask-hashed-wide": (
        "MMoEMultiTask",
        dict(hash_buckets={"city": 4}, interactions=True),
    ),
    "classifier-funnel": (
        "MMoEClassifier",
        dict(task_parents={"purchase": "click"}),
    ),
    # written by format version 3, the first with text columns
    "multitask-text": (
        "MMoEMultiTask",
        dict(text_features=["note"], text_options={"char_ngrams": (3, 4), "dim": 8}),
    ),
}


# The format version each configuration's file was written in (1 where unnamed).
WRITTEN_IN = {"multitask-text": 3}


def data(name, n=160, seed=0):
    """The table ``name``'s model is fitted on and predicts: numeric and
    categorical columns, with missing values unless the numbers are taken as given;
    mixed tasks for the multi-task models, a funnel for the funnel."""
    rng = np.random.RandomState(seed)
    raw = name.endswith("raw")  # the numbers as given: no missing values
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": np.where(
                (rng.rand(n) < 0.1) & (not raw), np.nan, rng.lognormal(3, 1, n)
            ),
            "city": pd.Categorical(rng.choice(["Lyon", "Oslo", "Pune", "Rome"], n)),
        }
    )
    signal = (X["age"] - 40) / 10 + (X["city"] == "Oslo")
    if "text" in name:  # a note of a few words, its tone part of the signal
        tone = rng.choice(["glad", "fine", "upset"], n)
        words = rng.choice(["the", "visit", "staff", "room", "price", "was"], (n, 4))
        X["note"] = [" ".join([*w, t]) for w, t in zip(words, tone)]
        X.loc[3, "note"] = None
        signal = signal + (tone == "glad") - (tone == "upset")
    if name.startswith("multitask"):
        Y = pd.DataFrame(
            {
                "buys": np.where(signal + rng.normal(size=n) > 0, "yes", "no"),
                "spend": signal + rng.normal(size=n),
                "visits": rng.poisson(np.exp(0.3 * signal.clip(-2, 2))),
            }
        )
    elif name == "classifier-funnel":
        click = signal + rng.normal(size=n) > 0
        Y = pd.DataFrame(
            {"click": click, "purchase": click & (rng.normal(size=n) > 0)}
        ).astype(int)
    elif name.startswith("regressor"):
        Y = np.c_[signal + rng.normal(size=n), signal * rng.normal(size=n)]
    else:
        Y = np.c_[signal > 0, rng.normal(size=n) + signal > 0.5].astype(int)
    return X, Y


def predictions(model, X):
    """What a model predicts of ``X``, as named float arrays: its predictions
    (labels as their index in the classes) and, where it has them, its class
    probabilities."""
    out = {}
    pred = np.asarray(model.predict(X))
    for t in range(pred.shape[1]):
        column = pred[:, t]
        classes = getattr(model, "classes_", [None] * pred.shape[1])[t]
        if classes is not None:
            classes = [str(c) for c in classes]
            column = np.array([classes.index(str(v)) for v in column])
        out[f"predict_{t}"] = column.astype(np.float64)
    if hasattr(model, "predict_proba"):
        for t, proba in enumerate(model.predict_proba(X)):
            if proba is not None:
                out[f"proba_{t}"] = np.asarray(proba, dtype=np.float64)
    return out


def fitted(name):
    import warnings

    import sklearn_mmoe

    cls, params = CONFIGS[name]
    X, Y = data(name)
    model = getattr(sklearn_mmoe, cls)(**SMALL, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few epochs to converge, on purpose
        return model.fit(X, Y), X


def write():
    import sklearn_mmoe

    FOLDER.mkdir(exist_ok=True)
    for name in CONFIGS:
        if (FOLDER / f"{name}.safetensors").exists():  # written once, never again
            continue
        model, X = fitted(name)
        sklearn_mmoe.save(model, FOLDER / f"{name}.safetensors")
        arrays = predictions(model, X)
        (FOLDER / f"{name}.json").write_text(
            json.dumps({k: v.tolist() for k, v in arrays.items()})
        )
        print(f"{name}: {', '.join(arrays)}")


if __name__ == "__main__":
    write()
