"""Behaviour both estimators share: seeding, early stopping, warm start, averaged
weights (what they refuse: tests/test_validation_errors.py)."""

import re
from functools import partial

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from _helpers import FAST_EVERY_ROW, LEARNER, normal_tasks
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from sklearn_mmoe import MMoEClassifier, MMoERegressor
from sklearn_mmoe._inputs.tensors import TensorData
from sklearn_mmoe._inputs.validation import distinct_rows
from sklearn_mmoe._training.net import MultiTaskNet


def _binary_and_three_classes(X):
    return np.column_stack([X[:, 0] > 0, np.digitize(X[:, 1], [-0.5, 0.5])])


def _sum_and_scaled(X):
    return np.column_stack([X[:, 0] + X[:, 1], X[:, 2] * 3.0])


# The shared table, with a classifier's second task of three classes (a multiclass
# multioutput y: tests of early stopping's hold-out and of verbose use it).
_data = partial(normal_tasks, labels=_binary_and_three_classes, values=_sum_and_scaled)


both = pytest.mark.parametrize("Est", [MMoEClassifier, MMoERegressor])
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@both
def test_same_random_state_refits_bit_for_bit(Est):
    X, Y = _data(Est)
    a = Est(**FAST_EVERY_ROW, dropout=0.2).fit(X, Y)
    b = Est(**FAST_EVERY_ROW, dropout=0.2).fit(X, Y)
    for pa, pb in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
        assert torch.equal(pa, pb)
    assert a.loss_curve_ == b.loss_curve_
    c = Est(**{**FAST_EVERY_ROW, "random_state": 1}, dropout=0.2).fit(X, Y)
    assert c.loss_curve_ != a.loss_curve_


@both
def test_fitting_leaves_the_callers_torch_random_state_alone(Est):
    X, Y = _data(Est)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Est(**FAST_EVERY_ROW).fit(X, Y)
    Est(**{**FAST_EVERY_ROW, "random_state": None}).fit(X, Y)
    assert torch.equal(torch.rand(3), expected)


@both
def test_fitted_attributes_describe_the_training(Est):
    X, Y = _data(Est)
    est = Est(**FAST_EVERY_ROW).fit(X, Y)
    assert est.n_features_in_ == 4 and est.n_outputs_ == 2
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert not hasattr(est, "validation_scores_")
    assert len(est.net_.history[-1]["train_task_losses"]) == 2


@both
@pytest.mark.parametrize("ema_decay", [None, 0.9])
def test_early_stopping_restores_the_best_epoch(Est, ema_decay):
    """With ema_decay, the epochs are scored, and the best kept, on averaged weights."""
    X, Y = _data(Est, n=200)
    est = Est(
        **{**FAST_EVERY_ROW, "max_epochs": 300, "early_stopping": True},
        ema_decay=ema_decay,
        n_iter_no_change=3,
        validation_fraction=0.3,
        learning_rate=0.05,
    ).fit(X, Y)
    scores = est.validation_scores_
    assert est.n_iter_ == len(scores) < 300
    assert est.best_validation_score_ == max(scores)
    # stopped exactly n_iter_no_change epochs after the last improvement above tol
    best, last_counted = -np.inf, None
    for epoch, score in enumerate(scores):
        if score > best + est.tol:
            last_counted = epoch
        best = max(best, score)
    assert est.n_iter_ - 1 - last_counted == 3
    # the kept weights are the best epoch's: recompute the validation loss with them
    net = est.net_
    X = X.astype(np.float32)
    rows, Z = _rows_and_targets_as_trained(est, X, Y)
    _, valid = net.train_split(TensorData(torch.from_numpy(X), Z, None, rows))
    Xv, Yv, _ = valid.take(slice(0, len(valid)))
    with torch.no_grad():
        losses = net.criterion_(net.module_(Xv).outputs, Yv)
        loss = net.criterion_.objective(net.criterion_.task_means(losses))
    assert -float(loss) == pytest.approx(est.best_validation_score_, rel=1e-5)


def _rows_and_targets_as_trained(est, X, Y):
    """The distinct rows, in the order fit trains on them, and their encoded targets."""
    if isinstance(est, MMoERegressor):
        targets = Y.astype(np.float64)
    else:
        codes = [np.searchsorted(c, Y[:, t]) for t, c in enumerate(est.classes_)]
        targets = np.column_stack(codes).astype(np.int64)
    ones = np.ones(Y.shape, dtype=bool)
    rows, targets, _, _, _ = distinct_rows(
        X, np.arange(len(X)), targets, ones, np.ones(len(X))
    )
    scaled = [
        task.standardise(task.from_key(task.key(targets[:, t])))
        for t, task in enumerate(est._tasks)
    ]
    return torch.from_numpy(rows), torch.from_numpy(np.column_stack(scaled)).float()


def _record_weights(monkeypatch):
    """Record the module's weights when training begins and after every optimiser
    step, for the fits that follow."""
    recorded = []
    train_step, on_train_begin = MultiTaskNet.train_step, MultiTaskNet.on_train_begin

    def weights(net):
        return [p.detach().clone() for p in net.module_.parameters()]

    def recording_begin(net, *args, **kwargs):
        recorded.append(weights(net))
        return on_train_begin(net, *args, **kwargs)

    def recording_step(net, batch, **fit_params):
        step = train_step(net, batch, **fit_params)
        recorded.append(weights(net))
        return step

    monkeypatch.setattr(MultiTaskNet, "on_train_begin", recording_begin)
    monkeypatch.setattr(MultiTaskNet, "train_step", recording_step)
    return recorded


@both
def test_ema_decay_keeps_the_moving_average_of_the_steps(Est, monkeypatch):
    """Without early stopping, training walks the same steps and ends with their
    average a_t = d_t a_(t-1) + (1 - d_t) w_t, d_t = min(ema_decay, (1 + t) / (10 + t)),
    a_0 the initial weights."""
    X, Y = _data(Est)
    recorded = _record_weights(monkeypatch)
    plain = Est(**FAST_EVERY_ROW).fit(X, Y)
    initial, *steps = recorded
    averaged = Est(**FAST_EVERY_ROW, ema_decay=0.95).fit(X, Y)
    assert averaged.loss_curve_ == plain.loss_curve_

    expected = initial
    for t, step in enumerate(steps, start=1):
        d = min(0.95, (1 + t) / (10 + t))
        expected = [d * a + (1 - d) * w for a, w in zip(expected, step)]
    kept = list(averaged.net_.module_.parameters())
    for k, e in zip(kept, expected):
        torch.testing.assert_close(k.detach(), e, rtol=1e-5, atol=1e-6)
    # ... which are not the last step's weights
    assert not all(torch.allclose(k, w) for k, w in zip(kept, steps[-1]))
    average = dict(averaged.net_.callbacks_)["average"]
    assert average.average_ is None  # the fitted model keeps one set of weights


def test_early_stopping_holds_out_rows_of_a_multiclass_multioutput_y():
    X, Y = _data(MMoEClassifier, n=60)
    Y = Y.astype(object)
    Y[:, 1] = np.array(["a", "b", "c"])[Y[:, 1].astype(int)]
    est = MMoEClassifier(**{**FAST_EVERY_ROW, "early_stopping": True}).fit(X, Y)
    assert len(est.validation_scores_) == est.n_iter_


@both
def test_verbose_2_prints_each_epoch_by_task_name_and_a_summary(Est, capsys):
    X, Y = _data(Est)
    Y = pd.DataFrame(Y, columns=["first", "second"])
    Est(**{**FAST_EVERY_ROW, "max_epochs": 4, "early_stopping": True}, verbose=2).fit(
        X, Y
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    losses = r"[\d.]+ \(first [\d.]+, second [\d.]+\)"
    pattern = rf"epoch +\d+/4, train {losses}, valid {losses}, best epoch \d, [\d.]+ s"
    assert all(re.fullmatch(pattern, line) for line in lines[:4]), lines
    best = re.search(r"best epoch (\d)", lines[3]).group(1)
    assert lines[4] == (
        "stopped after epoch 4: the epoch budget ran out; kept the weights of epoch "
        f"{best}, the best validation loss ({lines[4].split('(')[1]}"
    )


@both
def test_verbose_summary_says_why_training_stopped(Est, capsys):
    X, Y = _data(Est)
    Est(
        **{**FAST_EVERY_ROW, "max_epochs": 200}, n_iter_no_change=2, tol=10.0, verbose=2
    ).fit(X, Y)
    lines = capsys.readouterr().out.strip().splitlines()
    # Epoch 1 sets the best, 2 and 3 fail to beat it by tol; then the summary.
    assert len(lines) == 4
    assert lines[-1] == (
        "stopped after epoch 3: the training loss did not improve by more than "
        "tol=10.0 for 2 epochs; kept the weights of the last epoch (3)."
    )


@both
def test_silent_by_default(Est, capsys):
    X, Y = _data(Est)
    Est(**FAST_EVERY_ROW).fit(X, Y)
    assert capsys.readouterr().out == ""


@both
def test_warm_start_continues_from_the_previous_weights(Est):
    X, Y = _data(Est)
    cold = Est(**FAST_EVERY_ROW).fit(X, Y)
    warm = Est(**FAST_EVERY_ROW, warm_start=True).fit(X, Y).fit(X, Y)
    assert warm.n_iter_ == 10 and len(warm.loss_curve_) == 10
    assert warm.loss_curve_[:5] == cold.loss_curve_
    assert warm.loss_curve_[5] < cold.loss_curve_[0]
    # without warm_start a refit starts over
    assert Est(**FAST_EVERY_ROW).fit(X, Y).fit(X, Y).loss_curve_ == cold.loss_curve_


@both
def test_warm_start_refuses_another_network(Est):
    X, Y = _data(Est)
    est = Est(**FAST_EVERY_ROW, warm_start=True).fit(X, Y)
    with pytest.raises(ValueError, match="warm_start"):
        est.set_params(n_experts=5).fit(X, Y)


@both
def test_sparse_input_trains_like_the_dense_matrix(Est):
    X, Y = _data(Est)
    X[np.abs(X) < 0.8] = 0
    dense = Est(**FAST_EVERY_ROW).fit(X, Y)
    sparse = Est(**FAST_EVERY_ROW).fit(sp.csr_matrix(X), Y)
    np.testing.assert_array_equal(dense.predict(X), sparse.predict(sp.csr_matrix(X)))
    assert dense.loss_curve_ == sparse.loss_curve_


@both
def test_dropout_is_off_at_predict_time(Est):
    X, Y = _data(Est)
    est = Est(**FAST_EVERY_ROW, dropout=0.5).fit(X, Y)
    np.testing.assert_array_equal(est.predict(X), est.predict(X))
    assert Est(**FAST_EVERY_ROW).fit(X, Y).loss_curve_ != est.loss_curve_


def test_a_diverging_fit_is_refused_instead_of_predicting_nan():
    X, Y = _data(MMoERegressor)
    with pytest.raises(ValueError, match="diverged"):
        MMoERegressor(**FAST_EVERY_ROW, learning_rate=1e30).fit(X * 1e30, Y)


def test_ema_decay_averages_out_the_noise_of_the_last_steps():
    """With noisy labels and a large constant step size, the averaged weights are
    closer to the function behind the labels than the last step's weights. (The
    default cosine schedule settles the last steps by itself; the average then adds
    nothing, which the user guide says.)"""
    rng = np.random.RandomState(0)
    X, X_test = rng.normal(size=(1000, 5)), rng.normal(size=(1000, 5))

    def truth(X):
        return np.column_stack([X[:, 0] + X[:, 1] ** 2, np.sin(2 * X[:, 2])])

    Y = truth(X) + rng.normal(size=(1000, 2))
    errors = {}
    for ema_decay in (None, 0.99):
        est = MMoERegressor(
            **LEARNER,
            max_epochs=20,
            batch_size=32,
            learning_rate_schedule="constant",
            ema_decay=ema_decay,
            early_stopping=False,  # the last step's weights against their average
        ).fit(X, Y)
        errors[ema_decay] = np.mean((est.predict(X_test) - truth(X_test)) ** 2)
    assert errors[0.99] < 0.8 * errors[None], errors


@both
def test_warm_start_continues_from_the_averaged_weights(Est, monkeypatch):
    X, Y = _data(Est)
    est = Est(**FAST_EVERY_ROW, ema_decay=0.9, warm_start=True).fit(X, Y)
    kept = [p.detach().clone() for p in est.net_.module_.parameters()]
    recorded = _record_weights(monkeypatch)
    est.fit(X, Y)
    for start, k in zip(recorded[0], kept):
        assert torch.equal(start, k)
    assert est.n_iter_ == 10


def test_a_convergence_warning_points_at_the_callers_line():
    X = np.random.RandomState(0).normal(size=(60, 3))
    with pytest.warns(ConvergenceWarning) as info:
        MMoERegressor(**{**FAST_EVERY_ROW, "max_epochs": 2}).fit(X, X[:, 0])
    assert {w.filename for w in info if w.category is ConvergenceWarning} == {__file__}


def test_expert_weights_lay_out_each_experts_own_weights():
    """The public way to read the experts (the Experts page read a private
    attribute): feed-forward experts' layers with the expert axis first, layer 0 the
    experts' columns of the input product, on every level of PLE."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3))
    Y = np.c_[X[:, 0], X[:, 1]]
    reg = MMoERegressor(
        n_experts=3, expert_units=(8, 4), max_epochs=2, random_state=0
    ).fit(X, Y)
    weights = reg.expert_weights()
    assert {k: w.shape for k, w in weights.items()} == {
        "weight0": (3, 3, 8),
        "bias0": (3, 1, 8),
        "weight1": (3, 8, 4),
        "bias1": (3, 1, 4),
    }
    module = reg.net_.module_
    # expert 1's first layer is its block of the input product's columns
    np.testing.assert_array_equal(
        weights["weight0"][1], module.input_weight.detach().numpy()[:, 8:16]
    )
    weights["weight0"][:] = 0  # a copy: the model is untouched
    assert module.input_weight.detach().abs().sum() > 0
    ple = MMoERegressor(
        architecture="ple",
        n_levels=2,
        n_experts=2,
        n_task_experts=1,
        expert_units=(4,),
        max_epochs=2,
        random_state=0,
    ).fit(X, Y)
    assert ple.expert_weights(1)["weight0"].shape == (4, 4, 4)  # 2 shared + 2 own
    for level in (2, -1, 1.0, True):
        with pytest.raises(ValueError, match=r"level must be an int in \[0, 2\)"):
            ple.expert_weights(level)
    with pytest.raises(NotFittedError):
        MMoERegressor().expert_weights()


def test_expert_weights_of_transformer_and_module_experts_are_named_by_their_type():
    from torch import nn

    class Linear(nn.Module):
        def __init__(self, n_inputs, n_outputs):
            super().__init__()
            self.layer = nn.Linear(n_inputs, n_outputs)

        def forward(self, x):
            return self.layer(x)

    X = np.random.RandomState(0).normal(size=(60, 3))
    transformer = MMoERegressor(
        expert_type="transformer",
        n_experts=2,
        token_dim=8,
        n_heads=2,
        max_epochs=2,
        random_state=0,
    ).fit(X, X[:, 0])
    weights = transformer.expert_weights()
    assert weights["token_weight"].shape == (3, 8) and weights["cls"].shape[0] == 2
    own = MMoERegressor(
        expert_type=Linear,
        n_experts=2,
        expert_units=(5,),
        max_epochs=2,
        random_state=0,
    ).fit(X, X[:, 0])
    assert {k: w.shape for k, w in own.expert_weights().items()} == {
        "layer__weight": (2, 5, 3),
        "layer__bias": (2, 5),
    }
