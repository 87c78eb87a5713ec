"""The hostile-input suite's long profile: the properties of
``tests/test_hostile_inputs.py`` (a clear ValueError / TypeError / NotFittedError, or
finite outputs of the right shape, for every public method of every estimator) on many
freshly drawn examples instead of the test suite's fixed share of 40 per estimator.

Usage: python benchmarks/hostile_inputs.py [--examples 2000] [--fixed]

It prints pytest's summary and, for a failure, hypothesis's smallest failing example;
the exit status is pytest's.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="per estimator")
    parser.add_argument(
        "--fixed", action="store_true", help="the suite's derandomised examples"
    )
    args = parser.parse_args()
    env = {**os.environ, "HOSTILE_EXAMPLES": str(args.examples)}
    if not args.fixed:
        env["HOSTILE_RANDOM"] = "1"
    start = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command.append(str(ROOT / "tests" / "test_hostile_inputs.py"))
    status = subprocess.call(command, cwd=ROOT, env=env)
    seconds = time.perf_counter() - start
    print(f"{args.examples} examples per estimator, {seconds:.0f} s, exit {status}")
    sys.exit(status)


if __name__ == "__main__":
    main()
