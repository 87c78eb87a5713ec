"""Models saved by an earlier version load and predict as they did when saved
(``tests/_saved.py`` wrote them): a change of the package's inside, a move of its
modules, never reaches a user's saved model."""

import json

import numpy as np
import pytest
from _saved import CONFIGS, FOLDER, data, predictions

import sklearn_mmoe


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_model_saved_before_predicts_as_it_did(name):
    """Every prediction and class probability equals the one recorded when the
    file was written, to float32 rounding: the tables have more rows than inference
    runs in float64 (sklearn_mmoe._estimators.inference._NUMPY_ROWS), so PyTorch
    runs them in float32, whose sums a CPU of other vector units orders otherwise
    (seen: 4e-8 on a probability); a few layers of sums of float32 (eps 6e-8) stay
    well within 1e-5."""
    model = sklearn_mmoe.load(FOLDER / f"{name}.safetensors")
    assert type(model).__name__ == CONFIGS[name][0]
    X, _ = data(name)
    recorded = json.loads((FOLDER / f"{name}.json").read_text())
    now = predictions(model, X)
    assert sorted(now) == sorted(recorded)
    for key, values in recorded.items():
        np.testing.assert_allclose(now[key], values, rtol=1e-5, atol=1e-7)


def test_every_saved_configuration_has_its_files():
    """Each configuration's model file and predictions are in the repository, and
    nothing else is: a configuration added without its files, or a file left
    without its configuration, fails."""
    names = {path.stem for path in FOLDER.iterdir()}
    assert names == set(CONFIGS)
    assert len(list(FOLDER.iterdir())) == 2 * len(CONFIGS)
