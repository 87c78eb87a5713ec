"""The package's folders are its layers, and no import goes up a layer: what each
file of ``sklearn_mmoe`` imports from the package, read from its source."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_mmoe"
# Bottom up; a layer imports from the layers below it and from itself only. The
# public modules (the package's face, plotting, preprocessing) and the data sets
# stand beside the layers they use.
LAYERS = [
    "_utils",
    "_distributed",  # a fit's processes: the group, its failures, its gradients
    ("_tasks", "_text"),  # side by side: neither imports the other
    ("_inputs", "_network"),  # side by side: neither imports the other
    "_training",
    ("_estimators", "_scoring"),
    "_export",
]


def _level(name):
    for level, layer in enumerate(LAYERS):
        if name == layer or (isinstance(layer, tuple) and name in layer):
            return level
    return None


def _imported(path):
    """The package's layers a file imports, by the first part below
    ``sklearn_mmoe`` of each absolute or relative import."""
    tree = ast.parse(path.read_text())
    here = path.relative_to(PACKAGE).parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved from the file's own package
                base = list(here[:-1])[: len(here) - node.level]
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts + [a.name] for a in node.names] if not parts else [parts]
            elif node.module and node.module.startswith("sklearn_mmoe."):
                names = [node.module.split(".")[1:]]
            else:
                continue
            found.update(p[0] for p in names if p)
    return found


def _package_files():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def test_every_private_folder_is_a_layer():
    """A new folder of the package has its place among the layers."""
    folders = {
        p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name.startswith("_")
    }
    folders.discard("__pycache__")
    assert {f for f in folders if _level(f) is None} == set()


def test_no_import_goes_up_a_layer():
    """Every file inside a layer imports from its own layer or a lower one."""
    upward = []
    for path in _package_files():
        own = _level(path.relative_to(PACKAGE).parts[0])
        if own is None:  # the data sets: they import nothing of the layers
            assert _imported(path) <= {"datasets"}, path
            continue
        for name in _imported(path):
            level = _level(name)
            if level is not None and level > own:
                upward.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert upward == []


def test_side_by_side_layers_do_not_import_each_other():
    """The inputs and the network, and the estimators and the scoring, stand on the
    same floor without ties between them."""
    for layer in LAYERS:
        if not isinstance(layer, tuple):
            continue
        for path in _package_files():
            own = path.relative_to(PACKAGE).parts[0]
            if own in layer:
                assert _imported(path) & (set(layer) - {own}) == set(), path
