"""Every gallery example runs to the end (they are sized to build in CI)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
CENSUS = ROOT.parent / "shared/data/census-income/census-income.test.gz"


def test_the_gallery_is_not_empty():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "SKLEARN_MMOE_CENSUS": str(CENSUS)}
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
