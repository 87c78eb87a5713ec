"""Where the benchmark records live, and how a record names the command that wrote it.

Every script writes its record under ``benchmarks/records/`` (``RECORDS``), with a
top-level ``"command"``: the invocation that wrote it, from the repository root
(:func:`command`). ``benchmarks/figures.py`` reads them.
"""

import shlex
import sys
from pathlib import Path

RECORDS = Path(__file__).resolve().parent / "records"


def command(module, argv=None):
    """The command that runs ``module`` with these arguments, as a record names it.

    Parameters
    ----------
    module : str
        The script's module, ``"benchmarks.defaults"`` say.
    argv : list of str, default=None
        Its arguments; by default this process's (``sys.argv[1:]``).

    Returns
    -------
    command : str
        ``"python -m benchmarks.defaults --cases linnerud"``, the arguments quoted
        for a POSIX shell.

    Examples
    --------
    >>> command("benchmarks.defaults", ["--mmoe", '{"n_cv": 5}'])
    'python -m benchmarks.defaults --mmoe \\'{"n_cv": 5}\\''
    """
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python", "-m", module, *map(shlex.quote, args)])
