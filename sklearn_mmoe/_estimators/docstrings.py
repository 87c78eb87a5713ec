"""Docstring sections shared by the estimators, written once; the values a variant
parameter accepts, and what each does, come from its registry."""

import textwrap

from .._network.architectures import ARCHITECTURES
from .._network.experts import EXPERT_TYPES
from .._network.gates import GATE_TYPES


def _entry(head, docs):
    """A numpydoc parameter entry: its ``head`` line, then each of ``docs`` as a
    paragraph wrapped under it."""
    lines = [f"    {head}"]
    for doc in docs:
        lines += textwrap.wrap(
            doc,
            width=88,
            initial_indent=" " * 8,
            subsequent_indent=" " * 8,
            break_on_hyphens=False,
        )
    return "\n".join(lines) + "\n"


def _choices(name, registry, default, other=None, other_doc=None):
    """A numpydoc parameter entry for ``name``, whose values are ``registry``'s keys,
    each documented by its entry's ``doc`` (and ``other``, another kind of value,
    documented by ``other_doc``)."""
    keys = ", ".join(f'"{key}"' for key in registry)
    kinds = f"{{{keys}}}" + (f" or {other}" if other else "")
    docs = [f'``"{key}"``: {entry.doc}' for key, entry in registry.items()]
    return _entry(f'{name} : {kinds}, default="{default}"', docs + [other_doc or ""])


def _own_parameters(registry):
    """Numpydoc entries of the parameters that ``registry``'s variants declare
    (``parameters``: name -> (default, constraints, type, documentation))."""
    return "".join(
        _entry(f"{name} : {kind}, default={default!r}", [doc])
        for variant in registry.values()
        for name, (default, _, kind, doc) in variant.parameters.items()
    )


_MODULE_EXPERTS = (
    "A ``torch.nn.Module`` subclass of your own: each expert is built as "
    "``cls(n_inputs, n_outputs, **expert_options)``, with ``n_outputs`` the last of "
    "``expert_units``, and must map ``(n_rows, n_inputs)`` to ``(n_rows, "
    "n_outputs)``; the experts' parameters are stacked and all of them run as one "
    "computation (``torch.func.vmap``). On the first level ``n_inputs`` is the "
    "encoded input's width (numeric encoding, missing-value indicators, "
    "embeddings). Such a model predicts in PyTorch only, and is saved with pickle, "
    "not :func:`~sklearn_mmoe.save` or :func:`~sklearn_mmoe.to_onnx`."
)


COMMON_PARAMETERS = (
    _choices("architecture", ARCHITECTURES, "mmoe")
    + """\
    n_experts : int, default=8
        Number of experts shared by the tasks (per level for ``"ple"``).
    expert_units : tuple of int, default=(64,)
        Hidden layer sizes of each expert (at least one layer); the last size is the
        width of what the experts pass on. All experts of a layer are computed by one
        batched matrix product, whatever their depth.
"""
    + _choices(
        "expert_type",
        EXPERT_TYPES,
        "mlp",
        other="torch.nn.Module subclass",
        other_doc=_MODULE_EXPERTS,
    )
    + """\
    expert_options : dict, default=None
        Keyword arguments of the constructor of an ``expert_type`` of your own
        module class; refused with a registered ``expert_type``.
"""
    + _own_parameters(EXPERT_TYPES)
    + """\
    gate_units : tuple of int, default=()
        Hidden layer sizes of each gate network; ``()`` is the paper's linear softmax
        gate, ``softmax(W x)``.
"""
    + _choices("gate_type", GATE_TYPES, "softmax")
    + """\
    top_k : int, default=None
        Sparse gating: each gate mixes only its ``top_k`` highest-scoring experts per
        sample, renormalised over those (Shazeer et al., 2017). At most the number of
        experts a gate sees. ``None`` mixes all of them.
    balance_weight : float, default=0.0
        Weight of an auxiliary loss that keeps gates from collapsing onto a few
        experts: the squared coefficient of variation of each gate's total weight per
        expert over a batch, averaged over gates. Added to the training objective only.
    n_task_experts : int, default=1
        Experts of each task's own, per level, for ``"ple"``; ignored otherwise.
    n_levels : int, default=1
        Number of extraction levels, for ``"ple"``; ignored otherwise.
    tower_units : tuple of int, default=(32,)
        Hidden layer sizes of each task's tower; ``()`` makes each tower a linear layer.
    activation : str, default="relu"
        Activation after every hidden layer: "relu", "tanh", "logistic", "gelu",
        "silu" or "identity".
    dropout : float, default=0.0
        Dropout rate after the hidden layers of the experts and towers, while training.
    ensemble_size : int, default=1
        Members of an efficient ensemble inside the one network (TabM-mini,
        Gorishniy et al., 2025): each member multiplies the network's input
        (numeric columns and embeddings) by its own learned vector, initialised to
        random signs, and has its own task towers; the embeddings, experts and gates
        are shared. Each member is trained on its own loss (the mean over members is
        minimised), and the model predicts the members' mean probability (mean value
        for regression), which also is what early stopping scores. Averaging members
        reduces the variance of a single network's predictions much as averaging
        separately trained networks does, at the cost of running every batch through
        the network ``ensemble_size`` times. ``1`` is the plain network.
    learning_rate : float, default=1e-3
        Peak step size of the AdamW optimiser.
    learning_rate_schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"``: the learning rate rises linearly from ``learning_rate / w`` to
        ``learning_rate`` over the first ``w`` steps (5% of the budget of ``max_epochs``
        epochs, at least one step), then falls along half a cosine to 0 at the last
        step of the budget, as the strongest tabular networks train (RealMLP, TabM).
        ``"constant"``: ``learning_rate`` at every step.
    weight_decay : float, default=0.0
        Decoupled weight decay of AdamW.
    ema_decay : float, default=None
        Keep an exponential moving average of the weights (Polyak averaging), updated
        after every optimiser step with decay ``min(ema_decay, (1 + t) / (10 + t))`` at
        step ``t`` (the ramp keeps the average from clinging to the initial weights).
        The averaged weights are the ones early stopping scores on the validation rows
        and the ones the fitted model keeps. An average over the last ``1 / (1 -
        ema_decay)`` steps or so smooths out the noise of the final steps; 0.99 to
        0.999 are typical. ``None`` keeps the weights of the last step (or of the best
        epoch) as they are.
    batch_size : int or "auto", default="auto"
        Rows per training step (capped at the number of training rows). ``"auto"``:
        256.
    max_epochs : int or "auto", default="auto"
        Maximum number of passes over the training data. ``"auto"`` sets a budget in
        optimiser steps rather than epochs, so that 20 rows and 1,000,000 rows alike
        get a well-trained network: two steps per training row, at least 100 and at most
        2,000 steps, and at least 10 epochs (see the user guide, "What the estimator
        does without being asked").
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the rows (a random, unstratified split),
        stop when the validation loss has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs, and restore the weights of the best epoch. Without
        it, training stops when the training loss stalls in the same way, as in
        :class:`~sklearn.neural_network.MLPClassifier`. ``"auto"``: on from 20
        training rows (distinct rows, after merging repeats); below 1,000 of them an
        ``"auto"`` budget waits a third of its epochs (at least ``n_iter_no_change``)
        for a better validation loss, since a small table's epoch is one or two
        steps, too short a unit of patience; from 1,000 on, or with an int
        ``max_epochs``, it waits ``n_iter_no_change`` epochs. Below 20 rows nothing
        is held out.
    validation_fraction : float or "auto", default="auto"
        Fraction of the rows held out for early stopping (and for the shrinkage of
        each regression and count task's output). ``"auto"``: 0.2 below 5,000
        (distinct) training rows, where 10 % chose them too noisily, and 0.1 from
        5,000 on, as :class:`~sklearn.neural_network.MLPClassifier`.
    refit : bool or "auto", default=False
        Once early stopping has chosen the epochs on the held-out rows, train the
        network again, from the same initial weights, on every row for that many
        epochs at the learning rates they had, and keep the shrinkage chosen on the
        held-out rows: the model kept has seen every row. A fit costs up to twice
        as much. ``n_iter_``, ``loss_curve_`` and the validation record stay the
        selection fit's (how the epochs were chosen); the refit trains the best
        epoch's number of them. Without early stopping there is nothing to refit.
        ``"auto"``: below 5,000 (distinct) training rows, where a fifth of the rows
        is held out (on the defaults suite's tables of that size it raised most
        tasks where the defaults trailed, at the cost of a longer fit: see the user
        guide, "What the estimator does without being asked"). With ``n_cv``,
        each member is trained again on every row for its own epochs.
    n_cv : int, default=1
        Members of a cross-fitted ensemble: from 2 on, the training rows (distinct
        rows, after merging repeats) are split into ``n_cv`` folds at random, and
        one network is trained per fold on the other folds, stopped early on its
        own (``validation_fraction`` is then ``1 / n_cv``, and its output's
        shrinkage chosen there); the model predicts with the members' mean class
        probabilities, values or expected counts, and keeps each training row's
        out-of-fold prediction (``oof_prediction_``). A fit costs about ``n_cv``
        times one network's. pytabkit's ``n_cv``, AutoGluon's bagging. 1: a single
        network. It needs early stopping: ``early_stopping=False`` with ``n_cv > 1``
        is an error, and below 20 rows (where ``"auto"`` holds nothing out) one
        network is trained. ``partial_fit`` on an unfitted estimator trains a single
        network (a stream has no folds); after a cross-fitted ``fit``, each call
        trains every member one pass over its rows (each member on its own loss, as
        the members of ``ensemble_size``), the optimiser's state starting afresh
        with the first call.
    n_iter_no_change : int, default=20
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
        What training shows. 0: nothing. 1: one progress bar for the fit in a
        terminal or a Jupyter notebook, within 80 columns (epochs done out of the
        budget, elapsed and remaining time, the latest training and validation
        objective), with each task's losses by name on a line above it about ten
        times per fit; or, written to a file or a CI log, about ten plain lines per
        fit. 2 or more: one line per epoch (epoch, training and validation losses,
        best epoch, seconds). Both end with why training stopped and which epoch's
        weights were kept; each ``partial_fit`` call prints one line with the rows
        seen so far. The user guide's "The model" page says what each figure is.
    warm_start : bool, default=False
        Continue from the weights of the previous fit (same features, tasks and network)
        instead of starting afresh; ``loss_curve_`` and ``n_iter_`` accumulate.
    missing_labels : {"raise", "ignore"}, default="raise"
        What a missing label (NaN, or None in an object ``y``) means. ``"raise"``: an
        error. ``"ignore"``: the entry is left out of its task's loss (training and
        validation) and of its task's score, while the row still trains the other
        tasks; rows missing every label are dropped, and a classifier's label sets are
        those of the labels present.
    categorical_features : array-like of {int, str, bool}, "from_dtype" or None, \
default="from_dtype"
        Which input columns are categorical, as in
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`: column indices,
        feature names, a boolean mask, or ``"from_dtype"`` for the pandas category,
        object and string columns of a DataFrame (none for other inputs). The estimator
        encodes them itself, so a DataFrame goes straight in: each column's categories
        seen in training get a learned embedding, concatenated with the numeric
        columns before the experts and gates. A missing value (NaN, None) is a category
        of its own; a category not seen in training maps to a reserved embedding
        (all zeros, unless infrequent categories share it: ``min_frequency``,
        ``max_categories``), never an error. Categorical input must be dense.
    embedding_dim : int or "auto", default="auto"
        Width of each categorical column's embedding; ``"auto"`` gives a column with
        ``n`` categories ``round(1.6 * (n + 2) ** 0.56)`` values (at most 50), the
        rule of thumb of fast.ai's tabular models.
    numeric_encoding : {"auto", "robust", "standard", "piecewise"} or None, \
default="auto"
        How the numeric (non-categorical) columns are encoded inside the network, with
        statistics of the training rows (weighted by ``sample_weight``) that ``predict``
        applies as well, so that no scaler is needed in front. ``"robust"``: subtract
        each column's median, divide by its interquartile range (half its range where
        that is 0; a constant column reads 0), then clip smoothly to about +-3, which
        keeps heavy tails and outliers bounded. ``"standard"``: subtract the mean,
        divide by the standard deviation. ``"piecewise"``: piecewise-linear encoding
        (Gorishniy et al., 2022) over up to 32 bins per column placed by a decision tree
        on the targets, as :class:`~sklearn_mmoe.preprocessing.PiecewiseLinearEncoder`
        with ``strategy="tree"``. ``"auto"``: ``"piecewise"`` when there are at least
        100 training rows per numeric column and the code is at most 512 inputs wide
        (the bins of all numeric columns: its training epoch costs a larger multiple
        of robust scaling's the wider it is, measured in the user guide's "What the
        estimator does without being asked"), ``"robust"`` otherwise. ``None``: the
        numbers go in as given. Under every encoding a missing value (NaN) is taken
        natively, as :class:`~sklearn.ensemble.HistGradientBoostingClassifier` takes
        it: it reads as its column's training median, and each column that had missing
        values in training gets an indicator input (1 where the value was missing).
        ``None`` refuses NaN.
    min_frequency : int, float or None, default=None
        Categories seen in fewer training rows than this (an int: a count; a float
        in (0, 1): a fraction of the rows) are infrequent, as in
        :class:`~sklearn.preprocessing.OneHotEncoder`: they share one code, the code
        of the categories never seen in training, so rare ids (users, items) pool
        what they say and a new id at ``predict`` gets what the rare ones learned
        rather than an untrained code. None: every category is kept. Counted on the
        first fit (a continuing ``partial_fit`` keeps the categories).
    max_categories : int or None, default=None
        At most this many codes per categorical column, the shared infrequent code
        included: beyond ``max_categories - 1`` categories the least frequent are
        infrequent (ties broken as :class:`~sklearn.preprocessing.OneHotEncoder`
        does). None: no limit.
    hash_buckets : dict or None, default=None
        Open vocabularies: ``{column: n_buckets}`` (a categorical column's name or
        index) hashes that column's values to ``n_buckets`` codes instead of
        learning its categories, so that a value never seen before, a new user in a
        ``partial_fit`` stream say, gets a code like any other, and a column may
        hold any number of distinct values (a column of learned categories holds at
        most 2**24). Values that share a bucket share its embedding; size it to a
        few times the values you expect. The hash is SipHash-2-4 of the value's
        text (:func:`pandas.util.hash_array`), the same in every process.
        ``min_frequency`` and ``max_categories`` do not apply to a hashed column.
    interactions : bool or "auto", default="auto"
        A wide part beside the experts, for tables of ids (users, items): every
        categorical code gets a learned bias on every task's output, and every pair
        of id columns (categorical columns of at least 100 categories) a
        factorisation machine's product of the two codes' learned factors (width
        ``interaction_dim``, shared by the tasks, each task weighing each pair's
        product), added to each regression, count and binary task's output (a
        multiclass task gets the biases only). MLP experts over id embeddings learn
        a user x item product poorly (Rendle et al., 2020); the wide part gives it
        explicitly. ``"auto"``: on where a categorical column has at least 100
        categories. The codes' rows (embeddings, biases, factors) then learn at 3
        times ``learning_rate``, without ``weight_decay``, shrunk by
        ``embedding_l2``.
    interaction_dim : int, default=32
        Width of every id code's factor in the wide part's products.
    embedding_l2 : float or "auto", default="auto"
        Weight of a penalty on the squared norms of the embedding, bias and factor
        rows each training row reads, averaged over the batch: a code is shrunk
        each time it is seen, as stochastic gradient descent on a factorisation
        machine regularises it, so that a rarely seen id keeps little of what its
        few rows say. ``"auto"``: 0.05 where ``interactions`` is on, 0 otherwise.
    text_features : array-like of {int, str, bool}, "auto" or None, default="auto"
        Which input columns are text (reviews, descriptions, remarks), as
        ``categorical_features`` names columns. ``"auto"``: a DataFrame's column of
        strings (object or string dtype, not category) whose present values are at
        least half distinct with a median of at least 3 words, unless
        ``categorical_features`` names it; a fit where ``"auto"`` takes a column
        warns (``TextColumnsWarning``). ``None``: no text (a string column is then a
        category). A column named both text and categorical is a ``ValueError``. A
        missing text is a token of its own, never an error. Text input must be
        dense. See the user guide's "Text columns".
    text_encoder : {"hashed", "wordllama", "transformers"}, default="hashed"
        What reads a text. ``"hashed"``: a learned bag of hashed word n-grams
        (fastText's), its mean vector beside the other inputs and each token's
        learned weight on every task's output; nothing extra needed.
        ``"wordllama"``: the mean of WordLlama's pretrained token vectors (``pip
        install "sklearn-mmoe[text]"``), frozen unless ``text_options`` say
        ``fine_tune``. ``"transformers"``: a Hugging Face BERT-class encoder read from
        ``text_options``' ``path`` (a local directory or the local cache, never
        downloaded; ``pip install "sklearn-mmoe[transformers]"``), frozen (each
        distinct text encoded once) unless ``fine_tune_layers`` says otherwise.
    text_options : dict or None, default=None
        The text encoder's settings, checked at ``fit``: for ``"hashed"``,
        ``word_ngrams`` (2), ``char_ngrams`` (None, or ``(shortest, longest)``),
        ``buckets`` (``"auto"``), ``dim`` (32), ``max_tokens`` (256); for
        ``"wordllama"``, ``dim`` (256), ``fine_tune`` (False), ``max_tokens``; for
        ``"transformers"``, ``path`` (required), ``fine_tune_layers`` (0),
        ``pooling`` (``"mean"`` or ``"cls"``), ``max_tokens`` (128 or what the model
        reads).
    distributed : "auto" or bool, default="auto"
        Data-parallel training on ``torch.distributed``: inside an initialised
        process group of more than one process (started by ``torchrun``,
        ``accelerate launch`` or Ray Train), each process fits on its own rows and
        all train one model, which every process ends with, bit for bit (see the
        user guide's "Training on many processes and machines"). ``"auto"``: so
        when such a group is initialised, else one process alone; ``True``: a
        ``ValueError`` when none is; ``False``: each process fits alone.
"""
)

FUNNEL_PARAMETERS = """\
    task_parents : dict or None, default=None
        Funnels: tasks that can only happen after another (a purchase after a
        click), as ``{child: parent}``, each a task's name (a column of a DataFrame
        ``y``) or column index; chains are allowed (click, then purchase, then
        repurchase). Both tasks are binary, and each one's positive class (the
        greater label, as scikit-learn's binary metrics read it) is its event: the
        child's labels are over all rows, positive where both events happened, so a
        child positive where its parent is negative is a ``ValueError`` naming the
        rows. With ``missing_labels="ignore"``, a child's missing label where its
        parent is negative is read as negative (so a purchase label may be given
        for clicked rows only), a parent's where its child is positive as positive.
        The child's ``predict_proba`` is the probability of both events; divided by
        the parent's, that of the child's event given the parent's.
    funnel : {"esmm", "aitm"}, default="esmm"
        How a funnel's child is trained from its parent, over all rows (a model of
        the child's event trained on the parent's positive rows only would learn
        from a sample unlike the rows it predicts). ``"esmm"`` (Ma et al., 2018): the
        child's tower gives the conditional probability, with no loss of its own,
        and the child's probability is the product of the parent's and that (never
        above the parent's). ``"aitm"`` (Xi et al., 2021): the child's tower also
        reads a learned transfer of its parent's tower, mixed with its own by
        attention, and gives the child's probability directly; the calibrator
        ``funnel_calibration`` keeps it below the parent's.
    funnel_calibration : float, default=0.6
        With ``funnel="aitm"``: weight of the calibrator, the batch mean of
        ``max(p(child) - p(parent), 0)``, in the training objective (AITM's
        ``alpha``, 0.6 in its paper).
"""

FITTED_ATTRIBUTES = """\
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the PyTorch module and
        ``net_.history`` the per-epoch record, per-task losses included. Its
        callbacks, by name: ``"schedule"`` (the learning rate), ``"average"``
        (``ema_decay``), ``"stopping"`` (early stopping, the best epoch's weights
        restored) and ``"progress"`` (``verbose``).
    fit_config_ : FitConfig
        What the last fit trained with, read-only: every ``"auto"`` value
        resolved for its data (the batch size and epochs, early stopping and the
        validation share, the numeric encoding, the embeddings' widths, the wide
        part, the ensemble's size, ...) and the seed drawn from
        ``random_state``, with the parameters' values the fit ran with. The
        network and the training are built from it alone; :func:`sklearn_mmoe.save`
        keeps it. A frozen dataclass: its ``repr`` lists every field.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when ``X`` has string column names.
    is_categorical_ : ndarray of bool of shape (`n_features_in_`,)
        Which features are categorical (all False when none is).
    is_text_ : ndarray of bool of shape (`n_features_in_`,)
        Which features are text (all False when none is; see ``text_features``).
    n_outputs_ : int
        Number of tasks.
    n_iter_ : int
        Number of epochs run (with a ``refit``, by the fit that chose the epochs).
    loss_curve_ : list of float
        Training objective after each epoch: the task-weighted sum of the task losses,
        plus ``balance_weight`` times the load-balancing term (with a ``refit``, the
        fit that chose the epochs).
    task_loss_curves_ : ndarray of shape (n_iter_, n_tasks)
        Each task's mean training loss after each epoch.
    validation_scores_ : list of float
        With ``early_stopping``: the negated validation loss after each epoch (higher is
        better, as ``HistGradientBoostingClassifier.validation_score_`` with
        ``scoring="loss"``).
    best_validation_score_ : float
        With ``early_stopping``: the best of ``validation_scores_``, whose weights the
        model keeps.
    task_validation_curves_ : ndarray of shape (n_iter_, n_tasks)
        With ``early_stopping``: each task's validation loss after each epoch.
    n_cv_ : int
        Members the model predicts with: ``n_cv``, or 1 where a single network was
        trained (``partial_fit``, fewer than 20 rows). With ``n_cv_ > 1``,
        ``n_iter_``, ``loss_curve_`` and the validation record are the first
        member's, and ``net_.module_`` holds the members.
    cv_n_iter_ : ndarray of shape (`n_cv_`,)
        With ``n_cv_ > 1``: the epochs each member trained before it stopped.
    cv_validation_scores_ : ndarray of shape (`n_cv_`,)
        With ``n_cv_ > 1``: each member's best validation score (its
        ``best_validation_score_``) on its held-out fold: their spread is that of
        the members.
    oof_prediction_ : ndarray of shape (n_samples,) or (n_samples, n_tasks)
        With ``n_cv_ > 1``: ``predict``'s output for each training row by the
        member that did not train on it (by all members for a row no member
        trained on: a zero sample weight, or no label): a training score from
        rows each prediction's network never trained on (its epochs and shrinkage
        were chosen on them, so slightly optimistic, as pytabkit's), and the
        inputs of a stacked model. Not kept by :func:`sklearn_mmoe.save`.
    oof_proba_ : ndarray or list of ndarray
        With ``n_cv_ > 1`` and a task with classes: the out-of-fold class
        probabilities, in ``predict_proba``'s layout. Not kept by
        :func:`sklearn_mmoe.save`.
"""

REFERENCES = """\
    .. [1] J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong and E. H. Chi, "Modeling Task
       Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts",
       KDD 2018, :doi:`10.1145/3219819.3220007`.
    .. [2] H. Tang, J. Liu, M. Zhao and X. Gong, "Progressive Layered Extraction
       (PLE): A Novel Multi-Task Learning (MTL) Model for Personalized
       Recommendations", RecSys 2020, :doi:`10.1145/3383313.3412236`.
    .. [3] N. Shazeer et al., "Outrageously Large Neural Networks: The
       Sparsely-Gated Mixture-of-Experts Layer", ICLR 2017, :arxiv:`1701.06538`.
    .. [4] Y. Gorishniy, A. Kotelnikov and A. Babenko, "TabM: Advancing Tabular
       Deep Learning with Parameter-Efficient Ensembling", ICLR 2025,
       :arxiv:`2410.24210`.
"""


def partial_fit_doc(name, fixes, y, classes=""):
    """``partial_fit``'s docstring for estimator ``name``: what its first call
    ``fixes``, what ``y`` holds and (for tasks with classes) the ``classes``
    parameter."""
    return f"""Train one pass over ``X`` and ``y``, continuing from the previous call.

        scikit-learn's convention (``SGDClassifier``, ``MLPClassifier``): the first
        call (on an unfitted estimator) fixes {fixes} from its rows; each call then
        runs one epoch over the given rows, in batches of ``batch_size``,
        continuing the weights and the optimiser's state at a constant
        ``learning_rate`` (no early stopping, so no ``refit``, and no cosine
        schedule: a stream has no known end). A call with another layout
        (features, tasks, labels outside the classes) raises a ``ValueError`` and
        changes nothing; so does an interrupted call. After ``fit``,
        ``partial_fit`` continues the fitted model.

        Parameters
        ----------
        X : {{array-like, sparse matrix, DataFrame}} of shape (n_samples, n_features)
            Input samples; later calls need the first call's features.
        y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
            {y}
{classes}        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in every task's loss.

        Returns
        -------
        self : {name}
            The estimator, trained one more pass.
        """
