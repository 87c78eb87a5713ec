"""Plain helpers the tests import (``from _helpers import ...``): constants and
functions that module-level code needs, where a fixture cannot reach. A module of
its own name, not ``conftest``: the repository root has a ``conftest.py`` too, and
a worker process that imports a test module (joblib's) finds that one first.
Fixtures are in ``conftest.py``."""

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

# The network the tests that are not about its size train: three experts of 8 units,
# towers of 4 (files add their own training length and seed to it).
TINY = dict(n_experts=3, expert_units=(8,), tower_units=(4,))
# ... trained four epochs: for tests of what a fitted model does, not of how well.
BRIEF = dict(**TINY, max_epochs=4)
# ... seeded and trained five epochs: for tests of what a fit does (the files' FAST,
# with their own changes written beside it: ``dict(FAST, max_epochs=15)``).
FAST = dict(**TINY, max_epochs=5, random_state=0)
# ... on every row (early_stopping="auto" holds out rows: tests/test_defaults.py).
FAST_EVERY_ROW = dict(FAST, early_stopping=False)
# A small network that learns in tens of epochs at a high rate, seeded: for tests of
# how well a model learns; each file adds the epochs its thresholds were set with.
LEARNER = dict(
    n_experts=4,
    expert_units=(16,),
    tower_units=(8,),
    learning_rate=0.01,
    random_state=0,
)
# ... with three experts, trained 30 epochs of 32-row batches.
QUICK = dict(LEARNER, n_experts=3, max_epochs=30, batch_size=32)
# A small network that learns in a few epochs at a high rate: for tests of what
# early stopping keeps, with max_epochs and n_iter_no_change of their own (a refit,
# cross-fitted members).
STOPPING = dict(**TINY, batch_size=32, learning_rate=0.01, random_state=0)


def two_regression_tasks(n=300, seed=0, n_features=5, noise=0.1, second="product"):
    """``X`` of ``n_features`` normal columns and two regression tasks: the first
    column plus ``noise``, and the product of the next two (``"product"``) or pure
    noise (``"noise"``, a task to shrink towards its mean)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    first = X[:, 0] + noise * rng.normal(size=n)
    other = X[:, 1] * X[:, 2] if second == "product" else rng.normal(size=n)
    return X, np.c_[first, other]


def _signs(X):
    return np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)


def _sum_and_product(X):
    return np.column_stack([X[:, 0] + X[:, 1], X[:, 1] * X[:, 2]])


def normal_tasks(
    Est, n=120, n_features=4, seed=0, labels=_signs, values=_sum_and_product
):
    """The small seeded table of the tests of an estimator class ``Est``: ``X``,
    ``n`` rows of ``n_features`` standard normal columns drawn from
    ``RandomState(seed)``, and ``Y``: ``labels(X)`` for ``MMoEClassifier``,
    ``values(X)`` for any other. By default two binary int tasks (the signs of
    columns 0 and 1) or two regression ones (``X0 + X1`` and ``X1 * X2``); a file
    whose assertions were set on other tasks passes its own ``labels`` and
    ``values``."""
    from sklearn_mmoe import MMoEClassifier

    X = np.random.RandomState(seed).normal(size=(n, n_features))
    return X, (labels if Est is MMoEClassifier else values)(X)


# Narrow experts and towers at the default number of experts, every row training
# (early_stopping="auto" holds out rows: tests/test_defaults.py), for tests of the
# architectures and the displays.
NARROW = dict(expert_units=(8,), tower_units=(4,), random_state=0, early_stopping=False)
# The kinds of conftest's mixed_table's tasks (buys, spend, visits).
MIXED_KINDS = ["classification", "regression", "count"]
# What every expert type must work inside, by test id: each architecture's own code
# (PLE's later levels, the shared bottom), attention gates with top-k, and an
# ensemble with the balance loss.
AROUND_EXPERTS = {
    "ple-2-levels": dict(architecture="ple", n_levels=2, n_task_experts=1),
    "shared-bottom": dict(architecture="shared_bottom"),
    "omoe-attention-top2": dict(architecture="omoe", gate_type="attention", top_k=2),
    "ensemble-balance": dict(ensemble_size=2, balance_weight=0.1),
}


def mixed_frame(n=120, seed=0):
    """A DataFrame ``X`` with numeric, NaN and categorical columns and a ``Y`` of
    mixed tasks: a binary string label, a quantity and a count (conftest's
    ``mixed_table``)."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": np.where(rng.rand(n) < 0.1, np.nan, rng.lognormal(3, 1, n)),
            "city": pd.Categorical(rng.choice(["Lyon", "Oslo", "Pune"], n)),
        }
    )
    Y = pd.DataFrame(
        {
            "buys": rng.choice(["no", "yes"], n),
            "spend": X["age"] * 0.1 + rng.normal(size=n),
            "visits": rng.poisson(2, n),
        }
    )
    return X, Y


def recommender_funnel(n=600, seed=0):
    """A recommender's table with id columns of at least 100 categories (the wide
    part's products) and a ``Y`` of a funnel and a rating: ``purchase``, then
    ``loved`` (a purchase rated above 3.3), and ``rating``."""
    from sklearn_mmoe.datasets import make_recommendation

    X, Y = make_recommendation(n_samples=n, n_users=110, n_items=105, random_state=seed)
    loved = Y["purchase"] & (Y["rating"] > 3.3)
    return X, pd.DataFrame(
        {"purchase": Y["purchase"], "loved": loved, "rating": Y["rating"]}
    )


# The kinds of recommender_funnel's tasks, and its funnel.
FUNNEL_KINDS = ["classification", "classification", "regression"]
FUNNEL = {"loved": "purchase"}


def fitted_recommender_funnel(funnel):
    """``recommender_funnel()``'s ``X`` and an ``MMoEMultiTask`` fitted briefly on
    it: ids (so the wide part is on) and a funnel of kind ``funnel``."""
    from sklearn_mmoe import MMoEMultiTask

    X, Y = recommender_funnel()
    model = MMoEMultiTask(
        **BRIEF,
        task_types=FUNNEL_KINDS,
        task_parents=FUNNEL,
        funnel=funnel,
        random_state=0,
    )
    return X, model.fit(X, Y)


# A note before a code block that the suite does not run, invisible on the page: an
# RST comment (".. not run by the test suite: why") or an HTML comment in Markdown.
NOT_RUN_NOTE = re.compile(r"^(?:\.\. |<!-- )not run by the test suite: (.+?)(?: -->)?$")


def code_blocks(path, notes=False):
    """The code blocks of a documentation page (reST ``code-block`` directives) or of
    a Markdown file (fenced blocks): ``[(language, code), ...]`` in page order; with
    ``notes``, ``[(language, code, note), ...]``, ``note`` the reason given by a
    "not run by the test suite" comment just before the block (None if none)."""
    lines = Path(path).read_text().splitlines()
    blocks, i, note = [], 0, None
    while i < len(lines):
        line = lines[i]
        if line.startswith(".. code-block:: "):
            body, i = [], i + 1
            while i < len(lines) and (not lines[i] or lines[i].startswith("   ")):
                body.append(lines[i])
                i += 1
            code = textwrap.dedent("\n".join(body)).strip() + "\n"
            blocks.append((line.split("::")[1].strip(), code, note))
            note = None
        elif line.startswith("```") and len(line) > 3:
            end = lines.index("```", i + 1)
            blocks.append((line[3:], "\n".join(lines[i + 1 : end]) + "\n", note))
            note, i = None, end + 1
        else:
            if line.strip():
                found = NOT_RUN_NOTE.match(line.strip())
                note = found.group(1) if found else None
            i += 1
    return blocks if notes else [(language, code) for language, code, _ in blocks]


def peak_memory_bytes():
    """The most memory this process has held so far (its peak resident set), in
    bytes: from ``getrusage`` on Linux and macOS, from the process's counters on
    Windows."""
    import sys

    if sys.platform == "win32":
        import ctypes
        from ctypes import wintypes

        class Counters(ctypes.Structure):
            _fields_ = [
                ("cb", wintypes.DWORD),
                ("PageFaultCount", wintypes.DWORD),
                ("PeakWorkingSetSize", ctypes.c_size_t),
                ("WorkingSetSize", ctypes.c_size_t),
                ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
                ("QuotaPagedPoolUsage", ctypes.c_size_t),
                ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
                ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
                ("PagefileUsage", ctypes.c_size_t),
                ("PeakPagefileUsage", ctypes.c_size_t),
            ]

        counters = Counters()
        counters.cb = ctypes.sizeof(Counters)
        process = ctypes.windll.kernel32.GetCurrentProcess()
        ctypes.windll.psapi.GetProcessMemoryInfo(
            process, ctypes.byref(counters), counters.cb
        )
        return int(counters.PeakWorkingSetSize)
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux: kilobytes


# The hashed column of users_frame(), and its buckets.
HASHED_USERS = {"user": 64}


def users_frame(n=300, seed=0):
    """Users (strings, some missing), a city and a number, and a target of the
    user: the table of the hashed-column tests (``hash_buckets=HASHED_USERS``)."""
    rng = np.random.RandomState(seed)
    users = rng.choice([f"user{i}" for i in range(40)], n).astype(object)
    users[::25] = None
    X = pd.DataFrame(
        {
            "user": users,
            "city": pd.Categorical(rng.choice(["Lyon", "Oslo"], n)),
            "x": rng.normal(size=n),
        }
    )
    y = X["x"].to_numpy() + np.array([hash(u) % 3 if u else 0 for u in users])
    return X, y


# Words of the reviews reviews_frame writes: each text's liking is the count of its
# good words less its bad ones; the neutral words carry nothing.
GOOD_WORDS = ["great", "lovely", "superb", "comfortable", "perfect"]
BAD_WORDS = ["awful", "broken", "cheap", "scratchy", "returned"]
NEUTRAL_WORDS = ["the", "dress", "fabric", "colour", "size", "it", "was", "and", "a"]


def reviews_frame(n=400, seed=0):
    """A table of product reviews: a shop (a category), a price and a review text of
    4 to 12 words (a few missing, one empty); tasks ``liked`` (yes/no: more good
    words than bad ones) and ``stars`` (the good words less the bad ones, plus
    noise). What the tasks know is in the words alone."""
    rng = np.random.default_rng(seed)
    texts, liking = [], []
    for _ in range(n):
        words = list(rng.choice(NEUTRAL_WORDS, rng.integers(3, 9)))
        good, bad = rng.integers(0, 3, size=2)
        words += list(rng.choice(GOOD_WORDS, good)) + list(rng.choice(BAD_WORDS, bad))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + ".")
        liking.append(int(good) - int(bad))
    liking = np.array(liking, dtype=float)
    X = pd.DataFrame(
        {
            "shop": pd.Categorical(rng.choice(["north", "south", "web"], n)),
            "price": rng.lognormal(3, 0.5, n),
            "review": pd.Series(texts, dtype=object),
        }
    )
    X.loc[[3, 17], "review"] = None
    X.loc[5, "review"] = ""
    liking[[3, 5, 17]] = 0.0
    Y = pd.DataFrame(
        {
            "liked": np.where(liking > 0, "yes", "no"),
            "stars": liking + 0.3 * rng.normal(size=n),
        }
    )
    return X, Y
