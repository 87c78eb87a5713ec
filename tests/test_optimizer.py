"""The optimiser: AdamW whose tables read by row (sparse gradients) step only the
rows a batch read, each as AdamW steps a row read at every step."""

import numpy as np
import pytest
import torch
from _helpers import FAST_EVERY_ROW, reviews_frame

from sklearn_mmoe import MMoEMultiTask
from sklearn_mmoe._training.optimizer import RowSparseAdamW

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
OPTIONS = dict(lr=0.05, weight_decay=0.1, betas=(0.9, 0.99))


def _bags(table, batches, sparse):
    """``table`` trained on bags of ids, their means' sum of squares the loss,
    ``sparse`` or dense gradients; the optimiser's final state with it."""
    optimizer = (RowSparseAdamW if sparse else torch.optim.AdamW)([table], **OPTIONS)
    for ids in batches:
        optimizer.zero_grad()
        bags = torch.nn.functional.embedding_bag(ids, table, mode="mean", sparse=sparse)
        (bags - 1.0).square().sum().backward()
        optimizer.step()
    return optimizer.state[table]


def test_rows_read_at_every_step_step_as_adamw_steps_them():
    torch.manual_seed(0)
    start = torch.randn(6, 3)
    batches = [torch.randint(0, 6, (5, 4)) for _ in range(8)]
    for ids in batches:
        ids[0] = torch.tensor([0, 1, 2, 3])  # rows 0 to 3 read at every step
        ids[1, :2] = torch.tensor([4, 5])
    dense, sparse = (torch.nn.Parameter(start.clone()) for _ in range(2))
    _bags(dense, batches, sparse=False)
    state = _bags(sparse, batches, sparse=True)
    # float32: a handful of roundings of values of about 1 per step
    np.testing.assert_allclose(sparse.detach(), dense.detach(), rtol=1e-5, atol=1e-6)
    assert float(state["step"]) == len(batches)


def test_rows_no_batch_read_stay_with_their_moments():
    torch.manual_seed(0)
    table = torch.nn.Parameter(torch.randn(6, 3))
    start = table.detach().clone()
    first = torch.tensor([[0, 1], [2, 3]])
    state = _bags(table, [first, torch.tensor([[0, 1]])], sparse=True)
    assert torch.equal(table.detach()[4:], start[4:])  # never read
    assert not state["exp_avg"][4:].any() and not state["exp_avg_sq"][4:].any()
    # rows 2 and 3, read at the first step only, moved once: AdamW would move
    # them again at the second, on their moments
    assert not torch.equal(table.detach()[2:4], start[2:4])
    dense = torch.nn.Parameter(start.clone())
    _bags(dense, [first, torch.tensor([[0, 1]])], sparse=False)
    assert not torch.allclose(dense.detach()[2:4], table.detach()[2:4])


def test_a_dense_gradient_after_sparse_ones_steps_on_the_same_moments():
    torch.manual_seed(0)
    table = torch.nn.Parameter(torch.randn(4, 2))
    optimizer = RowSparseAdamW([table], **OPTIONS)
    ids = torch.tensor([[0, 1]])
    torch.nn.functional.embedding_bag(ids, table, sparse=True).sum().backward()
    optimizer.step()
    moments = optimizer.state[table]["exp_avg"].clone()
    optimizer.zero_grad()
    table.sum().backward()  # dense: AdamW's own step, on the moments as left
    optimizer.step()
    expected = 0.9 * moments + 0.1 * torch.ones(4, 2)
    np.testing.assert_allclose(optimizer.state[table]["exp_avg"], expected, rtol=1e-6)
    assert float(optimizer.state[table]["step"]) == 2


def test_a_sparse_gradient_with_amsgrad_is_refused():
    table = torch.nn.Parameter(torch.ones(4, 2))
    optimizer = RowSparseAdamW([table], amsgrad=True)
    torch.nn.functional.embedding_bag(
        torch.tensor([[1]]), table, sparse=True
    ).sum().backward()
    with pytest.raises(ValueError, match="amsgrad"):
        optimizer.step()
    assert table.grad is not None and table.grad.is_sparse  # given back


def test_a_text_model_trains_its_tables_on_sparse_gradients():
    X, Y = reviews_frame(150)
    model = MMoEMultiTask(
        **FAST_EVERY_ROW,
        task_types=["classification", "regression"],
        text_features=["review"],
    ).fit(X, Y)
    net = model.net_
    assert isinstance(net.optimizer_, RowSparseAdamW)
    encoder = net.module_.encoder
    ids = model._encoder.transform(X)[:, -model._encoder.n_slots :]
    unseen = np.setdiff1d(np.arange(encoder.text0_weight.shape[0]), ids)
    assert unseen.size  # buckets no training token hashed to
    state = net.optimizer_.state[encoder.text0_weight]
    assert not state["exp_avg"][unseen].any()  # never stepped
    assert state["exp_avg"][np.unique(ids[ids > 0])].abs().sum(1).min() > 0
