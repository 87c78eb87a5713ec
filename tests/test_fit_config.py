"""The fit's configuration, ``fit_config_``: every "auto" value resolved once at
the start of ``fit``, what the network and the training were built from, and what a
model file keeps."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from _helpers import BRIEF, TINY
from _saved import CONFIGS, FOLDER, WRITTEN_IN, data
from safetensors import safe_open
from safetensors.torch import save_file

from sklearn_mmoe import MMoEMultiTask, MMoERegressor, load, save
from sklearn_mmoe._inputs.categorical import auto_embedding_dim
from sklearn_mmoe._training.config import FitConfig


def _table(n=400, seed=0):
    """Two numeric columns and a categorical one of 12 levels; two regression
    tasks."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "city": pd.Categorical(rng.choice([f"c{i}" for i in range(12)], n)),
        }
    )
    codes = X["city"].cat.codes.to_numpy()
    Y = np.column_stack([X["a"] + codes / 12, X["b"] * X["a"]])
    return X, Y


def test_fit_config_shows_what_auto_chose():
    """400 rows: a fifth held out, 320 train in batches of 256, two steps per
    training row (640 steps in 320 epochs); 2 numeric columns with at least 100
    rows each: piecewise bins; the city's embedding as wide as the rule of thumb
    gives its codes."""
    X, Y = _table()
    model = MMoERegressor(**TINY, random_state=0).fit(X, Y)
    config = model.fit_config_
    assert isinstance(config, FitConfig)
    assert (config.n_rows, config.early_stopping, config.validation_fraction) == (
        400,
        True,
        0.2,
    )
    assert (config.batch_size, config.max_batch_size, config.max_epochs) == (
        256,
        256,
        320,
    )
    assert config.numeric_encoding == "piecewise" and config.n_numeric == 2
    n_codes = model._encoder.n_codes[0]  # the levels, an unknown and a missing one
    assert config.embeddings == ((n_codes, auto_embedding_dim(n_codes)),)
    assert config.refit is False  # refit=False unless asked for
    assert config.task_weights == (1.0, 1.0) and not config.capped


def test_the_network_and_its_training_are_built_from_fit_config():
    """The trained net's settings are the configuration's, not re-decided."""
    X, Y = _table()
    model = MMoERegressor(**BRIEF, random_state=0, refit=False).fit(X, Y)
    config, net = model.fit_config_, model.net_
    assert net.batch_size == config.batch_size
    assert net.max_epochs == config.max_epochs
    assert net.lr == config.learning_rate
    params = net.get_params()
    assert params["module__embeddings"] == config.embeddings
    assert params["module__expert_units"] == config.expert_units
    assert params["module__numeric"]["kind"] == config.numeric_encoding


def test_fit_config_is_read_only():
    X, Y = _table()
    model = MMoERegressor(**BRIEF, random_state=0).fit(X, Y)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.fit_config_.batch_size = 1


def test_explicit_values_are_kept_and_small_tables_scale_robustly():
    """150 rows for 2 numeric columns: fewer than 100 rows a column, robust
    scaling; the budget and embedding width given are taken as given."""
    X, Y = _table(n=150)
    model = MMoERegressor(
        **TINY, batch_size=16, max_epochs=3, embedding_dim=4, random_state=0
    ).fit(X, Y)
    config = model.fit_config_
    assert (config.batch_size, config.max_epochs, config.capped) == (16, 3, True)
    assert config.embeddings[0][1] == 4
    assert config.numeric_encoding == "robust"
    assert model.net_.get_params()["module__numeric"]["kind"] == "robust"


def test_partial_fit_trains_one_pass_at_a_constant_rate_in_batches_of_its_rows():
    X, Y = _table()
    model = MMoERegressor(**TINY, batch_size=64, random_state=0)
    model.partial_fit(X[:40], Y[:40])
    first = model.fit_config_
    assert (first.max_epochs, first.learning_rate_schedule) == (1, "constant")
    assert not first.early_stopping and first.n_rows == 40
    model.partial_fit(X[40:], Y[40:])
    later = model.fit_config_
    assert (later.n_rows, later.batch_size, model.net_.batch_size) == (360, 64, 64)
    assert later.replace(n_rows=None, seed=None, batch_size=None) == first.replace(
        n_rows=None, seed=None, batch_size=None
    )


def test_a_saved_model_keeps_its_fit_config(tmp_path):
    X, Y = _table()
    model = MMoEMultiTask(**BRIEF, random_state=0).fit(X, Y)
    save(model, tmp_path / "m.safetensors")
    assert load(tmp_path / "m.safetensors").fit_config_ == model.fit_config_


@pytest.mark.parametrize(
    "field, value",
    [("n_experts", 4), ("expert_units", {"tuple": [9]}), ("interactions", True)],
)
def test_a_file_whose_fit_config_is_not_what_its_parameters_give_is_refused(
    tmp_path, field, value
):
    X, Y = _table()
    path = tmp_path / "m.safetensors"
    save(MMoERegressor(**BRIEF, random_state=0).fit(X, Y), path)
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = f.metadata()
    state = json.loads(metadata["state"])
    state["fitted"]["dict"]["fit_config_"]["state"]["dict"][field] = value
    save_file(tensors, str(path), metadata={**metadata, "state": json.dumps(state)})
    with pytest.raises(ValueError, match=f"fit_config_.{field} is not what"):
        load(path)


@pytest.mark.parametrize("name", sorted(n for n in CONFIGS if WRITTEN_IN.get(n, 1) < 2))
def test_a_file_written_before_fit_config_gets_the_one_its_parameters_give(name):
    """Version-1 files hold no configuration: a loaded one shows the network's,
    the loss's and the optimiser's settings, and None where the fit decided from
    rows it no longer has."""
    model = load(FOLDER / f"{name}.safetensors")
    config = model.fit_config_
    assert config.n_rows is None and config.batch_size is None
    assert config.n_experts == model.n_experts
    assert config.n_cv == model.n_cv_
    assert config.module_params(
        model._tasks, model._numeric, model._funnel, config.n_cv
    ).keys() == {k[8:] for k in model.net_.get_params() if k.startswith("module__")}


def test_a_model_from_a_version_1_file_continues_and_saves_again(tmp_path):
    """A partial_fit pass of a model loaded from a file without a configuration
    trains with the one its parameters give, and its file loads."""
    name = "regressor-shared-bottom-standard"
    model = load(FOLDER / f"{name}.safetensors")
    X, Y = data(name)
    model.partial_fit(X, Y)
    config = model.fit_config_
    assert (config.max_epochs, config.refit, config.n_rows) == (1, False, len(X))
    save(model, tmp_path / "again.safetensors")
    again = load(tmp_path / "again.safetensors")
    assert again.fit_config_ == config
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


def test_a_model_whose_training_parameters_changed_after_fit_saves_and_loads(tmp_path):
    """fit_config_ keeps what the fit ran with; set_params after it changes the
    parameters a refit would take, not the model the file holds."""
    X, Y = _table()
    model = MMoERegressor(**BRIEF, random_state=0).fit(X, Y)
    model.set_params(verbose=1, tol=0.5, learning_rate=0.1, batch_size=8)
    save(model, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    assert loaded.fit_config_ == model.fit_config_
    assert (loaded.fit_config_.verbose, loaded.fit_config_.learning_rate) == (0, 1e-3)


def test_a_version_1_file_loaded_and_saved_again_loads(tmp_path):
    name = "classifier-mmoe-piecewise"
    model = load(FOLDER / f"{name}.safetensors")
    save(model, tmp_path / "again.safetensors")
    again = load(tmp_path / "again.safetensors")
    assert again.fit_config_ == model.fit_config_
    assert again.fit_config_.n_rows is None


def test_a_first_partial_fit_records_one_pass_over_every_row():
    """60 rows: nothing held out, one batch of all 60, no refit."""
    X, Y = _table(n=60)
    model = MMoERegressor(**TINY, refit=True, random_state=0).partial_fit(X, Y)
    config = model.fit_config_
    assert (config.batch_size, config.refit, config.early_stopping) == (
        60,
        False,
        False,
    )
    assert model.net_.batch_size == 60


def test_fit_config_records_the_encoding_the_network_reads():
    """A warm start keeps its first fit's encoding (robust below 100 rows a
    column) though its rows would now bin; a table without numbers has none."""
    X, Y = _table(n=150)
    model = MMoERegressor(**BRIEF, warm_start=True, random_state=0).fit(X, Y)
    X2, Y2 = _table(n=400, seed=1)
    model.fit(X2, Y2)
    assert model.fit_config_.numeric_encoding == "robust"
    assert model.net_.get_params()["module__numeric"]["kind"] == "robust"
    cities = X[["city"]]
    only = MMoERegressor(**BRIEF, random_state=0).fit(cities, Y)
    assert only.fit_config_.numeric_encoding is None


def test_partial_fit_after_a_scheduled_fit_trains_at_the_learning_rate():
    """The cosine schedule ends near 0; a later pass trains at learning_rate."""
    X, Y = _table()
    model = MMoERegressor(**BRIEF, random_state=0).fit(X, Y)
    assert model.net_.optimizer_.param_groups[0]["lr"] < 1e-4
    model.partial_fit(X, Y)
    assert [g["lr"] for g in model.net_.optimizer_.param_groups] == [1e-3]
