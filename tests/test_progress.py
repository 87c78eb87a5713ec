"""What verbose shows while a model trains: a bar in a terminal, plain lines in a log,
a line per epoch at verbose=2, rows seen by partial_fit, nothing at verbose=0."""

import io
import re
import sys
from functools import partial

import pandas as pd
import pytest
from _helpers import normal_tasks

from sklearn_mmoe import MMoEMultiTask, MMoERegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = dict(n_experts=2, expert_units=(8,), tower_units=(4,), random_state=0)
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # anything but a newline


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as sys.stdout in a shell does."""

    def isatty(self):
        return True


def _spend_and_buys(X):
    return pd.DataFrame({"spend": X[:, 0] + X[:, 1], "buys": X[:, 2] > 0})


# The shared table, 200 rows of three columns, with named tasks of two kinds (the
# lines shown name them).
_data = partial(
    normal_tasks, MMoEMultiTask, n=200, n_features=3, values=_spend_and_buys
)


def test_a_terminal_gets_one_bar_redrawn_in_place_within_80_columns(monkeypatch):
    """The bar holds the epochs, the times and the objective; each task's losses
    come on lines of their own above it, about ten per fit: a bar that held them
    all shrank to one character at 80 columns and cut the validation loss off."""
    X, Y = _data()
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    MMoEMultiTask(**SMALL, max_epochs=40, early_stopping=True, verbose=1).fit(X, Y)
    out = terminal.getvalue()
    draws = [d for line in out.split("\n") for d in line.split("\r") if "|" in d]
    assert len(draws) > 2  # redrawn in place, not one line per epoch
    assert all(len(d) <= 80 for d in draws)
    last = [d for d in draws if "40/40" in d][-1]
    # epochs out of the budget, elapsed<remaining, the objective
    assert re.search(r"40/40 \[\d\d:\d\d<\d\d:\d\d\], train [\d.]+ valid [\d.]+$", last)
    tasks = re.findall(
        r"epoch (\d+)/40: spend [\d.]+ / [\d.]+, buys [\d.]+ / [\d.]+ "
        r"\(train / valid loss\)\n",
        out,
    )
    assert tasks[0] == "1" and tasks[-1] == "40" and 10 <= len(tasks) <= 12
    assert out.rstrip().splitlines()[-1].startswith("stopped after epoch 40:")


def test_a_log_file_gets_about_ten_plain_lines_and_no_control_characters(capsys):
    X, Y = _data()
    MMoEMultiTask(**SMALL, max_epochs=50, early_stopping=True, verbose=1).fit(X, Y)
    out = capsys.readouterr().out
    assert not CONTROL.search(out)
    lines = out.strip().splitlines()
    assert 10 <= len(lines) <= 12
    pattern = (
        r"epoch \d+/50, train [\d.]+ \(spend [\d.]+, buys [\d.]+\), "
        r"valid [\d.]+ \(spend [\d.]+, buys [\d.]+\), "
        r"elapsed \d+:\d\d, at most \d+:\d\d left"
    )
    assert all(re.fullmatch(pattern, line) for line in lines[:-1]), lines
    assert lines[0].startswith("epoch 1/50") and lines[-2].startswith("epoch 50/50")
    assert lines[-1].startswith("stopped after epoch 50:")


def test_partial_fit_prints_the_rows_seen_by_each_call(capsys):
    X, Y = _data()
    model = MMoERegressor(**SMALL, verbose=1)
    model.partial_fit(X[:50], Y["spend"][:50])
    model.partial_fit(X[50:], Y["spend"][50:])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"partial_fit: 50 rows, 50 rows seen, train [\d.]+ .*s", lines[0]
    )
    assert lines[1].startswith("partial_fit: 150 rows, 200 rows seen, train ")
    # a fit starts the count again, from its own rows
    model.fit(X[:30], Y["spend"][:30])
    capsys.readouterr()
    model.partial_fit(X[:20], Y["spend"][:20])
    assert "20 rows, 50 rows seen" in capsys.readouterr().out


def test_nothing_is_shown_at_verbose_0(monkeypatch):
    X, Y = _data()
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    MMoEMultiTask(**SMALL, max_epochs=5).fit(X, Y).partial_fit(X, Y)
    assert terminal.getvalue() == ""


def test_a_jupyter_kernels_output_counts_as_interactive():
    from sklearn_mmoe._training.progress import _interactive

    kernel_stream = type(
        "OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"}
    )
    assert _interactive(kernel_stream())
    assert not _interactive(io.StringIO())
    assert _interactive(Terminal())
