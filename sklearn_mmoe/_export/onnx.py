"""ONNX export of a fitted estimator, for serving outside Python.

The graph holds everything ``predict`` runs after reading ``X``: the numeric encoding
(missing values, scaling or piecewise-linear bins), the categorical embeddings, the
network, the ensemble's combination and each task's output, the same function of the
network's outputs that ``predict`` runs, in PyTorch
(:meth:`sklearn_mmoe._tasks.kinds.RegressionTask.output` and its kind's siblings). What
stays outside is the one step that needs Python objects: turning a DataFrame's
categories into integer codes and its texts into token ids, done by
:func:`onnx_inputs` (and described in the graph's metadata for a server in another
language).
"""

import copy
import json
import logging
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._inputs.categorical import FIRST
from .._inputs.hashing import HASH
from .._inputs.validation import validate_X
from .._network.ops import _TorchOps
from .._text.ids import MISSING_TEXT, PAD

NUMERIC = "numeric"
CATEGORICAL = "categorical"
TEXT = "text"
# The key of the graph's metadata entry that describes its inputs and outputs (JSON).
METADATA_KEY = "sklearn_mmoe"


class _Serving(nn.Module):
    """The fitted network and its tasks' predictions, from its inputs (the numeric
    columns, float32; the categorical codes and the texts' token ids, int64: those
    the model has, in this order) to one output per task."""

    def __init__(self, module, tasks):
        super().__init__()
        self.module = module
        self.tasks = tasks

    def forward(self, *inputs):
        """The model's inputs, as :func:`onnx_inputs` lays them out."""
        x = torch.cat([part.to(torch.float32) for part in inputs], 1)
        raw = self.module(x).outputs  # (n, n_tasks, width)
        ops = _TorchOps("identity", 0.0)  # the tasks' outputs apply no activation
        return tuple(task.output(raw[:, t], ops) for t, task in enumerate(self.tasks))


def _layout(model):
    """The fitted ``model``'s numeric and categorical input columns (original
    indices) and, for each categorical column, its categories in code order."""
    n_features = model.n_features_in_
    encoder = getattr(model, "_encoder", None)
    if encoder is None:
        return np.arange(n_features), np.arange(0), []
    categories = [[_plain(c) for c in column] for column in encoder.categories]
    return np.asarray(encoder.numeric), np.asarray(encoder.categorical), categories


def _plain(value):
    """A category as JSON can hold it."""
    return value.item() if isinstance(value, np.generic) else value


def _names(model, columns):
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return [f"x{j}" for j in columns]
    return [str(names[j]) for j in columns]


def _text_layout(model):
    """How a server turns each text column into the graph's token ids."""
    encoder = getattr(model, "_encoder", None)
    if encoder is None or encoder.text is None:
        return []
    text = encoder.text
    names = _names(model, text.columns)
    return [
        {
            "column": name,
            "slots": slots,
            "tokens": tokenizer.describe(),
            "padding_id": PAD,
            "missing_id": MISSING_TEXT,
        }
        for name, tokenizer, slots in zip(names, text.tokenizers, text.slots)
    ]


def _metadata(model, numeric, categorical, categories, outputs, texts):
    """What a server needs to know beside the graph, as JSON."""
    tasks = []
    for name, task in zip(outputs, model._tasks):
        entry = {"output": name, "kind": task.kind}
        if task.has_proba:
            entry["classes"] = [_plain(c) for c in task.classes]
        tasks.append(entry)
    return json.dumps(
        {
            "estimator": type(model).__name__,
            "inputs": {
                NUMERIC: _names(model, numeric),
                CATEGORICAL: [
                    _column_codes(name, column, buckets)
                    for name, column, buckets in zip(
                        _names(model, categorical),
                        categories,
                        model._encoder.buckets if len(categorical) else [],
                    )
                ],
                TEXT: texts,
            },
            "tasks": tasks,
        },
        default=str,
    )


def _column_codes(name, categories, buckets):
    """How a server turns a categorical column's values into the graph's codes."""
    if buckets:
        return {
            "column": name,
            "hash_buckets": buckets,
            "hash": HASH,
            "first_code": FIRST,
            "missing_code": 1,
        }
    return {
        "column": name,
        "categories": categories,
        "first_code": FIRST,
        "unseen_code": 0,
        "missing_code": 1,
    }


@contextmanager
def _quiet():
    """The exporter's warnings and log lines (about its own internals, such as
    torchvision's operators it does not find) kept from the user."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def to_onnx(model, path):
    """Write the fitted estimator's prediction as an ONNX graph, to serve it with
    onnxruntime (or any ONNX runtime) outside Python.

    The graph takes the columns as :func:`onnx_inputs` lays them out:

    - ``"numeric"``: float32 of shape (n_samples, n_numeric), the numeric columns in
      their order in ``X``, NaN for a missing value (the numeric encoding is in the
      graph);
    - ``"categorical"`` (a model with categorical columns only): int64 of shape
      (n_samples, n_categorical), each category's code: 0 for a category unseen in
      training, 1 for a missing one, ``2 + i`` for the ``i``-th of the column's
      categories in the order the graph's metadata lists them; for a hashed column
      (``hash_buckets``), ``2 +`` its value's bucket, by the hash the metadata
      states;
    - ``"text"`` (a model with text columns only): int64 of shape (n_samples,
      slots), each text column's token ids side by side, its ``slots`` of them
      (0 pads a shorter text, 1 stands for a missing one), tokenized as the
      metadata describes (:func:`onnx_inputs` does it in Python).

    and returns one output per task, named by ``task_names_``: the class
    probabilities (float64, (n_samples, n_classes), columns in the order of the
    task's ``classes``) of a classification task, the predicted value (float64,
    (n_samples,)) in the target's own units of a regression or count task. They
    agree with ``predict_proba`` and ``predict`` to float32 rounding.

    The graph's metadata entry ``"sklearn_mmoe"`` (JSON) names the input columns,
    each categorical column's categories and codes, and each output's task kind and
    classes.

    Parameters
    ----------
    model : MMoEClassifier, MMoERegressor or MMoEMultiTask
        A fitted estimator.
    path : str or path-like
        Where to write the graph (conventionally ``*.onnx``).

    Returns
    -------
    path : str or path-like
        ``path``.

    Notes
    -----
    Needs the ``onnx`` extra (``pip install "sklearn-mmoe[onnx]"``: ``onnx`` and
    ``onnxscript`` for the export, ``onnxruntime`` to serve). The graph is traced
    with PyTorch's ``torch.export``-based exporter on the CPU, whatever device the
    model was fitted on; it has a dynamic number of rows.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklearn_mmoe import MMoEMultiTask, onnx_inputs, to_onnx
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4))
    >>> Y = np.c_[X[:, 0] > 0, X[:, 1] + X[:, 2]].astype(object)
    >>> model = MMoEMultiTask(task_types=["classification", "regression"],
    ...                       max_epochs=5, random_state=0).fit(X, Y)
    >>> path = to_onnx(model, os.path.join(tempfile.mkdtemp(), "model.onnx"))
    >>> session = onnxruntime.InferenceSession(path)
    >>> proba, value = session.run(None, onnx_inputs(model, X[:3]))
    >>> bool(np.allclose(proba, model.predict_proba(X[:3])[0], atol=1e-5))
    True
    >>> bool(np.allclose(value, model.predict(X[:3])[:, 1].astype(float), atol=1e-5))
    True
    """
    check_is_fitted(model, "net_")
    if not isinstance(model.expert_type, str):
        raise TypeError(
            f"to_onnx does not export experts of a class of your own "
            f"({model.expert_type.__name__}): their batched run over the experts "
            "(torch.func.vmap) is traced into a graph of a fixed batch size."
        )
    text = getattr(getattr(model, "_encoder", None), "text", None)
    if text is not None and any(t.name == "transformers" for t in text.tokenizers):
        raise ValueError(
            "to_onnx cannot export a Hugging Face text encoder: with "
            "text_encoder='transformers' the pretrained model is read from its path "
            "outside the network, and is no part of the graph. Serve this model in "
            "Python (predict; sklearn_mmoe.save keeps it), or fit with "
            "text_encoder='hashed' to export one."
        )
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "to_onnx needs the onnx and onnxscript packages: pip install "
            '"sklearn-mmoe[onnx]".'
        ) from exc
    numeric, categorical, categories = _layout(model)
    texts = _text_layout(model)
    outputs = _output_names(model)
    module = copy.deepcopy(model.net_.module_).to("cpu").eval()
    # The piecewise-linear code as the dense product in the graph: ONNX has no
    # searchsorted, which the lookup form's bins need (onnxscript's translation of it
    # differs between releases).
    module.piecewise_lookup = False
    serving = _Serving(module, list(model._tasks))
    # Two example rows (a size of 1 would be fixed into the graph); any values do.
    example, names = [], []
    n_slots = sum(t["slots"] for t in texts)
    for name, width, dtype in (
        (NUMERIC, len(numeric), torch.float32),
        (CATEGORICAL, len(categorical), torch.int64),
        (TEXT, n_slots, torch.int64),
    ):
        if width:
            example.append(torch.zeros(2, width, dtype=dtype))
            names.append(name)
    rows = torch.export.Dim("rows")
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(
            serving,
            tuple(example),
            input_names=names,
            output_names=outputs,
            dynamic_shapes=(tuple({0: rows} for _ in example),),  # *inputs
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    program.model.metadata_props[METADATA_KEY] = _metadata(
        model, numeric, categorical, categories, outputs, texts
    )
    program.model.doc_string = (
        f"sklearn_mmoe {type(model).__name__}: inputs {names}, one output per task "
        f"{outputs}; see the metadata entry {METADATA_KEY!r}."
    )
    program.save(path)
    return path


def _output_names(model):
    """The graph's output names: the task names, refused where ONNX cannot carry
    them (an empty name marks an omitted output in ONNX; a name twice, or an input's
    name, would make two values one)."""
    outputs = [str(name) for name in model.task_names_]
    empty = [t for t, name in enumerate(outputs) if not name]
    if empty:
        raise ValueError(
            f"Task(s) {empty} have an empty name, which ONNX reads as an omitted "
            "output; name every task (the columns of y) to export the model."
        )
    repeated = sorted({name for name in outputs if outputs.count(name) > 1})
    if repeated:
        raise ValueError(
            f"The task names {repeated} are given twice; the graph's outputs are "
            "named by task, so each name must be distinct."
        )
    clash = sorted({NUMERIC, CATEGORICAL, TEXT} & set(outputs))
    if clash:
        raise ValueError(
            f"The graph's inputs are named {NUMERIC!r}, {CATEGORICAL!r} and "
            f"{TEXT!r}; rename the task(s) {clash} (the columns of y) to export it."
        )
    return outputs


def onnx_inputs(model, X):
    """``X`` as the inputs of the graph :func:`to_onnx` writes for ``model``: the dict
    of named arrays ``onnxruntime.InferenceSession.run`` takes.

    Parameters
    ----------
    model : MMoEClassifier, MMoERegressor or MMoEMultiTask
        The fitted estimator the graph was exported from.
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        What the model's ``predict`` accepts, validated the same way.

    Returns
    -------
    inputs : dict of str to ndarray
        ``"numeric"``: float32 (n_samples, n_numeric), present when the model has
        numeric columns; ``"categorical"``: int64 (n_samples, n_categorical), each
        category's code, present when it has categorical columns; ``"text"``: int64
        (n_samples, slots), each text's token ids, present when it has text
        columns (the text is tokenized here).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe import MMoERegressor, onnx_inputs
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> model = MMoERegressor(max_epochs=2, random_state=0).fit(X, X.sum(1))
    >>> {name: a.shape for name, a in onnx_inputs(model, X[:3]).items()}
    {'numeric': (3, 2)}
    """
    check_is_fitted(model, "net_")
    X = validate_X(model, X)
    if sp.issparse(X):
        X = X.toarray()
    encoder = model.net_.module_.encoder
    n_numeric, n_codes = encoder.n_numeric, len(encoder.embeddings)
    inputs = {}
    if n_numeric:
        inputs[NUMERIC] = np.ascontiguousarray(X[:, :n_numeric], dtype=np.float32)
    if n_codes:
        inputs[CATEGORICAL] = X[:, n_numeric : n_numeric + n_codes].astype(np.int64)
    if X.shape[1] > n_numeric + n_codes:
        inputs[TEXT] = X[:, n_numeric + n_codes :].astype(np.int64)
    return inputs
