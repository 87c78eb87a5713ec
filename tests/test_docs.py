"""The documentation builds with no warnings, runs every example, documents every name.

The build runs once per session (about a minute and a half on two cores, most of it
the gallery): Sphinx with warnings as errors, numpydoc, autosummary and sphinx-gallery,
which executes every script in ``examples/`` and fails the build if one raises.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_mmoe
from sklearn_mmoe import datasets, plotting, preprocessing

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
MODULES = {
    module.__name__: module
    for module in (sklearn_mmoe, preprocessing, datasets, plotting)
}
PUBLIC_NAMES = [
    (name, attribute)
    for name, module in MODULES.items()
    for attribute in module.__all__
    if attribute != "__version__"
]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
        + [str(DOCS), str(out)],
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    return out


def test_the_docs_build_with_warnings_as_errors(html):
    assert (html / "index.html").is_file()


@pytest.mark.parametrize("page", ["getting_started", "user_guide/index", "why"])
def test_the_main_pages_are_built(html, page):
    assert (html / f"{page}.html").is_file()


@pytest.mark.parametrize("module, name", PUBLIC_NAMES)
def test_every_public_name_has_an_api_page(html, module, name):
    assert (html / "generated" / f"{module}.{name}.html").is_file()


@pytest.mark.parametrize("module, name", PUBLIC_NAMES)
def test_every_public_name_has_a_runnable_examples_section(module, name):
    doc = getattr(MODULES[module], name).__doc__
    assert re.search(r"\n\s*Examples\n\s*-{8}\n", doc), f"{name}: no Examples section"
    assert ">>> " in doc.split("Examples", 1)[1]


def test_the_gallery_has_the_examples_the_docs_promise():
    names = {path.stem for path in EXAMPLES}
    assert names >= {
        "quickstart",
        "plot_pipeline_column_transformer",
        "plot_grid_search",
        "plot_synthetic_correlation",
        "plot_census_income",
        "plot_gate_weights",
        "plot_missing_labels",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_ran_in_the_build(html, path):
    assert (html / "auto_examples" / f"{path.stem}.html").is_file()
    assert (DOCS / "auto_examples" / f"{path.stem}.py").is_file()


@pytest.mark.parametrize(
    "path", [p for p in EXAMPLES if p.stem.startswith("plot_")], ids=lambda p: p.name
)
def test_every_plot_example_draws_a_figure(html, path):
    figures = list((html / "_images").glob(f"sphx_glr_{path.stem}_00*.png"))
    assert figures, f"{path.name} drew no figure"


def test_maths_is_served_with_the_site_not_from_a_cdn(html):
    page = (html / "generated" / "sklearn_mmoe.MMoEMultiTask.html").read_text()
    assert "\\(R^2\\)" in page  # the docstring's maths, rendered by the local MathJax
    assert '"../_static/mathjax/tex-chtml.js"' in page
    assert "cdn." not in page
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()


@pytest.mark.parametrize(
    "path",
    [p for p in EXAMPLES if not p.stem.startswith("plot_")],
    ids=lambda p: p.name,
)
def test_an_example_without_a_figure_names_its_gallery_thumbnail(path):
    """sphinx-gallery would show its placeholder image on the example's card."""
    found = re.search(r'sphinx_gallery_thumbnail_path = "([^"]+)"', path.read_text())
    assert found, f"{path.name} draws no figure and names no thumbnail"
    assert (DOCS / found.group(1)).is_file()


def test_measured_figures_are_rendered_from_the_records(html):
    """The ``measured`` role and the generated tables put the records' figures on
    the pages (benchmarks/figures.py), so that a re-measure updates them."""
    from benchmarks import figures

    page = (html / "user_guide" / "performance.html").read_text()
    for name in ("suite.rank(MMoE)", "suite.at_least(MLP)", "scaling.growth(rows)"):
        assert f"{figures.value(name)}" in page
    assert ":measured:" not in page
    for table in ("defaults_table", "core_speed", "census", "synthetic"):
        rows = figures.TABLES[table]()[table]
        first = rows.splitlines()[1] if isinstance(rows, str) else rows[1]
        name = first.split(",")[0].strip('"') if isinstance(first, str) else first[0]
        assert name in page, f"the {table} table is not on the page"
