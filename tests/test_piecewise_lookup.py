"""The piecewise-linear encoding's product with the first layer, taken as a lookup (two
rows of a cumulative table per column) instead of a dense product over every bin:
the same outputs and gradients, on both the torch and the NumPy path."""

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import BRIEF

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask
from sklearn_mmoe._estimators.inference import _dense
from sklearn_mmoe._inputs.validation import validate_X
from sklearn_mmoe._network import module as _module

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _table(n=600, seed=0):
    """Numeric columns of every shape a bin layout takes: many values (all bins), few
    values (fewer bins than the others: a padded layout), a constant column, missing
    values; and a categorical column (embeddings beside the code)."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    X["few"] = rng.randint(0, 3, n).astype(float)
    X["constant"] = 2.5
    X.loc[rng.rand(n) < 0.1, "b"] = np.nan
    X["city"] = pd.Categorical(rng.choice(["x", "y", "z"], n))
    Y = np.column_stack([X["a"] > 0, X["c"] + X["few"] > 1]).astype(int)
    return X, Y


def _rows(model, X):
    """``X`` as the module reads it, with outliers far beyond every edge and values
    exactly on edges."""
    X = X.copy()
    module = model.net_.module_
    edge = float(module.encoder.bin_low[0, 1])
    X.loc[:5, "a"] = [1e6, -1e6, 40.0, -40.0, edge, np.nan]
    return _dense(validate_X(model, X))


def _outputs_and_gradients(module, x, lookup):
    module.piecewise_lookup = lookup
    module.train()
    module.dropout = 0.0
    module.zero_grad()
    out = module(torch.as_tensor(x, dtype=torch.float32)).outputs
    out.nan_to_num(0.0, 0.0, 0.0).square().sum().backward()
    grads = {
        name: p.grad.clone()
        for name, p in module.named_parameters()
        if p.grad is not None
    }
    module._numpy_cache = None
    return out.detach(), grads, module.forward_numpy(x[:40]).outputs


@pytest.mark.parametrize("ensemble_size", [1, 3])
def test_the_lookup_equals_the_dense_product_with_its_gradients(ensemble_size):
    """Outputs, every parameter's gradient and the NumPy path's outputs agree with
    the dense code times the first layer to float32 rounding, for
    outliers (the ramps' extension below the first and above the last bin), values
    on an edge, missing values, a constant column and columns of fewer bins."""
    X, Y = _table()
    model = MMoEClassifier(
        **BRIEF,
        numeric_encoding="piecewise",
        ensemble_size=ensemble_size,
        random_state=0,
    ).fit(X, Y)
    module = model.net_.module_
    assert module.piecewise_lookup == "auto" and not module.encoder.all_bins
    x = _rows(model, X)
    out, grads, numpy_out = _outputs_and_gradients(module, x, True)
    dense_out, dense_grads, dense_numpy = _outputs_and_gradients(module, x, False)
    finite = torch.isfinite(dense_out)
    assert torch.equal(finite, torch.isfinite(out))
    np.testing.assert_allclose(out[finite], dense_out[finite], rtol=1e-5, atol=1e-5)
    assert set(grads) == set(dense_grads)
    for name, grad in grads.items():
        scale = float(dense_grads[name].abs().max()) or 1.0
        np.testing.assert_allclose(grad / scale, dense_grads[name] / scale, atol=1e-5)
    # the NumPy path keeps the table in float32, as the weights it sums
    np.testing.assert_allclose(numpy_out, dense_numpy, rtol=1e-5, atol=1e-5)


def test_a_fit_with_the_lookup_predicts_as_the_dense_form_does(monkeypatch):
    """A whole fit trained through the lookup (at every batch size here) ends with
    the predictions the same weights give through the dense code, on both paths of
    predict_proba."""
    monkeypatch.setattr(_module, "_LOOKUP_TRAINING_ROWS", 1)
    monkeypatch.setattr(_module, "_LOOKUP_TRAINING_WIDTH", 1)
    X, Y = _table(seed=1)
    model = MMoEMultiTask(**BRIEF, numeric_encoding="piecewise", random_state=0)
    model.fit(X, Y)
    module = model.net_.module_
    many = pd.concat([X] * 20, ignore_index=True)  # past the NumPy path's rows
    lookup = [model.predict_proba(X[:30]), model.predict_proba(many)]
    module.piecewise_lookup = False
    module._numpy_cache = None
    dense = [model.predict_proba(X[:30]), model.predict_proba(many)]
    for got, expected in zip(lookup, dense):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_the_lookup_runs_where_it_is_the_faster(monkeypatch):
    """Only for the piecewise code; with "auto", always in NumPy (its table kept with
    the weights), from 256 rows without a gradient, and in training only for a wide
    code and large batches (the table and its gradient are built every step)."""
    X, Y = _table()
    robust = MMoEClassifier(**BRIEF, numeric_encoding="robust", random_state=0)
    assert not robust.fit(X, Y).net_.module_.piecewise_lookup
    binned = MMoEClassifier(**BRIEF, numeric_encoding="piecewise", random_state=0)
    module = binned.fit(X, Y).net_.module_
    numpy_ops, torch_ops = _module._NumpyOps("relu"), _module._TorchOps("relu", 0.0)
    assert module._lookup_pays(1, numpy_ops)
    with torch.no_grad():
        assert not module._lookup_pays(255, torch_ops)
        assert module._lookup_pays(256, torch_ops)
    assert module.encoder.code_width < 2048
    assert not module._lookup_pays(100_000, torch_ops)  # training, a narrow code
    monkeypatch.setattr(_module, "_LOOKUP_TRAINING_WIDTH", module.encoder.code_width)
    assert not module._lookup_pays(511, torch_ops)
    assert module._lookup_pays(512, torch_ops)
    module.piecewise_lookup = False
    assert not module._lookup_pays(1, numpy_ops)


def test_a_row_predicts_the_same_alone_and_in_a_batch():
    """The NumPy path's lookup sums each row's float32 table rows in one float32
    product, which a BLAS may order differently for one row than for twenty (1e-13
    held on one CPU and failed on the next): a row's probabilities then differ by
    float32 rounding of those sums (float32's epsilon is 1.2e-7), within
    scikit-learn's subset-invariance tolerance (rtol 1e-7), never by more. The rest
    of that path is float64."""
    X, Y = _table(seed=2)
    X = X.drop(columns="city").to_numpy()
    model = MMoEClassifier(**BRIEF, numeric_encoding="piecewise", random_state=0)
    model.fit(X, Y)
    batch = model.predict_proba(X[:20])
    for i in range(20):
        alone = model.predict_proba(X[i : i + 1])
        for task in range(2):
            np.testing.assert_allclose(alone[task][0], batch[task][i], rtol=1e-7)


def test_the_lookups_own_backward_equals_autograd_through_the_bag():
    """The table's gradient (values sorted by first row, two grouped bags) and the
    fractions' equal autograd's through the plain embedding bag: rows shared by
    many values, rows no value reads, a value on the last row of a column."""
    from sklearn_mmoe._network.lookup import RampLookup, _bag

    generator = torch.Generator().manual_seed(0)
    n_columns, T, width = 5, 6, 3
    table = torch.randn(
        n_columns * (T + 1), width, generator=generator, dtype=torch.float64
    )
    below = torch.randint(0, 2, (64, n_columns), generator=generator)  # rows 0 to 2
    below[0] = T - 1  # each column's last bin (rows 5, 6): rows 3, 4 unread
    below = below + torch.arange(n_columns) * (T + 1)
    fraction = torch.rand(64, n_columns, generator=generator, dtype=torch.float64)
    fraction[1] = -2.0  # a ramp continued below the first bin
    weight = torch.randn(64, width, generator=generator, dtype=torch.float64)
    gradients = []
    for lookup in (RampLookup.apply, _bag):
        t = table.clone().requires_grad_()
        f = fraction.clone().requires_grad_()
        (lookup(t, below, f) * weight).sum().backward()
        gradients.append((t.grad, f.grad))
    (table_grad, fraction_grad), (expected_table, expected_fraction) = gradients
    torch.testing.assert_close(table_grad, expected_table, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fraction_grad, expected_fraction, rtol=1e-12, atol=1e-12)
    assert torch.all(table_grad.reshape(n_columns, T + 1, width)[:, 3:5] == 0)
