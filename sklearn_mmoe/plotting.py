"""Pictures of a fitted model: what the gates learned, and how each task trained.

Both displays follow scikit-learn's ``Display`` convention (as
:class:`~sklearn.metrics.ConfusionMatrixDisplay`): build one with ``from_estimator``,
or from the numbers with the constructor and then ``plot``; the matplotlib objects are
kept as ``ax_``, ``figure_`` and friends. matplotlib is an optional dependency
(``pip install "sklearn-mmoe[plot]"``), imported only when a display draws.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._utils.pipeline import final_estimator, input_transform

__all__ = ["GateWeightsDisplay", "LossCurvesDisplay"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sklearn_mmoe.plotting needs matplotlib; install it with "
            "pip install 'sklearn-mmoe[plot]'."
        ) from exc
    return plt


def _axes(ax):
    if ax is None:
        # The tight layout engine keeps rotated tick labels and the colorbar inside
        # the figure at every draw, also when it is saved without bbox_inches="tight"
        # (and a later plt.tight_layout() call agrees with it).
        _, ax = _pyplot().subplots(layout="tight")
    else:
        _pyplot()  # the same clear error when matplotlib is missing
    return ax


def _task_names(task_names, n_tasks):
    if task_names is None:
        return [f"task {t}" for t in range(n_tasks)]
    names = [str(name) for name in task_names]
    if len(names) != n_tasks:
        raise ValueError(
            f"task_names must name {n_tasks} tasks; got {len(names)}: {names!r}."
        )
    return names


def _fitted_task_names(estimator, task_names):
    """The labels given, else the fitted estimator's ``task_names_``."""
    if task_names is not None:
        return task_names
    names = getattr(estimator, "task_names_", None)
    return None if names is None else [str(n) for n in names]


def _expert_names(estimator):
    """The fitted network's labels of the experts each task's gate mixes."""
    return estimator.net_.module_.expert_labels()


class GateWeightsDisplay:
    """Heatmap of the mean weight each task's gate gives each expert.

    Parameters
    ----------
    weights : ndarray of shape (n_tasks, n_experts)
        Mean gate weight per task (rows) and expert (columns).
    task_names : list of str, default=None
        Row labels; ``"task 0"``, ``"task 1"``, ... when None.
    expert_names : list of str, default=None
        Column labels; ``"expert 0"``, ... when None.

    Attributes
    ----------
    im_ : matplotlib.image.AxesImage
        The heatmap.
    text_ : ndarray of matplotlib.text.Text or None
        The annotations, when ``annotate`` was set.
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding ``ax_``.

    See Also
    --------
    MMoEClassifier.gate_weights : The per-sample weights this averages.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe import MMoERegressor
    >>> from sklearn_mmoe.plotting import GateWeightsDisplay
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4))
    >>> Y = np.column_stack([X[:, 0], X[:, 1] * X[:, 2]])
    >>> reg = MMoERegressor(n_experts=4, max_epochs=20, random_state=0).fit(X, Y)
    >>> display = GateWeightsDisplay.from_estimator(reg, X, task_names=["a", "b"])
    >>> display.weights.shape
    (2, 4)
    """

    def __init__(self, weights, *, task_names=None, expert_names=None):
        self.weights = weights
        self.task_names = task_names
        self.expert_names = expert_names

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        task_names=None,
        ax=None,
        cmap="viridis",
        annotate=True,
    ):
        """Average ``estimator.gate_weights(X)`` over the samples and plot it.

        Parameters
        ----------
        estimator : MMoEClassifier or MMoERegressor
            A fitted estimator (or a Pipeline ending in one).
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples whose gate weights are averaged.
        task_names : list of str, default=None
            Row labels; the estimator's ``task_names_`` (a DataFrame ``y``'s column
            names) when None.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure when None.
        cmap : str or matplotlib colormap, default="viridis"
            Colormap of the heatmap.
        annotate : bool, default=True
            Write each weight in its cell.

        Returns
        -------
        display : GateWeightsDisplay
        """
        final, transform = final_estimator(estimator), input_transform(estimator)
        check_is_fitted(final, "net_")
        X = transform(X)
        weights = final.gate_weights(X).mean(axis=0)
        display = cls(
            weights,
            task_names=_fitted_task_names(final, task_names),
            expert_names=_expert_names(final),
        )
        return display.plot(ax=ax, cmap=cmap, annotate=annotate)

    def plot(self, *, ax=None, cmap="viridis", annotate=True):
        """Draw the heatmap.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure when None.
        cmap : str or matplotlib colormap, default="viridis"
            Colormap of the heatmap.
        annotate : bool, default=True
            Write each weight in its cell.

        Returns
        -------
        display : GateWeightsDisplay
            ``self``, with ``im_``, ``text_``, ``ax_`` and ``figure_`` set.
        """
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.ndim != 2:
            raise ValueError(
                f"weights must be 2-D (n_tasks, n_experts); got shape {weights.shape}."
            )
        n_tasks, n_experts = weights.shape
        tasks = _task_names(self.task_names, n_tasks)
        experts = self.expert_names or [f"expert {e}" for e in range(n_experts)]
        ax = _axes(ax)
        self.im_ = ax.imshow(weights, cmap=cmap, vmin=0.0, aspect="auto")
        ax.figure.colorbar(self.im_, ax=ax, label="mean gate weight")
        ax.set_xticks(range(n_experts), experts, rotation=45, ha="right")
        ax.set_yticks(range(n_tasks), tasks)
        ax.set_xlabel("expert")
        ax.set_ylabel("task")
        self.text_ = None
        if annotate:
            middle = weights.max() / 2
            self.text_ = np.empty_like(weights, dtype=object)
            for (t, e), w in np.ndenumerate(weights):
                color = "black" if w > middle else "white"
                self.text_[t, e] = ax.text(
                    e, t, f"{w:.2f}", ha="center", va="center", color=color
                )
        self.ax_, self.figure_ = ax, ax.figure
        return self


class LossCurvesDisplay:
    """Each task's training loss per epoch, and its validation loss when recorded.

    Parameters
    ----------
    train : ndarray of shape (n_epochs, n_tasks)
        Training loss of each task after each epoch.
    validation : ndarray of shape (n_epochs, n_tasks), default=None
        Validation loss of each task after each epoch (drawn dashed).
    task_names : list of str, default=None
        Legend labels; ``"task 0"``, ``"task 1"``, ... when None.

    Attributes
    ----------
    lines_ : list of matplotlib.lines.Line2D
        The training curves, one per task.
    validation_lines_ : list of matplotlib.lines.Line2D or None
        The validation curves, when given.
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding ``ax_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe import MMoERegressor
    >>> from sklearn_mmoe.plotting import LossCurvesDisplay
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4))
    >>> Y = np.column_stack([X[:, 0], X[:, 1] * X[:, 2]])
    >>> reg = MMoERegressor(max_epochs=10, early_stopping=True, random_state=0)
    >>> display = LossCurvesDisplay.from_estimator(reg.fit(X, Y))
    >>> len(display.lines_), len(display.validation_lines_)
    (2, 2)
    """

    def __init__(self, train, *, validation=None, task_names=None):
        self.train = train
        self.validation = validation
        self.task_names = task_names

    @classmethod
    def from_estimator(cls, estimator, *, task_names=None, ax=None, log_scale=False):
        """Plot the fitted estimator's ``task_loss_curves_`` (and
        ``task_validation_curves_`` when it was fitted with early stopping).

        Parameters
        ----------
        estimator : MMoEClassifier or MMoERegressor
            A fitted estimator (or a Pipeline ending in one).
        task_names : list of str, default=None
            Legend labels; the estimator's ``task_names_`` (a DataFrame ``y``'s
            column names) when None.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure when None.
        log_scale : bool, default=False
            Draw the loss axis on a log scale.

        Returns
        -------
        display : LossCurvesDisplay
        """
        final = final_estimator(estimator)
        check_is_fitted(final, "task_loss_curves_")
        display = cls(
            final.task_loss_curves_,
            validation=getattr(final, "task_validation_curves_", None),
            task_names=_fitted_task_names(final, task_names),
        )
        return display.plot(ax=ax, log_scale=log_scale)

    def plot(self, *, ax=None, log_scale=False):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure when None.
        log_scale : bool, default=False
            Draw the loss axis on a log scale.

        Returns
        -------
        display : LossCurvesDisplay
            ``self``, with ``lines_``, ``validation_lines_``, ``ax_`` and ``figure_``.
        """
        train = np.asarray(self.train, dtype=np.float64)
        if train.ndim != 2:
            raise ValueError(
                f"train must be 2-D (n_epochs, n_tasks); got shape {train.shape}."
            )
        validation = self.validation
        if validation is not None:
            validation = np.asarray(validation, dtype=np.float64)
            if validation.shape != train.shape:
                raise ValueError(
                    f"validation has shape {validation.shape}; expected "
                    f"{train.shape}, the shape of train."
                )
        names = _task_names(self.task_names, train.shape[1])
        ax = _axes(ax)
        epochs = np.arange(1, len(train) + 1)
        self.lines_, self.validation_lines_ = [], None
        for t, name in enumerate(names):
            (line,) = ax.plot(epochs, train[:, t], label=f"{name} (train)")
            self.lines_.append(line)
        if validation is not None:
            self.validation_lines_ = [
                ax.plot(
                    epochs,
                    validation[:, t],
                    linestyle="--",
                    color=line.get_color(),
                    label=f"{name} (validation)",
                )[0]
                for t, (name, line) in enumerate(zip(names, self.lines_))
            ]
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self
