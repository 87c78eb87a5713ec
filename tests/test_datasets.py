"""The data sets: the paper's generator of correlated tasks and the census loader."""

import gzip
import hashlib
import shutil

import numpy as np
import pytest

from sklearn_mmoe.datasets import (
    census_income_path,
    fetch_census_income,
    load_census_income,
    make_multitask_regression,
)


@pytest.mark.parametrize("p", [-0.3, 0.0, 0.5, 0.9, 1.0])
def test_every_task_has_cosine_p_with_the_first(p):
    _, _, W = make_multitask_regression(
        n_samples=10, n_tasks=4, correlation=p, scale=2.0, coef=True, random_state=0
    )
    norms = np.linalg.norm(W, axis=0)
    np.testing.assert_allclose(norms, 2.0)
    cos = W[:, 0] @ W[:, 1:] / (norms[0] * norms[1:])
    np.testing.assert_allclose(cos, p, atol=1e-12)


def test_label_correlation_grows_with_task_correlation():
    def label_corr(p):
        _, Y = make_multitask_regression(
            n_samples=20_000, correlation=p, random_state=1
        )
        return np.corrcoef(Y.T)[0, 1]

    corrs = [label_corr(p) for p in (0.0, 0.5, 0.9, 1.0)]
    assert corrs == sorted(corrs)
    assert abs(corrs[0]) < 0.05 and corrs[-1] > 0.99


def test_targets_follow_the_formula():
    X, Y, W = make_multitask_regression(
        n_samples=50, n_sines=3, noise=0.0, coef=True, random_state=2
    )
    z = X @ W
    expected = z + sum(np.sin(i * z + i**2) for i in (1, 2, 3))
    np.testing.assert_allclose(Y, expected)


def test_a_seed_repeats_the_data():
    a = make_multitask_regression(n_samples=20, random_state=3)
    b = make_multitask_regression(n_samples=20, random_state=3)
    np.testing.assert_array_equal(a[1], b[1])


def test_more_tasks_than_features_are_refused():
    with pytest.raises(ValueError, match="n_features >= n_tasks"):
        make_multitask_regression(n_features=2, n_tasks=3)
    with pytest.raises(ValueError, match="correlation"):
        make_multitask_regression(correlation=1.5)


@pytest.fixture(scope="module")
def census_group1():
    return load_census_income()  # no path: the test split shipped with the package


def test_census_loader_reads_the_official_test_split(census_group1):
    X, Y = census_group1
    assert X.shape == (99762, 38) and Y.shape == (99762, 2)
    assert list(Y.columns) == ["income_50k", "never_married"]
    assert Y.dtypes.tolist() == [np.int64, np.int64]
    # The facts recorded beside the data (SOURCE.md).
    assert Y["income_50k"].sum() == 6186
    assert Y["never_married"].sum() == 43143
    for label in ("education", "marital_stat", "income_50k", "instance_weight"):
        assert label not in X.columns


def test_census_loader_types_columns_and_marks_missing_values(census_group1):
    X, _ = census_group1
    assert (X.dtypes == "category").sum() == 28
    assert X["sex"].cat.categories.tolist() == ["Female", "Male"]  # spaces stripped
    assert X["country_father"].isna().sum() == 3429
    assert X["mig_chg_msa"].isna().sum() == 49946
    assert X["age"].dtype == np.int64 and X["age"].between(0, 90).all()


def test_census_group_2_is_college_and_never_married(census_test_path):
    _, Y = load_census_income(census_test_path, group=2)
    assert list(Y.columns) == ["college", "never_married"]
    assert Y["college"].mean() == pytest.approx(0.1950, abs=5e-5)
    assert abs(np.corrcoef(Y.T.to_numpy())[0, 1]) == pytest.approx(0.2376, abs=5e-5)


def test_census_loader_reads_plain_text_and_rejects_other_formats(
    tmp_path, census_test_path
):
    with gzip.open(census_test_path, "rt") as f:
        head = "".join(next(f) for _ in range(50))
    plain = tmp_path / "census-income.test"
    plain.write_text(head)
    X, Y = load_census_income(plain)
    assert X.shape == (50, 38) and Y.shape == (50, 2)
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match="Census-Income"):
        load_census_income(other)
    with pytest.raises(ValueError, match="group"):
        load_census_income(plain, group=3)


def test_fetch_census_income_reads_the_cache_and_never_downloads_when_told(
    tmp_path, census_test_path
):
    with pytest.raises(OSError, match="download_if_missing=False"):
        fetch_census_income(tmp_path, subset="test", download_if_missing=False)
    (tmp_path / "census_income").mkdir()
    shutil.copy(census_test_path, tmp_path / "census_income" / "census-income.test.gz")
    X, Y = fetch_census_income(
        tmp_path, subset="test", group=2, download_if_missing=False
    )
    assert X.shape == (99762, 38) and list(Y.columns) == ["college", "never_married"]


def test_census_loader_says_where_it_looked_when_the_file_is_missing(tmp_path):
    missing = tmp_path / "nowhere" / "census-income.test.gz"
    with pytest.raises(FileNotFoundError, match="no path for the test split") as info:
        load_census_income(missing)
    assert str(missing) in str(info.value)


def test_the_shipped_census_file_is_the_official_split_with_its_licence():
    """The copy inside the package is the official test split, byte for byte, and
    states its source and licence beside it (``load_census_income()`` reads it: the
    tests above)."""
    path = census_income_path()
    assert path.is_file() and path.stat().st_size == 3_261_416
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == "5ac4cacd3ca9f1ecb10de1a0a41e4ac68fdc419e3fec190f5c0c6cc03b2ea659"
    source = (path.parent / "SOURCE.md").read_text()
    assert "CC BY 4.0" in source and "UCI Machine Learning Repository" in source
