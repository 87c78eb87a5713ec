"""Data sets for multi-task learning."""

import os
import shutil
import urllib.request
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import get_data_home
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["fetch_census_income", "load_census_income", "make_multitask_regression"]


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "correlation": [Interval(Real, -1, 1, closed="both")],
        "scale": [Interval(Real, 0, None, closed="neither")],
        "n_sines": [Interval(Integral, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "coef": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_multitask_regression(
    n_samples=10_000,
    n_features=100,
    n_tasks=2,
    correlation=0.5,
    scale=1.0,
    n_sines=10,
    noise=0.01,
    coef=False,
    random_state=None,
):
    r"""Regression tasks with a controlled correlation, as in the MMoE paper (sec. 3.2).

    Draw orthonormal ``u_1, ..., u_T`` in :math:`R^d` and set ``w_1 = c u_1`` and
    :math:`w_k = c (p u_1 + \sqrt{1 - p^2} u_k)` for ``k >= 2``, so that every task's
    weight vector has cosine ``p`` (``correlation``) with the first task's. With
    :math:`x \sim N(0, I_d)`, task ``k`` is

    .. math:: y_k = w_k^T x + \sum_{i=1}^{m} \sin(\alpha_i w_k^T x + \beta_i)
              + \epsilon_k

    with :math:`\alpha_i = i`, :math:`\beta_i = i^2` (shared by all tasks) and
    :math:`\epsilon_k \sim N(0, \sigma^2)`. The labels' Pearson correlation grows with
    ``p`` but is not equal to it.

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of samples.
    n_features : int, default=100
        Dimension ``d`` of the inputs; at least ``n_tasks``.
    n_tasks : int, default=2
        Number of tasks ``T``.
    correlation : float, default=0.5
        Cosine ``p`` between each task's weight vector and the first task's, in [-1, 1].
    scale : float, default=1.0
        Norm ``c`` of every weight vector.
    n_sines : int, default=10
        Number ``m`` of sine terms.
    noise : float, default=0.01
        Standard deviation ``sigma`` of the Gaussian noise of each task.
    coef : bool, default=False
        Whether to also return the weight vectors.
    random_state : int, RandomState instance or None, default=None
        Seed of the weight vectors, inputs and noise.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Inputs.
    Y : ndarray of shape (n_samples, n_tasks)
        Targets, one column per task.
    W : ndarray of shape (n_features, n_tasks)
        The weight vectors ``w_k`` as columns; only when ``coef=True``.

    References
    ----------
    .. [1] J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong and E. H. Chi, "Modeling Task
       Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts",
       KDD 2018, :doi:`10.1145/3219819.3220007`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe.datasets import make_multitask_regression
    >>> X, Y, W = make_multitask_regression(
    ...     n_samples=500, n_tasks=3, correlation=0.9, coef=True, random_state=0)
    >>> X.shape, Y.shape
    ((500, 100), (500, 3))
    >>> cosine = W[:, 0] @ W[:, 2] / np.linalg.norm(W[:, 0]) / np.linalg.norm(W[:, 2])
    >>> round(float(cosine), 6)
    0.9
    """
    if n_tasks > n_features:
        raise ValueError(
            f"n_tasks={n_tasks} orthogonal directions need n_features >= n_tasks; "
            f"got n_features={n_features}."
        )
    rng = check_random_state(random_state)
    u, _ = np.linalg.qr(
        rng.standard_normal((n_features, n_tasks))
    )  # orthonormal columns
    W = np.empty((n_features, n_tasks))
    W[:, 0] = u[:, 0]
    W[:, 1:] = correlation * u[:, :1] + np.sqrt(1 - correlation**2) * u[:, 1:]
    W *= scale
    X = rng.standard_normal((n_samples, n_features))
    Z = X @ W  # (n_samples, n_tasks): w_k . x
    i = np.arange(1, n_sines + 1)
    Y = Z + np.sin(Z[:, :, None] * i + i**2).sum(axis=2)
    Y += noise * rng.standard_normal(Y.shape)
    return (X, Y, W) if coef else (X, Y)


# The 42 columns of the UCI Census-Income (KDD) files, in order.
CENSUS_COLUMNS = (
    "age", "class_worker", "det_ind_code", "det_occ_code", "education",
    "wage_per_hour", "hs_college", "marital_stat", "major_ind_code", "major_occ_code",
    "race", "hisp_origin", "sex", "union_member", "unemp_reason", "full_or_part_emp",
    "capital_gains", "capital_losses", "stock_dividends", "tax_filer_stat",
    "region_prev_res", "state_prev_res", "det_hh_fam_stat", "det_hh_summ",
    "instance_weight", "mig_chg_msa", "mig_chg_reg", "mig_move_reg", "mig_same",
    "mig_prev_sunbelt", "num_emp", "fam_under_18", "country_father", "country_mother",
    "country_self", "citizenship", "own_or_self", "vet_question", "vet_benefits",
    "weeks_worked", "year", "income_50k",
)  # fmt: skip
# Nominal columns, read as pandas categories (the industry and occupation codes too).
CENSUS_CATEGORICAL = (
    "class_worker", "det_ind_code", "det_occ_code", "hs_college", "major_ind_code",
    "major_occ_code", "race", "hisp_origin", "sex", "union_member", "unemp_reason",
    "full_or_part_emp", "tax_filer_stat", "region_prev_res", "state_prev_res",
    "det_hh_fam_stat", "det_hh_summ", "mig_chg_msa", "mig_chg_reg", "mig_move_reg",
    "mig_same", "mig_prev_sunbelt", "fam_under_18", "country_father",
    "country_mother", "country_self", "citizenship", "vet_question",
)  # fmt: skip
_COLLEGE = (
    "Associates degree-occup /vocational",
    "Associates degree-academic program",
    "Bachelors degree(BA AB BS)",
    "Masters degree(MA MS MEng MEd MSW MBA)",
    "Doctorate degree(PhD EdD)",
    "Prof school degree (MD DDS DVM LLB JD)",
)
_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/census-income-mld/"


@validate_params(
    {
        "path": [str, os.PathLike],
        "group": [StrOptions({"1", "2"}), Interval(Integral, 1, 2, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def load_census_income(path, group=1):
    """Read a UCI Census-Income (KDD) file as the MMoE paper's two-task problem.

    The file is the UCI format (``census-income.data`` or ``census-income.test``,
    gzipped or not): 42 comma-separated columns, no header, a space after each comma,
    ``?`` for a missing value. The label columns (``education``, ``marital_stat``,
    ``income_50k``) and the survey's ``instance_weight`` are left out of ``X``.

    Parameters
    ----------
    path : str or path-like
        The file; a ``.gz`` name is decompressed on the fly.
    group : {1, 2}, default=1
        The paper's task group (section 6.3). 1: ``income_50k`` (income above 50K)
        and ``never_married``. 2: ``college`` (education at least an Associates
        degree: Associates, Bachelors, Masters, Doctorate or Prof school) and
        ``never_married``.

    Returns
    -------
    X : pandas.DataFrame of shape (n_samples, 38)
        The features: 28 nominal columns as pandas ``category`` dtype (missing values
        as NaN) and 10 numeric columns.
    Y : pandas.DataFrame of shape (n_samples, 2)
        The two tasks of the group, as 0/1 ints.

    Examples
    --------
    >>> from sklearn_mmoe.datasets import load_census_income
    >>> X, Y = load_census_income("../shared/data/census-income/census-income.test.gz")
    >>> X.shape, list(Y.columns)
    ((99762, 38), ['income_50k', 'never_married'])
    >>> round(float(Y["income_50k"].mean()), 4)
    0.062
    """
    group = int(group)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No census-income file at {os.path.abspath(path)!r}. Pass the path of "
            "census-income.test(.gz) or census-income.data(.gz) from the UCI archive; "
            "the examples and benchmarks look for it in "
            "../shared/data/census-income/ beside the repository, or where the "
            "SKLEARN_MMOE_CENSUS environment variable says; "
            "sklearn_mmoe.datasets.fetch_census_income() downloads it when online."
        )
    frame = pd.read_csv(
        path,
        header=None,
        names=list(CENSUS_COLUMNS),
        skipinitialspace=True,
        na_values=["?"],
        keep_default_na=False,
        dtype={name: "category" for name in CENSUS_CATEGORICAL},
    )
    if not frame["income_50k"].isin(["50000+.", "- 50000."]).all():
        raise ValueError(
            f"{path} is not in the Census-Income (KDD) format: 42 comma-separated "
            "columns per row, no header, the last one '50000+.' or '- 50000.'."
        )
    never_married = (frame["marital_stat"] == "Never married").astype(np.int64)
    if group == 1:
        first = ("income_50k", frame["income_50k"].str.startswith("50000+"))
    else:
        first = ("college", frame["education"].isin(_COLLEGE))
    Y = pd.DataFrame(
        {first[0]: first[1].astype(np.int64), "never_married": never_married}
    )
    labels = ["education", "marital_stat", "income_50k", "instance_weight"]
    return frame.drop(columns=labels), Y


@validate_params(
    {
        "data_home": [str, os.PathLike, None],
        "subset": [StrOptions({"train", "test"})],
        "group": [StrOptions({"1", "2"}), Interval(Integral, 1, 2, closed="both")],
        "download_if_missing": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def fetch_census_income(
    data_home=None, *, subset="train", group=1, download_if_missing=True
):
    """Download (once) and read the UCI Census-Income (KDD) data.

    The official files are fetched from the UCI Machine Learning Repository into
    ``data_home/census_income/`` on first use, then read from there with
    :func:`load_census_income`.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Where to cache the files; scikit-learn's data home
        (:func:`sklearn.datasets.get_data_home`) when None.
    subset : {"train", "test"}, default="train"
        The official training split (199,523 rows) or test split (99,762 rows).
    group : {1, 2}, default=1
        The task group, as in :func:`load_census_income`.
    download_if_missing : bool, default=True
        If False, raise an ``OSError`` when the file is not cached instead of
        downloading it.

    Returns
    -------
    X : pandas.DataFrame
        The features, as in :func:`load_census_income`.
    Y : pandas.DataFrame
        The two tasks of the group.

    Examples
    --------
    Online, ``X, Y = fetch_census_income(subset="test", group=2)`` downloads the test
    split once and reads it. Offline, a file that is not cached is an ``OSError``
    that names it, unless the download is allowed:

    >>> import tempfile
    >>> from sklearn_mmoe.datasets import fetch_census_income
    >>> empty = tempfile.mkdtemp()
    >>> fetch_census_income(empty, subset="test", download_if_missing=False)
    Traceback (most recent call last):
        ...
    OSError: .../census-income.test.gz is not cached and download_if_missing=False.
    """
    folder = Path(get_data_home(data_home)) / "census_income"
    name = f"census-income.{'data' if subset == 'train' else 'test'}.gz"
    path = folder / name
    if not path.exists():
        if not download_if_missing:
            raise OSError(f"{path} is not cached and download_if_missing=False.")
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with urllib.request.urlopen(_UCI + name) as response, open(partial, "wb") as f:
            shutil.copyfileobj(response, f)
        partial.replace(path)  # never leave a truncated file under the final name
    return load_census_income(path, group=group)
