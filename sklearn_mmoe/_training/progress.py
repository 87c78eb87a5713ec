"""What ``verbose`` shows while a model trains.

- ``verbose=1``: one progress bar for the fit (tqdm) in a terminal or a Jupyter
  notebook, within 80 columns: epochs done out of the budget, elapsed and remaining
  time, and the latest training and validation objective, updated in place; about ten
  times per fit, a line above it gives each task's training and validation loss by
  name. Written to anything else (a log file, CI), the same news comes as plain lines,
  about ten per fit and never a control character;
- ``verbose=2`` (or more): one line per epoch;
- both end with a line that says why training stopped and which weights were kept, and
  a ``partial_fit`` call (one pass over a chunk of a stream) prints one line with the
  rows seen so far.

:class:`Progress` writes the news; :class:`ProgressDisplay` is the training's
callback that hands it each epoch, and :class:`FitCount` counts a search's fits.
"""

import math
import sys
import time

from skorch.callbacks import Callback

# verbose=1 off a terminal prints about this many lines per fit.
_PLAIN_LINES = 10


def _interactive(stream):
    """Whether ``stream`` shows a bar that redraws in place: a terminal, or the
    output of a Jupyter kernel."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None:
        try:
            if isatty():
                return True
        except (ValueError, OSError):  # a closed or detached stream
            return False
    return type(stream).__module__.startswith("ipykernel")


def _losses(row, prefix, names):
    tasks = row[prefix + "_task_losses"]
    names = names or [f"task{t}" for t in range(len(tasks))]
    per_task = ", ".join(f"{n} {v:.4f}" for n, v in zip(names, tasks))
    return f"{prefix} {row[prefix + '_loss']:.4f} ({per_task})"


def _per_task(row, validated, names):
    """Each task's training (and validation) loss by name: ``"spend 0.2311 / 0.2455,
    buys 0.4123 / 0.4501 (train / valid loss)"``."""
    train = row["train_task_losses"]
    names = names or [f"task{t}" for t in range(len(train))]
    if not validated:
        per_task = [f"{n} {v:.4f}" for n, v in zip(names, train)]
        return ", ".join(per_task) + " (train loss)"
    valid = row["valid_task_losses"]
    per_task = [f"{n} {a:.4f} / {b:.4f}" for n, a, b in zip(names, train, valid)]
    return ", ".join(per_task) + " (train / valid loss)"


def _clock(seconds):
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    )


class Progress:
    """The news of one training run (a fit, or one ``partial_fit`` pass).

    Parameters
    ----------
    verbose : int
        0: nothing; 1: a bar (plain lines off a terminal); 2 or more: a line per epoch.
    total : int
        The epoch budget.
    task_names : list of str or None
        How the losses name the tasks.
    rows : tuple of (int, int) or None
        For a ``partial_fit`` pass: the rows of this call and the rows seen so far
        (this call's included); the pass then prints one line of them.
    stream : file-like or None
        Where to write; ``sys.stdout`` (as it is when training starts) if None.
    """

    def __init__(self, verbose, total, task_names=None, rows=None, stream=None):
        self.verbose = int(verbose)
        self.total = max(int(total), 1)
        self.task_names = task_names
        self.rows = rows
        self.stream = sys.stdout if stream is None else stream
        self.started = time.perf_counter()
        self.bar = None
        if self.verbose == 1 and rows is None and _interactive(self.stream):
            self.bar = self._new_bar()

    def _new_bar(self):
        if type(self.stream).__module__.startswith("ipykernel"):
            from tqdm.auto import tqdm  # the notebook widget where ipywidgets is
        else:
            from tqdm import tqdm
        return tqdm(
            total=self.total,
            unit="epoch",
            file=self.stream,
            dynamic_ncols=True,
            leave=True,
            # within 80 columns: the objective only; each task's losses go on lines
            # of their own above the bar
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"
            "{postfix}",
        )

    def _print(self, line):
        print(line, file=self.stream, flush=True)

    def epoch(self, row, validated, best_epoch, seconds):
        """Report the epoch just ended: its ``net.history`` row, whether it was
        validated, the best epoch so far and the epoch's seconds."""
        if not self.verbose:
            return
        losses = [_losses(row, "train", self.task_names)]
        if validated:
            losses.append(_losses(row, "valid", self.task_names))
        if self.rows is not None:
            n_call, n_seen = self.rows
            self._print(
                f"partial_fit: {n_call} rows, {n_seen} rows seen, "
                + ", ".join(losses)
                + f", {seconds:.2f} s"
            )
            return
        epoch = row["epoch"]
        if self.bar is not None:
            objective = f"train {row['train_loss']:.4f}"
            if validated:
                objective += f" valid {row['valid_loss']:.4f}"
            self.bar.set_postfix_str(objective, refresh=False)
            self.bar.update(1)
            if self._reports(epoch):
                self.bar.write(
                    f"epoch {epoch}/{self.total}: "
                    + _per_task(row, validated, self.task_names),
                    file=self.stream,
                )
            return
        if self.verbose >= 2:
            parts = [f"epoch {epoch:>4}/{self.total}", *losses]
            parts += [f"best epoch {best_epoch}", f"{seconds:.2f} s"]
            self._print(", ".join(parts))
            return
        if self._reports(epoch):
            elapsed = time.perf_counter() - self.started
            left = elapsed / epoch * (self.total - epoch)
            self._print(
                f"epoch {epoch}/{self.total}, "
                + ", ".join(losses)
                + f", elapsed {_clock(elapsed)}, at most {_clock(left)} left"
            )

    def _reports(self, epoch):
        """Whether ``epoch`` is one of the about ten a fit reports on a line."""
        every = math.ceil(self.total / _PLAIN_LINES)
        return epoch == 1 or epoch % every == 0 or epoch == self.total

    def close(self, summary=None):
        """End the bar (where one is drawn) and print ``summary``."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.verbose and summary is not None and self.rows is None:
            self._print(summary)


class FitCount:
    """The news of a run of many fits (:func:`sklearn_mmoe.compare_joint_training`):
    what it will cost, said before the first fit, then a bar over the fits in a
    terminal or a notebook, or a line per ``group`` of fits (a fold) elsewhere.

    Parameters
    ----------
    verbose : int
        0: nothing; 1 or more: the cost, then the progress.
    total : int
        The fits to come.
    what : str
        What they are, for the first line.
    group : int
        Fits per line off a terminal.
    stream : file-like or None
        Where to write; ``sys.stdout`` if None.
    """

    def __init__(self, verbose, total, what, group, stream=None):
        self.verbose = int(verbose)
        self.total, self.group, self.done = total, group, 0
        self.stream = sys.stdout if stream is None else stream
        self.started = time.perf_counter()
        self.bar = None
        if not self.verbose:
            return
        print(f"{total} fits: {what}", file=self.stream, flush=True)
        if _interactive(self.stream):
            self.bar = Progress(1, total, stream=self.stream)._new_bar()
            self.bar.unit = "fit"

    def fitted(self):
        """One more fit is done."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.verbose and (self.done % self.group == 0 or self.done == self.total):
            elapsed = time.perf_counter() - self.started
            left = elapsed / self.done * (self.total - self.done)
            print(
                f"{self.done}/{self.total} fits, elapsed {_clock(elapsed)}, "
                f"about {_clock(left)} left",
                file=self.stream,
                flush=True,
            )

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class ProgressDisplay(Callback):
    """The news of a training run, by :class:`Progress`: each epoch as
    :class:`~sklearn_mmoe._training.monitor.EarlyStopping` (the callback named
    ``"stopping"``, before this one) judged it, and at the end why training stopped
    and which epoch's weights were kept.

    Parameters
    ----------
    verbose : int
        As :class:`Progress` takes it.
    task_names : list of str or None
        How the losses name the tasks.
    rows : tuple of (int, int) or None
        For a ``partial_fit`` pass: the rows of the call and the rows seen so far.
    refit_rows : int or None
        For a refit: the rows it trains on again.
    member : tuple of (int, int) or None
        For a member of a cross-fitted ensemble: its number and the ensemble's size.
    """

    def __init__(
        self, verbose, task_names=None, rows=None, refit_rows=None, member=None
    ):
        self.verbose = verbose
        self.task_names = task_names
        self.rows = rows
        self.refit_rows = refit_rows
        self.member = member

    def on_train_begin(self, net, **kwargs):
        self._progress = Progress(
            self.verbose, net.max_epochs, self.task_names, self.rows
        )
        self._reported = len(net.history)

    def on_epoch_end(self, net, **kwargs):
        self._report(net)

    def on_train_end(self, net, **kwargs):
        if len(net.history) > self._reported:  # the epoch that stopped training
            self._report(net)
        self._progress.close(self._summary(net) if len(net.history) else None)
        self._progress = None

    def on_train_abort(self, net):
        """End the bar of a run that raised (no summary)."""
        if getattr(self, "_progress", None) is not None:
            self._progress.close()
            self._progress = None

    def __getstate__(self):
        # The news of a run in progress (its stream, a bar) is not part of the model.
        state = self.__dict__.copy()
        state.pop("_progress", None)
        return state

    def _report(self, net):
        row, stopping = net.history[-1], dict(net.callbacks_)["stopping"]
        self._progress.epoch(row, stopping.validated_, stopping.best_epoch_, row["dur"])
        self._reported = len(net.history)

    def _summary(self, net):
        """Why training stopped and which epoch's weights were kept (and, for a
        member of a cross-fitted ensemble, which one)."""
        said = self._why(net, dict(net.callbacks_)["stopping"])
        if self.member is None:
            return said
        k, n = self.member
        return f"member {k + 1} of {n} (fold {k + 1} held out): {said}"

    def _why(self, net, stopping):
        last = net.history[-1]["epoch"]
        if self.refit_rows is not None:
            return (
                f"trained again on all {self.refit_rows:,} rows for the {last} "
                "epochs the held-out rows chose (refit)."
            )
        watched = "validation" if stopping.validated_ else "training"
        why = (
            f"the {watched} loss did not improve by more than tol={stopping.tol} for "
            f"{stopping.n_iter_no_change} epochs"
            if stopping.converged_
            else "the epoch budget ran out"
        )
        kept = (
            f"kept the weights of epoch {stopping.best_epoch_}, the best validation "
            f"loss ({stopping.best_:.4f})"
            if stopping.validated_ and stopping.restore_best
            else f"kept the weights of the last epoch ({last})"
        )
        return f"stopped after epoch {last}: {why}; {kept}."
