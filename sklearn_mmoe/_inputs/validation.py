"""What fit and predict accept: ``X`` (categorical columns encoded), ``y`` (missing
labels), sample weights, and the distinct weighted rows the network trains on.

Each function takes the estimator first, as scikit-learn's ``validate_data`` does:
it reads the parameters that say what is accepted (``categorical_features``,
``missing_labels``, ...) and keeps what a fit learns of its inputs
(``n_features_in_``, ``feature_names_in_``, ``is_categorical_``, ``is_text_``, the
categorical and text columns' encoder ``_encoder``, ``_allow_nan``, ``_y_1d``) on it.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    _check_sample_weight,
    check_array,
    check_consistent_length,
    validate_data,
)

from .._distributed.group import current
from .._utils.warn import warn
from .categorical import CategoricalEncoder, categorical_mask
from .hashing import bucket_counts
from .rows import bounded_weights, collapse, missing_mask
from .tensors import canonical
from .text import TextColumns, TextColumnsWarning, check_text_options, text_mask

# The most rows _plain_rows checks itself: where scikit-learn's validation costs more
# than predicting (beyond, its overhead is lost in the work).
_PLAIN_ROWS = 1024


def keep_column_types(y):
    """A DataFrame ``y`` whose columns differ in dtype, or a list of rows whose values
    differ in type, as an object array, so that each task keeps its labels' type
    (pandas would turn bools next to floats into floats, NumPy strings next to
    numbers into strings); anything else as it is."""
    dtypes = getattr(y, "dtypes", None)
    if getattr(y, "ndim", 1) == 2 and dtypes is not None and len(set(dtypes)) > 1:
        if hasattr(y, "compute"):  # a dask DataFrame (Incremental's score): in memory
            y = y.compute()
        return y.astype(object).to_numpy()
    if isinstance(y, (list, tuple)) and len(y):
        try:
            rows = np.asarray(y, dtype=object)
        except ValueError:  # ragged: check_array says so
            return y
        if rows.ndim == 2 and {_label_kind(v) for v in rows.ravel()} - {None} in (
            {"str", "bool", "number"},
            {"str", "number"},
            {"str", "bool"},
            {"bool", "number"},
        ):
            return rows
    return y


def check_task_names(fitted, y):
    """Refuse a DataFrame ``y`` whose columns are not the fitted tasks ``fitted``
    (``task_names_``) in their order, in scikit-learn's words for feature names: a
    later ``partial_fit`` or ``score`` would train or score the wrong task. A model
    fitted without names (tasks ``task0``, ``task1``, ...) or a ``y`` without
    columns is not checked."""
    if not hasattr(y, "columns"):
        return
    fitted = [str(name) for name in fitted]
    if fitted == [f"task{t}" for t in range(len(fitted))]:
        return
    given = [str(name) for name in y.columns]
    if given == fitted:
        return
    message = (
        "The task names (the columns of y) should match those passed during fit.\n"
    )
    unseen = [name for name in given if name not in fitted]
    missing = [name for name in fitted if name not in given]
    if unseen:
        message += "Task names unseen at fit time:\n" + "".join(
            f"- {name}\n" for name in unseen
        )
    if missing:
        message += "Task names seen at fit time, yet now missing:\n" + "".join(
            f"- {name}\n" for name in missing
        )
    if not unseen and not missing:
        message += "Task names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def _label_kind(value):
    """What NumPy makes of a label in a list: a string, a bool or a number (None for
    a missing one)."""
    if isinstance(value, (str, bytes)):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return "number"


def _plain_rows(model, X):
    """``X`` as float32 when it is a plain float array of the fitted width that passes
    every check of ``validate_data`` (finite, or NaN where the numeric encoding fills
    it), else None (then ``validate_data`` decides, with its own errors).

    scikit-learn's validation costs more than the network on a few rows (about 50 us
    of a single row's ``predict_proba``); this is its answer for the clean case.
    """
    if (
        type(X) is not np.ndarray
        or X.ndim != 2
        or X.dtype not in (np.float32, np.float64)
        or not 0 < X.shape[0] <= _PLAIN_ROWS
        or X.shape[1] != getattr(model, "n_features_in_", -1)
        or hasattr(model, "feature_names_in_")
    ):
        return None
    with np.errstate(over="ignore"):  # beyond float32: inf, refused below
        X = X.astype(np.float32, copy=False)  # as validate_data: float32, else a copy
    if finite_X(model) is True:
        clean = np.isfinite(X).all()
    else:
        clean = not np.isinf(X).any()
    return X if clean else None


def validate_numeric_X(model, X, reset):
    """``X`` of numbers only, as scikit-learn validates it (``reset``: at fit):
    float32, dense or CSR, NaN allowed where the numeric encoding fills it."""
    return validate_data(
        model,
        X,
        accept_sparse="csr",
        dtype=np.float32,
        reset=reset,
        ensure_all_finite=finite_X(model),
    )


def validate_X(model, X):
    """``X`` at predict time: float32, dense or CSR, categorical columns encoded."""
    encoder = getattr(model, "_encoder", None)
    if encoder is None:
        plain = _plain_rows(model, X)
        if plain is not None:
            return plain
        return validate_numeric_X(model, X, reset=False)
    if sp.issparse(X):
        raise TypeError(
            "This model has categorical or text features, which need dense X (an "
            "array or a DataFrame); got a sparse matrix."
        )
    if not hasattr(X, "iloc"):  # lists, 1-D rows: scikit-learn's own errors
        X = check_array(X, dtype=None, ensure_all_finite=False, input_name="X")
    elif X.ndim != 2:  # a Series (one row?): scikit-learn's words for it
        raise ValueError(
            f"Expected a 2-dimensional container but got {type(X)} instead. Pass "
            "a DataFrame containing a single row (i.e. single sample) or a single "
            "column (i.e. single feature) instead."
        )
    _check_feature_names(model, X, reset=False)
    _check_n_features(model, X, reset=False)
    return encoder.transform(X)


def validate_fit_X(model, X):
    """``X`` at fit time; learns which columns are categorical and which are text,
    the categories and the text columns' tokenizers.

    Without categorical or text columns, ``X`` is validated as float32 (dense or
    CSR) and no encoder is kept, so that inference takes the plain path.
    """
    model._encoder = None
    # A numeric encoding fills missing numeric values (see _numeric.py); raw
    # inputs (numeric_encoding=None) must be finite.
    model._allow_nan = model.numeric_encoding is not None
    if getattr(X, "ndim", 2) != 2 or (  # a Series, a 1-D array: rejected there
        model.categorical_features is None and model.text_features is None
    ):
        return _numeric_only(model, X)
    if _only_dtype_rules(model) and not hasattr(X, "dtypes"):
        return _numeric_only(model, X)
    _check_feature_names(model, X, reset=True)
    _check_n_features(model, X, reset=True)
    if not hasattr(X, "iloc") and not hasattr(X, "shape"):
        X = check_array(X, dtype=None, ensure_all_finite=False, input_name="X")
    names = getattr(model, "feature_names_in_", None)
    mask = categorical_mask(X, model.categorical_features, model.n_features_in_, names)
    named = mask if not isinstance(model.categorical_features, str) else mask & False
    text, auto = text_mask(X, model.text_features, model.n_features_in_, names, named)
    if auto and text.any():
        _say_text(model, text, names)
    mask &= ~text  # "auto" text is text, whatever "from_dtype" says
    model.is_categorical_, model.is_text_ = mask, text
    if not (mask.any() or text.any()):
        return validate_numeric_X(model, X, reset=False)
    if sp.issparse(X):
        raise TypeError(
            "Categorical and text features need dense X (an array or a DataFrame); "
            "got a sparse matrix."
        )
    buckets = bucket_counts(model.hash_buckets, mask, names, text)
    texts = ids = None
    if text.any():  # the tokenizers, and X's ids (each text tokenized once)
        options = check_text_options(model.text_encoder, model.text_options)
        columns = np.flatnonzero(text)
        texts, ids = TextColumns.fit(X, columns, model.text_encoder, options)
    encoder = CategoricalEncoder(mask, names, model._allow_nan, buckets, texts)
    X = encoder.fit(X, model.min_frequency, model.max_categories).transform(X, ids)
    model._encoder = encoder
    return X


def _only_dtype_rules(model):
    """Whether the columns' kinds come from a DataFrame's dtypes alone (none for
    an array)."""
    return all(
        spec is None or isinstance(spec, str)
        for spec in (model.categorical_features, model.text_features)
    )


def _numeric_only(model, X):
    """``X`` of numbers only, validated as such, its columns' kinds recorded."""
    X = validate_numeric_X(model, X, reset=True)
    model.is_categorical_ = np.zeros(model.n_features_in_, dtype=bool)
    model.is_text_ = np.zeros(model.n_features_in_, dtype=bool)
    return X


def _say_text(model, text, names):
    """Warn that ``text_features="auto"`` took the columns of ``text`` as text."""
    columns = [names[j] if names is not None else int(j) for j in np.flatnonzero(text)]
    warn(
        f"text_features='auto' takes column(s) {columns} as text (strings, mostly "
        f"distinct, of several words): text_encoder={model.text_encoder!r} reads "
        "each text's words, not a category of each value. Pass text_features=[...] "
        "to choose the text columns yourself (None: no text), which also silences "
        "this warning.",
        TextColumnsWarning,
    )


def finite_X(model):
    """``ensure_all_finite`` for ``X``: NaN is allowed (a missing numeric value)
    when the fitted model encodes its numeric columns, infinity never."""
    return "allow-nan" if getattr(model, "_allow_nan", False) else True


def validate_fit_data(model, X, y, sample_weight, reset=True):
    """Validate ``X``, ``y`` and ``sample_weight`` and keep the rows that train.

    Returns ``X`` (float32, dense or CSR, all rows), ``rows`` (the rows of ``X``
    with a positive weight and at least one label), and for those rows ``Y``
    (2-D, as given), ``present`` (where ``Y`` has a
    label) and ``weight`` (float64).
    """
    if y is None:
        raise ValueError(
            f"{type(model).__name__} requires y to be passed, but the target y is None."
        )
    # reset=False (a later partial_fit call): X as the fitted model reads it.
    X = validate_fit_X(model, X) if reset else validate_X(model, X)
    X = canonical(X)  # row hashes need summed duplicates
    Y = validate_y(model, y, X)
    missing = ~present_labels(model, Y)
    weight = _fit_weights(sample_weight, X)
    rows = np.flatnonzero((weight > 0) & ~missing.all(axis=1))
    if rows.size == 0:
        raise ValueError(
            "No sample has a label for any task (with a positive sample_weight)."
        )
    present = ~missing[rows]
    # (a task's labels may lie on other ranks' shards of a data-parallel fit)
    unlabelled = np.flatnonzero(~current().any(present.any(axis=0))).tolist()
    if unlabelled:
        raise ValueError(
            f"Task(s) {unlabelled} have no label on any sample with a positive "
            "sample_weight; every task needs labels to train."
        )
    return X, rows, Y[rows], present, weight[rows]


def validate_y(model, y, X):
    """``y`` checked against ``X`` (one row each, 1-D or 2-D, labels of any
    type, NaN or None where missing) and made 2-D; whether it was 1-D is kept
    (``_y_1d``: what ``predict`` returns)."""
    if _is_dask_key(y, X.shape[0]):
        raise ValueError(
            f"y is the tuple {y!r}, not labels: dask-ml's Incremental passes a "
            "block's key instead of the block when y is a 2-D dask array. Give a "
            "multi-task y as a dask DataFrame instead: "
            "dask.dataframe.from_dask_array(Y, columns=[...])."
        )
    y = check_array(
        keep_column_types(y),
        accept_sparse="csr",
        ensure_all_finite="allow-nan",
        ensure_2d=False,
        dtype=None,
        input_name="y",
        estimator=model,
    )
    if sp.issparse(y):
        y = y.toarray()
    check_consistent_length(X, y)
    if y.ndim > 2:
        raise ValueError(
            f"y must be 1-D or 2-D (n_samples, n_tasks); got {y.ndim} dims."
        )
    model._y_1d = y.ndim == 1
    return y.reshape(-1, 1) if y.ndim == 1 else y


def present_labels(model, Y):
    """Where the 2-D ``Y`` (to fit or score) has labels; a missing one is an error
    unless ``missing_labels="ignore"``."""
    missing = missing_mask(Y)
    if missing.any() and model.missing_labels == "raise":
        tasks = np.flatnonzero(missing.any(axis=0)).tolist()
        raise ValueError(
            f"y has missing labels (NaN or None) in task(s) {tasks}. Pass "
            "missing_labels='ignore' to leave them out of their task's loss and "
            "score."
        )
    return ~missing


def distinct_rows(X, rows, targets, present, weight):
    """Merge rows that repeat ``(x, targets)`` into one weighted row each (see
    :mod:`sklearn_mmoe._inputs.rows`); returns the same four, for the distinct
    rows, and the position among them of each of ``rows``' distinct row."""
    targets = np.ascontiguousarray(np.where(present, targets, 0))
    keep, weight, groups = collapse(
        X, rows, targets, present, weight, return_groups=True
    )
    return rows[keep], targets[keep], present[keep], weight, groups


def _fit_weights(sample_weight, X):
    """Each row's weight in a fit (float64): ``sample_weight`` checked (finite, not
    negative, not all zero, bounded), or ones where it is absent or uniform (the
    same fit)."""
    weight = np.ones(X.shape[0])
    if sample_weight is None:
        return weight
    weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    weight = bounded_weights(weight)
    if not weight.any():
        raise ValueError(
            "sample_weight is zero for every sample; at least one sample "
            "needs a positive weight."
        )
    if np.all(weight == weight[0]):  # uniform: the same fit as no weights
        return np.ones(X.shape[0])
    return weight


def _is_dask_key(y, n_samples):
    """Whether ``y`` is a dask block's key, ``(name, i, ...)``, rather than labels."""
    return (
        isinstance(y, tuple)
        and len(y) >= 2
        and len(y) != n_samples
        and isinstance(y[0], str)
        and all(isinstance(i, Integral) for i in y[1:])
    )
