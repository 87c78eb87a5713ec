"""Warnings that point at the user's line: the first frame outside this package and
the libraries it runs inside (scikit-learn's wrappers, skorch), found by walking the
stack rather than by counting frames, which a refactor silently breaks."""

import os
import sys
import warnings

import sklearn
import skorch

_INSIDE = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (sys.modules[__package__.partition(".")[0]], sklearn, skorch)
)


def user_stacklevel():
    """The ``stacklevel`` that, passed to :func:`warnings.warn` by this function's
    caller, names the nearest frame outside the package (and scikit-learn and skorch,
    which call into it)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_INSIDE):
        frame, level = frame.f_back, level + 1
    return level


def warn(message, category=UserWarning):
    """:func:`warnings.warn` at the user's line (see :func:`user_stacklevel`)."""
    warnings.warn(message, category, stacklevel=user_stacklevel())
