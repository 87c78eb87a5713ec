"""Data-parallel training on a torch.distributed process group: two CPU processes on
gloo, started by the test as torchrun starts them (see ``_ranks.py``)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _helpers import code_blocks
from _ranks import JOB_TIMEOUT, run_ranks, shop_table
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

import sklearn_mmoe
from sklearn_mmoe import MMoEMultiTask, MMoERegressor

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ranks():
    """Each rank's results of the scenarios of ``_ranks.suite``, one job."""
    return run_ranks("suite")


def _same_on_both(ranks, name):
    first, second = (r[name] for r in ranks)
    assert "raised" not in first and "raised" not in second, (first, second)
    assert first == second


def test_two_ranks_end_with_the_same_estimator_bit_for_bit(ranks):
    _same_on_both(ranks, "shop")
    _same_on_both(ranks, "shop net")


@pytest.mark.parametrize(
    "variant",
    [
        "cross-fitted and refit",
        "top-2 gates, balanced, learned task weights",
        "PLE of Transformer experts",
        "warm start",
        "funnel, hashed ids and interactions",
        "uneven shards",
        "text",
        "partial_fit",
    ],
)
def test_every_variant_ends_the_same_on_both_ranks(ranks, variant):
    _same_on_both(ranks, variant)


def test_a_category_and_a_class_seen_on_one_shard_only_are_every_rank_s(ranks):
    for result in ranks:
        model = result["shop model"]
        assert list(model._encoder.categories[0]) == ["Lyon", "Oslo", "Pune", "Rome"]
        assert list(model.classes_[1]) == ["basic", "gold", "silver"]


def _scores(model, X, Y):
    proba = model.predict_proba(X)
    predicted = model.predict(X)
    return np.array(
        [
            roc_auc_score(Y["buys"] == "yes", proba[0][:, 1]),
            accuracy_score(Y["plan"], predicted[:, 1]),
            r2_score(Y["spend"], predicted[:, 2].astype(float)),
        ]
    )


@pytest.mark.filterwarnings("ignore:Task 'visits'.*task_types='auto'")
def test_two_ranks_score_within_noise_of_one_process_on_the_union(ranks):
    """Scores on new rows; the noise: one process's scores under two seeds."""
    X, Y = shop_table()
    X_test, Y_test = shop_table(seed=1)
    two = _scores(ranks[0]["shop model"], X_test, Y_test)
    one = [
        _scores(MMoEMultiTask(random_state=s).fit(X, Y), X_test, Y_test) for s in (0, 1)
    ]
    noise = np.abs(one[0] - one[1])
    # a seed's spread, or 0.02 where it is smaller: a score's sampling error on
    # 1,200 rows is about that (sqrt(p (1 - p) / n) for accuracy)
    assert np.all(np.abs(two - one[0]) <= np.maximum(2 * noise, 0.02)), (two, one)


def test_predict_needs_no_process_group(ranks):
    X, _ = shop_table()
    model = ranks[1]["shop model"]  # pickled on rank 1, predicting here
    assert model.predict(X.iloc[:5]).shape == (5, 4)


def test_a_rank_that_raises_ends_every_rank_with_its_error(ranks):
    failing, waiting = ranks[1]["bad shard"], ranks[0]["bad shard"]
    assert failing["raised"] == "ValueError"
    assert waiting["raised"] == "RankError"
    assert "rank 1" in waiting["message"] and failing["message"] in waiting["message"]
    assert waiting["seconds"] < 60


def test_other_parameters_on_a_rank_are_a_value_error_naming_it(ranks):
    for result in ranks:
        outcome = result["other parameters"]
        assert outcome["raised"] == "ValueError"
        assert "rank 1's parameter n_experts is 4, rank 0's is 3" in outcome["message"]


def test_shards_of_other_columns_are_a_value_error_naming_the_rank(ranks):
    for result in ranks:
        outcome = result["other columns"]
        assert outcome["raised"] == "ValueError"
        assert "rank 1's columns of X" in outcome["message"]


@pytest.mark.parametrize(
    "failure, raised",
    [("out of memory", "RuntimeError"), ("Ctrl-C", "KeyboardInterrupt")],
)
def test_a_failure_while_training_ends_every_rank(ranks, failure, raised):
    assert ranks[1][failure]["raised"] == raised
    waiting = ranks[0][failure]
    assert waiting["raised"] == "RankError" and "rank 1" in waiting["message"]
    assert raised in waiting["message"]
    assert waiting["seconds"] < 60


def test_a_fit_after_failures_trains_on_both_ranks(ranks):
    _same_on_both(ranks, "after the failures")


def test_distributed_true_without_a_process_group_is_a_value_error():
    X, Y = shop_table(60)
    with pytest.raises(ValueError, match="no.*process group|none is initialised"):
        MMoERegressor(distributed=True, max_epochs=1).fit(X[["age"]], Y["spend"])


def test_the_guide_script_trains_under_torchrun(tmp_path):
    """docs/user_guide/distributed.rst's script, as printed, launched as the page
    says: torchrun, two processes."""
    code = code_blocks(ROOT / "docs/user_guide/distributed.rst")[0][1]
    (tmp_path / "train.py").write_text(code)
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    done = subprocess.run(
        [*launch, "--nproc-per-node", "2", "train.py"],
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MMoEMultiTask trains data-parallel on 2 processes" in done.stdout
    epochs = sorted(
        re.findall(r"rank (\d): (\d+) epochs, 10000 of its rows", done.stdout)
    )
    assert [rank for rank, _ in epochs] == ["0", "1"] and epochs[0][1] == epochs[1][1]
    model = sklearn_mmoe.load(tmp_path / "model.mmoe")
    assert model.n_iter_ == int(epochs[0][1])
