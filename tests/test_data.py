"""The data path: batches gathered out of tensors, sparse rows densified per batch."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklearn_mmoe import MMoEClassifier
from sklearn_mmoe._inputs.tensors import (
    BatchIterator,
    HoldOutSplit,
    TensorData,
    placement,
)


def test_sparse_rows_match_scipy_including_duplicates_and_empty_rows():
    dense = sp.random(50, 9, density=0.2, random_state=0, dtype=np.float32).toarray()
    dense[3] = 0  # an empty row
    X = sp.csr_matrix(dense)
    data = TensorData(X)
    index = torch.tensor([3, 7, 7, 0, 49, 3])
    np.testing.assert_array_equal(
        data.take(index)[0].numpy(), X[index.numpy()].toarray()
    )
    np.testing.assert_array_equal(data.take(slice(5, 9))[0].numpy(), X[5:9].toarray())


def test_duplicate_sparse_entries_are_summed_without_touching_the_callers_matrix():
    X = sp.csr_matrix(
        (
            np.array([1.0, 2.0, 3.0], np.float32),
            np.array([0, 0, 1]),
            np.array([0, 2, 3]),
        ),
        shape=(2, 3),
    )
    assert not X.has_canonical_format
    rows = TensorData(X).take(torch.tensor([1, 0]))[0]
    np.testing.assert_array_equal(rows.numpy(), [[0, 3, 0], [3, 0, 0]])
    assert X.nnz == 3  # the caller's matrix still holds its duplicate entry


@pytest.mark.parametrize("sparse", [False, True])
def test_an_epoch_visits_every_row_once_in_batches(sparse):
    X = np.arange(23, dtype=np.float32).reshape(-1, 1)
    data = TensorData(
        sp.csr_matrix(X) if sparse else torch.from_numpy(X), torch.arange(23)
    )
    batches = list(BatchIterator(data, 5, shuffle=True, seed=0))
    assert [len(xb) for xb, _, _ in batches] == [5, 5, 5, 5, 3]
    rows = torch.cat([yb for _, yb, _ in batches])
    assert sorted(rows.tolist()) == list(range(23))
    assert rows.tolist() != list(range(23))
    # X and y stay aligned through the gather
    for xb, yb, wb in batches:
        assert wb is None
        np.testing.assert_array_equal(xb[:, 0].numpy(), yb.numpy())


def test_each_epoch_draws_a_new_order_and_a_seed_repeats_them():
    data = TensorData(torch.zeros(30, 1), torch.arange(30))

    def orders(seed):
        it = BatchIterator(data, 30, shuffle=True, seed=seed)
        return [next(iter(it))[1].tolist() for _ in range(3)]

    first = orders(4)
    assert first[0] != first[1] != first[2]
    assert first == orders(4)
    assert first != orders(5)


def test_hold_out_split_is_disjoint_and_shares_the_array():
    X = torch.arange(40, dtype=torch.float32).reshape(20, 2)
    train, valid = HoldOutSplit(0.25, seed=0)(TensorData(X, torch.arange(20)))
    assert (len(train), len(valid)) == (15, 5)
    assert train.X is X and valid.X is X
    seen = set(train.take(slice(0, 15))[1].tolist()) | set(
        valid.take(slice(0, 5))[1].tolist()
    )
    assert seen == set(range(20))


def test_hold_out_split_refuses_a_single_row():
    with pytest.raises(ValueError, match=r"1 of its 1 sample\(s\).*none to train on"):
        HoldOutSplit(0.1, seed=0)(TensorData(torch.zeros(1, 2)))


def test_a_subset_keeps_rows_targets_and_weights_aligned():
    X = torch.arange(10, dtype=torch.float32).reshape(-1, 1)
    rows = torch.tensor([7, 2, 9, 4])  # positions 0..3 read these rows of X
    data = TensorData(
        X, torch.tensor([70, 20, 90, 40]), torch.tensor([7.0, 2, 9, 4]), rows
    )
    part = data.subset([3, 1])
    Xb, Yb, Wb = part.take(torch.tensor([0, 1]))
    assert Xb[:, 0].tolist() == [4.0, 2.0]
    assert Yb.tolist() == [40, 20] and Wb.tolist() == [4.0, 2.0]
    assert len(part) == 2


# -- the GPU data path (tested on the CPU; see benchmarks/README for GPU figures)


def _dataset(n=1_000, sparse=False):
    X = np.random.RandomState(0).normal(size=(n, 4)).astype(np.float32)
    X = sp.csr_matrix(X) if sparse else torch.from_numpy(X)
    return TensorData(X, torch.zeros((n, 2)), None, torch.arange(n))


def test_rows_go_to_a_gpu_when_they_fit_in_half_its_free_memory():
    data = _dataset()  # 16,000 bytes of X, 8,000 of Y, 8,000 of row indices
    assert data.nbytes == 32_000
    cuda = torch.device("cuda", 0)
    assert placement(data, cuda, free_bytes=64_000) == "device"
    assert placement(data, cuda, free_bytes=63_999) == "pinned"
    assert placement(data, "mps", free_bytes=10**9) == "device"
    assert placement(data, "mps", free_bytes=1_000) == "host"  # no pinning on MPS
    assert placement(data, "cpu") == "host"
    # sparse rows densify one batch at a time on the host
    assert placement(_dataset(sparse=True), cuda, free_bytes=10**12) == "pinned"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 epochs
@pytest.mark.parametrize(
    "where, sparse", [("device", False), ("pinned", False), ("pinned", True)]
)
def test_a_fit_from_resident_or_pinned_batches_equals_the_host_fit(
    monkeypatch, where, sparse
):
    import sklearn_mmoe._inputs.tensors as data_module

    rng = np.random.RandomState(0)
    X = rng.normal(size=(1_200, 5)).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    X = sp.csr_matrix(X) if sparse else X
    weight = rng.uniform(0.5, 2.0, size=len(Y))
    # early stopping (validation slices), sample weights (W), shuffled gathers
    params = dict(n_experts=2, expert_units=(8,), max_epochs=3, random_state=0)
    host = MMoEClassifier(**params).fit(X, Y, sample_weight=weight)
    pinned_buffers = []

    def staging(shape, dtype):  # page-locked memory needs a GPU: count the buffers
        pinned_buffers.append(shape)
        return torch.empty(shape, dtype=dtype)

    monkeypatch.setattr(data_module, "placement", lambda *a: where)
    monkeypatch.setattr(data_module, "_staging", staging)
    other = MMoEClassifier(**params).fit(X, Y, sample_weight=weight)
    np.testing.assert_array_equal(other.predict_proba(X), host.predict_proba(X))
    if where == "pinned":
        assert len(pinned_buffers) > 3 * 5  # every batch of every epoch
    else:
        assert not pinned_buffers
