"""Categorical input columns: which they are, their categories, and integer codes.

The estimators encode categorical columns themselves, so a DataFrame goes straight in.
An encoded ``X`` is one float32 matrix: the numeric columns first, then one column of
integer codes per categorical column, which the network embeds. Code 0 is reserved for
a category not seen in training, code 1 for a missing value (NaN, None, pd.NA), and the
categories seen in training follow from 2, sorted. Infrequent categories
(``min_frequency``, ``max_categories``) are not kept: they share code 0 with the unseen
ones, so that the code a new user or item gets is learned from the rare ones.
"""

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array

from .._distributed.group import current
from .._utils import checks as _checks
from .columns import column_mask
from .hashing import MAX_BUCKETS, bucket_of
from .text import TextColumns

UNKNOWN, MISSING, FIRST = 0, 1, 2
# Largest embedding width chosen by embedding_dim="auto".
_AUTO_MAX_DIM = 50
# Codes travel in the float32 input matrix, exact up to 2**24.
_MAX_CODES = 2**24


def auto_embedding_dim(n_codes):
    """Embedding width for a column with ``n_codes`` codes: ``1.6 * n_codes ** 0.56``,
    rounded, between 1 and 50 (the rule of thumb of fast.ai's tabular models)."""
    return int(min(_AUTO_MAX_DIM, max(1, round(1.6 * n_codes**0.56))))


def _is_categorical_dtype(dtype):
    return isinstance(dtype, pd.CategoricalDtype) or (
        pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
    )


def categorical_mask(X, spec, n_features, feature_names):
    """Boolean mask of the categorical columns of ``X`` for ``categorical_features``.

    ``spec`` is None, ``"from_dtype"`` (pandas category, object and string columns of
    a DataFrame; nothing for other inputs), or an array-like of column indices, of
    feature names, or a boolean mask, as in ``HistGradientBoostingClassifier``.
    """
    mask = np.zeros(n_features, dtype=bool)
    if spec is None:
        return mask
    if isinstance(spec, str):  # "from_dtype"; other strings fail parameter validation
        if hasattr(X, "dtypes"):
            mask[:] = [_is_categorical_dtype(d) for d in X.dtypes]
        return mask
    return column_mask(spec, n_features, feature_names, "categorical_features")


def _category_index(categories, where):
    """A model file's categories of one column, checked as ``fit`` learns them."""
    if not isinstance(categories, pd.Index) or categories.dtype != object:
        raise ValueError(f"{where}: its categories must be an index of objects.")
    values = categories.tolist()
    if not all(isinstance(v, (str, int, float)) for v in values) or any(
        isinstance(v, float) and not np.isfinite(v) for v in values
    ):
        raise ValueError(f"{where}: a category must be a string or a finite number.")
    if len(values) + FIRST > _MAX_CODES:
        raise ValueError(f"{where}: more than {_MAX_CODES - FIRST} categories.")
    try:
        ordered = sorted(values)
    except TypeError as exc:
        raise ValueError(f"{where}: categories of mixed types.") from exc
    if ordered != values or len(set(values)) != len(values):
        raise ValueError(f"{where}: its categories must be sorted and distinct.")
    return categories


def _columns(X, indices):
    """Columns ``indices`` of a DataFrame (as a DataFrame) or of an array."""
    return X.iloc[:, indices] if hasattr(X, "iloc") else np.asarray(X)[:, indices]


def _column(X, j):
    """Column ``j`` of a DataFrame or array as a 1-D array (object for mixed values)."""
    if hasattr(X, "iloc"):
        column = X.iloc[:, j]
        if isinstance(column.dtype, pd.CategoricalDtype) or not isinstance(
            column.dtype, np.dtype
        ):
            return column.to_numpy(dtype=object, na_value=np.nan)
        return column.to_numpy()
    return np.asarray(X)[:, j]


def frequent(values, n_rows, min_frequency=None, max_categories=None):
    """The distinct ``values`` that are not infrequent, as
    :class:`~sklearn.preprocessing.OneHotEncoder` decides it: fewer than
    ``min_frequency`` rows (a count, or a fraction of ``n_rows``) is infrequent, and
    beyond ``max_categories - 1`` categories (the infrequent ones count as one) the
    least frequent are (ties: the earlier in sorted order is infrequent).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe._inputs.categorical import frequent
    >>> values = np.array(["a", "b", "b", "c", "c", "c"], dtype=object)
    >>> sorted(frequent(values, 6, min_frequency=2))
    ['b', 'c']
    >>> sorted(frequent(values, 6, max_categories=2))
    ['c']
    """
    group = current()  # a data-parallel fit's categories are every rank's
    if min_frequency is None and max_categories is None:
        return group.union(pd.unique(values))
    counts = pd.Series(values, dtype=object).value_counts(sort=False)
    if group.world > 1:
        counts, n_rows = _pooled_counts(group, counts), group.sum(n_rows)
    if min_frequency is not None:
        least = min_frequency if min_frequency >= 1 else min_frequency * n_rows
        counts = counts[counts >= least]
    if max_categories is not None and len(counts) > max_categories:
        try:  # ties as OneHotEncoder breaks them: in the categories' sorted order
            counts = counts.sort_index()
        except TypeError:  # mixed types: fit refuses them with its own message
            pass
        order = np.argsort(counts.to_numpy(), kind="mergesort")
        counts = counts.iloc[order[len(counts) - (max_categories - 1) :]]
    return counts.index.to_numpy(dtype=object)


def _pooled_counts(group, counts):
    """Each value's rows over every rank: ``counts`` (one rank's, a Series)
    added up, in the order the values first appear by rank."""
    total = {}
    for part in group.gather(list(counts.items())):
        for value, count in part:
            total[value] = total.get(value, 0) + count
    index = pd.Index(list(total), dtype=object)
    return pd.Series(list(total.values()), index=index, dtype=np.int64)


def input_layout(encoder, n_columns):
    """What an encoded input of ``n_columns`` columns holds, by ``encoder`` (None:
    numbers only): its numeric columns, each categorical column's codes, and each
    text column's ``(ids, slots, width, settings)`` (its tokenizer's: see
    :mod:`sklearn_mmoe._inputs.text`)."""
    if encoder is None:
        return n_columns, (), ()
    texts = ()
    if encoder.text is not None:
        texts = tuple(
            (t.n_ids, s, t.width, t.settings())
            for t, s in zip(encoder.text.tokenizers, encoder.text.slots)
        )
    return len(encoder.numeric), tuple(encoder.n_codes), texts


class CategoricalEncoder:
    """Categories of the categorical columns seen in training, and the encoding.

    Parameters
    ----------
    mask : ndarray of bool of shape (n_features,)
        Which columns are categorical.
    feature_names : ndarray of str or None
        Column names, for error messages.
    allow_nan : bool, default=False
        Whether a numeric column may hold NaN (the numeric encoding fills it).
    buckets : list of int, default=None
        Per categorical column, its number of hash buckets (see
        :mod:`sklearn_mmoe._inputs.hashing`), 0 for a column of learned categories;
        None:
        none hashed.
    text : TextColumns, default=None
        The text columns (see :mod:`sklearn_mmoe._inputs.text`), whose ids follow
        the categorical codes; None: none.
    """

    def __init__(
        self, mask, feature_names=None, allow_nan=False, buckets=None, text=None
    ):
        self.mask = mask
        self.feature_names = feature_names
        self.allow_nan = allow_nan
        self.text = text
        is_text = np.zeros(len(mask), dtype=bool)
        if text is not None:
            is_text[text.columns] = True
        self.numeric = np.flatnonzero(~mask & ~is_text)
        self.categorical = np.flatnonzero(mask)
        self.buckets = [0] * len(self.categorical) if buckets is None else buckets
        self.categories = []

    @classmethod
    def from_state(cls, state, where="the categorical encoder"):
        """The encoder a model file describes (its attributes by name), checked:
        a mask, the positions it implies, and for each categorical column its
        categories, sorted, distinct and present (no missing value), as ``fit``
        learns them."""
        names = ("mask", "feature_names", "allow_nan", "numeric", "categorical")
        _checks.keys(state, where, (*names, "buckets", "categories", "text"))
        mask = _checks.array(state["mask"], f"{where}'s mask", "b", (None,))
        text = state["text"]
        if text is not None and not isinstance(text, TextColumns):
            raise ValueError(f"{where}'s text columns must be TextColumns.")
        if (
            text is not None
            and (text.columns >= len(mask)).any()
            | mask[text.columns[text.columns < len(mask)]].any()
        ):
            raise ValueError(f"{where}'s text columns are not among its columns.")
        allow_nan = _checks.boolean(state["allow_nan"], where)
        encoder = cls(mask, None, allow_nan, text=text)
        if state["feature_names"] is not None:
            encoder.feature_names = _checks.strings(
                state["feature_names"], f"{where}'s feature names", len(mask)
            )
        for name in ("numeric", "categorical"):
            given = _checks.array(state[name], f"{where}'s {name}", "i", (None,))
            if not np.array_equal(given, getattr(encoder, name)):
                raise ValueError(f"{where}'s {name} columns are not its mask's.")
        categories = state["categories"]
        if not isinstance(categories, list) or len(categories) != mask.sum():
            raise ValueError(f"{where} needs one list of categories per column.")
        encoder.categories = [
            _category_index(c, f"{where}'s column {j}")
            for j, c in zip(encoder.categorical, categories)
        ]
        buckets = state["buckets"]
        if not isinstance(buckets, list) or len(buckets) != len(categories):
            raise ValueError(f"{where} needs one number of hash buckets per column.")
        encoder.buckets = [
            _checks.integer(b, f"{where}'s hash buckets", 0, MAX_BUCKETS)
            for b in buckets
        ]
        if any(b and len(c) for b, c in zip(encoder.buckets, encoder.categories)):
            raise ValueError(f"{where}: a hashed column has no categories.")
        return encoder

    def _name(self, j):
        if self.feature_names is not None:
            return f"{self.feature_names[j]!r}"
        return f"{j}"

    def fit(self, X, min_frequency=None, max_categories=None):
        """Learn each categorical column's categories (missing values excluded), the
        infrequent ones left out (see :func:`frequent`); a hashed column has none."""
        self.categories = []
        for j, buckets in zip(self.categorical, self.buckets):
            if buckets:
                self.categories.append(pd.Index([], dtype=object))
                continue
            values = _column(X, j)
            present = values[~np.asarray(pd.isna(values), dtype=bool)]
            uniques = frequent(present, len(values), min_frequency, max_categories)
            try:
                uniques = np.sort(uniques)
            except TypeError as exc:
                kinds = sorted({type(v).__name__ for v in uniques})
                raise TypeError(
                    f"Categorical column {self._name(j)} mixes value types {kinds}; "
                    "its categories must be all strings or all numbers."
                ) from exc
            if len(uniques) + FIRST > _MAX_CODES:
                raise ValueError(
                    f"Categorical column {self._name(j)} has {len(uniques)} "
                    f"categories; at most {_MAX_CODES - FIRST} are supported: pool "
                    "the rare ones (min_frequency, max_categories) or hash them "
                    "(hash_buckets)."
                )
            self.categories.append(pd.Index(uniques, dtype=object))
        return self

    @property
    def n_codes(self):
        """Number of codes of each categorical column, reserved codes included."""
        return [(b or len(c)) + FIRST for b, c in zip(self.buckets, self.categories)]

    @property
    def n_slots(self):
        """The text columns' slots (see :mod:`sklearn_mmoe._inputs.text`)."""
        return 0 if self.text is None else self.text.n_slots

    def transform(self, X, text_ids=None):
        """``X`` as float32: numeric columns, then each categorical column's codes,
        then each text column's token ids (``text_ids`` where given: those the
        text columns' fit computed)."""
        n, n_codes = X.shape[0], len(self.numeric) + len(self.categorical)
        out = np.empty((n, n_codes + self.n_slots), np.float32)
        if self.text is not None:
            out[:, n_codes:] = self.text.transform(X) if text_ids is None else text_ids
        if len(self.numeric):
            out[:, : len(self.numeric)] = check_array(
                _columns(X, self.numeric),
                dtype=np.float32,
                input_name="X",
                ensure_all_finite="allow-nan" if self.allow_nan else True,
            )
        for i, (j, categories, buckets) in enumerate(
            zip(self.categorical, self.categories, self.buckets)
        ):
            values = _column(X, j)
            missing = np.asarray(pd.isna(values), dtype=bool)
            if buckets:
                codes = bucket_of(values, buckets) + FIRST
            else:
                codes = categories.get_indexer(pd.Index(values, dtype=object)) + FIRST
                codes[codes == FIRST - 1] = UNKNOWN
            codes[missing] = MISSING
            out[:, len(self.numeric) + i] = codes
        return out
