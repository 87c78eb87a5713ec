"""The UCI Census-Income (KDD) data: the copy of its test split shipped with the
package, a reader for the UCI files and a cached download of the official splits."""

import os
import shutil
import urllib.request
from importlib import resources
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import get_data_home
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

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
# The official test split as UCI distributes it, byte for byte (data/SOURCE.md).
_BUNDLED = "census-income.test.gz"


def census_income_path():
    """The path of the Census-Income (KDD) test split shipped with the package.

    Returns
    -------
    path : pathlib.Path
        ``census-income.test.gz`` (99,762 rows, 3.2 MB), the official test split of
        the UCI Census-Income (KDD) data, unchanged; ``data/SOURCE.md`` beside it
        states its source and licence (CC BY 4.0).

    Examples
    --------
    >>> from sklearn_mmoe.datasets import census_income_path
    >>> census_income_path().name
    'census-income.test.gz'
    """
    return Path(str(resources.files(__package__).joinpath("data", _BUNDLED)))


@validate_params(
    {
        "path": [str, os.PathLike, None],
        "group": [StrOptions({"1", "2"}), Interval(Integral, 1, 2, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def load_census_income(path=None, group=1):
    """Read the UCI Census-Income (KDD) data as the MMoE paper's two-task problem.

    With no ``path``, the official test split shipped with the package is read
    (99,762 rows, offline; :func:`census_income_path`). Any other file is read in
    the UCI format (``census-income.data`` or ``census-income.test``,
    gzipped or not): 42 comma-separated columns, no header, a space after each comma,
    ``?`` for a missing value. The label columns (``education``, ``marital_stat``,
    ``income_50k``) and the survey's ``instance_weight`` are left out of ``X``.

    Parameters
    ----------
    path : str or path-like, default=None
        The file; a ``.gz`` name is decompressed on the fly. None reads the test
        split shipped with the package.
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
    >>> X, Y = load_census_income()
    >>> X.shape, list(Y.columns)
    ((99762, 38), ['income_50k', 'never_married'])
    >>> round(float(Y["income_50k"].mean()), 4)
    0.062
    """
    group = int(group)
    if path is None:
        path = census_income_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No census-income file at {os.path.abspath(path)!r}. Pass the path of "
            "census-income.test(.gz) or census-income.data(.gz) from the UCI archive, "
            "or no path for the test split shipped with the package; "
            "sklearn_mmoe.datasets.fetch_census_income() downloads both splits when "
            "online."
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
