"""Inference and scoring, shared by every estimator: the network's outputs in
chunks, each task's prediction and probabilities through its description
(:mod:`sklearn_mmoe._tasks.kinds`), the mean per-task score, the experts' weights
and the gate weights. Each function takes the fitted estimator first and reads its
``net_``, ``_tasks``, ``n_outputs_``, ``task_names_`` and ``_y_1d``."""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import _check_sample_weight, check_array, check_is_fitted

from .._inputs.rows import bounded_weights
from .._inputs.tensors import BatchIterator, TensorData, as_tensor
from .._inputs.validation import (
    check_task_names,
    keep_column_types,
    present_labels,
    validate_X,
)
from .._network.memory import rows_per_chunk
from .._network.ops import _NumpyOps
from .._tasks.kinds import task_label

# Up to this many rows, inference runs in float64 NumPy: PyTorch's per-operation
# dispatch costs more than the arithmetic there, and float64 gives every row the same
# result whatever it is batched with (scikit-learn's check_methods_subset_invariance
# compares batches of up to 20 rows with single rows), which float32 BLAS kernels,
# taking other code paths for a handful of rows, do not.
_NUMPY_ROWS = 32


def forward(model, X):
    """Raw network outputs for ``X``: array (n_samples, n_tasks, width).

    float64 from NumPy for up to ``_NUMPY_ROWS`` rows (where their float64
    activations fit in one chunk's memory), float32 from PyTorch in chunks of
    :func:`~sklearn_mmoe._network.memory.rows_per_chunk` rows otherwise.
    """
    check_is_fitted(model, "net_")
    X = validate_X(model, X)
    module = model.net_.module_
    small = min(_NUMPY_ROWS, rows_per_chunk(module) // 2)  # float64: twice
    if X.shape[0] <= small and module.runs_numpy:
        return module.forward_numpy(_dense(X)).outputs
    return torch_results(model, X, "outputs")


def torch_results(model, X, name, run=None):
    """The network's result ``name`` for validated ``X``, from PyTorch in chunks
    sized to its activations' memory, as one float32 array; ``run``: the
    function of a batch to call instead of the network."""
    module = model.net_.module_
    if module.training:
        module.eval()
    batches = BatchIterator(
        TensorData(as_tensor(X)), rows_per_chunk(module), device=model.net_.device
    )
    run = module if run is None else run
    with torch.inference_mode():
        parts = [getattr(run(Xb), name).cpu() for Xb, _, _ in batches]
    return torch.cat(parts).numpy()


def task_outputs(model, X, method):
    """``task.predict`` or ``task.proba`` of every task, one array each."""
    return outputs_of(model, forward(model, X), method)


def outputs_of(model, raw, method):
    """``task.predict`` or ``task.proba`` of every task for the network's
    outputs ``raw`` (n_samples, n_tasks, width), one array each."""
    padding = model.net_.module_.padding.cpu().numpy()  # (T, W): -inf by design
    bad = ~(np.isfinite(raw) | padding)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=(1, 2)))
        raise ValueError(
            f"The network's outputs are not finite for {rows.size} row(s) (the "
            f"first: row {rows[0]}): their inputs are too large for its float32 "
            "arithmetic. Scale the inputs, or keep numeric_encoding='auto', which "
            "bounds them."
        )
    ops = _NumpyOps("identity")  # the tasks' outputs apply no activation
    outputs = [
        getattr(task, method)(raw[:, t], ops) for t, task in enumerate(model._tasks)
    ]
    return outputs


def predictions(model, X):
    """Every task's prediction: one column per task, in the tasks' common type
    (an object array when they differ); 1-D when ``y`` was 1-D at fit."""
    return prediction_layout(model, task_outputs(model, X, "predict"))


def prediction_layout(model, columns):
    """``predict``'s array of the tasks' predictions ``columns``."""
    if model._y_1d:
        return columns[0]
    kinds = {c.dtype.kind for c in columns}
    dtype = np.result_type(*columns) if len(kinds) == 1 else object
    Y = np.empty((len(columns[0]), len(columns)), dtype=dtype)
    for t, column in enumerate(columns):
        Y[:, t] = column
    return Y


def probabilities(model, X):
    """``predict_proba``'s layout: the task's array for a single task, else a
    list with one entry per task (None for a regression task)."""
    proba = task_outputs(model, X, "proba")
    return proba[0] if model.n_outputs_ == 1 else proba


def set_out_of_fold(model, X, out_of_fold):
    """Keep each training row's out-of-fold prediction (``oof_prediction_``,
    and ``oof_proba_`` where a task has classes) of a cross-fitted ensemble:
    ``out_of_fold`` is ``(folds, members)``, ``folds`` giving each row of ``X``
    (validated) the one of ``members`` (a
    :class:`~sklearn_mmoe._network.crossfit.CrossFitModule`) that did not train
    on it, -1 where none did (the fitted model predicts it); None for a single
    network, which keeps none."""
    for name in ("oof_prediction_", "oof_proba_"):
        if hasattr(model, name):
            delattr(model, name)
    if out_of_fold is None:
        return
    folds, members = out_of_fold
    module = model.net_.module_
    raw = np.empty((X.shape[0], *module.padding.shape), dtype=np.float32)
    for k in range(-1, len(members.members)):
        rows = np.flatnonzero(folds == k)
        if rows.size:
            run = module if k < 0 else members.member_run(k)
            raw[rows] = torch_results(model, X[rows], "outputs", run)
    model.oof_prediction_ = prediction_layout(model, outputs_of(model, raw, "predict"))
    proba = outputs_of(model, raw, "proba")
    if any(p is not None for p in proba):
        model.oof_proba_ = proba[0] if model.n_outputs_ == 1 else proba


def mean_score(model, X, y, sample_weight=None):
    """The mean over tasks of each task's score (see ``score``)."""
    check_is_fitted(model, "net_")
    check_task_names(model.task_names_, y)
    Y_pred = model.predict(X)
    n, n_tasks = len(Y_pred), model.n_outputs_
    y = check_array(
        keep_column_types(y),
        ensure_2d=False,
        dtype=None,
        ensure_all_finite="allow-nan",
        input_name="y",
    )
    Y = y.reshape(-1, 1) if y.ndim == 1 else y
    if Y.shape != (n, n_tasks) or (y.ndim == 1 and n_tasks > 1):
        raise ValueError(
            f"y has shape {y.shape}; {type(model).__name__} was fitted on "
            f"{n_tasks} task(s), so y must have shape ({n}, {n_tasks})"
            + (f" or ({n},)." if n_tasks == 1 else ".")
        )
    Y_pred = Y_pred.reshape(n, n_tasks)
    w = bounded_weights(_check_sample_weight(sample_weight, Y_pred))
    present = present_labels(model, Y)
    scores = []
    for t, task in enumerate(model._tasks):
        p = present[:, t]
        if not p.any():
            where = task_label(t, model.task_names_[t], n_tasks) or "y: "
            raise ValueError(
                f"{where}no sample has a label, so the task's score is undefined."
            )
        scores.append(task.score(Y[p, t], Y_pred[p, t], w[p]))
    return float(np.mean(scores))


def expert_weights(model, level=0):
    """The experts' learned weights at ``level``, by name (see
    ``expert_weights``)."""
    check_is_fitted(model, "net_")
    module = model.net_.module_
    n_levels = len(module.levels)
    if (
        isinstance(level, bool)
        or not isinstance(level, (int, np.integer))
        or not (0 <= level < n_levels)
    ):
        raise ValueError(
            f"level must be an int in [0, {n_levels}): this network has "
            f"{n_levels} level(s) of experts; got {level!r}."
        )
    return {
        name: w.detach().cpu().numpy().copy()
        for name, w in module.expert_weights(int(level)).items()
    }


def gate_weights(model, X):
    """The weight each task's gate gives each expert, for every row of ``X``
    (see ``gate_weights``)."""
    check_is_fitted(model, "net_")
    X = validate_X(model, X)
    module = model.net_.module_
    if not module.runs_numpy:
        return torch_results(model, X, "gate_weights").astype(np.float64)
    chunk = max(1, rows_per_chunk(module) // 2)  # float64: twice float32's
    chunks = [
        module.forward_numpy(_dense(X[i : i + chunk])).gate_weights
        for i in range(0, X.shape[0], chunk)
    ]
    return np.concatenate(chunks)


def _dense(X):
    """A dense view of ``X`` (a small chunk, when sparse)."""
    return X.toarray() if sp.issparse(X) else X
