"""Hashed categorical columns: open vocabularies in a fixed number of codes.

A column named in ``hash_buckets`` keeps no categories: each value's text is hashed
to one of the column's buckets, so a value never seen before (a new user in a
``partial_fit`` stream) gets a code like any other, and the number of distinct values
is unbounded. The hash is SipHash-2-4 with pandas' fixed key of the value's ``str``
in UTF-8 (:func:`pandas.util.hash_array`): the same value gets the same bucket in
every process and on every platform, which a server can reproduce.
"""

from numbers import Integral

import numpy as np
import pandas as pd

# Codes travel in the float32 input matrix, exact up to 2**24 (see _categorical.py),
# and two are reserved (unseen, missing).
MAX_BUCKETS = 2**24 - 2
# What a server needs to compute a bucket (the ONNX metadata states it).
HASH = (
    "SipHash-2-4, key b'0123456789123456' (pandas.util.hash_array), of the value's "
    "str in UTF-8; code = first_code + hash % hash_buckets"
)


def bucket_of(values, buckets):
    """The bucket (0 to ``buckets - 1``) of each of ``values`` (missing values
    included: the caller gives them their own code).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe._inputs.hashing import bucket_of
    >>> bucket_of(np.array(["u1", "u2", "u1"], dtype=object), 1000)
    array([..., ..., ...])
    >>> a = bucket_of(np.array(["u1", "u1"], dtype=object), 1000)
    >>> bool(a[0] == a[1])
    True
    """
    text = np.array([str(v) for v in values], dtype=object)
    hashed = pd.util.hash_array(text, categorize=False)
    return (hashed % np.uint64(buckets)).astype(np.int64)


def bucket_counts(spec, mask, feature_names, text=None):
    """The buckets of each categorical column (0: not hashed) from ``hash_buckets``,
    a dict of column (name or index) to its number of buckets, or None; ``text``
    marks the text columns (hashed by their own tokenizer, never here)."""
    counts = np.zeros(len(mask), dtype=np.int64)
    if spec is None:
        return counts[mask].tolist()
    position = (
        {} if feature_names is None else {n: i for i, n in enumerate(feature_names)}
    )
    for column, buckets in spec.items():
        if isinstance(column, str):
            if column not in position:
                raise ValueError(
                    f"hash_buckets names {column!r}, which is not a column of X"
                    + ("" if position else " (X has no column names)")
                    + "."
                )
            j = position[column]
        elif isinstance(column, Integral) and not isinstance(column, bool):
            if not 0 <= column < len(mask):
                raise ValueError(
                    f"hash_buckets names column {column}; X has {len(mask)} columns."
                )
            j = int(column)
        else:
            raise TypeError(
                "hash_buckets' keys must be column names or indices; got "
                f"{column!r} of type {type(column).__name__}."
            )
        if text is not None and text[j]:
            raise ValueError(
                f"hash_buckets names column {column!r}, which is text (see "
                "text_features): a text's words are hashed by its text encoder "
                "(text_options' buckets)."
            )
        if not mask[j]:
            raise ValueError(
                f"hash_buckets names column {column!r}, which is not categorical "
                "(see categorical_features)."
            )
        if (
            isinstance(buckets, bool)
            or not isinstance(buckets, Integral)
            or not 1 <= buckets <= MAX_BUCKETS
        ):
            raise ValueError(
                f"hash_buckets[{column!r}] must be an int from 1 to {MAX_BUCKETS}; "
                f"got {buckets!r}."
            )
        counts[j] = buckets
    return counts[mask].tolist()
