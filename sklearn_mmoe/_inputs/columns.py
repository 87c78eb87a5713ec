"""Which columns a parameter names (``categorical_features``, ``text_features``):
column indices, feature names or a boolean mask, as scikit-learn's estimators take
them."""

import numpy as np

# Each parameter's option by name (beside None and the columns).
_OPTION = {"categorical_features": "from_dtype", "text_features": "auto"}


def column_mask(spec, n_features, feature_names, parameter):
    """Boolean mask of the columns ``spec`` names (an array-like of indices, of
    feature names, or a boolean mask); errors name ``parameter``.

    Examples
    --------
    >>> from sklearn_mmoe._inputs.columns import column_mask
    >>> column_mask([0, 2], 3, None, "text_features").tolist()
    [True, False, True]
    """
    mask = np.zeros(n_features, dtype=bool)
    spec = np.asarray(spec)
    if spec.ndim != 1:
        raise ValueError(
            f"{parameter} must be 1-D: indices, feature names or a boolean "
            f"mask; got shape {spec.shape}."
        )
    if spec.size == 0:
        return mask
    if spec.dtype.kind == "b":
        if spec.size != n_features:
            raise ValueError(
                f"{parameter} as a boolean mask must have one entry per "
                f"feature ({n_features}); got {spec.size}."
            )
        return spec.copy()
    if spec.dtype.kind in "iu":
        bad = spec[(spec < 0) | (spec >= n_features)]
        if bad.size:
            raise ValueError(
                f"{parameter} indices must be in [0, {n_features}); got {bad.tolist()}."
            )
        mask[spec] = True
        return mask
    if spec.dtype.kind in "OUS":
        if feature_names is None:
            raise ValueError(
                f"{parameter} names columns, but X has no feature names; "
                "pass a DataFrame or give indices or a boolean mask."
            )
        position = {name: i for i, name in enumerate(feature_names)}
        unknown = [str(name) for name in spec if name not in position]
        if unknown:
            raise ValueError(f"{parameter} names {unknown} that are not columns of X.")
        mask[[position[name] for name in spec]] = True
        return mask
    raise TypeError(
        f"{parameter} must be None, {_OPTION[parameter]!r}, or an array-like of ints, "
        f"of strings or of bools; got dtype {spec.dtype}."
    )
