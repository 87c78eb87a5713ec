"""Early stopping: the stopping rule, and the best epoch's weights kept and
restored."""

import math

from skorch.callbacks import Callback


class StopTraining(Exception):
    """Raised by :class:`EarlyStopping` to end training early. skorch's own way,
    ``KeyboardInterrupt``, would also swallow a user's Ctrl-C; this leaves it to
    reach the caller."""


class EarlyStopping(Callback):
    """Stops training when the watched loss stalls, and restores the best epoch's
    weights.

    Watches ``valid_loss`` when a validation split exists (and then restores the best
    weights at the end), ``train_loss`` otherwise, as ``MLPClassifier`` does: training
    stops once ``n_iter_no_change`` epochs in a row failed to lower the watched loss by
    more than ``tol``. The weights kept are those the module holds at the end of the
    epoch (the moving average's, where :class:`WeightAveraging` keeps one: it applies
    them for validation). A non-finite training loss ends training with a
    ``ValueError``.

    It stops by raising :class:`StopTraining` from ``on_epoch_end``, as skorch's own
    early stopping does: the callbacks after it hear of that last epoch at
    ``on_train_end`` only (the progress display reports it there), and those
    before it hear of it as of every epoch. Fitted: ``best_``, ``best_epoch_``,
    ``converged_`` (whether it stopped on its own), ``validated_``.

    Parameters
    ----------
    n_iter_no_change : int
        Epochs without improvement before stopping.
    tol : float
        The least improvement that counts.
    restore_best : bool
        Whether the best validated epoch's weights are loaded at the end.
    """

    def __init__(self, n_iter_no_change, tol, restore_best=True):
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best = restore_best

    def on_train_begin(self, net, **kwargs):
        self.best_ = math.inf
        self.best_epoch_ = None
        self.best_state_ = None
        self.no_improvement_ = 0
        self.converged_ = False
        self.validated_ = False

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        row = net.history[-1]
        self.validated_ = dataset_valid is not None
        watched = row["valid_loss"] if self.validated_ else row["train_loss"]
        if not math.isfinite(row["train_loss"]):
            raise ValueError(
                "Training diverged: the loss became non-finite at epoch "
                f"{row['epoch']}. Scale the inputs (and targets) or lower "
                "learning_rate."
            )
        # As in MLPClassifier: patience counts epochs that fail to beat the best by more
        # than tol, while the weights kept are those of the best epoch, however slight.
        self.no_improvement_ = (
            0 if watched < self.best_ - self.tol else self.no_improvement_ + 1
        )
        if watched < self.best_:
            self.best_ = watched
            self.best_epoch_ = row["epoch"]
            if self.restore_best and self.validated_:
                self.best_state_ = _copy_state(
                    net.module_.state_dict(), self.best_state_
                )
        if self.no_improvement_ >= self.n_iter_no_change:
            self.converged_ = True
            raise StopTraining

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # no copy of the weights is kept in the fitted model

    def on_train_abort(self, net):
        """A run that raised keeps no copy of the weights."""
        self.best_state_ = None


def _copy_state(state, into=None):
    """A detached copy of the state dict ``state``, written into ``into`` (a copy of
    the same module's state) when given instead of allocating a new one: a fit that
    improves on most epochs copies its weights that often."""
    if into is None:
        return {key: value.detach().clone() for key, value in state.items()}
    for key, value in state.items():
        into[key].copy_(value)
    return into
