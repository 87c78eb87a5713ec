"""Saving a fitted estimator without pickle: tensors and plain data in one safetensors
file, loaded without running anything the file holds.

The file is a `safetensors <https://huggingface.co/docs/safetensors>`_ file: a JSON
header, then raw tensor bytes. Its ``__metadata__`` holds the format's name, its
version and the estimator as JSON: the class name (one of this package's three), its
parameters and its fitted attributes, in a tagged form that distinguishes tuples,
arrays and this package's few fitted objects (task descriptions, the categorical
encoder), each rebuilt from plain data by name, never by importing a name the file
gives. Every numeric array, and the network's weights, are tensors of the file.

Loading trusts nothing in the file: :mod:`sklearn_mmoe._export.restore` checks every
parameter, every fitted attribute and every size before anything is built.
"""

import contextlib
import json
import os
import re
import tempfile
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import check_is_fitted

from .restore import ESTIMATORS, OBJECTS, UPGRADES, rebuild

FORMAT = "sklearn_mmoe"
# The version of the layout below; a file of a later version is refused. Version 2
# keeps the fit's configuration (fit_config_), which version 1 files lack; version 3
# the text columns (is_text_, the encoder's text, the configuration's texts);
# version 4 the parameter distributed.
VERSION = 4
# What a file's epoch history keeps of each epoch (the per-batch details are dropped).
_HISTORY_SKIP = ("batches",)
# What a file leaves out: the network (its tensors are saved apart) and the
# out-of-fold predictions, one row per training row (a record of the fit, as large
# as its table; a file holds what predicts).
_NOT_SAVED = ("net_", "oof_prediction_", "oof_proba_")


class _Writer:
    """Turns an estimator's state into JSON-able values and a dict of tensors."""

    def __init__(self):
        self.tensors = {}

    def tensor(self, value):
        key = f"array.{len(self.tensors)}"
        self.tensors[key] = torch.from_numpy(np.array(value, order="C", copy=True))
        return key

    def encode(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, Integral):
            return int(value)
        if isinstance(value, Real):
            return float(value)
        if isinstance(value, tuple):
            return {"tuple": [self.encode(v, where) for v in value]}
        if isinstance(value, list):
            return [self.encode(v, where) for v in value]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"{where}: a dict with keys other than strings.")
            return {
                "dict": {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}
            }
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                return {"array": self.tensor(value)}
            if value.dtype.kind in "OU":
                items = [self.encode(v, where) for v in value.ravel().tolist()]
                return {
                    "objects": items,
                    "shape": list(value.shape),
                    "dtype": "str" if value.dtype.kind == "U" else "object",
                }
        if isinstance(value, pd.Index) and not isinstance(value, pd.MultiIndex):
            values = value.to_numpy(dtype=object if value.dtype == object else None)
            return {
                "index": self.encode(np.asarray(values), where),
                "dtype": str(value.dtype),
            }
        restore = OBJECTS.get(type(value).__name__)
        if restore is not None and restore.__self__ is type(value):
            names = getattr(value, "state_names", None) or list(vars(value))
            state = {name: getattr(value, name) for name in names}
            return {"object": type(value).__name__, "state": self.encode(state, where)}
        raise TypeError(
            f"{where} holds a {type(value).__name__}, which a model file cannot hold "
            "(it keeps tensors and plain data only)."
        )


class _Reader:
    """Rebuilds values from a file's JSON and tensors; anything else is refused.
    Objects are rebuilt only by the checked constructors of
    :data:`sklearn_mmoe._export.restore.OBJECTS`, by name."""

    def __init__(self, tensors, version=VERSION):
        self.tensors = tensors
        self.version = version
        self.used = set()

    def decode(self, value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict) or len(value) not in (1, 2, 3):
            raise ValueError(f"unexpected value {value!r:.80}")
        if "tuple" in value:
            return tuple(self.decode(v) for v in _list(value["tuple"]))
        if "dict" in value:
            items = value["dict"]
            if not isinstance(items, dict):
                raise ValueError(f"unexpected value {value!r:.80}")
            return {str(k): self.decode(v) for k, v in items.items()}
        if "array" in value:
            key = value["array"]
            if not isinstance(key, str) or key not in self.tensors:
                raise ValueError(f"the array {key!r:.40} it names is missing")
            self.used.add(key)
            return self.tensors[key].numpy()
        if "objects" in value:
            items = [self.decode(v) for v in _list(value["objects"])]
            dtype = str if value.get("dtype") == "str" else object
            array = np.empty(len(items), dtype=object)
            array[:] = items
            shape = _list(value.get("shape"))
            if not all(isinstance(n, int) and n >= 0 for n in shape):
                raise ValueError(f"unexpected shape {shape!r:.40}")
            return array.astype(dtype).reshape(shape)
        if "index" in value:
            if value.get("dtype") != "object":  # as categories are kept
                raise ValueError(f"an index of dtype {value.get('dtype')!r:.40}")
            return pd.Index(self.decode(value["index"]), dtype=object)
        if "object" in value:
            restore = (
                OBJECTS.get(value["object"])
                if isinstance(value["object"], str)
                else None
            )
            if restore is None:
                raise ValueError(f"an object of unknown type {value['object']!r:.40}")
            state = self.decode(value["state"])
            for since, upgrade in UPGRADES.get(value["object"], ()):
                if self.version < since and isinstance(state, dict):
                    state = upgrade(state)
            return restore(state, f"the {value['object']}")
        raise ValueError(f"unexpected value {value!r:.80}")

    def check_all_used(self):
        """Refuse arrays that no part of the header names."""
        unused = set(self.tensors) - self.used
        if unused:
            raise ValueError(
                f"tensors no part of the model names: {sorted(unused)[:5]}"
            )


def _list(value):
    if not isinstance(value, list):
        raise ValueError(f"unexpected value {value!r:.80}")
    return value


def _path(path):
    """``path`` (a string, bytes or path-like) as the string the file system takes,
    as the user gave it."""
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(
            f"path must be a string, bytes or path-like; got {type(path).__name__}."
        ) from None


def save(model, path):
    """Save a fitted estimator to ``path`` without pickle.

    The file holds tensors and plain data only (a safetensors file, with the
    estimator's parameters and fitted attributes as JSON in its header), so that
    :func:`load` rebuilds the model without running anything the file contains.
    The network's weights are saved from wherever it runs; the file loads on a
    machine without a GPU.

    Parameters
    ----------
    model : MMoEClassifier, MMoERegressor or MMoEMultiTask
        A fitted estimator. A ``random_state`` given as a ``RandomState`` instance
        is saved as None (the fitted weights are saved, not the generator).
    path : str, bytes or path-like
        The file to write (``.safetensors`` by convention), taken as given. It is
        written in full beside its final name first, then moved into place: a save
        that fails (or is interrupted) leaves no partial file, and a file that was
        there as it was.

    Raises
    ------
    TypeError
        If ``model`` is not a fitted estimator of this package, or holds experts of
        a module class of the user's own, which a file of plain data cannot rebuild.
    OSError
        If the file cannot be written: ``path`` is a directory
        (``IsADirectoryError``), its folder does not exist (``FileNotFoundError``),
        or the file system refuses; the message names the path.

    See Also
    --------
    load : Load a model saved by this function.

    Examples
    --------
    >>> import numpy as np
    >>> from tempfile import TemporaryDirectory
    >>> from sklearn_mmoe import MMoERegressor, load, save
    >>> X = np.random.RandomState(0).normal(size=(100, 3))
    >>> model = MMoERegressor(max_epochs=5, random_state=0).fit(X, X[:, :2])
    >>> folder = TemporaryDirectory()
    >>> save(model, f"{folder.name}/model.safetensors")
    >>> np.array_equal(load(f"{folder.name}/model.safetensors").predict(X),
    ...                model.predict(X))
    True
    >>> folder.cleanup()
    """
    if type(model).__name__ not in ESTIMATORS or not isinstance(
        model, tuple(ESTIMATORS.values())
    ):
        raise TypeError(
            "save takes an MMoEClassifier, MMoERegressor or MMoEMultiTask; got "
            f"{type(model).__name__}."
        )
    check_is_fitted(model, "net_")
    if not isinstance(model.expert_type, str):
        raise TypeError(
            f"expert_type is a class of your own ({model.expert_type.__name__}): a "
            "model file holds tensors and plain data and load never imports code, so "
            "it could not rebuild your module. Save this model with pickle or joblib."
        )
    writer = _Writer()
    params = model.get_params(deep=False)
    if isinstance(params.get("random_state"), np.random.RandomState):
        params["random_state"] = None
    fitted = {
        k: v for k, v in vars(model).items() if k not in params and k not in _NOT_SAVED
    }
    net = model.net_
    module_params = {
        k[len("module__") :]: v
        for k, v in net.get_params().items()
        if k.startswith("module__")
    }
    history = [
        {k: v for k, v in row.items() if k not in _HISTORY_SKIP} for row in net.history
    ]
    state = {
        "estimator": type(model).__name__,
        "params": writer.encode(params, "a parameter"),
        "fitted": writer.encode(fitted, "a fitted attribute"),
        "module_params": writer.encode(module_params, "the network's settings"),
        "history": writer.encode(history, "the training history"),
    }
    tensors = dict(writer.tensors)
    for prefix, part in (("module.", net.module_), ("criterion.", net.criterion_)):
        for name, tensor in part.state_dict().items():
            tensors[prefix + name] = tensor.detach().cpu().clone().contiguous()
    metadata = {"format": FORMAT, "version": str(VERSION), "state": json.dumps(state)}
    _write(tensors, metadata, _path(path))


def _write(tensors, metadata, path):
    """Write the file to ``path`` through a temporary file beside it, replaced
    into place once complete: a save that fails leaves no half-written file, and
    an existing one as it was."""
    from safetensors.torch import save_file

    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save the model to {path!r}: a directory.")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot save the model to {path!r}: the folder {folder!r} does not exist."
        )
    handle, temporary = tempfile.mkstemp(prefix=".sklearn_mmoe-", dir=folder)
    os.close(handle)
    try:
        save_file(tensors, temporary, metadata=metadata)
        os.replace(temporary, path)
    except BaseException as exc:  # a Ctrl-C too: no temporary file is left
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError) or not isinstance(exc, Exception):
            raise
        raise OSError(f"Cannot save the model to {path!r}: {exc}") from exc


def load(path):
    """Load an estimator saved by :func:`save`.

    Nothing in the file runs, and nothing in it is trusted: its header is parsed
    as JSON, its tensors are read as raw numbers, and the only objects built are
    this package's estimators and the few fitted parts they hold, by name. Every
    parameter passes the estimator's own validation; every fitted attribute is one
    the estimator declares, of its type, shape and range (anything else in the file
    is refused, never set); the tasks must be of the kinds the class gives; every
    size of the network is checked against the file's own tensors before anything
    is built, so that a small file cannot make ``load`` allocate much; every weight
    must be finite. The loaded model predicts bit for bit as the saved one, on the
    CPU whatever device it was fitted on. It can be refitted, and ``partial_fit``
    continues from its weights (with a fresh optimiser state).

    Parameters
    ----------
    path : str, bytes or path-like
        A file written by :func:`save`.

    Returns
    -------
    model : MMoEClassifier, MMoERegressor or MMoEMultiTask
        The fitted estimator.

    Raises
    ------
    ValueError
        If the file is not a model file of this package (a pickle, another
        safetensors file), was written by a later version of the format, or holds
        anything a fit cannot make (a parameter outside its constraints, an
        attribute the estimator does not declare, tasks of another class, a size its
        tensors do not have, a weight that is not finite); the message names the
        file and the first such thing.
    FileNotFoundError, IsADirectoryError
        If ``path`` is no file.

    See Also
    --------
    save : Save a fitted estimator.

    Examples
    --------
    >>> from tempfile import TemporaryDirectory
    >>> import pandas as pd
    >>> from sklearn_mmoe import MMoEMultiTask, load, save
    >>> X = pd.DataFrame({"age": [23.0, 35, 51, 44, 29, 62] * 10,
    ...                   "city": pd.Categorical(["Lyon", "Oslo"] * 30)})
    >>> Y = pd.DataFrame({"buys": [True, False, True] * 20,
    ...                   "spend": [1.5, 0.2, 3.1, 2.2, 0.7, 4.0] * 10})
    >>> model = MMoEMultiTask(max_epochs=5, random_state=0).fit(X, Y)
    >>> folder = TemporaryDirectory()
    >>> save(model, f"{folder.name}/model.safetensors")
    >>> loaded = load(f"{folder.name}/model.safetensors")
    >>> loaded.task_names_.tolist(), loaded.task_types_
    (['buys', 'spend'], ['classification', 'regression'])
    >>> bool((loaded.predict(X) == model.predict(X)).all())
    True
    >>> folder.cleanup()
    """
    from safetensors import SafetensorError, safe_open

    path = _path(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot load a model from {path!r}: a directory.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Cannot load a model from {path!r}: no such file.")
    where = f"{path!r} is not a sklearn_mmoe model file"
    try:
        with safe_open(path, framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            if metadata.get("format") != FORMAT:
                raise ValueError(f"{where}: its header does not name the format.")
            version = metadata.get("version", "")
            if not re.fullmatch("[0-9]{1,9}", version):  # ASCII digits only
                raise ValueError(f"{where}: its format version is {version!r:.40}.")
            if int(version) > VERSION:
                raise ValueError(
                    f"{path!r} was written in format version {version} by a later "
                    f"sklearn_mmoe; this one reads version {VERSION} and earlier. "
                    "Upgrade sklearn_mmoe to load it."
                )
            tensors = {key: file.get_tensor(key) for key in file.keys()}
    except (SafetensorError, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise ValueError(f"{where} (a safetensors file): {exc}") from exc
    arrays = {k: v for k, v in tensors.items() if k.startswith("array.")}
    try:
        state = json.loads(metadata.get("state", ""))
        return rebuild(state, tensors, _Reader(arrays, int(version)), int(version))
    except (
        KeyError,
        TypeError,
        ValueError,
        RuntimeError,
        AttributeError,
        RecursionError,
        OverflowError,
    ) as exc:
        raise ValueError(f"{path!r} does not hold a valid model: {exc}") from exc
