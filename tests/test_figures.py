"""What a newcomer reads is true: every measured figure the README and the
documentation quote comes from a benchmark record (benchmarks/figures.py), none is
typed by hand, and what the documentation says the library does not offer, it does
not."""

import json
import re
from pathlib import Path

import pytest

from benchmarks import figures

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("**/*.rst"))
PAGES = [
    p
    for p in PAGES
    if "_build" not in p.parts
    and "auto_examples" not in p.parts
    and "generated" not in p.parts
    and p.name != "sg_execution_times.rst"
]
EXAMPLES = sorted((ROOT / "examples").glob("*.py")) + [ROOT / "examples" / "README.rst"]
MARKER = re.compile(r"<!--fig:(?P<name>.+?)-->(?P<text>.*?)<!--/fig-->", re.S)
ROLE = re.compile(r":measured:`(?P<name>[^`]+)`")
# What a measured figure looks like in prose: a ratio (3.7x), a duration or a size
# (9.1 s, 120 us, 64 MB), a score or rank of two decimals or more (0.9694, 1.59), a
# count of a whole (54 of 56). Settings are written as code (``0.01``).
MEASURE = re.compile(
    r"(?<![\w.])("
    r"\d+(?:\.\d+)?x\b"
    r"|\d[\d,]*(?:\.\d+)?\s?(?:s|ms|us|µs|MB|GB|KB|TB|seconds?|minutes?|min|hours?)\b"
    r"|\d+\.\d{2,}(?![\d.])"
    r"|\d+ of \d+\b"
    r")"
)
# Numbers that are not measurements: versions after the name they number.
VERSION = re.compile(
    r"(?:Python|scikit-learn|PyTorch|torch|skorch|NumPy|numpy|SciPy|scipy|pandas|"
    r"safetensors|CUDA|version|release)\s+[\d.]+"
)


def _prose(text, kind):
    """``text`` without what is not prose: code blocks, doctests, inline code,
    roles, links and figure markers."""
    if kind == "md":
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        text = MARKER.sub("", text)
        text = re.sub(r"`[^`]*`", "", text)
    else:
        lines, skipping = [], False
        for line in text.splitlines():
            stripped = line.strip()
            if re.match(r"\.\. [\w-]+::", stripped) and not stripped.startswith(
                (".. note::", ".. warning::", ".. admonition::")
            ):
                skipping = True
                continue
            if skipping and (not stripped or line.startswith((" ", "\t"))):
                continue
            skipping = False
            if stripped.startswith((">>>", "...")):
                continue
            lines.append(line)
        text = "\n".join(lines)
        text = re.sub(r":\w+:`[^`]*`", "", text)
        text = re.sub(r"``[^`]*``", "", text)
        text = re.sub(r"`[^`]*`_?", "", text)
    text = re.sub(r"https?://\S+", "", text)
    return VERSION.sub("", text)


def _example_prose(path):
    """A gallery example's prose: its docstring and its comment cells."""
    text = path.read_text()
    if path.suffix != ".py":
        return text
    docstring = re.match(r'\s*"""(.*?)"""', text, re.S)
    comments = [
        line.strip()[1:] for line in text.splitlines() if line.strip().startswith("#")
    ]
    return (docstring.group(1) if docstring else "") + "\n" + "\n".join(comments)


def _unmarked(path):
    if path.suffix == ".md":
        prose = _prose(path.read_text(), "md")
    elif path.suffix == ".py":
        prose = _prose(_example_prose(path), "rst")
    else:
        prose = _prose(path.read_text(), "rst")
    return [m.group(0) for m in MEASURE.finditer(prose)]


BENCHMARKS = ROOT / "benchmarks"


def test_every_record_names_its_command_and_the_index_lists_it():
    """benchmarks/README.md indexes every script and record, and each record says
    which command wrote it."""
    index = (BENCHMARKS / "README.md").read_text()
    records = sorted((BENCHMARKS / "records").iterdir())
    assert len(records) >= 20
    for path in records:
        assert f"`{path.name}`" in index, f"{path.name} is not in the index"
        if path.suffix == ".json":
            assert json.loads(path.read_text())["command"], path.name
    for script in BENCHMARKS.glob("*.py"):
        if script.name not in ("__init__.py", "recording.py"):
            assert f"`{script.name}`" in index, f"{script.name} is not in the index"


def test_the_benchmarks_import_as_one_package():
    """No script finds its neighbours through an edited ``sys.path``."""
    edits = [p.name for p in BENCHMARKS.glob("**/*.py") if "sys.path" in p.read_text()]
    assert edits == []


@pytest.mark.parametrize(
    "path", [README, BENCHMARKS / "JOURNAL.md"], ids=["README", "journal"]
)
def test_every_figure_the_readme_quotes_is_the_records(path):
    quoted = list(MARKER.finditer(path.read_text()))
    assert len(quoted) >= 10
    wrong = [
        (m["name"], m["text"], figures.value(m["name"]))
        for m in quoted
        if m["text"] != figures.value(m["name"])
    ]
    assert wrong == [], "README figures differ from the records (name, text, record)"


def test_every_figure_the_documentation_quotes_names_a_record():
    names = [
        m["name"]
        for page in [*PAGES, *EXAMPLES]
        for m in ROLE.finditer(page.read_text())
    ]
    assert len(names) >= 10
    for name in names:
        assert figures.value(name)


@pytest.mark.parametrize(
    "path", [README, *PAGES, *EXAMPLES], ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_figure_is_typed_by_hand(path):
    """A measured figure in prose comes from a record, through a marker (README) or
    the ``measured`` role (the documentation); the changelog tells what changed and
    quotes none."""
    assert _unmarked(path) == []


def test_the_scan_finds_figures_typed_by_hand():
    prose = "The fit takes 3.7x boosting's time (9.1 s), AUC 0.9694, 54 of 56 tasks."
    assert MEASURE.findall(_prose(prose, "rst")) == [
        "3.7x",
        "9.1 s",
        "0.9694",
        "54 of 56",
    ]
    assert MEASURE.findall(_prose("scikit-learn 1.6 or later, ``0.01``", "rst")) == []


def _not_offered():
    """The bullets of the "What we do not offer" section of the "Why" page."""
    text = (ROOT / "docs" / "why.rst").read_text()
    section = re.split(r"What we do not offer\n=+\n", text)[1]
    section = re.split(r"\n\S.*\n[=-]+\n", section)[0].strip()
    return [
        " ".join(b.split()) for b in re.split(r"^- ", section, flags=re.M) if b.strip()
    ]


def _no_parameter(*names):
    from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor

    params = set()
    for cls in (MMoEClassifier, MMoERegressor, MMoEMultiTask):
        params |= set(cls().get_params())
    return not params & set(names)


# Each claim of the page, by its first words: a check that it is still true.
NOT_OFFERED = {
    "No sharded embedding tables": lambda: _no_parameter(
        "shard_tables", "sharding", "embedding_sharding"
    ),
    "No gradient-balancing methods": lambda: _no_parameter(
        "gradient_balancing", "metabalance"
    ),
}


def test_what_the_documentation_says_is_not_offered_is_not():
    bullets = _not_offered()
    assert len(bullets) == len(NOT_OFFERED)
    for bullet in bullets:
        claim = next((c for c in NOT_OFFERED if bullet.startswith(c)), None)
        assert claim is not None, f"a claim with no check: {bullet!r}"
        assert NOT_OFFERED[claim](), f"offered after all: {bullet!r}"
