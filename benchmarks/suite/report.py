"""The defaults suite's report, computed from a record's rows.

:func:`summarise` turns the rows (one per case, model and seed) into the table of
case scores; the ``*_report`` functions print what the suite prints after a run
(ranks, harm against a constant, per-task comparisons within noise, joint against
per-task training, fit time against boosting); :func:`markdown_table`,
:func:`score_cells` and :func:`time_csv` give the tables the README and the
documentation show (``benchmarks/figures.py``). Nothing here fits a model.
"""

import numpy as np


def summarise(results, models):
    """Per case: each model's mean case score, per-task means, normalised score and
    fit seconds; and the suite's mean normalised score per model."""
    table = {}
    for case in dict.fromkeys(r["case"] for r in results):
        rows = [r for r in results if r["case"] == case]
        seeds = sorted({r["seed"] for r in rows})
        by = {(r["model"], r["seed"]): r for r in rows}
        present = [m for m in models if all((m, s) in by for s in seeds)]
        # A model run on only some of the seeds is reported on those, unnormalised.
        partial = {
            m: [s for s in seeds if (m, s) in by]
            for m in models
            if m not in present and any((m, s) in by for s in seeds)
        }
        score = {m: [np.mean(by[m, s]["task_scores"]) for s in seeds] for m in present}
        normalised = {m: [] for m in present}
        for i in range(len(seeds)):
            values = [score[m][i] for m in present]
            low, high = min(values), max(values)
            for m in present:
                normalised[m].append(
                    1.0 if high == low else (score[m][i] - low) / (high - low)
                )
        table[case] = {
            m: {
                "score": float(np.mean(score[m])),
                "score_sd": float(np.std(score[m])),
                "tasks": np.mean([by[m, s]["task_scores"] for s in seeds], 0).tolist(),
                "normalised": float(np.mean(normalised[m])),
                "fit_seconds": float(np.mean([by[m, s]["fit_seconds"] for s in seeds])),
            }
            for m in present
        }
        for m, some in partial.items():
            table[case][m] = {
                "score": float(
                    np.mean([np.mean(by[m, s]["task_scores"]) for s in some])
                ),
                "score_sd": float(
                    np.std([np.mean(by[m, s]["task_scores"]) for s in some])
                ),
                "tasks": np.mean([by[m, s]["task_scores"] for s in some], 0).tolist(),
                "normalised": None,
                "fit_seconds": float(np.mean([by[m, s]["fit_seconds"] for s in some])),
                "seeds": some,
            }
    return table


def _full(entry, models):
    """The models run on every seed of a case."""
    return [m for m in models if m in entry and entry[m]["normalised"] is not None]


def mean_ranks(table, models, cases=None):
    """Each model's mean normalised score and mean rank over the cases (``cases``,
    or all) where two models or more ran every seed, and the number of such
    cases."""
    entries = [e for c, e in table.items() if cases is None or c in cases]
    compared = [e for e in entries if len(_full(e, models)) > 1]
    means, ranks = {m: [] for m in models}, {m: [] for m in models}
    for entry in compared:
        order = sorted(_full(entry, models), key=lambda m: -entry[m]["score"])
        for rank, m in enumerate(order, 1):
            ranks[m].append(rank)
            means[m].append(entry[m]["normalised"])
    mean = lambda v: float(np.mean(v)) if v else float("nan")  # noqa: E731
    return (
        {m: mean(v) for m, v in means.items()},
        {m: mean(v) for m, v in ranks.items()},
        len(compared),
    )


def print_table(table, models):
    """Print each case's score, normalised score and fit seconds per model,
    the mean normalised scores and ranks, and the MMoE against each model."""
    header = f"{'case':<16}" + "".join(f"{m:>22}" for m in models)
    print(header)
    for case, entry in table.items():
        cells = []
        for m in models:
            if m in entry and entry[m]["normalised"] is None:  # some seeds only
                e = entry[m]
                cells.append(f"{e['score']:.4f}* -- {e['fit_seconds']:6.1f}s")
            elif m in entry:
                e = entry[m]
                cells.append(
                    f"{e['score']:.4f} {e['normalised']:.2f} {e['fit_seconds']:6.1f}s"
                )
            else:
                cells.append("-")
        print(f"{case:<16}" + "".join(f"{c:>22}" for c in cells))

    means, ranks, compared = mean_ranks(table, models)
    print(f"{'mean normalised':<16}" + "".join(f"{means[m]:>22.3f}" for m in models))
    print(f"{'mean rank':<16}" + "".join(f"{ranks[m]:>22.2f}" for m in models))
    print(
        f"(means over the {compared} cases with two models or more) cells: mean"
        " score over seeds, normalised score, fit seconds per fit;"
    )
    print("* run on fewer seeds than the others (left out of the normalised means)")
    if "MMoE" in models:
        for ref in models:
            if ref == "MMoE":
                continue
            diffs = [
                entry["MMoE"]["score"] - entry[ref]["score"]
                for entry in table.values()
                if "MMoE" in entry and ref in entry
            ]
            wins = sum(d >= 0 for d in diffs)
            print(
                f"MMoE - {ref}: mean {np.mean(diffs):+.4f}, median "
                f"{np.median(diffs):+.4f}; MMoE at least as good on {wins} of "
                f"{len(diffs)} cases"
            )


def harm(results, model, margin=0.02):
    """``model``'s tasks against the constant prediction (the training mean, the
    class prior): per task, the mean over seeds of its score minus the constant's.
    Returns the tasks more than ``margin`` below, the number of tasks compared and
    the worst ``(difference, task)``; None where nothing compares."""
    by = {}
    for r in results:
        by.setdefault((r["case"], r["model"]), []).append(r)
    margins = []
    for (case, m), rows in by.items():
        if m != model or (case, "Constant") not in by:
            continue
        seeds = {r["seed"] for r in rows}
        const = [r for r in by[case, "Constant"] if r["seed"] in seeds]
        if len(const) != len(rows):
            continue
        own = np.mean([r["task_scores"] for r in rows], 0)
        ref = np.mean([r["task_scores"] for r in const], 0)
        margins += [(float(d), f"{case}[{t}]") for t, d in enumerate(own - ref)]
    if not margins:
        return None
    below = [name for d, name in margins if d < -margin]
    return below, len(margins), min(margins)


def harm_report(results, models):
    """Prints each model's worst task against the constant prediction and the tasks
    more than 0.02 below it (see :func:`harm`)."""
    lines = []
    for m in models:
        found = harm(results, m)
        if found is None:
            continue
        below, n, worst = found
        lines.append(
            f"{m:<8} worst task {worst[1]}: {worst[0]:+.4f} against the constant; "
            f"{len(below)} of {n} tasks more than 0.02 below"
            + (f" ({', '.join(below)})" if below else "")
        )
    if lines:
        print("\nAgainst a constant prediction (score minus the constant's, per task):")
        print("\n".join(lines))


# A task's difference between two models is "within noise" when it is above minus
# twice its standard error over the seeds (the seeds' paired differences), and never
# less than this floor (a single seed has no spread to measure).
NOISE_FLOOR = 0.005


def _task_means(results):
    """``{(case, task): {model: [score per seed]}}``, seeds in order."""
    out = {}
    for r in sorted(results, key=lambda r: r["seed"]):
        for t, score in enumerate(r["task_scores"]):
            out.setdefault((r["case"], t), {}).setdefault(r["model"], {})[r["seed"]] = (
                score
            )
    return out


def _paired(scores, a, b):
    """Mean of ``a - b`` over the seeds both ran, and its noise allowance."""
    seeds = sorted(set(scores[a]) & set(scores[b]))
    diffs = np.array([scores[a][s] - scores[b][s] for s in seeds])
    noise = NOISE_FLOOR
    if len(diffs) > 1:
        noise = max(noise, 2 * diffs.std(ddof=1) / np.sqrt(len(diffs)))
    return float(diffs.mean()), noise


def at_least(results, reference, model="MMoE"):
    """On how many tasks ``model`` scores at least ``reference``'s within noise, and
    the tasks compared: ``[((case, task), difference, noise), ...]``; None where
    the two share no task."""
    pairs = [
        (key, *_paired(scores, model, reference))
        for key, scores in _task_means(results).items()
        if model in scores and reference in scores
    ]
    if not pairs:
        return None
    return sum(d >= -noise for _, d, noise in pairs), pairs


def task_report(results, models, label=lambda case, t: f"{case}[{t}]"):
    """Per task rather than per case: on how many tasks the MMoE is at least each
    other model within noise, each model's worst task against the best model of that
    task, and each model's total fit seconds."""
    tasks = _task_means(results)
    print("\nPer task (score differences, within noise = above -2 s.e. over seeds,")
    print(f"at least {NOISE_FLOOR}):")
    for ref in models:
        found = None if ref == "MMoE" else at_least(results, ref)
        if not found:
            continue
        level, pairs = found
        behind = [f"{label(*key)} {d:+.4f}" for key, d, noise in pairs if d < -noise]
        print(
            f"MMoE at least {ref}'s within noise on {level} of {len(pairs)} tasks; "
            f"mean difference {np.mean([d for _, d, _ in pairs]):+.4f}"
            + (f"; behind on {', '.join(behind)}" if behind else "")
        )
    for m in models:
        gaps = []
        for key, scores in tasks.items():
            ranked = [n for n in models if n in scores]
            if m not in scores or len(ranked) < 2:
                continue
            best = max(np.mean(list(scores[n].values())) for n in ranked)
            gaps.append((np.mean(list(scores[m].values())) - best, key))
        if gaps:
            gap, key = min(gaps)
            print(f"{m:<8} worst task {label(*key)}: {gap:+.4f} behind its best")
    seconds = {}
    for r in results:
        seconds[r["model"]] = seconds.get(r["model"], 0.0) + r["fit_seconds"]
    print(
        "fit seconds, summed over cases and seeds (mean per fit): "
        + ", ".join(f"{m} {seconds[m]:.0f} s" for m in models if m in seconds)
    )


def joint_verdicts(results):
    """Per task of the mixed cases, all tasks in one MMoE against the same defaults
    one model per task: ``[((case, task), difference, noise, verdict), ...]``,
    the verdict ``"helps"``, ``"hurts"`` or ``"level"`` (within noise)."""
    rows = []
    for key, scores in _task_means(results).items():
        if "MMoE" in scores and "MMoE-solo" in scores:
            d, noise = _paired(scores, "MMoE", "MMoE-solo")
            verdict = "helps" if d > noise else "hurts" if d < -noise else "level"
            rows.append((key, d, noise, verdict))
    return rows


def joint_report(results):
    """Does training together help? Per task of the mixed cases: all tasks in one
    MMoE against the same defaults one model per task (``MMoE-solo``)."""
    rows = joint_verdicts(results)
    if not rows:
        return
    print("\nOne model for all tasks against one per task (MMoE - MMoE-solo):")
    for (case, t), d, noise, verdict in rows:
        print(f"  {case}[{t}]: {d:+.4f} (noise {noise:.4f}) {verdict}")
    counts = {v: sum(r[3] == v for r in rows) for v in ("helps", "hurts", "level")}
    print(
        f"joint helps on {counts['helps']}, hurts on {counts['hurts']}, level on "
        f"{counts['level']} of {len(rows)} tasks"
    )


def time_rows(table, model="MMoE", reference="HGB"):
    """Per case with both: ``model``'s mean fit seconds against ``reference``'s, their
    ratio, and the case scores' difference (``model`` minus ``reference``)."""
    rows = []
    for case, entry in table.items():
        if model in entry and reference in entry:
            a, b = entry[model], entry[reference]
            seconds = a["fit_seconds"], b["fit_seconds"]
            ratio = seconds[0] / max(seconds[1], 1e-9)
            rows.append((case, *seconds, ratio, a["score"] - b["score"]))
    return rows


def time_report(table, model="MMoE", reference="HGB"):
    """Time to quality: the default fit's seconds against gradient boosting's."""
    rows = time_rows(table, model, reference)
    if not rows:
        return
    print(f"\nFit seconds, {model} against {reference} (score difference beside):")
    for case, a, b, ratio, d in rows:
        print(f"  {case:<16} {a:7.1f} s {b:7.1f} s  {ratio:6.1f}x  {d:+.4f}")
    ratios = np.array([r[3] for r in rows])
    print(
        f"ratio: median {np.median(ratios):.1f}x, at most 3x on "
        f"{int((ratios <= 3).sum())} of {len(ratios)} cases"
    )


def time_csv(table, model="MMoE", reference="HGB"):
    """``time_rows`` as CSV rows for the docs' ``csv-table``."""
    csv = [
        f'"case","{model}, s","{reference}, s","ratio","score, {model} - {reference}"'
    ]
    for case, a, b, ratio, d in time_rows(table, model, reference):
        csv.append(f'"{case}","{a:.1f}","{b:.1f}","{ratio:.1f}","{d:+.4f}"')
    return "\n".join(csv)


def score_cells(table, models, seconds=True):
    """Per case, ``(case, [cell per model])``: each model's mean score (in bold where
    it is the case's best; ``*`` where it ran on fewer seeds), ``± `` its sd over the
    seeds and, with ``seconds``, its mean fit seconds; ``"not run"`` where it did
    not run."""
    rows = []
    for case, entry in table.items():
        best = max(entry[m]["score"] for m in models if m in entry)
        cells = []
        for m in models:
            if m not in entry:
                cells.append("not run")
                continue
            e = entry[m]
            text = f"{e['score']:.4f}"
            if e["score"] == best:
                text = f"**{text}**"
            star = "\\*" if e["normalised"] is None else ""  # escaped: not markup
            cell = f"{text}{star} ± {e['score_sd']:.4f}"
            cells.append(cell + (f", {e['fit_seconds']:.1f} s" if seconds else ""))
        rows.append((case, cells))
    return rows


def markdown_table(table, models):
    """The table as Markdown (for benchmarks/README.md): per case, each model's
    :func:`score_cells`, fit seconds included."""
    md = ["| case | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for case, cells in score_cells(table, models):
        md.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(md)
