"""Missing numeric values (NaN in X) are taken natively, as HistGradientBoosting*
takes them: the numeric encoding fills each with its column's training median and
flags it with an indicator input of the column's own."""

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import LEARNER
from sklearn.metrics import r2_score, roc_auc_score

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# Three experts, 25 epochs and the 10 % hold-out these tests' thresholds were set
# with (the default holds out 20 % of a table this small: fewer rows train within
# the fixed budget).
LEARNED = dict(LEARNER, n_experts=3, max_epochs=25, validation_fraction=0.1)
ENCODINGS = ["auto", "robust", "standard", "piecewise"]


def _with_missing(n=1200, seed=0, informative=True):
    """A binary task whose sign depends on whether column 0 is missing, and NaN in
    columns 0 (30%) and 2 (a few rows)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    gone = rng.rand(n) < 0.3
    y = (X[:, 1] + (2.0 * gone - 1.0 if informative else 0) > 0).astype(int)
    X[gone, 0] = np.nan
    X[rng.rand(n) < 0.02, 2] = np.nan
    return X, y


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_nan_is_taken_in_fit_and_predict_under_every_encoding(encoding):
    X, y = _with_missing()
    clf = MMoEClassifier(**LEARNED, numeric_encoding=encoding).fit(X[:800], y[:800])
    proba = clf.predict_proba(X[800:])
    assert proba.shape == (400, 2) and np.isfinite(proba).all()
    # missingness carries the signal here: the indicator input learns it
    assert roc_auc_score(y[800:], proba[:, 1]) > 0.9
    assert clf.net_.module_.encoder.n_indicators == 2


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_numpy_and_torch_paths_agree_on_missing_values(encoding):
    """Small batches take the NumPy path, large ones torch's: the same numbers."""
    X, y = _with_missing()
    short = {**LEARNED, "max_epochs": 5}
    clf = MMoEClassifier(**short, numeric_encoding=encoding).fit(X, y)
    module = clf.net_.module_
    Xt = X[:64].astype(np.float32)
    with torch.no_grad():
        torch_out = module(torch.from_numpy(Xt)).outputs.numpy()
    numpy_out = module.forward_numpy(Xt).outputs
    np.testing.assert_allclose(numpy_out, torch_out, atol=1e-5)
    one = np.vstack([clf.predict_proba(X[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(one, clf.predict_proba(X[:5]), atol=1e-6)


def test_a_missing_value_reads_as_the_median_plus_its_flag():
    """A row with NaN predicts as the same row with the column's median in its
    place, but for the indicator: a column never missing in training has none, so
    there NaN and the median predict the same."""
    X, y = _with_missing()
    clf = MMoEClassifier(**{**LEARNED, "max_epochs": 5}).fit(X, y)
    row = X[~np.isnan(X).any(axis=1)][:1].copy()
    median_3 = clf._numeric["fill"][3]
    assert median_3 == pytest.approx(np.median(X[:, 3]), abs=0.01)
    filled, missing = row.copy(), row.copy()
    filled[0, 3], missing[0, 3] = median_3, np.nan  # column 3 never missing
    np.testing.assert_allclose(
        clf.predict_proba(missing), clf.predict_proba(filled), atol=1e-6
    )


def test_statistics_leave_missing_values_out():
    """The robust centre is the median of the present values, not of the column
    with NaN sorted into it."""
    X, y = _with_missing()
    short = {**LEARNED, "max_epochs": 2}
    clf = MMoEClassifier(**short, numeric_encoding="robust").fit(X, y)
    numeric = clf._numeric
    present = X[~np.isnan(X[:, 0]), 0]
    assert numeric["center"][0] == pytest.approx(np.median(present), abs=0.02)
    assert numeric["fill"][0] == numeric["center"][0]
    assert numeric["indicators"].tolist() == [0, 2]


def test_a_column_missing_everywhere_trains_on_its_indicator_alone():
    X, y = _with_missing()
    X[:, 3] = np.nan
    reg = MMoERegressor(**{**LEARNED, "max_epochs": 3}).fit(X, X[:, 1] * 2)
    assert np.isfinite(reg.predict(X)).all()
    assert reg._numeric["fill"][3] == 0.0


def test_missing_values_in_a_dataframe_with_categories_and_a_stream():
    """Categorical columns beside numeric NaN; partial_fit takes NaN too, including
    in a column that had none in the first chunk."""
    X, y = _with_missing(informative=False)
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["city"] = pd.Categorical(np.where(y == 1, "x", "y"))
    model = MMoEMultiTask(**{**LEARNED, "max_epochs": 3}).fit(frame, y)
    assert np.isfinite(model.predict_proba(frame)).all()
    clf = MMoEClassifier(**LEARNED)
    clf.partial_fit(X[:300], y[:300], classes=[0, 1])
    later = X[300:600].copy()
    later[:50, 1] = np.nan  # column 1 had no NaN in the first chunk
    clf.partial_fit(later, y[300:600])
    assert np.isfinite(clf.predict_proba(later)).all()


def test_infinity_is_still_refused():
    X, y = _with_missing()
    X[0, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        MMoEClassifier(**LEARNED).fit(X, y)


@pytest.mark.parametrize("encoding", ["auto", "robust", "standard", "piecewise"])
def test_columns_of_values_about_1e_minus_40_are_encoded_and_learned(encoding):
    """1 / their spread overflows float32: training used to diverge."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 3))
    y = X[:, 0] + X[:, 1]
    model = MMoERegressor(**LEARNED, numeric_encoding=encoding).fit(X * 1e-40, y)
    pred = model.predict(X * 1e-40)
    assert np.all(np.isfinite(pred)) and r2_score(y, pred) > 0.9


def test_binning_a_sample_leaves_missing_values_out_of_the_edges(monkeypatch):
    """Past the rows the candidates and the tree are placed on, each takes a fixed
    sample of the rows, with their values' weights: a missing value (weight 0)
    still places no edge, and the edges still follow the target."""
    from sklearn_mmoe._inputs import binning as _binning
    from sklearn_mmoe._inputs.numeric import fit_numeric

    monkeypatch.setattr(_binning, "_TREE_ROWS", 300)
    monkeypatch.setattr(_binning, "_CANDIDATE_ROWS", 200)
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 10, size=(1_000, 2))
    Y = (X[:, :1] > 4).astype(float)
    X[rng.rand(1_000) < 0.3, 1] = np.nan
    X[X[:, 0] > 9, 0] = np.nan  # the top of column 0 is missing: no edge up there
    rows, weight = np.arange(1_000), np.ones(1_000)
    described = fit_numeric(X, rows, weight, 2, "piecewise", (Y, ["classification"]))
    edges = described["edges"][0]
    assert np.any(np.abs(edges - 4) < 0.2)  # where the target changes
    assert edges[-1] <= 9  # placed by present values only
    assert described["indicators"].tolist() == [0, 1]
