"""Intersphinx inventories written from the installed packages, so the build is offline.

The docs must build with no network (CI has none, and a build that fetches is not
reproducible). Each inventory lists the public objects of one installed package under
the URL its published documentation gives them, so cross-references such as
``:class:`~sklearn.pipeline.Pipeline``` link to the real pages.
"""

import importlib
import inspect
import zlib
from pathlib import Path

HEADER = (
    "# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
    "# The remainder of this file is compressed using zlib.\n"
)


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        try:
            obj = getattr(module, name, None)
        except ImportError:  # experimental names that need an explicit enable import
            continue
        if inspect.isclass(obj):
            yield name, "class", obj
        elif callable(obj):
            yield name, "function", obj


def _members(cls, qualname):
    """Public methods and properties of a class, for ``:meth:`` references."""
    for name, obj in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(obj, property):
            yield f"{qualname}.{name}", "attribute"
        elif callable(obj) or isinstance(obj, classmethod | staticmethod):
            yield f"{qualname}.{name}", "method"


def _sklearn():
    import sklearn

    # sklearn.__all__ names the estimator modules; base and utils hold the rest.
    for sub in [*sklearn.__all__, "base", "utils", "utils.estimator_checks"]:
        try:
            module = importlib.import_module(f"sklearn.{sub}")
        except ImportError:
            continue
        if not inspect.ismodule(module):
            continue
        for name, role, obj in _public(module):
            full = f"sklearn.{sub}.{name}"
            page = f"modules/generated/{full}.html"
            yield full, role, page
            if role == "class":
                for member, mrole in _members(obj, full):
                    yield member, mrole, page
    # Referenced by the docstrings the estimators inherit (set_fit_request, ...).
    yield "meta-estimator", "std:term", "glossary.html#term-meta-estimator"
    yield "metadata_routing", "std:label", "metadata_routing.html#metadata-routing"
    # Referenced by set_output, which transformers inherit.
    # Labels carry the title a bare :ref: shows as its text.
    yield (
        "df_output_transform",
        "std:label",
        "modules/df_output_transform.html#pandas-polars-output-for-transformers-with-set-output-api",
        "Pandas/Polars Output for Transformers with set_output API",
    )
    yield (
        "sphx_glr_auto_examples_miscellaneous_plot_set_output.py",
        "std:label",
        "auto_examples/miscellaneous/plot_set_output.html#introducing-the-set-output-api",
        "Introducing the set_output API",
    )


def _numpy():
    import numpy

    for name, role, _ in _public(numpy):
        yield f"numpy.{name}", role, f"reference/generated/numpy.{name}.html"
    yield "numpy.random.RandomState", "class", "reference/random/legacy.html"
    yield "numpy.random.Generator", "class", "reference/random/generator.html"
    # numpydoc links "array-like" in parameter types to this glossary entry.
    yield "array_like", "std:term", "glossary.html#term-array_like"


def _pandas():
    import pandas

    for name, role, _ in _public(pandas):
        yield f"pandas.{name}", role, f"reference/api/pandas.{name}.html"


def _torch():
    yield "torch.device", "class", "tensor_attributes.html"
    yield "torch.dtype", "class", "tensor_attributes.html"
    yield "torch.Tensor", "class", "tensors.html"
    for name in (
        "nn.Module",
        "nn.Linear",
        "nn.Embedding",
        "optim.AdamW",
        "save",
        "load",
    ):
        role = "class" if name[name.rfind(".") + 1].isupper() else "function"
        yield f"torch.{name}", role, f"generated/torch.{name}.html"


def _skorch():
    yield "skorch.NeuralNet", "class", "net.html"
    yield "skorch.net.NeuralNet", "class", "net.html"


def _matplotlib():
    for name in ("axes.Axes", "figure.Figure", "colors.Colormap"):
        yield f"matplotlib.{name}", "class", f"api/_as_gen/matplotlib.{name}.html"


def _python():
    for name in ("int", "float", "bool"):
        yield name, "class", "library/functions.html"
    for name in ("str", "list", "tuple", "dict"):
        yield name, "class", "library/stdtypes.html"
    yield "pathlib.Path", "class", "library/pathlib.html"
    yield "pickle", "module", "library/pickle.html"
    # numpydoc links "bool" in parameter types to this section.
    yield "bltin-boolean-values", "std:label", "library/stdtypes.html#boolean-type-bool"


# name: (documentation root, version source, generator)
INVENTORIES = {
    "python": ("https://docs.python.org/3/", None, _python),
    "sklearn": ("https://scikit-learn.org/stable/", "sklearn", _sklearn),
    "numpy": ("https://numpy.org/doc/stable/", "numpy", _numpy),
    "pandas": ("https://pandas.pydata.org/docs/", "pandas", _pandas),
    "torch": ("https://docs.pytorch.org/docs/stable/", "torch", _torch),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", "skorch", _skorch),
    "matplotlib": ("https://matplotlib.org/stable/", "matplotlib", _matplotlib),
}


def write_inventories(directory):
    """Write one ``<name>.inv`` per package into ``directory``; return the mapping.

    The return value is ready for ``intersphinx_mapping``: each entry pairs the
    published documentation root with the local inventory file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for key, (root, package, entries) in INVENTORIES.items():
        version = importlib.import_module(package).__version__ if package else ""
        lines, seen = [], set()
        for name, role, page, *title in entries():
            if name in seen:
                continue
            seen.add(name)
            if ":" not in role:
                role = f"py:{role}"
            if "#" not in page:
                page += "#$"
            lines.append(f"{name} {role} 1 {page} {title[0] if title else '-'}\n")
        path = directory / f"{key}.inv"
        head = HEADER.format(project=key, version=version).encode()
        path.write_bytes(head + zlib.compress("".join(lines).encode()))
        mapping[key] = (root, str(path))
    return mapping
