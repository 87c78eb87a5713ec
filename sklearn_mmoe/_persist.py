"""Saving a fitted estimator without pickle: tensors and plain data in one safetensors
file, loaded without running anything the file holds.

The file is a `safetensors <https://huggingface.co/docs/safetensors>`_ file: a JSON
header, then raw tensor bytes. Its ``__metadata__`` holds the format's name, its
version and the estimator as JSON: the class name (one of this package's three), its
parameters and its fitted attributes, in a tagged form that distinguishes tuples,
arrays and this package's few fitted objects (task descriptions, the categorical
encoder), each rebuilt from plain data by name, never by importing a name the file
gives. Every numeric array, and the network's weights, are tensors of the file.
"""

import json
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import check_is_fitted

from ._categorical import CategoricalEncoder
from ._classifier import MMoEClassifier
from ._multitask import MMoEMultiTask
from ._regressor import MMoERegressor
from ._tasks import TASKS

FORMAT = "sklearn_mmoe"
# The version of the layout below; a file of a later version is refused.
VERSION = 1
_ESTIMATORS = {
    cls.__name__: cls for cls in (MMoEClassifier, MMoERegressor, MMoEMultiTask)
}
# The only objects a file may describe, by name: rebuilt from their plain attributes.
_OBJECTS = {cls.__name__: cls for cls in (*TASKS.values(), CategoricalEncoder)}
# What a file's epoch history keeps of each epoch (the per-batch details are dropped).
_HISTORY_SKIP = ("batches",)


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
        if (
            type(value).__name__ in _OBJECTS
            and type(value) is _OBJECTS[type(value).__name__]
        ):
            return {
                "object": type(value).__name__,
                "state": self.encode(dict(vars(value)), where),
            }
        raise TypeError(
            f"{where} holds a {type(value).__name__}, which a model file cannot hold "
            "(it keeps tensors and plain data only)."
        )


class _Reader:
    """Rebuilds values from a file's JSON and tensors; anything else is refused."""

    def __init__(self, tensors):
        self.tensors = tensors
        self.used = set()

    def decode(self, value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict) or len(value) not in (1, 2, 3):
            raise ValueError(f"unexpected value {value!r:.80}")
        if "tuple" in value:
            return tuple(self.decode(v) for v in value["tuple"])
        if "dict" in value:
            return {str(k): self.decode(v) for k, v in value["dict"].items()}
        if "array" in value:
            key = value["array"]
            if key not in self.tensors:
                raise ValueError(f"the array {key!r} it names is missing")
            self.used.add(key)
            return self.tensors[key].numpy()
        if "objects" in value:
            items = [self.decode(v) for v in value["objects"]]
            dtype = str if value.get("dtype") == "str" else object
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.astype(dtype).reshape(value["shape"])
        if "index" in value:
            return pd.Index(self.decode(value["index"]), dtype=str(value["dtype"]))
        if "object" in value:
            cls = _OBJECTS.get(value["object"])
            if cls is None:
                raise ValueError(f"an object of unknown type {value['object']!r}")
            obj = cls.__new__(cls)
            obj.__dict__.update(self.decode(value["state"]))
            return obj
        raise ValueError(f"unexpected value {value!r:.80}")


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
    path : str or path-like
        The file to write (``.safetensors`` by convention).

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
    from safetensors.torch import save_file

    if type(model).__name__ not in _ESTIMATORS or not isinstance(
        model, tuple(_ESTIMATORS.values())
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
    fitted = {k: v for k, v in vars(model).items() if k not in params and k != "net_"}
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
    save_file(tensors, str(path), metadata=metadata)


def load(path):
    """Load an estimator saved by :func:`save`.

    Nothing in the file runs: its header is parsed as JSON, its tensors are read as
    raw numbers, and the only objects built are this package's estimators and the
    few fitted parts they hold, by name. The loaded model predicts bit for bit as the
    saved one, on the CPU whatever device it was fitted on. It can be refitted, and
    ``partial_fit`` continues from its weights (with a fresh optimiser state).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    model : MMoEClassifier, MMoERegressor or MMoEMultiTask
        The fitted estimator.

    Raises
    ------
    ValueError
        If the file is not a model file of this package (a pickle, another
        safetensors file), was written by a later version of the format, or does not
        fit together (a missing or extra tensor, a weight of the wrong shape).

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

    where = f"{str(path)!r} is not a sklearn_mmoe model file"
    try:
        with safe_open(str(path), framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            if metadata.get("format") != FORMAT:
                raise ValueError(f"{where}: its header does not name the format.")
            version = metadata.get("version", "")
            if not version.isdigit():
                raise ValueError(f"{where}: its format version is {version!r}.")
            if int(version) > VERSION:
                raise ValueError(
                    f"{str(path)!r} was written in format version {version} by a later "
                    f"sklearn_mmoe; this one reads version {VERSION} and earlier. "
                    "Upgrade sklearn_mmoe to load it."
                )
            tensors = {key: file.get_tensor(key) for key in file.keys()}
    except (SafetensorError, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{where} (a safetensors file): {exc}") from exc
    try:
        state = json.loads(metadata["state"])
        return _rebuild(state, tensors)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise ValueError(f"{str(path)!r} does not hold a valid model: {exc}") from exc


def _rebuild(state, tensors):
    cls = _ESTIMATORS.get(state["estimator"])
    if cls is None:
        raise ValueError(f"unknown estimator {state['estimator']!r}")
    arrays = {k: v for k, v in tensors.items() if k.startswith("array.")}
    reader = _Reader(arrays)
    params = reader.decode(state["params"])
    model = cls(**params)
    model.__dict__.update(reader.decode(state["fitted"]))
    module_params = reader.decode(state["module_params"])
    history = reader.decode(state["history"])
    unused = set(arrays) - reader.used
    if unused:
        raise ValueError(f"tensors no part of the model names: {sorted(unused)[:5]}")
    weights = {
        prefix: {
            k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)
        }
        for prefix in ("module.", "criterion.")
    }
    other = (
        set(tensors)
        - set(arrays)
        - {prefix + k for prefix, part in weights.items() for k in part}
    )
    if other:
        raise ValueError(f"unexpected tensors {sorted(other)[:5]}")
    model.net_ = model._restored_net(
        module_params, weights["module."], weights["criterion."], history
    )
    return model
