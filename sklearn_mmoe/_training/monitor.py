"""Once per epoch: the stopping rule, the best epoch's weights kept and restored,
and the verbose log."""

import math
import time

from skorch.callbacks import Callback

from .progress import Progress


class StopTraining(Exception):
    """Raised by :class:`EpochMonitor` to end training early. skorch's own way,
    ``KeyboardInterrupt``, would also swallow a user's Ctrl-C; this leaves it to
    reach the caller."""


class EpochMonitor(Callback):
    """Stopping rule, best-weight restoration and the verbose log, once per epoch.

    Watches ``valid_loss`` when a validation split exists (and then restores the best
    weights at the end), ``train_loss`` otherwise, as ``MLPClassifier`` does: training
    stops once ``n_iter_no_change`` epochs in a row failed to lower the watched loss by
    more than ``tol``. With ``verbose``, each epoch's news (its number out of the
    budget, the objective and each task's loss by ``task_names`` on the training and
    validation rows) goes to a :class:`~sklearn_mmoe._training.progress.Progress`, which
    draws a bar or prints lines; the end of training says why it stopped and which
    epoch's weights were kept. ``rows`` (set on the callback before a ``partial_fit``
    pass: the rows of the call and the rows seen so far) makes the pass one line of
    them; ``refit_rows`` (set for a refit) says the run trained again on that many rows;
    ``member`` (set for a member of a cross-fitted ensemble: its number and the
    ensemble's size) says which member the run trained.
    """

    def __init__(
        self,
        n_iter_no_change,
        tol,
        restore_best,
        verbose,
        task_names=None,
        rows=None,
        refit_rows=None,
    ):
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best = restore_best
        self.verbose = verbose
        self.task_names = task_names
        self.rows = rows
        self.refit_rows = refit_rows
        self.member = None

    def on_train_begin(self, net, **kwargs):
        self.best_ = math.inf
        self.best_epoch_ = None
        self.best_state_ = None
        self.no_improvement_ = 0
        self.converged_ = False
        self._validated = False
        self._progress = Progress(
            self.verbose, net.max_epochs, self.task_names, self.rows
        )

    def on_epoch_begin(self, net, **kwargs):
        self._started = time.perf_counter()

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        row = net.history[-1]
        self._validated = dataset_valid is not None
        watched = row["valid_loss"] if self._validated else row["train_loss"]
        if not math.isfinite(row["train_loss"]):
            self._progress.close()
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
            if self.restore_best and self._validated:
                self.best_state_ = net.kept_state_dict(self.best_state_)
        elapsed = time.perf_counter() - self._started
        net.history.record("dur", elapsed)  # skorch's name for an epoch's seconds
        self._progress.epoch(row, self._validated, self.best_epoch_, elapsed)
        if self.no_improvement_ >= self.n_iter_no_change:
            self.converged_ = True
            raise StopTraining

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # no copy of the weights is kept in the fitted model
        self._progress.close(self._summary(net) if len(net.history) else None)
        self._progress = None

    def __getstate__(self):
        # The news of a run in progress (its stream, a bar) is not part of the model.
        state = self.__dict__.copy()
        state.pop("_progress", None)
        return state

    def _summary(self, net):
        """Why training stopped and which epoch's weights were kept (and, for a
        member of a cross-fitted ensemble, which one)."""
        said = self._why(net)
        if self.member is None:
            return said
        k, n = self.member
        return f"member {k + 1} of {n} (fold {k + 1} held out): {said}"

    def _why(self, net):
        last = net.history[-1]["epoch"]
        if self.refit_rows is not None:
            return (
                f"trained again on all {self.refit_rows:,} rows for the {last} "
                "epochs the held-out rows chose (refit)."
            )
        watched = "validation" if self._validated else "training"
        why = (
            f"the {watched} loss did not improve by more than tol={self.tol} for "
            f"{self.n_iter_no_change} epochs"
            if self.converged_
            else "the epoch budget ran out"
        )
        kept = (
            f"kept the weights of epoch {self.best_epoch_}, the best validation "
            f"loss ({self.best_:.4f})"
            if self._validated and self.restore_best
            else f"kept the weights of the last epoch ({last})"
        )
        return f"stopped after epoch {last}: {why}; {kept}."
