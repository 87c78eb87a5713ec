"""Docstring sections shared by the estimators, written once."""

COMMON_PARAMETERS = """\
    architecture : {"mmoe", "omoe", "shared_bottom"}, default="mmoe"
        ``"mmoe"``: one softmax gate per task over the shared experts (Multi-gate MoE).
        ``"omoe"``: one gate shared by all tasks (One-gate MoE).
        ``"shared_bottom"``: one shared network built from ``expert_units``, no gates;
        ``n_experts`` and ``gate_units`` are then unused.
    n_experts : int, default=8
        Number of experts shared by the tasks.
    expert_units : tuple of int, default=(64,)
        Hidden layer sizes of each expert (at least one layer). All experts of a layer
        are computed by one batched matrix product.
    gate_units : tuple of int, default=()
        Hidden layer sizes of each gate network; ``()`` is the paper's linear softmax
        gate, ``softmax(W x)``.
    tower_units : tuple of int, default=(32,)
        Hidden layer sizes of each task's tower; ``()`` makes each tower a linear layer.
    activation : str, default="relu"
        Activation after every hidden layer: "relu", "tanh", "logistic", "gelu",
        "silu" or "identity".
    dropout : float, default=0.0
        Dropout rate after the hidden layers of the experts and towers, while training.
    learning_rate : float, default=1e-3
        Step size of the AdamW optimiser.
    weight_decay : float, default=0.0
        Decoupled weight decay of AdamW.
    batch_size : int, default=256
        Rows per training step (capped at the number of training rows).
    max_epochs : int, default=200
        Maximum number of passes over the training data.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (a random, unstratified split),
        stop when the validation loss has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs, and restore the weights of the best epoch. Without
        it, training stops when the training loss stalls in the same way, as in
        :class:`~sklearn.neural_network.MLPClassifier`.
    validation_fraction : float, default=0.1
        Fraction of the rows held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement larger than ``tol`` before training stops.
    tol : float, default=1e-4
        Smallest decrease of the watched loss counted as an improvement.
    task_weights : array-like of shape (n_tasks,), default=None
        Weight of each task's loss in the training objective; ``None`` weighs all tasks
        equally.
    device : str or torch.device, default="cpu"
        Device to train and predict on, e.g. ``"cuda"``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation split. With
        an int, two fits are bit-for-bit identical; the caller's global torch random
        state is left untouched either way.
    verbose : int, default=0
        With 1 or more, print one line per epoch: epoch, training loss, validation loss
        and seconds.
    warm_start : bool, default=False
        Continue from the weights of the previous fit (same features, tasks and network)
        instead of starting afresh; ``loss_curve_`` and ``n_iter_`` accumulate.
"""

FITTED_ATTRIBUTES = """\
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the PyTorch module and
        ``net_.history`` the per-epoch record, per-task losses included.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when ``X`` has string column names.
    n_outputs_ : int
        Number of tasks.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training loss (the task-weighted sum) after each epoch.
    validation_scores_ : list of float
        With ``early_stopping``: the negated validation loss after each epoch (higher is
        better, as ``HistGradientBoostingClassifier.validation_score_`` with
        ``scoring="loss"``).
    best_validation_score_ : float
        With ``early_stopping``: the best of ``validation_scores_``, whose weights the
        model keeps.
"""

REFERENCES = """\
    .. [1] J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong and E. H. Chi, "Modeling Task
       Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts",
       KDD 2018, :doi:`10.1145/3219819.3220007`.
"""
