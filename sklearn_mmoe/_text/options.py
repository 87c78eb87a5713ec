"""The checks of a text encoder's options (``text_options``)."""

from numbers import Integral


def option_int(value, name, low, high=None):
    """A ``text_options`` entry ``name`` as an int within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"text_options' {name} must be an int; got {value!r}.")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"text_options' {name} must be {bound}; got {value}.")
    return int(value)
