"""Sphinx configuration of the sklearn_mmoe documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` after
``pip install -e ".[docs]"``. The build never touches the network: intersphinx reads
inventories written from the installed packages (``_inventories.py``), and every gallery
example runs on data that is generated or already on disk.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# The repository root: the benchmark records' figures (benchmarks/figures.py).
sys.path.insert(0, str(HERE.parent))

from _inventories import write_inventories  # noqa: E402
from docutils import nodes  # noqa: E402

import sklearn_mmoe  # noqa: E402
from benchmarks import figures  # noqa: E402

os.environ.setdefault("MPLBACKEND", "Agg")

project = "sklearn_mmoe"
author = "The sklearn_mmoe developers"
copyright = "2026, The sklearn_mmoe developers"
version = release = sklearn_mmoe.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.extlinks",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax served from the built site itself, not a CDN: maths renders offline.
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
default_role = "literal"

# API pages: one per public name, generated from the numpydoc docstrings.
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "DataFrame": "pandas.DataFrame",
    "Series": "pandas.Series",
    "ndarray": "numpy.ndarray",
    "RandomState": "numpy.random.RandomState",
    "Generator": "numpy.random.Generator",
    "estimator": "sklearn.base.BaseEstimator",
    "Axes": "matplotlib.axes.Axes",
    "Figure": "matplotlib.figure.Figure",
    "Path": "pathlib.Path",
    "device": "torch.device",
}
# Words of the type descriptions ("ndarray of shape (n_samples,)") that are not types.
numpydoc_xref_ignore = {"of", "or", "shape", "default", "optional", "instance", "like"}

extlinks = {
    "doi": ("https://doi.org/%s", "doi:%s"),
    "arxiv": ("https://arxiv.org/abs/%s", "arXiv:%s"),
}

# Offline cross-references to the libraries the API is built on.
intersphinx_mapping = write_inventories(HERE / "_build" / "inventories")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run every example (not only plot_*): the gallery is also a test that they work.
    "filename_pattern": r"\.py$",
    # ... every time, not only when the example's file changed: the library may have.
    "run_stale_examples": True,
    # The quickstart first, then from light to heavy (_gallery_order.py).
    "within_subsection_order": "_gallery_order.GalleryOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "reference_url": {"sklearn_mmoe": None},
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("sklearn_mmoe",),
    "show_memory": False,
    "min_reported_time": 1,
}

plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]

html_theme = "pydata_sphinx_theme"
# The right-hand contents of an API page lists "fit()", not "MMoEMultiTask.fit()": the
# long names did not fit the sidebar.
toc_object_entries_show_parents = "hide"
html_title = f"sklearn_mmoe {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    # The performance page's tables of figures get the width of the right-hand
    # contents too.
    "secondary_sidebar_items": {
        "**": ["page-toc"],
        "user_guide/performance": [],
        "user_guide/experts": [],
    },
}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["custom.css"]
# Pages without sub-pages get no (empty) section sidebar: their own contents is on the
# right.
html_sidebars = {"getting_started": [], "why": [], "changelog": []}


# Measured figures come from the benchmark records, never typed: ``:measured:`name```
# renders the figure ``name`` of benchmarks/figures.py, and the tables the pages show
# are written from the records into _generated/ (csv-table's :file:) at every build.
figures.write_tables(HERE / "user_guide" / "_generated")


def _measured(name, rawtext, text, lineno, inliner, options=None, content=None):
    try:
        return [nodes.Text(figures.value(text))], []
    except Exception as exc:  # any figure its record cannot give: an error
        message = inliner.reporter.error(f"figure {text!r}: {exc}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]


def setup(app):
    app.add_role("measured", _measured)
