"""Model files crafted as an attacker would craft them: every field of the format
removed, renamed, retyped, made non-finite or enormous, every tensor removed,
resized, retyped or poisoned, the class swapped, attributes added. Each is refused
by ``load`` with a ValueError that names the file; a model that loads holds only
the declared attributes; and a refused load of a small file that claims an
enormous network allocates little."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from _helpers import BRIEF, MIXED_KINDS, mixed_frame, reviews_frame
from safetensors import safe_open
from safetensors.torch import save_file

from sklearn_mmoe import (
    MMoEClassifier,
    MMoEMultiTask,
    MMoERegressor,
    load,
    save,
)
from sklearn_mmoe._export.restore import FITTED

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _mixed():
    """A DataFrame of numbers (one with NaN) and a category, three task kinds, rows
    held out (so the validation record is in the file)."""
    X, Y = mixed_frame()
    model = MMoEMultiTask(
        **BRIEF, task_types=MIXED_KINDS, early_stopping=True, random_state=0
    )
    return model.fit(X, Y)


def _piecewise_ple_transformer():
    """An array without feature names, binned, two PLE levels of Transformers."""
    rng = np.random.RandomState(1)
    X = rng.normal(size=(200, 3))
    Y = np.c_[X[:, 0] + X[:, 1], X[:, 2] ** 2]
    return MMoERegressor(
        **BRIEF,
        numeric_encoding="piecewise",
        architecture="ple",
        n_levels=2,
        expert_type="transformer",
        token_dim=8,
        n_heads=2,
        random_state=0,
    ).fit(X, Y)


def _ensemble_classifier():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(150, 4))
    Y = np.c_[X[:, 0] > 0, np.digitize(X[:, 1], [-0.5, 0.5])]
    return MMoEClassifier(
        **BRIEF,
        ensemble_size=2,
        gate_type="attention",
        task_weights="uncertainty",
        random_state=0,
    ).fit(X, Y)


def _text():
    """A review text beside a category and a number, hashed words and character
    n-grams (the tokenizer's every setting in the file)."""
    X, Y = reviews_frame(120)
    return MMoEMultiTask(
        **BRIEF,
        task_types=["classification", "regression"],
        text_features=["review"],
        text_options={"char_ngrams": (3, 4), "dim": 8},
        random_state=0,
    ).fit(X, Y)


MODELS = {
    "mixed": _mixed,
    "text": _text,
    "piecewise-ple-transformer": _piecewise_ple_transformer,
    "ensemble-classifier": _ensemble_classifier,
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each model's file, as its tensors and metadata, with the model."""
    folder = tmp_path_factory.mktemp("saved")
    files = {}
    for name, make in MODELS.items():
        model = make()
        path = folder / f"{name}.safetensors"
        save(model, path)
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            metadata = f.metadata()
        files[name] = (model, tensors, metadata)
    return files


def _write(path, tensors, metadata, state=None):
    if state is not None:
        metadata = {**metadata, "state": json.dumps(state)}
    save_file(tensors, str(path), metadata=metadata)
    return path


def _refused(path):
    with pytest.raises(ValueError, match="sklearn_mmoe model file|valid model") as e:
        load(path)
    assert str(path) in str(e.value)  # the error names the file
    return str(e.value)


# -- every field of the header: removed, renamed, retyped
# ---------------------------------------------------------------------------------


def _fields(node, path=()):
    """The path of every named field of a header's state: the entries of its
    encoded dicts (params, fitted attributes, the network's settings, task and
    encoder states, the history's epochs) and the top-level sections."""
    if isinstance(node, dict):
        if "dict" in node and len(node) == 1:
            for key, value in node["dict"].items():
                yield (*path, "dict", key)
                yield from _fields(value, (*path, "dict", key))
        elif "object" in node:
            yield from _fields(node["state"], (*path, "state"))
        elif not path:
            for key, value in node.items():
                yield (key,)
                yield from _fields(value, (key,))
        elif "tuple" not in node:
            return
    if isinstance(node, list):
        for i, value in enumerate(node[:2]):  # the first of each list: enough
            yield from _fields(value, (*path, i))


def _at(state, path):
    node = state
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


def _mutations(state):
    """(id, mutated state) for every field: removed, renamed and retyped."""
    for path in _fields(state):
        label = ".".join(str(p) for p in path if p not in ("dict", "state"))
        for how in ("removed", "renamed", "retyped"):
            mutated = json.loads(json.dumps(state))
            parent, key = _at(mutated, path)
            if how == "removed":
                del parent[key]
            elif how == "renamed":
                parent[f"{key}_"] = parent.pop(key)
            else:
                parent[key] = {"bogus": 1}
            yield f"{label} {how}", mutated


@pytest.mark.parametrize("name", MODELS)
def test_every_field_removed_renamed_or_retyped_is_refused(name, saved, tmp_path):
    model, tensors, metadata = saved[name]
    state = json.loads(metadata["state"])
    tried, loaded = 0, []
    for label, mutated in _mutations(state):
        path = _write(tmp_path / "m.safetensors", tensors, metadata, mutated)
        try:
            load(path)
            loaded.append(label)
        except ValueError as error:
            assert "valid model" in str(error) and str(path) in str(error), label
        tried += 1
    assert loaded == []
    # every parameter and declared attribute, three ways each, and nested fields
    assert tried >= 3 * (len(model.get_params()) + 15)


# -- values of the right type but the wrong size, range or finiteness
# ---------------------------------------------------------------------------------


def _set(state, section, key, value):
    state[section]["dict"][key] = value
    return state


def _task(state, index, key, value):
    state["fitted"]["dict"]["_tasks"][index]["state"]["dict"][key] = value
    return state


VALUES = {
    # parameters outside their constraints or the fit-time checks
    "activation os.system": ("params", "activation", "os.system"),
    "n_experts -5": ("params", "n_experts", -5),
    "verbose x": ("params", "verbose", "x"),
    "n_experts a bool": ("params", "n_experts", True),
    "expert_units empty": ("params", "expert_units", {"tuple": []}),
    "expert_units negative": ("params", "expert_units", {"tuple": [-3]}),
    "device tpu": ("params", "device", "tpu"),
    "device nonsense": ("params", "device", "no device at all"),
    "learning_rate NaN": ("params", "learning_rate", float("nan")),
    "random_state huge": ("params", "random_state", 2**40),
    "task_weights of 5": ("params", "task_weights", [1, 1, 1, 1, 1]),
    "expert_options for mlp": ("params", "expert_options", {"dict": {"a": 1}}),
    "expert_type a module path": ("params", "expert_type", "torch.nn.Linear"),
    "categorical_features another column": (
        "params",
        "categorical_features",
        [0],
    ),
    "task_types swapped": (
        "params",
        "task_types",
        ["regression", "classification", "count"],
    ),
    # fitted attributes of the wrong size or kind
    "n_features_in_ 7": ("fitted", "n_features_in_", 7),
    "n_features_in_ 0": ("fitted", "n_features_in_", 0),
    "n_features_in_ a float": ("fitted", "n_features_in_", 3.0),
    "n_outputs_ 2": ("fitted", "n_outputs_", 2),
    "empty tasks": ("fitted", "_tasks", []),
    "_y_1d with three tasks": ("fitted", "_y_1d", True),
    "_allow_nan against numeric_encoding": ("fitted", "_allow_nan", False),
    "n_iter_ 10**12": ("fitted", "n_iter_", 10**12),
    "loss_curve_ NaN": ("fitted", "loss_curve_", [float("nan")] * 4),
    "best_validation_score_ not the best": ("fitted", "best_validation_score_", 5.0),
    "task_names_ of two": (
        "fitted",
        "task_names_",
        {"objects": ["a", "b"], "shape": [2], "dtype": "object"},
    ),
    "task_names_ not strings": (
        "fitted",
        "task_names_",
        {"objects": [1, 2, 3], "shape": [3], "dtype": "object"},
    ),
    "an attribute named predict": ("fitted", "predict", "x"),
    "an attribute named __class__": ("fitted", "__class__", "MMoERegressor"),
    "an attribute named __dict__": ("fitted", "__dict__", {"dict": {}}),
    "an attribute overriding n_experts": ("fitted", "n_experts", 999),
    "an attribute of our own": ("fitted", "_secret", 1),
    "an object of an unknown type": ("fitted", "_encoder", {"object": "os.system"}),
    "an object of another known type": (
        "fitted",
        "_encoder",
        {"object": "RegressionTask", "state": {"dict": {}}},
    ),
}


@pytest.mark.parametrize("change", VALUES)
def test_values_the_estimator_cannot_have_are_refused(change, saved, tmp_path):
    _, tensors, metadata = saved["mixed"]
    section, key, value = VALUES[change]
    state = _set(json.loads(metadata["state"]), section, key, value)
    _refused(_write(tmp_path / "m.safetensors", tensors, metadata, state))


TASK_VALUES = {
    "a regression mean NaN": (1, "mean", float("nan")),
    "a regression mean inf": (1, "mean", float("inf")),
    "a regression scale 0": (1, "scale", 0.0),
    "a regression scale negative": (1, "scale", -2.0),
    "a shrinkage of 2": (1, "shrink", 2.0),
    "a range upside down": (1, "low", 1e9),
    "a count mean 0": (2, "mean", 0.0),
    "a count mean a string": (2, "mean", "x"),
    "classes unsorted": (
        0,
        "classes",
        {"objects": ["yes", "no"], "shape": [2], "dtype": "object"},
    ),
    "one class": (0, "classes", {"objects": ["no"], "shape": [1], "dtype": "object"}),
    "classes repeated": (
        0,
        "classes",
        {"objects": ["no", "no"], "shape": [2], "dtype": "object"},
    ),
    "classes of mixed types": (
        0,
        "classes",
        {"objects": [1, "no"], "shape": [2], "dtype": "object"},
    ),
    "an extra task field": (1, "predict", 1.0),
}


def test_a_transformer_whose_token_dim_its_heads_cannot_split_is_refused(
    saved, tmp_path
):
    _, tensors, metadata = saved["piecewise-ple-transformer"]
    state = _set(json.loads(metadata["state"]), "params", "token_dim", 7)
    assert "multiple of n_heads" in _refused(
        _write(tmp_path / "m.safetensors", tensors, metadata, state)
    )


@pytest.mark.parametrize("change", TASK_VALUES)
def test_tasks_a_fit_cannot_make_are_refused(change, saved, tmp_path):
    _, tensors, metadata = saved["mixed"]
    state = _task(json.loads(metadata["state"]), *TASK_VALUES[change])
    _refused(_write(tmp_path / "m.safetensors", tensors, metadata, state))


def _encoder_state(state):
    return state["fitted"]["dict"]["_encoder"]["state"]["dict"]


def _numeric_state(state):
    return state["fitted"]["dict"]["_numeric"]["dict"]


def test_a_boolean_array_as_a_numeric_centre_is_refused(saved, tmp_path):
    _, tensors, metadata = saved["mixed"]
    state = json.loads(metadata["state"])
    key = _numeric_state(state)["center"]["array"]
    tensors = {**tensors, key: torch.ones(2, dtype=torch.bool)}
    message = _refused(_write(tmp_path / "m.safetensors", tensors, metadata, state))
    assert "center" in message


@pytest.mark.parametrize(
    "change",
    ["unsorted", "repeated", "a missing category", "an index of ints", "too few"],
)
def test_categories_a_fit_cannot_learn_are_refused(change, saved, tmp_path):
    _, tensors, metadata = saved["mixed"]
    state = json.loads(metadata["state"])
    column = _encoder_state(state)["categories"][0]
    values = {
        "unsorted": ["Oslo", "Lyon", "Pune"],
        "repeated": ["Lyon", "Lyon", "Pune"],
        "a missing category": ["Lyon", None, "Pune"],
    }
    if change in values:
        column["index"]["objects"] = values[change]
    elif change == "an index of ints":
        column["dtype"] = "int64"
    else:
        _encoder_state(state)["categories"] = []
    _refused(_write(tmp_path / "m.safetensors", tensors, metadata, state))


# -- the class against the state
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, estimator",
    [
        ("ensemble-classifier", "MMoERegressor"),
        ("ensemble-classifier", "MMoEMultiTask"),
        ("piecewise-ple-transformer", "MMoEClassifier"),
        ("mixed", "MMoEClassifier"),
        ("mixed", "MMoERegressor"),
    ],
)
def test_a_file_relabelled_another_estimator_is_refused(
    name, estimator, saved, tmp_path
):
    """A classifier's file named a regressor would predict labels as numbers; the
    state must be the class's, parameters and all."""
    _, tensors, metadata = saved[name]
    state = json.loads(metadata["state"])
    state["estimator"] = estimator
    _refused(_write(tmp_path / "m.safetensors", tensors, metadata, state))


def test_a_relabelled_file_with_the_class_parameters_is_refused_by_its_tasks(
    saved, tmp_path
):
    """Even with the other class's parameters, a classifier's tasks are not a
    regressor's."""
    _, tensors, metadata = saved["ensemble-classifier"]
    state = json.loads(metadata["state"])
    state["estimator"] = "MMoERegressor"
    state["params"]["dict"]["loss"] = "squared_error"
    for name in ("task_parents", "funnel", "funnel_calibration"):  # a classifier's own
        del state["params"]["dict"][name]
    del state["fitted"]["dict"]["classes_"]
    message = _refused(_write(tmp_path / "m.safetensors", tensors, metadata, state))
    assert "kinds" in message


# -- the tensors
# ---------------------------------------------------------------------------------


def _tensor_mutations(tensors):
    for key, tensor in tensors.items():
        yield f"{key} removed", {k: v for k, v in tensors.items() if k != key}
        bigger = torch.zeros(tensor.shape[0] + 1, *tensor.shape[1:], dtype=tensor.dtype)
        yield f"{key} resized", {**tensors, key: bigger}
        yield (
            f"{key} renamed",
            {
                **{k: v for k, v in tensors.items() if k != key},
                f"{key}x": tensor,
            },
        )
        other = {
            torch.float32: torch.float64,
            torch.float64: torch.float32,
            torch.int64: torch.int32,
            torch.bool: torch.uint8,
        }[tensor.dtype]
        yield f"{key} as {other}", {**tensors, key: tensor.to(other)}


@pytest.mark.parametrize("name", MODELS)
def test_every_tensor_removed_resized_renamed_or_retyped_is_refused(
    name, saved, tmp_path
):
    _, tensors, metadata = saved[name]
    tried, loaded = 0, []
    for label, mutated in _tensor_mutations(tensors):
        path = _write(tmp_path / "m.safetensors", mutated, metadata)
        try:
            load(path)
            loaded.append(label)
        except ValueError as error:
            assert "valid model" in str(error), label
        tried += 1
    assert loaded == []
    assert tried >= 3 * len(tensors)


@pytest.mark.parametrize("poison", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("name", MODELS)
def test_non_finite_weights_are_refused(poison, name, saved, tmp_path):
    _, tensors, metadata = saved[name]
    key = next(k for k in tensors if k.startswith("module.") and tensors[k].numel())
    weight = tensors[key].clone()
    weight.view(-1)[0] = poison
    message = _refused(
        _write(tmp_path / "m.safetensors", {**tensors, key: weight}, metadata)
    )
    assert "not finite" in message


def test_a_loss_buffer_other_than_its_settings_give_is_refused(saved, tmp_path):
    _, tensors, metadata = saved["mixed"]
    inverse = tensors["criterion.inverse"].flip(0)
    path = _write(
        tmp_path / "m.safetensors", {**tensors, "criterion.inverse": inverse}, metadata
    )
    _refused(path)


# -- the header itself
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version", ["²", "1.0", "", " 1", "-1", "0x1", "١", "99", "1" * 20]
)
def test_a_format_version_is_read_strictly(version, saved, tmp_path):
    """ASCII digits only: a superscript two passes ``str.isdigit``."""
    _, tensors, metadata = saved["mixed"]
    path = _write(tmp_path / "m.safetensors", tensors, {**metadata, "version": version})
    with pytest.raises(ValueError, match="version") as e:
        load(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize(
    "text",
    ["", "not json", "[]", "null", '{"estimator": "MMoERegressor"}', "[" * 100_000],
)
def test_a_state_that_is_not_a_model_is_refused(text, saved, tmp_path):
    _, tensors, metadata = saved["mixed"]
    path = _write(tmp_path / "m.safetensors", tensors, {**metadata, "state": text})
    _refused(path)


@pytest.mark.parametrize("depth", [400, 100_000])
def test_a_deeply_nested_value_is_refused(depth, saved, tmp_path):
    """Nesting that decodes (and is not a size), and nesting beyond what a parser
    or a decoder can recurse into: refused either way, never a RecursionError."""
    _, tensors, metadata = saved["mixed"]
    state = json.loads(metadata["state"])
    state["params"]["dict"]["expert_units"] = "NESTED"
    nested = '{"tuple": [' * depth + '"x"' + "]}" * depth
    text = json.dumps(state).replace('"NESTED"', nested)
    path = _write(tmp_path / "m.safetensors", tensors, {**metadata, "state": text})
    _refused(path)


# -- what a model that loads holds
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_a_loaded_model_holds_only_declared_attributes(name, saved, tmp_path):
    model, tensors, metadata = saved[name]
    loaded = load(_write(tmp_path / "m.safetensors", tensors, metadata))
    declared = set(FITTED) | set(model.get_params()) | {"net_", "classes_"}
    declared |= {"task_types_"}
    assert set(vars(loaded)) <= declared
    assert set(vars(loaded)) == set(vars(model)) - {"_progress"}


# -- enormous sizes: refused before anything is built
# ---------------------------------------------------------------------------------


def _bombs(tensors, metadata):
    """Small files whose header asks for an enormous network."""
    state = json.loads(metadata["state"])

    def params(**values):
        crafted = json.loads(json.dumps(state))
        for key, value in values.items():
            crafted["params"]["dict"][key] = value
            if key in crafted["module_params"]["dict"]:
                crafted["module_params"]["dict"][key] = value
        return crafted

    yield "expert_units (8000, 16000)", params(expert_units={"tuple": [8000, 16000]})
    yield "expert_units (10**9,)", params(expert_units={"tuple": [10**9]})
    yield "n_experts 10**9", params(n_experts=10**9)
    yield "n_levels 10**9", params(architecture="ple", n_levels=10**9)
    yield "n_task_experts 10**9", params(architecture="ple", n_task_experts=10**9)
    yield "ensemble_size 10**7", params(ensemble_size=10**7)
    yield "tower_units of 10,000 layers", params(tower_units={"tuple": [4] * 10**4})
    yield "embedding_dim 10**8", params(embedding_dim=10**8)
    yield (
        "token_dim 2**40",
        params(expert_type="transformer", token_dim=2**40, n_heads=1),
    )
    yield "n_blocks 10**9", params(expert_type="transformer", n_blocks=10**9)
    crafted = json.loads(json.dumps(state))
    embeddings = crafted["module_params"]["dict"]["embeddings"]["tuple"]
    embeddings[0]["tuple"][0] = 10**8
    yield "a categorical column of 10**8 levels", crafted


def test_an_enormous_network_in_a_small_file_is_refused_before_it_is_built(
    saved, tmp_path
):
    """Each crafted file is refused, and the process's peak memory while loading all
    of them grows by little: nothing of the network they claim is allocated (the
    report: 1 to 1.5 GB and 7 to 9 s for a 6 KB file)."""
    _, tensors, metadata = saved["mixed"]
    good = tmp_path / "good.safetensors"
    _write(good, tensors, metadata)
    paths = []
    for i, (label, state) in enumerate(_bombs(tensors, metadata)):
        paths.append(
            (
                label,
                str(_write(tmp_path / f"{i}.safetensors", tensors, metadata, state)),
            )
        )
    assert all(Path(p).stat().st_size < 500_000 for _, p in paths)
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from _helpers import peak_memory_bytes
        from sklearn_mmoe import load
        load({str(good)!r})  # the imports and a load's own costs, first
        before = peak_memory_bytes()
        refused = []
        for label, path in {paths!r}:
            try:
                load(path)
            except ValueError as error:
                refused.append(label)
        print(json.dumps([refused, peak_memory_bytes() - before]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    refused, grown = json.loads(out.stdout.strip().splitlines()[-1])
    assert refused == [label for label, _ in paths]
    assert grown < 64 * 2**20  # bytes
