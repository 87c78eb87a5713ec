"""Training concerns are skorch callbacks, addressed by name, and the net's loop
tells them what skorch's own loop does: every batch, and a run that raised."""

import numpy as np
import pytest
import torch
from _helpers import TINY, two_regression_tasks
from skorch.callbacks import Callback

from sklearn_mmoe import MMoERegressor
from sklearn_mmoe._training.engine import _training_data


class _Counting(Callback):
    """Counts the notifications of training and validation batches."""

    def on_train_begin(self, net, **kwargs):
        self.batches = {True: [0, 0], False: [0, 0]}

    def on_batch_begin(self, net, training=None, **kwargs):
        self.batches[training][0] += 1

    def on_batch_end(self, net, training=None, loss=None, **kwargs):
        assert loss is not None  # the step's results come with the notification
        self.batches[training][1] += 1


class _Interrupting(Callback):
    """A user's Ctrl-C during the third training batch."""

    def on_train_begin(self, net, **kwargs):
        self.seen = 0
        self.aborted = False

    def on_batch_end(self, net, training=None, **kwargs):
        self.seen += training
        if self.seen == 3:
            raise KeyboardInterrupt

    def on_train_abort(self, net):
        self.aborted = True


def _fitted(**params):
    X, Y = two_regression_tasks(n=200)
    params = {**TINY, "max_epochs": 3, "batch_size": 32, "random_state": 0, **params}
    return MMoERegressor(**params).fit(X, Y), X, Y


def test_training_concerns_are_callbacks_named_in_order():
    model, _, _ = _fitted()
    names = [name for name, _ in model.net_.callbacks_]
    assert names == ["schedule", "average", "stopping", "progress"]


def test_every_batch_is_notified_with_its_step():
    """One more epoch of the fitted net on its 200 rows: 160 train (5 batches of
    32) and 40 are held out (2 batches)."""
    model, X, Y = _fitted()
    net = model.net_
    counting = _Counting()
    net.callbacks_.append(("counting", counting))
    net.max_epochs = 1
    Z = np.column_stack([t.standardise(Y[:, i]) for i, t in enumerate(model._tasks)])
    rows, present = np.arange(len(X)), np.ones(Y.shape, dtype=bool)
    data = _training_data(
        X.astype(np.float32),
        rows,
        torch.from_numpy(Z.astype(np.float32)),
        present,
        np.ones(len(X)),
        torch.device("cpu"),
    )
    net.partial_fit(data)
    assert counting.batches[True] == [5, 5]
    assert counting.batches[False] == [2, 2]


def test_a_run_that_raises_tells_callbacks_and_leaves_the_model_as_it_was():
    model, X, Y = _fitted()
    before = model.predict(X)
    interrupting = _Interrupting()
    model.net_.callbacks_.append(("interrupting", interrupting))
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(X, Y)
    assert interrupting.aborted and interrupting.seen == 3
    np.testing.assert_array_equal(model.predict(X), before)


@pytest.mark.parametrize("params", [dict(n_cv=2), dict(ema_decay=0.9)])
def test_an_interrupted_pass_leaves_the_model_and_no_copy_of_its_weights(params):
    """A cross-fitted ensemble keeps its members' shrinkage, and the weight
    average its callback kept during the pass is dropped."""
    model, X, Y = _fitted(**params)
    before = model.predict(X)
    model.net_.callbacks_.append(("interrupting", _Interrupting()))
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(X, Y)
    np.testing.assert_array_equal(model.predict(X), before)
    assert dict(model.net_.callbacks_)["average"].average_ is None
    assert dict(model.net_.callbacks_)["stopping"].best_state_ is None
