"""The fast data path: batches sliced out of whole tensors.

skorch's default ``Dataset`` + ``DataLoader`` fetches and collates one sample at a time,
which for tabular data costs several times the model itself. Here a dataset is a pair of
tensors (and an optional row subset); an iterator gathers a whole batch with one
indexing operation. Sparse ``X`` stays sparse and is densified one batch at a time.

On a GPU (or MPS) the training rows move to the device once per fit when they fit in
part of its free memory (:func:`placement`); otherwise each batch is gathered into
pinned (page-locked) host memory and copied asynchronously, never from pageable memory.
"""

import warnings

import numpy as np
import scipy.sparse as sp
import torch

from .._distributed.group import current


def as_tensor(a):
    """Wrap a numpy array as a tensor without copying it.

    Read-only arrays (joblib memmaps, for instance) are wrapped as they are: torch warns
    that writing to them is undefined, and nothing here ever writes to the inputs.
    """
    if sp.issparse(a):
        return a
    if a.flags.writeable:
        return torch.from_numpy(np.ascontiguousarray(a))
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="The given NumPy array is not writable"
        )
        return torch.from_numpy(np.ascontiguousarray(a))


def canonical(X):
    """``X`` itself, or for a CSR matrix with duplicate or unsorted entries a
    canonical copy (duplicates summed); the caller's matrix is never modified."""
    if sp.issparse(X) and not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


# The training rows are made resident on a GPU when they take at most this share of
# its free memory: the rest is left to the network, its activations and optimiser.
_DEVICE_SHARE = 0.5


def _free_memory(device):
    """Free bytes on ``device`` (a CUDA or MPS device)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "mps" and hasattr(torch.mps, "recommended_max_memory"):  # 2.3+
        return torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
    return 0  # unknown: batches from the host


def placement(dataset, device, free_bytes=None):
    """Where training batches come from: ``"host"`` on the CPU; on an accelerator,
    ``"device"`` (the rows moved there once) when the dataset takes at most
    ``_DEVICE_SHARE`` of its free memory (``free_bytes``, read from the device when
    None), else on CUDA ``"pinned"`` (each batch gathered into page-locked memory and
    copied asynchronously) and on MPS ``"host"``. Sparse ``X`` is densified per batch on
    the host, so it never goes to the device whole."""
    device = torch.device(device)
    if device.type == "cpu":
        return "host"
    # Page-locked staging is CUDA's; MPS shares memory with the host.
    otherwise = "pinned" if device.type == "cuda" else "host"
    if sp.issparse(dataset.X):
        return otherwise
    if free_bytes is None:
        free_bytes = _free_memory(device)
    return "device" if dataset.nbytes <= _DEVICE_SHARE * free_bytes else otherwise


def _staging(shape, dtype):
    """An uninitialised page-locked host tensor (torch caches and reuses these, and
    frees one only once the copies that read it have completed)."""
    return torch.empty(shape, dtype=dtype, pin_memory=True)


class TensorData(torch.utils.data.Dataset):
    """``X`` (a tensor or a CSR matrix) restricted to ``rows``, with targets ``Y`` and
    per-task row weights ``W`` (tensors aligned with ``rows``, or None).

    Holding a row subset instead of copies lets the training and validation parts of a
    hold-out split, and the distinct rows of a fit, share the caller's array.
    """

    def __init__(self, X, Y=None, W=None, rows=None, pinned=False):
        self.X = canonical(X)  # batches scatter stored entries; duplicates summed
        self.Y = Y
        self.W = W
        self.rows = rows
        self.pinned = pinned  # batches gathered into page-locked memory

    @property
    def nbytes(self):
        """Bytes of the tensors a batch is gathered from (for a row subset, the whole
        ``X`` it indexes)."""
        size = lambda t: t.element_size() * t.nelement()  # noqa: E731
        if sp.issparse(self.X):
            X = self.X.data.nbytes + self.X.indices.nbytes + self.X.indptr.nbytes
        else:
            X = size(self.X)
        return X + sum(size(t) for t in (self.Y, self.W, self.rows) if t is not None)

    def to_device(self, device):
        """This dataset with its tensors on ``device`` (dense ``X`` only)."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return TensorData(move(self.X), move(self.Y), move(self.W), move(self.rows))

    def placed(self, device):
        """This dataset as training on ``device`` reads it (see :func:`placement`)."""
        where = placement(self, device)
        if where == "device":
            return self.to_device(device)
        if where == "pinned":
            return TensorData(self.X, self.Y, self.W, self.rows, pinned=True)
        return self

    def __len__(self):
        return self.X.shape[0] if self.rows is None else len(self.rows)

    def __getitem__(self, i):  # kept for torch's Dataset protocol; batches use take()
        return self.take(torch.as_tensor([i]))

    def subset(self, positions):
        """The dataset restricted to ``positions`` (indices into this one)."""
        home = self.rows if self.rows is not None else self.Y
        device = home.device if home is not None else "cpu"
        positions = torch.as_tensor(positions, dtype=torch.int64, device=device)
        return TensorData(
            self.X,
            None if self.Y is None else self.Y[positions],
            None if self.W is None else self.W[positions],
            positions if self.rows is None else self.rows[positions],
            self.pinned,
        )

    def take(self, index):
        """Positions ``index`` (a slice or a 1-D int64 tensor): ``X`` as a dense
        float32 tensor, with ``Y`` and ``W`` (or None)."""
        rows = index if self.rows is None else _take(self.rows, index)
        if sp.issparse(self.X):
            Xb = torch.from_numpy(_dense_rows(self.X, rows))
            if self.pinned:
                Xb = _staging(Xb.shape, Xb.dtype).copy_(Xb)
        else:
            Xb = _take(self.X, rows, self.pinned)
        Yb = None if self.Y is None else _take(self.Y, index, self.pinned)
        Wb = None if self.W is None else _take(self.W, index, self.pinned)
        return Xb, Yb, Wb


def _take(tensor, index, pinned=False):
    """Rows ``index`` (a slice or a 1-D int64 tensor) of ``tensor``, gathered into
    page-locked memory when ``pinned``.

    ``index_select`` gathers whole rows with one parallel kernel: about five times
    faster than advanced indexing (``tensor[index]``) for a batch of 1,024 rows of 128
    features, which would otherwise cost a tenth of a small network's training step.
    """
    if isinstance(index, slice):
        part = tensor[index]
        return _staging(part.shape, part.dtype).copy_(part) if pinned else part
    if not pinned:
        return tensor.index_select(0, index)
    out = _staging((len(index),) + tuple(tensor.shape[1:]), tensor.dtype)
    return torch.index_select(tensor, 0, index, out=out)


def _dense_rows(X, index):
    """Rows ``index`` of the canonical CSR matrix ``X`` as a dense float32 array.

    scipy's fancy row indexing builds a whole sparse matrix per call, which costs more
    than a small network's training step; this scatters the selected rows' entries
    straight into the dense batch.
    """
    if isinstance(index, slice):
        return X[index].toarray()
    rows = index.numpy()
    starts = X.indptr[rows]
    lengths = X.indptr[rows + 1] - starts
    out = np.zeros((len(rows), X.shape[1]), dtype=X.dtype)
    # Position in X.data of every stored entry of the selected rows, row after row.
    first = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    entries = first + np.arange(first.size)
    out[np.repeat(np.arange(len(rows)), lengths), X.indices[entries]] = X.data[entries]
    return out


class BatchIterator:
    """Iterate over a :class:`TensorData` in batches ``(X, Y, W)`` of ``batch_size``
    rows.

    With ``shuffle``, each pass draws a new permutation from a generator seeded with
    ``seed`` (so that every pass differs, and a refit repeats them all) and gathers each
    batch with it; without, batches are contiguous slices. With ``steps`` (a rank of a
    data-parallel fit, whose steps every rank takes together), each pass is that many
    batches of sizes that differ by at most one row, empty ones where the rows are
    fewer than the steps.
    """

    def __init__(
        self, dataset, batch_size, shuffle=False, seed=0, device="cpu", steps=None
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        # each rank of a data-parallel fit shuffles its rows with draws of its own
        seed = current().seed(seed)
        self.generator = torch.Generator().manual_seed(seed) if shuffle else None
        self.device = device
        self.steps = steps

    def __len__(self):
        if self.steps is not None:
            return self.steps
        return -(-len(self.dataset) // self.batch_size)

    def _batches(self, n, order):
        """Each batch's index: a slice, or positions of ``order``."""
        if self.steps is not None:
            positions = torch.arange(n) if order is None else order
            return torch.tensor_split(positions, self.steps)
        bs = self.batch_size
        if order is None:
            return [slice(start, min(start + bs, n)) for start in range(0, n, bs)]
        return [order[start : start + bs] for start in range(0, n, bs)]

    def __iter__(self):
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        home = self.dataset.rows if self.dataset.rows is not None else self.dataset.Y
        if order is not None and home is not None:
            order = order.to(home.device)  # a device-resident dataset's own indices
        for index in self._batches(n, order):
            batch = self.dataset.take(index)
            if self.device != "cpu":  # a no-op for tensors already there
                batch = tuple(
                    None if t is None else t.to(self.device, non_blocking=True)
                    for t in batch
                )
            yield batch


def n_validation(fraction, n):
    """Rows held out for validation from ``n``: ``fraction`` of them, at least one."""
    return max(1, int(round(fraction * n)))


class HoldOutSplit:
    """skorch ``train_split``: hold out a random ``fraction`` of the rows.

    A plain random split, never a stratified one, so that a 2-D ``y`` works.
    """

    def __init__(self, fraction, seed):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = n_validation(self.fraction, n)
        if n - n_valid < 1:
            raise ValueError(
                f"early_stopping holds out validation_fraction={self.fraction} of the "
                f"training data: {n_valid} of its {n} sample(s) (distinct rows: "
                "identical rows with the same labels are merged into one weighted "
                "row), leaving none to train on. Lower validation_fraction, add rows, "
                "or pass early_stopping=False."
            )
        # each rank of a data-parallel fit holds out its part of its own rows
        seed = current().seed(self.seed)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        return dataset.subset(order[n_valid:]), dataset.subset(order[:n_valid])


def random_folds(n, n_folds, seed):
    """A fold (0 to ``n_folds - 1``) for each of ``n`` rows: a seeded random
    partition into folds whose sizes differ by at most one row."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    folds = np.empty(n, dtype=np.int64)
    for k, part in enumerate(np.array_split(order, n_folds)):
        folds[part] = k
    return folds


class FoldSplit:
    """skorch ``train_split``: hold out the rows of fold ``fold`` (``folds``, one
    fold per row of the dataset; see :func:`random_folds`) and train on the rest."""

    def __init__(self, folds, fold):
        self.folds = folds
        self.fold = fold

    def __call__(self, dataset, y=None, **fit_params):
        held = self.folds == self.fold
        return (
            dataset.subset(np.flatnonzero(~held)),
            dataset.subset(np.flatnonzero(held)),
        )
