"""Generated hostile and unusual inputs for every public method of every estimator.

The invariant: a clear ``ValueError``, ``TypeError`` or ``NotFittedError``, or finite
outputs of the right shape; never another exception, a NaN or an inf, or a shape that
does not follow ``X`` and the tasks. Inputs vary over dtypes (floats, ints, bools,
objects, strings), shapes (no rows, no columns, one row, mismatched lengths), scales
(1e-30 to 1e30, NaN, inf), containers (lists, DataFrames with categorical columns,
CSR / CSC / COO matrices), targets (1-D, 2-D, mixed kinds, missing labels), sample
weights (negative, zero, NaN, huge, the wrong length) and parameters, through ``fit``
and through ``partial_fit`` (twice, the second call continuing the first). Streams:
sequences of ``partial_fit`` and ``fit`` calls over chunks that change (one row,
constant targets or columns, scales from 1e-40 to 1e200, ``y`` as a list of rows of
mixed kinds or a DataFrame with its columns reordered or renamed, ``classes`` right
or wrong), with the same invariant after every call, and a failed call leaving the
predictions as they were.

The test suite runs a bounded, derandomised share (``HOSTILE_EXAMPLES`` examples per
estimator, 40 by default); ``benchmarks/hostile_inputs.py`` runs the same properties
with many more, freshly drawn (``HOSTILE_RANDOM=1``).
"""

import math
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor

N_EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "40"))
# The suite's share is the same every run; HOSTILE_RANDOM=1 explores new examples.
RANDOM = os.environ.get("HOSTILE_RANDOM") == "1"
CLEAR = (ValueError, TypeError, NotFittedError)
SETTINGS = settings(
    max_examples=N_EXAMPLES,
    derandomize=not RANDOM,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

VALUES = st.sampled_from(
    [0.0, 1.0, -1.0, 0.5, 3.0, 1e-30, 1e30, -1e30, 1e6, np.nan, np.inf, -np.inf]
)


@st.composite
def matrices(draw, n_rows, n_cols):
    """A numeric (n_rows, n_cols) array with mostly ordinary values."""
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n_rows, n_cols)) * draw(st.sampled_from([1.0, 1e-6, 1e6]))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 3]))):
        if n_rows and n_cols:
            X[draw(st.integers(0, n_rows - 1)), draw(st.integers(0, n_cols - 1))] = (
                draw(VALUES)
            )
    return X


@st.composite
def inputs(draw, n_rows, n_cols):
    """``X`` in one of many containers and dtypes."""
    X = draw(matrices(n_rows, n_cols))
    kind = draw(
        st.sampled_from(
            [
                "float64",
                "float64",
                "float64",
                "frame",
                "float32",
                "int",
                "bool",
                "object",
                "strings",
                "list",
                "frame",
                "frame_categorical",
                "csr",
                "csc",
                "coo",
                "1d",
                "3d",
            ]
        )
    )
    with np.errstate(invalid="ignore", over="ignore"):
        if kind == "float32":
            return X.astype(np.float32)
        if kind == "int":
            return np.nan_to_num(X).clip(-1e9, 1e9).astype(np.int64)
        if kind == "bool":
            return X > 0
        if kind == "object":
            return X.astype(object)
        if kind == "strings":
            return X.astype(str)
        if kind == "list":
            return X.tolist()
        if kind == "frame":
            return pd.DataFrame(X, columns=[f"c{j}" for j in range(n_cols)])
        if kind == "frame_categorical":
            frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(n_cols)])
            if n_cols:
                frame["c0"] = pd.Categorical(np.where(X[:, 0] > 0, "a", "b"))
            return frame
        if kind in ("csr", "csc", "coo"):
            X = np.where(np.abs(X) < 0.5, 0.0, X)
            return getattr(sp, f"{kind}_matrix")(X)
        if kind == "1d":
            return X.ravel()
        if kind == "3d":
            return X[..., None]
    return X


@st.composite
def targets(draw, n_rows, estimator):
    """``y``: 1-D or 2-D, of the estimator's kind or not, sometimes missing labels."""
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    n_tasks = draw(st.integers(1, 3))
    kinds = ["ints", "floats", "strings", "bools", "mixed"]
    kind = draw(
        st.sampled_from(
            kinds + ["floats" if estimator is MMoERegressor else "ints"] * 3
        )
    )
    columns = []
    for t in range(n_tasks):
        task = kind if kind != "mixed" else ("floats" if t % 2 else "strings")
        if task == "ints":
            columns.append(rng.randint(0, draw(st.sampled_from([3, 3, 2, 1])), n_rows))
        elif task == "floats":
            columns.append(rng.normal(size=n_rows) * draw(VALUES.filter(math.isfinite)))
        elif task == "strings":
            columns.append(rng.choice(["a", "b", "c"], n_rows).astype(object))
        else:
            columns.append(rng.rand(n_rows) > 0.5)
    Y = np.empty((n_rows, n_tasks), dtype=object)
    for t, column in enumerate(columns):
        Y[:, t] = column
    if draw(st.sampled_from([False, False, True])) and n_rows:
        Y[draw(st.integers(0, n_rows - 1)), 0] = draw(st.sampled_from([None, np.nan]))
    if kind in ("ints", "floats", "bools"):
        Y = Y.astype(float if kind == "floats" or Y.dtype == object else Y.dtype)
    shape = draw(st.sampled_from(["2d", "2d", "1d", "frame", "frame", "short"]))
    if shape == "1d":
        return Y[:, 0]
    if shape == "frame":
        return pd.DataFrame(Y, columns=[f"t{t}" for t in range(n_tasks)])
    if shape == "short" and n_rows:
        return Y[:-1]
    return Y


WEIGHTS = st.sampled_from(
    ["none", "none", "none", "ones", "huge", "zeros", "negative", "nan", "short"]
)


def _weights(kind, n_rows):
    return {
        "none": None,
        "ones": np.ones(n_rows),
        "zeros": np.zeros(n_rows),
        "negative": -np.ones(n_rows),
        "nan": np.full(n_rows, np.nan),
        "huge": np.full(n_rows, 1e308),
        "short": np.ones(max(n_rows - 1, 0)),
    }[kind]


PARAMS = st.fixed_dictionaries(
    {
        "architecture": st.sampled_from(["mmoe", "omoe", "shared_bottom", "ple"]),
        "gate_type": st.sampled_from(["softmax", "attention"]),
        "ensemble_size": st.sampled_from([1, 2]),
        "numeric_encoding": st.sampled_from(["auto", "robust", "piecewise", None]),
        "missing_labels": st.sampled_from(["raise", "ignore"]),
        "early_stopping": st.sampled_from(["auto", True, False]),
        "dropout": st.sampled_from([0.0, 0.2]),
        "task_weights": st.sampled_from([None, "uncertainty"]),
    }
)


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _assert_finite(a):
    a = np.asarray(a)
    if a.dtype.kind in "fc":
        assert np.all(np.isfinite(a)), a
    elif a.dtype == object:
        for v in a.ravel():
            if isinstance(v, float):
                assert math.isfinite(v), a


def _check_outputs(est, X):
    """Every public inference method on ``X``: a clear error or right-shaped finite
    output."""
    for method in ("predict", "predict_proba", "predict_log_proba", "gate_weights"):
        if not hasattr(est, method):
            continue
        try:
            out = getattr(est, method)(X)
        except CLEAR:
            continue
        n = _n_rows(X)
        if method == "predict":
            expected = (n,) if est._y_1d else (n, est.n_outputs_)
            assert out.shape == expected
            _assert_finite(out)
        elif method == "gate_weights":
            assert out.shape[:2] == (n, est.n_outputs_)
            _assert_finite(out)
        else:
            parts = out if isinstance(out, list) else [out]
            for part in parts:
                if part is not None:
                    assert part.shape[0] == n
                    if method == "predict_proba":
                        _assert_finite(part)
                        np.testing.assert_allclose(part.sum(axis=1), 1.0, rtol=1e-6)


def _classes(y):
    """Each task's labels, for partial_fit's first call (None where they cannot be
    sorted, which partial_fit then reports)."""
    Y = np.asarray(y, dtype=object)
    Y = Y.reshape(len(Y), -1) if Y.ndim else Y.reshape(1, 1)
    try:
        classes = [np.unique(c[~pd.isna(c)].tolist()) for c in Y.T]
    except (TypeError, ValueError):
        return None
    return classes[0] if np.ndim(y) == 1 else classes


def _property(Est, data):
    n_rows = data.draw(st.sampled_from([30, 30, 30, 5, 2, 1, 0]), label="rows")
    n_cols = data.draw(st.sampled_from([3, 3, 1, 0]), label="columns")
    X = data.draw(inputs(n_rows, n_cols), label="X")
    y = data.draw(targets(n_rows, Est), label="y")
    weights = _weights(data.draw(WEIGHTS, label="sample_weight"), n_rows)
    params = data.draw(PARAMS, label="params")
    est = Est(n_experts=2, expert_units=(4,), tower_units=(), max_epochs=2, **params)
    partial = data.draw(st.sampled_from([False, False, True]), label="partial_fit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if partial:
                kwargs = {} if Est is MMoERegressor else {"classes": _classes(y)}
                fitted = est.partial_fit(X, y, sample_weight=weights, **kwargs)
                fitted = est.partial_fit(X, y, sample_weight=weights)  # once more
            else:
                fitted = est.fit(X, y, sample_weight=weights)
        except CLEAR:
            with pytest.raises(NotFittedError):
                est.predict(X)
            return
        assert fitted is est
        X_test = data.draw(inputs(data.draw(st.sampled_from([0, 1, 7])), n_cols))
        _check_outputs(est, X)
        _check_outputs(est, X_test)
        try:
            score = est.score(X, y, sample_weight=weights)
        except CLEAR:
            return
        assert math.isfinite(score)


@pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor, MMoEMultiTask])
def test_hostile_inputs_get_clear_errors_or_finite_outputs(Est):
    @SETTINGS
    @given(data=st.data())
    def run(data):
        _property(Est, data)

    run()


# -- streams: sequences of partial_fit (and fit) calls over changing chunks
# ---------------------------------------------------------------------------

STREAM_EXAMPLES = max(1, N_EXAMPLES // 2)


@st.composite
def chunks(draw, Est, n_tasks):
    """One chunk of a stream of 3 numeric columns: ``(X, y)`` of 1 to 30 rows, its
    target sometimes constant, its columns sometimes constant or of a tiny or huge
    scale, ``y`` as an array, a list of rows or a DataFrame (sometimes with its
    columns reordered or renamed)."""
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    n = draw(st.sampled_from([30, 30, 5, 1]))
    X = rng.normal(size=(n, 3)) * draw(st.sampled_from([1.0, 1.0, 1e-40, 1e30]))
    if draw(st.booleans()):
        X[:, draw(st.integers(0, 2))] = draw(st.sampled_from([0.0, 5.0]))
    constant = draw(st.sampled_from([False, False, True]))
    columns = []
    for t in range(n_tasks):
        classify = Est is MMoEClassifier or (Est is MMoEMultiTask and t == 0)
        if classify:
            labels = np.zeros(n, int) if constant else (X[:, t] > 0).astype(int)
            columns.append(np.array(["no", "yes"], dtype=object)[labels])
        else:
            values = np.zeros(n) if constant else X[:, t] * 1e3 + rng.normal(size=n)
            columns.append(values * draw(st.sampled_from([1.0, 1.0, 1e200, 1e-30])))
    Y = np.empty((n, n_tasks), dtype=object)
    for t, column in enumerate(columns):
        Y[:, t] = column
    if Est is MMoERegressor:
        Y = Y.astype(float)
    shape = draw(st.sampled_from(["array", "list", "frame", "reordered", "renamed"]))
    names = [f"t{t}" for t in range(n_tasks)]
    if shape == "list":
        return X, Y.tolist()
    if shape in ("frame", "reordered", "renamed"):
        frame = pd.DataFrame(Y, columns=names)
        if shape == "reordered":
            frame = frame[names[::-1]]
        if shape == "renamed":
            frame = frame.rename(columns={"t0": "other"})
        return X, frame
    return X, Y


CLASSES = st.sampled_from(["right", "right", "with nan", "scalar", "one short"])


def _classes_argument(kind, Est, n_tasks):
    """``partial_fit``'s ``classes``: right, or wrong in one of the ways users get
    it wrong."""
    own = ["no", "yes"]
    per_task = [
        own if Est is MMoEClassifier or (Est is MMoEMultiTask and t == 0) else None
        for t in range(n_tasks)
    ]
    if kind == "with nan":
        per_task[0] = [*own, np.nan]
    elif kind == "scalar":
        return 5
    elif kind == "one short":
        per_task = per_task[:-1]
    return per_task


def _snapshot(est, probe):
    """What a failed call must leave as it was: the predictions on ``probe``."""
    if not hasattr(est, "net_"):
        return None
    return np.asarray(est.predict(probe), dtype=object)


def _stream_property(Est, data):
    n_tasks = data.draw(st.integers(1, 2), label="tasks")
    est = Est(n_experts=2, expert_units=(4,), tower_units=(), max_epochs=2)
    probe = np.random.RandomState(1).normal(size=(7, 3))
    n_calls = data.draw(st.integers(2, 4), label="calls")
    for call in range(n_calls):
        X, y = data.draw(chunks(Est, n_tasks), label=f"chunk {call}")
        method = data.draw(
            st.sampled_from(["partial_fit", "partial_fit", "partial_fit", "fit"]),
            label=f"method {call}",
        )
        kwargs = {}
        if method == "partial_fit" and Est is not MMoERegressor:
            kind = data.draw(CLASSES, label=f"classes {call}")
            kwargs["classes"] = _classes_argument(kind, Est, n_tasks)
        before = _snapshot(est, probe)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                getattr(est, method)(X, y, **kwargs)
            except CLEAR:
                after = _snapshot(est, probe)
                if before is None:
                    assert after is None
                else:
                    np.testing.assert_array_equal(after, before)
                continue
        _check_outputs(est, probe)
        _check_outputs(est, X)


@pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor, MMoEMultiTask])
def test_streams_get_clear_errors_or_finite_outputs_and_failures_change_nothing(Est):
    @settings(SETTINGS, max_examples=STREAM_EXAMPLES)
    @given(data=st.data())
    def run(data):
        _stream_property(Est, data)

    run()
