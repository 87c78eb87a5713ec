"""Every code block of the documentation and of the README runs as printed: a block of
``>>>`` lines as a doctest of its page, the others here (on the data their text
describes), the Dask search script in ``tests/test_dask.py``, the README's test
command in ``.ci/run``; a block that is not run says why in a comment just before it,
which the page does not show (``.. not run by the test suite: ...``, or
``<!-- not run by the test suite: ... -->`` in Markdown)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import code_blocks
from sklearn.model_selection import GridSearchCV

from sklearn_mmoe import MMoEClassifier

ROOT = Path(__file__).parents[1]
PAGES = [
    "README.md",
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").glob("*.rst"))),
    *(
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "docs/user_guide").glob("*.rst"))
    ),
]
# Blocks run by another test: (page, index of the block on its page) -> that test.
RUN_ELSEWHERE = {
    (
        "docs/user_guide/scale.rst",
        0,
    ): "tests/test_dask.py::test_the_scale_pages_search_script_runs_as_printed",
    (
        "docs/user_guide/distributed.rst",
        0,
    ): "tests/test_distributed.py::test_the_guide_script_trains_under_torchrun",
}


def _two_binary_tasks(n=200):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    return {"X": X, "Y": Y}


def _buys_and_rating(n=200):
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    Y = pd.DataFrame({"buys": X["a"] > 0, "rating": X["b"] * 2 + rng.normal(size=n)})
    return {"X": X, "Y": Y}


def _check_classifier(ns):
    assert ns["clf"].predict(ns["X"]).shape == ns["Y"].shape


def _check_multitask(ns):
    assert ns["model"].task_types_ == ["classification", "regression"]


def _fitted_search():
    data = _two_binary_tasks(120)
    grid = {"n_experts": [2, 3]}
    small = MMoEClassifier(expert_units=(8,), max_epochs=3, random_state=0)
    return {**data, "search": GridSearchCV(small, grid, cv=2).fit(data["X"], data["Y"])}


def _check_reloaded(ns):
    best = ns["search"].best_estimator_
    assert np.array_equal(ns["model"].predict(ns["X"]), best.predict(ns["X"]))


def _check_search(ns):
    assert ns["search"].refit == "auc_income"
    assert sorted(ns["search"].scoring) == [
        "auc_income",
        "auc_marital",
        "logloss_income",
    ]


# (page, index of the python block on the page) -> (its namespace, what it shows)
RUN_HERE = {
    ("README.md", 0): (_two_binary_tasks, _check_classifier),
    ("README.md", 1): (_buys_and_rating, _check_multitask),
    ("docs/index.rst", 0): (_two_binary_tasks, _check_classifier),
    ("docs/user_guide/deployment.rst", 0): (_fitted_search, _check_reloaded),
    ("docs/user_guide/model_selection.rst", 0): (dict, _check_search),
}


def _blocks():
    """(page, index among the page's blocks of its language, language, code, the
    reason it is not run or None)."""
    out = []
    for page in PAGES:
        seen = {}
        for language, code, note in code_blocks(ROOT / page, notes=True):
            index = seen[language] = seen.get(language, -1) + 1
            out.append((page, index, language, code, note))
    return out


def _readme_test_command():
    return next(
        code
        for _, _, lang, code, _ in _blocks()[:4]
        if lang == "bash" and "pytest" in code
    ).strip()


def test_every_code_block_is_run_or_says_why_not():
    ci = (ROOT / ".ci/run").read_text()
    test_command = _readme_test_command()
    assert test_command in ci  # .ci/run runs the README's test command verbatim
    unaccounted = []
    for page, index, language, code, note in _blocks():
        key = (page, index)
        if language == "python" and ">>>" in code:
            # a doctest of its page: pytest collects docs/*.rst and docs/user_guide
            assert page.startswith("docs/"), f"{page}: doctests run on docs pages only"
        elif language == "python" and (key in RUN_HERE or key in RUN_ELSEWHERE):
            continue
        elif note:
            assert not code.startswith("# Not run"), f"{page}: the note shows"
            continue
        elif language == "bash" and code.strip() == test_command:
            continue
        else:
            unaccounted.append(f"{page}, {language} block {index}: {code[:60]!r}")
    assert not unaccounted, (
        "Code blocks neither run by the suite nor marked as not run:\n"
        + "\n".join(unaccounted)
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("key", sorted(RUN_HERE), ids="{0[0]}-{0[1]}".format)
def test_a_code_block_runs_as_printed(key, tmp_path, monkeypatch):
    page, index = key
    code = [
        c for p, i, lang, c, _ in _blocks() if (p, i, lang) == (page, index, "python")
    ]
    assert len(code) == 1, f"{page} has no python block {index}"
    make, check = RUN_HERE[key]
    namespace = make()
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them there
    exec(compile(code[0], f"{page} block {index}", "exec"), namespace)
    check(namespace)
