"""What building the documentation costs: the whole build and each gallery example.

Builds the site as the README says (``python -m sphinx -b html docs <out>``), into a
temporary folder, timing the whole build; sphinx-gallery times each example it runs
(``docs/sg_execution_times.rst``). Run it on a quiet machine: the record is what the
README and the gallery's index quote. Warnings do not stop it (``tests/test_docs.py``
builds with ``-W``): the pages quote this record, which a first run must write.

Usage (from the repository root)::

    python -m benchmarks.docs_build [--out benchmarks/records/docs_build.json]
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.recording import RECORDS, command

ROOT = Path(__file__).resolve().parents[1]
# "   * - :ref:`sphx_glr_auto_examples_quickstart.py` (``../examples/quickstart.py``)"
# "     - 00:12.345"
_ROW = re.compile(r"``\.\./examples/(?P<name>[\w.]+)``\)\s*\n\s*- (?P<time>[\d:.]+)")


def example_seconds(text):
    """Each example's seconds from sphinx-gallery's ``sg_execution_times.rst``."""
    out = {}
    for match in _ROW.finditer(text):
        minutes, seconds = match.group("time").split(":")
        out[match.group("name")] = int(minutes) * 60 + float(seconds)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RECORDS / "docs_build.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        sphinx = [sys.executable, "-m", "sphinx", "-q", "-b", "html"]
        start = time.perf_counter()
        subprocess.run([*sphinx, "docs", out], cwd=ROOT, check=True)
        seconds = time.perf_counter() - start
    examples = example_seconds((ROOT / "docs" / "sg_execution_times.rst").read_text())
    record = {
        "command": command("benchmarks.docs_build"),
        "measured": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "seconds": seconds,
        "examples": examples,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"build: {seconds:.0f} s")
    for name, s in sorted(examples.items(), key=lambda item: -item[1]):
        print(f"  {name:<40} {s:6.1f} s")


if __name__ == "__main__":
    main()
