"""The figures the README and the documentation quote, each computed from a record.

A figure has a name, ``suite.rank`` say, takes arguments (``suite.rank(MMoE)``), and is
computed by one function of this module from one benchmark record under
``benchmarks/records/``, formatted as the text shows it. Nothing here measures: the
scripts beside it measure and write the records (each record names the command that
wrote it); this module only reads them.

- The documentation writes ``:measured:`suite.rank(MMoE)``` where it quotes a figure,
  and the role renders it from the records when the site is built
  (``docs/conf.py``); tables it shows are written from the records too
  (:func:`write_tables`).
- The README, which nothing builds, holds each figure between markers,
  ``<!--fig:suite.rank(MMoE)-->1.59<!--/fig-->``; ``tests/test_figures.py`` compares
  every one with this module and fails on a figure typed by hand anywhere else.

So a re-measure updates the documentation, or fails the test suite until the README
says what the records say.

Usage: ``python -m benchmarks.figures [NAME ...]`` (from the repository root) prints
the named figures, or every one that takes no argument.
"""

import csv
import functools
import json
import re
import sys
from pathlib import Path

import numpy as np

from benchmarks.recording import RECORDS
from benchmarks.suite import report

# name -> function(*args) -> str, and the record it reads
FIGURES = {}
_CALL = re.compile(r"\s*([\w.]+)\s*(?:\((.*)\))?\s*")


def figure(name, record):
    """Register the decorated function as the figure ``name``, read from the record
    ``benchmarks/records/<record>.json``."""

    def register(function):
        FIGURES[name] = (function, record)
        return function

    return register


def value(text):
    """The figure ``text`` names, ``"name"`` or ``"name(arg, ...)"``, as text."""
    match = _CALL.fullmatch(text)
    if match is None or match.group(1) not in FIGURES:
        raise KeyError(f"no figure named {text!r}; see benchmarks/figures.py")
    args = [a.strip() for a in (match.group(2) or "").split(",") if a.strip()]
    function, _ = FIGURES[match.group(1)]
    return function(*args)


@functools.cache
def record(name):
    """The benchmark record ``benchmarks/records/<name>.json``."""
    return json.loads((RECORDS / f"{name}.json").read_text())


# -- formatting
# ---------------------------------------------------------------------------------


def score(x):
    """A score (R2, AUC, accuracy) as the tables print it: four decimals."""
    return f"{x:.4f}"


def seconds(x):
    """Seconds: one decimal below 100, whole seconds with separators above."""
    return f"{x:.1f} s" if x < 100 else f"{x:,.0f} s"


def ratio(x):
    return f"{x:.1f}x" if x >= 1.95 else f"{x:.2f}x"


def count(part, whole):
    return f"{part} of {whole}"


# -- the defaults suite (benchmarks/defaults.py, record defaults.json)
# ---------------------------------------------------------------------------------

RANKED = ("MMoE", "MLP", "HGB", "RealMLP")


@functools.cache
def _suite():
    results = record("defaults")["results"]
    return results, report.summarise(results, RANKED)


def _case_table():
    """The suite's case table (imported when first read: it loads sklearn_mmoe)."""
    from benchmarks.suite.cases import CASES

    return CASES


@figure("suite.cases", "defaults")
def _cases():
    return str(len(_suite()[1]))


@figure("suite.rank", "defaults")
def _rank(model, which="all"):
    _, table = _suite()
    cases = None
    if which == "mixed":
        cases = {name for name, c in _case_table().items() if c.kind == "mixed"}
    return f"{report.mean_ranks(table, RANKED, cases)[1][model]:.2f}"


@figure("suite.mixed_cases", "defaults")
def _mixed_cases():
    _, table = _suite()
    return str(sum(_case_table()[c].kind == "mixed" for c in table))


@figure("suite.at_least", "defaults")
def _at_least(reference):
    results, _ = _suite()
    level, pairs = report.at_least(results, reference)
    return count(level, len(pairs))


@figure("suite.below_constant", "defaults")
def _below_constant(model):
    results, _ = _suite()
    below, n, _ = report.harm(results, model)
    return count(len(below), n)


@figure("suite.seconds", "defaults")
def _seconds(model):
    results, _ = _suite()
    return seconds(sum(r["fit_seconds"] for r in results if r["model"] == model))


@figure("suite.time_ratio", "defaults")
def _time_ratio(statistic="median"):
    _, table = _suite()
    ratios = np.array([row[3] for row in report.time_rows(table)])
    if statistic == "median":
        return ratio(float(np.median(ratios)))
    return count(int((ratios <= float(statistic)).sum()), len(ratios))


@figure("suite.joint", "defaults")
def _joint(verdict):
    results, _ = _suite()
    rows = report.joint_verdicts(results)
    if verdict == "tasks":
        return str(len(rows))
    return str(sum(row[3] == verdict for row in rows))


@figure("suite.joint_time", "defaults")
def _joint_time():
    """One model for all tasks against one per task: their fit seconds (each
    case's mean over seeds) summed over the mixed cases."""
    results, _ = _suite()
    mixed = {r["case"] for r in results if r["model"] == "MMoE-solo"}

    def total(model):
        return sum(
            np.mean(
                [
                    r["fit_seconds"]
                    for r in results
                    if (r["model"], r["case"]) == (model, case)
                ]
            )
            for case in mixed
        )

    return f"{total('MMoE') / total('MMoE-solo'):.2f}"


@figure("suite.case", "defaults")
def _case(case, model, what="score"):
    entry = _suite()[1][case][model]
    return seconds(entry["fit_seconds"]) if what == "seconds" else score(entry["score"])


def _task_mean(rows, task, **match):
    """Task ``task`` (its column): the mean score over the ``rows`` whose fields
    equal ``match`` (a case's seeds)."""
    scores = [
        r["task_scores"][int(task)]
        for r in rows
        if all(r[k] == v for k, v in match.items())
    ]
    return score(float(np.mean(scores)))


@figure("suite.task", "defaults")
def _task(case, model, task):
    """Task ``task`` (its column) of ``case``: ``model``'s score, the mean over
    seeds."""
    return _task_mean(_suite()[0], task, case=case, model=model)


@figure("suite.case_ratio", "defaults")
def _case_ratio(case, model="MMoE", reference="HGB"):
    entry = _suite()[1][case]
    return ratio(entry[model]["fit_seconds"] / entry[reference]["fit_seconds"])


def _suite_tables():
    """The suite's table (each case's score ± its spread over seeds, per model; the
    seconds are in the time table) and its time table (the MMoE's seconds against
    boosting's)."""
    _, table = _suite()
    rows = [["case", *RANKED]]
    rows += [[case, *cells] for case, cells in report.score_cells(table, RANKED, False)]
    return {"defaults_table": rows, "defaults_time": report.time_csv(table)}


# -- speed and memory of the core estimators (benchmarks/bench_core.py)
# ---------------------------------------------------------------------------------


def _core(key):
    return record("bench_core")["figures"][key]


def _amount(x, unit):
    """A duration or a size in its own unit: microseconds whole, seconds to three
    significant digits, megabytes whole."""
    if unit == "us":
        return f"{x:,.0f} us"
    if unit == "MB":
        return f"{x:,.0f} MB"
    return f"{x:.3g} s" if x < 100 else f"{x:,.0f} s"


@figure("core.fit", "bench_core")
def _core_fit(which, side="ours"):
    """Seconds per epoch of a fit (``pinned``, ``defaults``, ``piecewise``,
    ``dense``, ``robust``), or of the hand-written loop beside it
    (``reference``)."""
    entry = _core(f"fit.{which}")
    return _amount(entry[side], "s")


@figure("core.fixed", "bench_core")
def _core_fixed(which):
    return _amount(_core(f"fit.{which}")["fixed"], "s")


@figure("core.ratio", "bench_core")
def _core_ratio(key):
    return ratio(_core(key)["ratio"])


@figure("core.latency", "bench_core")
def _core_latency(which, side="ours"):
    return _amount(_core(f"latency.{which}")[side], "us")


@figure("core.onnx", "bench_core")
def _core_onnx(which, rows, side):
    entry = _core(f"onnx.{which}.{rows}")
    return (
        _amount(entry[side] * 1e6, "us")
        if int(rows) == 1
        else _amount(entry[side], "s")
    )


@figure("core.value", "bench_core")
def _core_value(key, side="ours"):
    entry = _core(key)
    return _amount(entry[side], entry["unit"])


# The speed table of the performance page: (key, what is measured, against what).
_SPEED_ROWS = (
    ("fit.pinned", "fit, s per epoch", "a hand-written loop"),
    ("deepctr", "one-epoch fit, all costs", "DeepCTR-Torch's MMOE"),
    ("fit.defaults", "fit with the defaults, s per epoch", "the loop"),
    ("fit.piecewise", "fit, piecewise-linear code, s per epoch", "the loop"),
    ("fit.robust", "fit, robust scaling, s per epoch", "the loop"),
    ("fit.whole", "a whole default fit", "the loop, as many epochs"),
    ("fit.hgb", "a whole default fit", "HistGradientBoosting"),
    ("predict.pinned", "predict_proba, 200,000 rows", "the forward pass"),
    ("predict.defaults", "... with the defaults", "the forward pass"),
    ("predict.piecewise", "... piecewise-linear code", "the forward pass"),
    ("latency.pinned", "predict_proba, one row", "MLPClassifier"),
    ("latency.defaults", "... with the defaults", "MLPClassifier"),
    ("latency.piecewise", "... piecewise-linear code", "MLPClassifier"),
    ("memory", "peak memory growth, 1,000,000 x 128", "the input"),
    ("checks", "check_estimator, both estimators", "the two MLPs"),
)


def _speed_table():
    rows = [["figure (reference)", "ours", "reference", "ratio"]]
    for key, what, against in _SPEED_ROWS:
        entry = _core(key)
        unit = entry["unit"]
        ours, reference = (
            _amount(entry["ours"], unit),
            _amount(entry["reference"], unit),
        )
        rows.append([f"{what} ({against})", ours, reference, f"{entry['ratio']:.2f}"])
    return {"core_speed": rows}


# -- the numeric encoding's cost (benchmarks/numeric_cost.py)
# ---------------------------------------------------------------------------------


@figure("numeric.binning", "numeric_cost")
def _numeric_binning(which):
    """Seconds to bin 200,000 x 128: ``ours``, ``boosting`` (HGB's binning) or
    ``exact_trees`` (one exact tree per column, the former placement)."""
    return _amount(record("numeric_cost")["figures"]["binning"][which], "s")


@figure("numeric.binning_ratio", "numeric_cost")
def _numeric_binning_ratio(which, against):
    entry = record("numeric_cost")["figures"]["binning"]
    return ratio(entry[which] / entry[against])


def _width_rows():
    return record("numeric_cost")["figures"]["width"]["rows"]


@figure("numeric.width", "numeric_cost")
def _numeric_width(columns):
    """The piecewise-linear code's default epoch over robust scaling's, at
    ``columns`` numeric columns (of 32 bins each)."""
    row = next(r for r in _width_rows() if r["columns"] == int(columns))
    return ratio(row["piecewise"] / row["robust"])


def _width_table():
    rows = [["numeric columns", "code width", "piecewise (s)", "robust (s)", "ratio"]]
    for r in _width_rows():
        rows.append(
            [
                str(r["columns"]),
                f"{32 * r['columns']:,}",
                f"{r['piecewise']:.3f}",
                f"{r['robust']:.3f}",
                ratio(r["piecewise"] / r["robust"]),
            ]
        )
    return {"numeric_width": rows}


def _numeric_suite_table():
    rows = [["case", "rows", "encoding", "code width", "encoding's fit", "whole fit"]]
    for r in record("numeric_cost")["figures"]["suite"]["rows"]:
        rows.append(
            [
                r["case"],
                f"{r['rows']:,}",
                r["encoding"] or "none",
                str(r["code_width"]) if r["encoding"] == "piecewise" else "",
                _amount(r["encoding_seconds"], "s"),
                _amount(r["fit_seconds"], "s"),
            ]
        )
    return {"numeric_suite": rows}


@figure("numeric.suite_max", "numeric_cost")
def _numeric_suite_max():
    """The most seconds any suite case spent fitting its numeric encoding."""
    rows = record("numeric_cost")["figures"]["suite"]["rows"]
    return _amount(max(r["encoding_seconds"] for r in rows), "s")


@figure("numeric.suite_widest", "numeric_cost")
def _numeric_suite_widest():
    """The widest code "auto" chose on the suite."""
    rows = record("numeric_cost")["figures"]["suite"]["rows"]
    return str(max(r["code_width"] for r in rows if r["encoding"] == "piecewise"))


# -- a default fit's seconds on the large tables (benchmarks/large_tables.py)
# ---------------------------------------------------------------------------------


def _large_rows(case):
    return [
        r
        for r in record("large_tables")["figures"]["ratio"]["rows"]
        if r["case"] == case
    ]


@figure("large.ratio", "large_tables")
def _large_ratio(case):
    """A default fit's seconds over boosting's on ``case``, the mean over seeds."""
    return ratio(np.mean([r["ratio"] for r in _large_rows(case)]))


@figure("large.step", "large_tables")
def _large_step(case, part="step"):
    """Milliseconds of a training step on ``case`` (``step``, ``forward``,
    ``backward``, ``optimizer`` or ``first_layer``, the first layer's arithmetic
    alone), the mean over seeds."""
    return f"{np.mean([r[f'{part}_ms'] for r in _large_rows(case)]):.2f} ms"


@figure("large.first_layer_share", "large_tables")
def _large_first_layer_share(case):
    """The first layer's arithmetic alone, as a percentage of a training step."""
    rows = _large_rows(case)
    share = np.mean([r["first_layer_ms"] / r["step_ms"] for r in rows])
    return f"{100 * share:.0f} %"


@figure("large.gflops", "large_tables")
def _large_gflops(case):
    """The rate of the first layer's arithmetic alone, GFLOP/s."""
    return f"{np.mean([r['first_layer_gflops'] for r in _large_rows(case)]):.0f}"


@figure("large.optimizer", "large_tables")
def _large_optimizer(case, which):
    """One AdamW update's milliseconds on ``case``: ``foreach`` or ``fused``."""
    rows = record("large_tables")["figures"]["optimizer"]["rows"]
    return f"{next(r for r in rows if r['case'] == case)[f'{which}_ms']:.2f} ms"


def _large_table():
    rows = [
        [
            "case",
            "default fit",
            "boosting",
            "ratio",
            "epochs x steps",
            "step",
            "forward",
            "backward",
            "optimiser",
            "first layer alone",
            "validation",
            "fixed",
        ]
    ]
    for case in dict.fromkeys(
        r["case"] for r in record("large_tables")["figures"]["ratio"]["rows"]
    ):
        rs = _large_rows(case)

        def mean(key, rs=rs):
            return float(np.mean([r[key] for r in rs]))

        first = rs[0]
        rows.append(
            [
                case,
                _amount(mean("seconds"), "s"),
                _amount(mean("hgb_seconds"), "s"),
                ratio(mean("ratio")),
                f"{first['epochs']} x {first['steps'] // first['epochs']}",
                f"{mean('step_ms'):.2f} ms",
                f"{mean('forward_ms'):.2f} ms",
                f"{mean('backward_ms'):.2f} ms",
                f"{mean('optimizer_ms'):.2f} ms",
                f"{mean('first_layer_ms'):.2f} ms "
                f"({first['first_layer'][0]} x {first['first_layer'][1]})",
                _amount(mean("validation"), "s"),
                _amount(mean("fixed"), "s"),
            ]
        )
    return {"large_tables": rows}


# -- where the piecewise-linear code pays (benchmarks/numeric_rule.json)
# ---------------------------------------------------------------------------------


def _rule_by_case():
    """Per case: each encoding's mean score (over tasks and seeds) and mean fit
    seconds, and the encoding and code width "auto" picked."""
    cases = {}
    for r in record("numeric_rule")["results"]:
        own = cases.setdefault(r["case"], {})
        own.setdefault(r["model"], []).append(r)
    out = {}
    for case, models in cases.items():
        default = models["MMoE"]
        picked = default[0]["numeric_encoding"]
        other = "MMoE-robust" if picked == "piecewise" else "MMoE-piecewise"
        ways = {picked: default, other.split("-")[1]: models[other]}
        out[case] = dict(
            picked=picked,
            width=default[0]["code_width"],
            hgb=np.mean([r["fit_seconds"] for r in models["HGB"]]),
            **{
                way: dict(
                    score=np.mean([np.mean(r["task_scores"]) for r in rs]),
                    seconds=np.mean([r["fit_seconds"] for r in rs]),
                )
                for way, rs in ways.items()
            },
        )
    return out


def _per_second(entry):
    """The piecewise code's score over robust scaling's per second it adds, or
    that it adds none (early stopping ended it sooner)."""
    extra = entry["piecewise"]["seconds"] - entry["robust"]["seconds"]
    gain = entry["piecewise"]["score"] - entry["robust"]["score"]
    return f"{gain / extra:+.4f}" if extra > 0 else "no added time"


@figure("numeric_rule.gain", "numeric_rule")
def _rule_gain(case):
    """The piecewise code's score over robust scaling's on ``case``."""
    entry = _rule_by_case()[case]
    return f"{entry['piecewise']['score'] - entry['robust']['score']:+.4f}"


@figure("numeric_rule.seconds", "numeric_rule")
def _rule_seconds(case, way):
    return seconds(_rule_by_case()[case][way]["seconds"])


@figure("numeric_rule.mean_gain", "numeric_rule")
def _rule_mean_gain(picked):
    """The mean score of the piecewise code over robust scaling's on the cases where
    "auto" picked ``picked``."""
    entries = [e for e in _rule_by_case().values() if e["picked"] == picked]
    gains = [e["piecewise"]["score"] - e["robust"]["score"] for e in entries]
    return f"{np.mean(gains):+.4f}"


@figure("numeric_rule.count", "numeric_rule")
def _rule_count(picked):
    return str(sum(e["picked"] == picked for e in _rule_by_case().values()))


def _rule_table():
    rows = [
        [
            "case",
            "auto picks",
            "code width",
            "piecewise",
            "robust",
            "difference",
            "s, piecewise",
            "s, robust",
            "score per added second",
            "s, HGB",
        ]
    ]
    for case, e in _rule_by_case().items():
        rows.append(
            [
                case,
                e["picked"],
                str(e["width"]) if e["picked"] == "piecewise" else "> 512",
                score(e["piecewise"]["score"]),
                score(e["robust"]["score"]),
                f"{e['piecewise']['score'] - e['robust']['score']:+.4f}",
                f"{e['piecewise']['seconds']:.1f}",
                f"{e['robust']['seconds']:.1f}",
                _per_second(e),
                f"{e['hgb']:.1f}",
            ]
        )
    return {"numeric_rule": rows}


# -- the scaling curves (benchmarks/scaling.py)
# ---------------------------------------------------------------------------------


@figure("scaling.growth", "scaling")
def _growth(curve):
    return f"{record('scaling')[curve]['growth']:.2f}"


@figure("scaling.seconds", "scaling")
def _scaling_seconds(curve, size, which="seconds"):
    r = record("scaling")[curve]
    return _amount(r[which][r["sizes"].index(int(size))], "s")


# -- the paper's synthetic study (benchmarks/synthetic_correlation.py)
# ---------------------------------------------------------------------------------


def _synthetic_mse(model, correlation):
    results = record("synthetic_correlation")["results"]
    mse = [
        r["mse"]
        for r in results
        if r["model"] == model and r["correlation"] == float(correlation)
    ]
    return float(np.mean(mse)), float(np.std(mse))


@figure("synthetic.mse", "synthetic_correlation")
def _synthetic(model, correlation):
    return f"{_synthetic_mse(model, correlation)[0]:.3f}"


@figure("synthetic.seeds", "synthetic_correlation")
def _synthetic_seeds():
    return str(len({r["seed"] for r in record("synthetic_correlation")["results"]}))


def _synthetic_table():
    results = record("synthetic_correlation")["results"]
    models = list(dict.fromkeys(r["model"] for r in results))
    correlations = sorted({r["correlation"] for r in results})
    best = {c: min(_synthetic_mse(m, c)[0] for m in models) for c in correlations}
    rows = [["model", *(f"p = {c}" for c in correlations)]]
    for m in models:
        cells = [_bold(*_synthetic_mse(m, c), best[c], 3) for c in correlations]
        rows.append([m, *cells])
    return {"synthetic": rows}


def _bold(mean, sd, best, digits):
    """``mean ± sd`` to ``digits`` decimals, the mean in bold where it is ``best``."""
    text = f"{mean:.{digits}f}"
    return (
        f"**{text}** ± {sd:.{digits}f}" if mean == best else f"{text} ± {sd:.{digits}f}"
    )


# -- a classification and a regression task (benchmarks/mixed_tasks.py)
# ---------------------------------------------------------------------------------

_MIXED_LABELS = {
    "MMoEMultiTask": "MMoEMultiTask, equal weights",
    "MMoEMultiTask, uncertainty": 'MMoEMultiTask, task_weights="uncertainty"',
    "single-task MMoE": "the same network per task (two fits)",
    "HGB": "HistGradientBoosting per task (two fits)",
}


@figure("mixed.score", "mixed_tasks")
def _mixed(model, metric):
    return score(np.mean(record("mixed_tasks")["results"][model][metric]))


def _mixed_table():
    results = record("mixed_tasks")["results"]
    best = {m: max(np.mean(r[m]) for r in results.values()) for m in ("auc", "r2")}
    rows = [["model", "income AUC", "weeks worked R2", "fit seconds"]]
    for name, r in results.items():
        cells = [_bold(np.mean(r[m]), np.std(r[m]), best[m], 4) for m in ("auc", "r2")]
        label = _MIXED_LABELS.get(name, name)
        rows.append([label, *cells, f"{np.mean(r['seconds']):.1f}"])
    return {"mixed": rows}


# -- census-income against the paper and boosting (benchmarks/census_income.py)
# ---------------------------------------------------------------------------------


def _census_auc(name, group, model, task):
    results = record(name)[f"group{group}"]["results"]
    values = [r[model]["auc"][int(task)] for r in results if model in r]
    return float(np.mean(values)), float(np.std(values)), len(values)


_ENSEMBLE = {"ensemble": "MMoE, ensemble_size=4"}


@figure("ensemble.auc", "census_income_ensemble")
def _ensemble_auc(model, task=0):
    return score(
        _census_auc("census_income_ensemble", 1, _ENSEMBLE.get(model, model), task)[0]
    )


@figure("ensemble.seconds", "census_income_ensemble")
def _ensemble_seconds(model):
    results = record("census_income_ensemble")["group1"]["results"]
    model = _ENSEMBLE.get(model, model)
    return seconds(float(np.mean([r[model]["seconds"] for r in results])))


@figure("census.auc", "census_income")
def _census(group, model, task=0):
    return score(_census_auc("census_income", group, model, task)[0])


@figure("census.seconds", "census_income")
def _census_seconds(group, model):
    results = record("census_income")[f"group{group}"]["results"]
    return seconds(float(np.mean([r[model]["seconds"] for r in results if model in r])))


@figure("published", "published")
def _published(name):
    """A figure others published (``records/published.json``, with its source)."""
    return record("published")["figures"][name]["value"]


def _paper_row():
    """The paper's MMoE on census-income, beside the record's rows."""
    cells = []
    for name in ("mmoe_income", "mmoe_never_married", "mmoe_college"):
        entry = record("published")["figures"][name]
        cells.append(f"{entry['value']} ({entry['note']})")
    return ["the paper, MMoE (all rows)", *cells]


# The table's columns: (group, task, heading).
_CENSUS_COLUMNS = ((1, 0, "income > 50K"), (1, 1, "never married"), (2, 0, "college"))


def _census_table():
    models = list(
        dict.fromkeys(
            m for r in record("census_income")["group1"]["results"] for m in r
        )
    )
    best = {
        (g, t): max(_census_auc("census_income", g, m, t)[0] for m in models)
        for g, t, _ in _CENSUS_COLUMNS
    }

    def cell(name, g, t, model):
        mean, sd, n = _census_auc(name, g, model, t)
        return _bold(mean, sd, max(best[g, t], mean), 4) if n else "not run"

    rows = [["model", *(heading for _, _, heading in _CENSUS_COLUMNS)]]
    for m in models:
        rows.append(
            [m, *(cell("census_income", g, t, m) for g, t, _ in _CENSUS_COLUMNS)]
        )
    size = record("census_income_ensemble")["group1"]["ensemble_size"]
    model = _ENSEMBLE["ensemble"]
    rows.append(
        [
            f"MMoE, ensemble_size={size} (its own run)",
            cell("census_income_ensemble", 1, 0, model),
            cell("census_income_ensemble", 1, 1, model),
            "not run",
        ]
    )
    rows.append(_paper_row())
    return {"census": rows}


# -- experts of other kinds (benchmarks/experts.py)
# ---------------------------------------------------------------------------------


@figure("batching", "experts_batching")
def _batching(n_experts, what):
    entry = record("experts_batching")[str(n_experts)]
    if what == "speedup":
        return ratio(entry["loop"] / entry["batched"])
    return f"{entry[what]:.3f} s"


def _experts_table():
    results = record("experts")["results"]
    rows = [
        [
            "case",
            "MLP experts",
            "Transformer experts",
            "difference",
            "s per epoch, MLP",
            "s per epoch, Transformer",
        ]
    ]
    for case in dict.fromkeys(r["case"] for r in results):
        score_, epoch = {}, {}
        for experts in ("MLP", "Transformer"):
            own = [r for r in results if (r["case"], r["experts"]) == (case, experts)]
            score_[experts] = np.mean([np.mean(r["task_scores"]) for r in own])
            epoch[experts] = np.mean([r["seconds_per_epoch"] for r in own])
        difference = score_["Transformer"] - score_["MLP"]
        rows.append(
            [
                case,
                f"{score_['MLP']:.4f}",
                f"{score_['Transformer']:.4f}",
                f"{difference:+.4f}",
                f"{epoch['MLP']:.3f}",
                f"{epoch['Transformer']:.3f}",
            ]
        )
    return {"experts_compare": rows}


# -- building the documentation (benchmarks/docs_build.py)
# ---------------------------------------------------------------------------------


@figure("docs.build", "docs_build")
def _docs_build():
    minutes = record("docs_build")["seconds"] / 60
    return f"{minutes:.0f} minutes" if minutes >= 2 else f"{minutes:.1f} minutes"


@figure("docs.example", "docs_build")
def _docs_example(name="slowest"):
    examples = record("docs_build")["examples"]
    value = max(examples.values()) if name == "slowest" else examples[name]
    return seconds(value)


# -- refit on the suite's small tables (record refit.json: refit="auto" as
# "MMoE-refit"; defaults.json: the default, early stopping's fit kept)
# ---------------------------------------------------------------------------------

REFIT = "MMoE-refit"


@functools.cache
def _refit():
    results, _ = _suite()
    refit = record("refit")["results"]
    cases = {r["case"] for r in refit}
    return results, refit, cases


@figure("refit.at_least", "refit")
def _refit_at_least(model=REFIT):
    """On how many tasks of the small tables ``model`` (the refit, or the
    default) scores at least the other within noise."""
    results, refit, cases = _refit()
    both = [r for r in results if r["case"] in cases] + refit
    other = "MMoE" if model == REFIT else REFIT
    level, pairs = report.at_least(both, other, model=model)
    return count(level, len(pairs))


@figure("refit.rank", "refit")
def _refit_rank(which="MMoE"):
    """The MMoE's mean rank over the whole suite: the default's, or with the refit
    on the small tables (``refit``)."""
    results, refit, cases = _refit()
    if which == "refit":
        kept = [r for r in results if not (r["model"] == "MMoE" and r["case"] in cases)]
        results = kept + [{**r, "model": "MMoE"} for r in refit]
    table = report.summarise(results, RANKED)
    return f"{report.mean_ranks(table, RANKED)[1]['MMoE']:.2f}"


def _mean_seconds(rows, model, case):
    return np.mean(
        [r["fit_seconds"] for r in rows if (r["model"], r["case"]) == (model, case)]
    )


@figure("refit.task", "refit")
def _refit_task(case, task, model=REFIT):
    """Task ``task`` of ``case``: the refit's or the default's (``MMoE``) score,
    the mean over seeds."""
    results, refit, _ = _refit()
    return _task_mean(results + refit, task, case=case, model=model)


@figure("refit.time_ratio", "refit")
def _refit_time_ratio(statistic="median"):
    """The refit's fit seconds over the default's, per small table (the means over
    seeds): their median, or their largest."""
    results, refit, cases = _refit()
    rows = results + refit
    ratios = [
        _mean_seconds(rows, REFIT, c) / _mean_seconds(rows, "MMoE", c)
        for c in sorted(cases)
    ]
    return ratio(float(np.median(ratios) if statistic == "median" else max(ratios)))


@figure("refit.hgb_ratio", "refit")
def _refit_hgb_ratio(model="MMoE"):
    """The median over the small tables of ``model``'s fit seconds (the default,
    or the refit) over boosting's (the means over seeds)."""
    results, refit, cases = _refit()
    rows = results + refit
    ratios = [
        _mean_seconds(rows, model, c) / _mean_seconds(rows, "HGB", c)
        for c in sorted(cases)
    ]
    return ratio(float(np.median(ratios)))


# -- where the small tables' gap comes from, on the suite's tables below 5,000 rows
# (record cross_fit.json, one session: the default "MMoE", n_cv=5 as "MMoE-cv5" and
# boosting "HGB"; refit.json: refit="auto" as "MMoE-refit", timed in a session of
# its own beside the default's rows in defaults.json)
# ---------------------------------------------------------------------------------

CROSS_FIT_MODELS = {
    "MMoE": "default: a fifth held out",
    "MMoE-refit": 'refit="auto"',
    "MMoE-cv5": "n_cv=5",
}


def _cross_fit():
    """Every way's rows: cross_fit.json's and the refit's."""
    return record("cross_fit")["results"] + record("refit")["results"]


def _cross_fit_cases():
    return list(dict.fromkeys(r["case"] for r in record("cross_fit")["results"]))


def _cross_fit_seconds(model, case):
    return _mean_seconds(record("cross_fit")["results"], model, case)


def _times(model):
    """``model``'s fit seconds over the default's, per small table (means over
    seeds), each from the record that timed the two in one session."""
    if model == REFIT:
        results, refit, cases = _refit()
        rows, cases = results + refit, sorted(cases)
    else:
        rows, cases = record("cross_fit")["results"], _cross_fit_cases()
    return {
        c: _mean_seconds(rows, model, c) / _mean_seconds(rows, "MMoE", c) for c in cases
    }


@figure("cross_fit.at_least", "cross_fit")
def _cross_fit_at_least(model, other="MMoE"):
    """On how many tasks of the small tables ``model`` scores at least ``other``'s
    within noise (of how many)."""
    _, _ = _suite()
    level, pairs = report.at_least(_cross_fit(), other, model=model)
    return count(level, len(pairs))


@figure("cross_fit.gain", "cross_fit")
def _cross_fit_gain(model, other="MMoE"):
    """The mean over the small tables' tasks of ``model``'s score less
    ``other``'s."""
    _, _ = _suite()
    _, pairs = report.at_least(_cross_fit(), other, model=model)
    return f"{float(np.mean([d for _, d, _ in pairs])):+.4f}"


@figure("cross_fit.task", "cross_fit")
def _cross_fit_task(case, task, model):
    """Task ``task`` of ``case`` for ``model``: the mean over seeds."""
    return _task_mean(_cross_fit(), task, case=case, model=model)


@figure("cross_fit.time_ratio", "cross_fit")
def _cross_fit_time_ratio(model, statistic="median"):
    """``model``'s fit seconds over the default's per small table: their median,
    or their largest (``max``)."""
    ratios = list(_times(model).values())
    return ratio(float(np.median(ratios) if statistic == "median" else max(ratios)))


@figure("cross_fit.hgb_ratio", "cross_fit")
def _cross_fit_hgb_ratio(model="MMoE"):
    """The median over the small tables of ``model``'s fit seconds over
    boosting's: the default's over boosting's (one session), times ``model``'s
    over the default's."""
    cases = _cross_fit_cases()
    times = dict.fromkeys(cases, 1.0) if model == "MMoE" else _times(model)
    ratios = [
        times[c] * _cross_fit_seconds("MMoE", c) / _cross_fit_seconds("HGB", c)
        for c in cases
    ]
    return ratio(float(np.median(ratios)))


@figure("cross_fit.rank", "cross_fit")
def _cross_fit_rank(model="MMoE"):
    """The MMoE's mean rank over the whole suite (defaults.json) with ``model``'s
    scores in place of the default's on the small tables."""
    results, _ = _suite()
    cases = set(_cross_fit_cases())
    kept = [r for r in results if not (r["model"] == "MMoE" and r["case"] in cases)]
    mine = [{**r, "model": "MMoE"} for r in _cross_fit() if r["model"] == model]
    table = report.summarise(kept + mine, RANKED)
    return f"{report.mean_ranks(table, RANKED)[1]['MMoE']:.2f}"


def _member_spread(rows):
    """The cross-fitted members' spread in one case: the mean over seeds and
    splits of the best member's validation score less the worst's."""
    spreads = [
        max(members) - min(members)
        for r in rows
        for members in r.get("member_validation_scores", [])
    ]
    return float(np.mean(spreads)) if spreads else None


@figure("cross_fit.spread", "cross_fit")
def _cross_fit_spread(statistic="median"):
    """The members' spread over the small tables: its median, or its largest."""
    rows = record("cross_fit")["results"]
    spreads = [
        _member_spread([r for r in rows if r["case"] == c and r["model"] == "MMoE-cv5"])
        for c in _cross_fit_cases()
    ]
    spreads = [s for s in spreads if s is not None]  # tables too small to fold
    value = np.median(spreads) if statistic == "median" else max(spreads)
    return f"{float(value):.3f}"


def _cross_fit_table():
    """Per small table: each way's mean score over tasks and seeds, the default's
    and boosting's fit seconds, the others' time over the default's, and the
    cross-fitted members' spread."""
    labels = list(CROSS_FIT_MODELS.values())
    rows = [
        [
            "case",
            *labels,
            "s, default",
            *(f"time, {label}" for label in labels[1:]),
            "s, HGB",
            "members' spread",
        ]
    ]
    results = _cross_fit()
    times = {m: _times(m) for m in list(CROSS_FIT_MODELS)[1:]}
    for case in _cross_fit_cases():
        own = {
            m: [r for r in results if (r["case"], r["model"]) == (case, m)]
            for m in CROSS_FIT_MODELS
        }
        mean = {m: np.mean([np.mean(r["task_scores"]) for r in own[m]]) for m in own}
        spread = _member_spread(own["MMoE-cv5"])
        rows.append(
            [
                case,
                *(score(mean[m]) for m in CROSS_FIT_MODELS),
                f"{_cross_fit_seconds('MMoE', case):.1f}",
                *(ratio(times[m][case]) for m in times),
                f"{_cross_fit_seconds('HGB', case):.1f}",
                "" if spread is None else f"{spread:.3f}",
            ]
        )
    return {"cross_fit": rows}


# -- embedding_l2 on the suite's recommender cases (record embedding_l2.json)
# ---------------------------------------------------------------------------------


@figure("l2.score", "embedding_l2")
def _l2_score(value, case, task):
    """Task ``task`` of ``case`` with ``embedding_l2=value``: the mean over seeds."""
    rows = record("embedding_l2")["results"]
    return _task_mean(rows, task, case=case, params={"embedding_l2": float(value)})


# -- recommendation: MovieLens-100K (benchmarks/recommendation.py)
# ---------------------------------------------------------------------------------

_REC_MODELS = {
    "Constant": "constant (the training mean and like rate)",
    "Bias": "mean + user bias + film bias",
    "HGB": "HistGradientBoosting per task, ids target-encoded",
    "MLP": "MLPClassifier / MLPRegressor on one-hot columns",
    "DeepCTR": "DeepCTR-Torch's MMOE, its example's set-up",
    "MMoE": "MMoEMultiTask(), the defaults",
    "Side": "MMoEMultiTask() on the side features alone",
}
# The table's columns: (case, metric, heading, lower is better).
_REC_COLUMNS = (
    ("movielens", "auc", "liked AUC", False),
    ("movielens", "rmse", "rating RMSE", True),
    ("movielens-ids", "rmse", "ids alone: RMSE", True),
    ("movielens-cold", "auc", "new users: AUC", False),
    ("movielens-cold", "rmse", "new users: RMSE", True),
)
_REC_PUBLISHED = {
    "surprise_svd": "SVD (published, Surprise)",
    "surprise_svdpp": "SVD++ (published, Surprise)",
    "surprise_baseline": "bias baseline (published, Surprise)",
}


def _rec_values(case, model, metric):
    results = record("recommendation")["results"]
    return [r[metric] for r in results if r["case"] == case and r["model"] == model]


@figure("rec.score", "recommendation")
def _rec_score(case, model, metric):
    """The mean over folds of ``metric`` (auc, rmse) of ``model`` on ``case``."""
    return score(np.mean(_rec_values(case, model, metric)))


@figure("rec.seconds", "recommendation")
def _rec_seconds(model, case="movielens"):
    return seconds(np.mean(_rec_values(case, model, "seconds")))


@figure("rec.time_ratio", "recommendation")
def _rec_time_ratio(model="MMoE", reference="HGB", case="movielens"):
    own = np.mean(_rec_values(case, model, "seconds"))
    return ratio(own / np.mean(_rec_values(case, reference, "seconds")))


@figure("rec.folds", "recommendation")
def _rec_folds(case="movielens", model="MMoE"):
    return str(len(_rec_values(case, model, "auc")))


def _rec_table():
    """Each model's mean ± spread over the folds of every case (the best of each
    column in bold), its seconds per fit, then the published ids-alone figures."""
    rows = [["model", *(c[2] for c in _REC_COLUMNS), "seconds per fit"]]
    best = {}
    for case, metric, _, lower in _REC_COLUMNS:
        means = [np.mean(v) for m in _REC_MODELS if (v := _rec_values(case, m, metric))]
        best[case, metric] = min(means) if lower else max(means)
    for model, label in _REC_MODELS.items():
        cells = []
        for case, metric, _, _ in _REC_COLUMNS:
            values = _rec_values(case, model, metric)
            cells.append(
                _bold(np.mean(values), np.std(values), best[case, metric], 4)
                if values
                else ""
            )
        own = _rec_values("movielens", model, "seconds") or _rec_values(
            "movielens-cold", model, "seconds"
        )
        rows.append([label, *cells, f"{np.mean(own):.1f}"])
    published = record("published")["figures"]
    for name, label in _REC_PUBLISHED.items():
        rows.append([label, "", "", published[name]["value"], "", "", ""])
    return {"recommendation": rows}


# -- funnels: click, then purchase (benchmarks/funnels.py)
# ---------------------------------------------------------------------------------

_FUNNEL_MODELS = {
    "independent": "two tasks, no funnel",
    "clicked-only": "purchase trained on the clicked rows, times a click model",
    "esmm": 'task_parents, funnel="esmm" (the default)',
    "aitm": 'task_parents, funnel="aitm"',
}


@figure("funnel.score", "funnels")
def _funnel_score(rows, model, metric):
    """The mean over seeds of ``metric`` (purchase_auc, conversion_mae,
    conversion_spearman...) of ``model`` at ``rows`` rows."""
    return score(record("funnels")["summary"][str(rows)][model][metric])


def _funnel_table():
    rows = [["rows", "model", "purchase AUC", "conversion MAE", "conversion Spearman"]]
    for n_rows, models in record("funnels")["summary"].items():
        for model, label in _FUNNEL_MODELS.items():
            m = models[model]
            rows.append(
                [
                    f"{int(n_rows):,}",
                    label,
                    *(
                        score(m[k])
                        for k in (
                            "purchase_auc",
                            "conversion_mae",
                            "conversion_spearman",
                        )
                    ),
                ]
            )
    return {"funnels": rows}


# -- text columns (benchmarks/text.py)
# ---------------------------------------------------------------------------------

_TEXT_MODELS = {
    "Constant": "constant",
    "HGB": "HGB on the table without the text",
    "MMoE-notext": "MMoEMultiTask() on the table without the text",
    "TF-IDF+linear": "TF-IDF (1-2 grams) + logistic regression / ridge",
    "HGB+TF-IDF": "HGB on the table + TF-IDF reduced to 64 (SVD)",
    "MMoE": "MMoEMultiTask() on the DataFrame as given",
    "MMoE[wordllama]": "the same, text_encoder='wordllama' (frozen)",
    "MMoE[wordllama fine-tuned]": "the same, WordLlama's vectors fine-tuned",
    "MMoE[transformer experts]": "the default encoder, Transformer experts over "
    "the text's tokens and the columns",
}


@figure("text.score", "text")
def _text_score(case, model, task):
    """``model``'s mean score of ``task`` on the text table ``case``."""
    return score(record("text")["summary"][case][model]["tasks"][task]["score"])


@figure("text.seconds", "text")
def _text_seconds(case, model):
    """``model``'s mean seconds per fit on the text table ``case``."""
    return seconds(record("text")["summary"][case][model]["seconds"])


@figure("text.rates", "text_rates")
def _text_rates(case, model, task):
    """A model's mean score of ``task`` in the choice of the text tables' rates
    (``MMoE[rates V/W]``: the vectors at V, the weights at W times the rate)."""
    return score(record("text_rates")["summary"][case][model]["tasks"][task]["score"])


@figure("text.rates_sparse", "text_rates_sparse")
def _text_rates_sparse(case, model, task):
    """``text.rates``, chosen again with the tables' sparse updates."""
    rec = record("text_rates_sparse")
    return score(rec["summary"][case][model]["tasks"][task]["score"])


@figure("text.options", "text_options")
def _text_options(case, model, task):
    """A model's mean score of ``task`` in the trial of the hashed encoder's
    options (character n-grams, word n-grams, the vectors' width)."""
    rec = record("text_options")
    return score(rec["summary"][case][model]["tasks"][task]["score"])


@figure("text.options_seconds", "text_options")
def _text_options_seconds(case, model):
    """A model's mean seconds per fit in the trial of the hashed options."""
    return seconds(record("text_options")["summary"][case][model]["seconds"])


@figure("text.cost", "text_cost")
def _text_cost(encoder, which):
    """An encoder's seconds per epoch (``first_epoch``, ``later_epochs``) or per
    fit (``fit``) in benchmarks/text_cost.py's run."""
    return seconds(record("text_cost")["results"][encoder][which])


@figure("text.cost_rows", "text_cost")
def _text_cost_rows():
    return f"{record('text_cost')['rows']:,}"


@figure("text.rows", "text")
def _text_rows(case):
    return f"{record('text')['cases'][case]['rows']:,}"


def _text_table():
    rec = record("text")
    rows = [["table", "model", "task", "score", "seconds per fit"]]
    for case, models in rec["summary"].items():
        tasks = rec["cases"][case]["tasks"]
        for model, label in _TEXT_MODELS.items():
            if model not in models:
                continue
            for task, metric in tasks.items():
                rows.append(
                    [
                        case,
                        label,
                        f"{task} ({metric})",
                        score(models[model]["tasks"][task]["score"]),
                        seconds(models[model]["seconds"]),
                    ]
                )
    return {"text": rows}


def _text_cost_table():
    rec = record("text_cost")
    rows = [["encoder", "first epoch", "each later epoch", "fit"]]
    for name, r in rec["results"].items():
        later = "" if r["later_epochs"] is None else seconds(r["later_epochs"])
        rows.append([name, seconds(r["first_epoch"]), later, seconds(r["fit"])])
    return {"text_cost": rows}


# -- data-parallel training (benchmarks/data_parallel.py, record data_parallel.json)
# ---------------------------------------------------------------------------------


def _distributed_run(case, run):
    """A run of a case in the record: ``one`` process, ``many`` data-parallel, or
    the same processes each fitting ``alone``."""
    rec = record("data_parallel")["cases"][case]
    names = {
        "one": "one process",
        "many": f"{_cores()} processes",
        "alone": f"{_cores()} processes, each alone",
    }
    return rec[names[run]]


def _cores():
    return record("data_parallel")["cores"]


@figure("distributed.epoch", "data_parallel")
def _distributed_epoch(case, run):
    """Seconds per epoch of a case's ``one``-process or ``many``-process run."""
    return seconds(_distributed_run(case, run)["epoch_seconds"])


@figure("distributed.ratio", "data_parallel")
def _distributed_ratio(case, which):
    """A case's ratio of one process's figure to the data-parallel run's
    (``epoch``, ``fit``) or the data-parallel peak memory per process over one
    process's (``memory``)."""
    names = {
        "epoch": "speed-up per epoch",
        "fit": "speed-up per fit",
        "memory": "peak memory per process / one process's",
    }
    return ratio(record("data_parallel")["cases"][case][names[which]])


@figure("distributed.exchange", "data_parallel")
def _distributed_exchange(case):
    """What exchanging a step's gradients (and each epoch's losses) cost a case's
    data-parallel run per step: its epoch less its processes' alone, over the
    steps."""
    ms = record("data_parallel")["cases"][case]["exchange ms per step"]
    return f"{ms:.1f} ms"


@figure("distributed.rows", "data_parallel")
def _distributed_rows(case, run):
    """Rows per second of a case's run (``one``, ``many``)."""
    return f"{_distributed_run(case, run)['rows_per_second']:,.0f}"


@figure("distributed.data", "data_parallel")
def _distributed_data(case, run):
    """The rows a process of a case's run holds, in MB."""
    return f"{max(_distributed_run(case, run)['data_mb_per_process']):,.0f} MB"


@figure("distributed.cores", "data_parallel")
def _distributed_cores():
    return str(_cores())


def _distributed_table():
    rec = record("data_parallel")
    rows = [
        [
            "table",
            "processes x threads",
            "seconds per epoch",
            "rows per second",
            "seconds per fit",
            "peak memory per process",
            "AUC of each task",
        ]
    ]
    for case in rec["cases"]:
        for run in ("one", "many", "alone"):
            r = _distributed_run(case, run)
            rows.append(
                [
                    f"{case} ({r['rows']:,} rows)",
                    f"{r['processes']} x {r['threads_per_process']}"
                    + (", each alone" if run == "alone" else ""),
                    seconds(r["epoch_seconds"]),
                    f"{r['rows_per_second']:,.0f}",
                    seconds(r["fit_seconds"]),
                    f"{max(r['peak_mb_per_process']):,.0f} MB",
                    ", ".join(score(a) for a in r["auc"]),
                ]
            )
    return {"distributed": rows}


# -- writing the documentation's tables
# ---------------------------------------------------------------------------------

TABLES = {
    "defaults_table": _suite_tables,
    "defaults_time": _suite_tables,
    "core_speed": _speed_table,
    "synthetic": _synthetic_table,
    "mixed": _mixed_table,
    "census": _census_table,
    "experts_compare": _experts_table,
    "recommendation": _rec_table,
    "funnels": _funnel_table,
    "cross_fit": _cross_fit_table,
    "numeric_width": _width_table,
    "numeric_suite": _numeric_suite_table,
    "numeric_rule": _rule_table,
    "large_tables": _large_table,
    "text": _text_table,
    "text_cost": _text_cost_table,
    "distributed": _distributed_table,
}


def write_tables(folder):
    """Write every table the documentation shows, as CSV, into ``folder``: a
    table's rows (lists of cells), or the CSV text a benchmark script writes."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, make in TABLES.items():
        if name not in written:
            written.update(make())
    for name, table in written.items():
        with open(folder / f"{name}.csv", "w", newline="") as file:
            if isinstance(table, str):
                file.write(table + "\n")
            else:
                csv.writer(file, quoting=csv.QUOTE_ALL).writerows(table)
    return sorted(written)


def main(names):
    for name in names or sorted(FIGURES):
        if name in FIGURES and FIGURES[name][0].__code__.co_argcount:
            print(f"{name}: takes arguments, e.g. {name}(...)")
            continue
        print(f"{name} = {value(name)}")


if __name__ == "__main__":
    main(sys.argv[1:])
