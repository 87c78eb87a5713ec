"""The defaults suite's parts, one module each.

- :mod:`~benchmarks.suite.loaders`: the tables, one ``load_*`` function each;
- :mod:`~benchmarks.suite.cases`: :class:`~benchmarks.suite.cases.Case` (a table, its
  tasks' kind, its splits) and ``CASES``, the suite's table of them;
- :mod:`~benchmarks.suite.competitors`: the models compared, each at its defaults;
- :mod:`~benchmarks.suite.runner`: one model fitted on a case for one seed, and scored;
- :mod:`~benchmarks.suite.report`: the summary and tables computed from a record.

``python -m benchmarks.defaults`` runs them (``benchmarks/defaults.py``).
"""
