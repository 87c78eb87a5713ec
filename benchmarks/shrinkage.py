"""How far each rule for a regression task's shrinkage keeps a pure-noise task from a
constant prediction, and what it costs a learnable one.

``tests/test_never_harm.py``'s set-up: a pure-noise task beside a learnable one (6
inputs, 300 training rows of which the defaults hold 60 out, 100 held-out rows), one
``MMoERegressor(random_state=0)`` per draw. Each fit's validation outputs and targets
are recorded as the estimator chooses its factor, and every rule ``c - doubt * se**2
/ c`` (see ``sklearn_mmoe._tasks.shrinkage.shrink_factor``) is then scored on the
held-out rows: the noise task's R2 minus the constant's (mean, worst draw, worst mean
of 4 draws) and the learnable task's R2.

Usage::

    python benchmarks/shrinkage.py [--draws 32] [--doubts 0 1 2 4]

Run it once per environment (the suite's versions, ``.ci/floors``' lowest ones).
"""

import argparse
import warnings

import numpy as np
from sklearn.metrics import r2_score

from sklearn_mmoe import MMoERegressor
from sklearn_mmoe._tasks import kinds as _tasks


def _draw(n, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 6))
    signal = X[:, 0] + np.sin(2 * X[:, 1])
    return X, np.column_stack([signal + 0.1 * rng.normal(size=n), rng.normal(size=n)])


def _recorded_fits(draws, n_train=300, n_test=100):
    """Per draw: each task's validation (out, y, w), its mean, range, and the
    held-out outputs as trained."""
    seen, fits = [], []
    shrink_factor = _tasks.shrink_factor

    def spy(loss, out, y, w, doubt=0.0):
        seen.append((out.clone(), y.clone(), w.clone()))
        return shrink_factor(loss, out, y, w, doubt)

    _tasks.shrink_factor = spy
    try:
        for seed in range(draws):
            X, Y = _draw(n_train + n_test, seed)
            seen.clear()
            model = MMoERegressor(random_state=0).fit(X[:n_train], Y[:n_train])
            tasks = model._tasks
            model._tasks = [task.unshrunk() for task in tasks]
            raw = model.predict(X[n_train:])
            model._tasks = tasks
            fits.append((list(seen), tasks, raw, Y[:n_train], Y[n_train:]))
    finally:
        _tasks.shrink_factor = shrink_factor
    return fits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=32)
    parser.add_argument("--doubts", type=float, nargs="+", default=[0, 1, 2, 4])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    fits = _recorded_fits(args.draws)
    loss = _tasks.RegressionTask.loss
    print(f"{args.draws} draws; noise task's R2 minus the constant's; learnable R2")
    print("doubt   noise mean   worst draw   worst mean of 4   learnable")
    for doubt in args.doubts:
        noise, learnable = [], []
        for seen, tasks, raw, train, test in fits:
            for t, (out, y, w) in enumerate(seen):
                factor = _tasks.shrink_factor(loss, out, y, w, doubt)
                factor = 1.0 if factor is None else factor
                task = tasks[t]
                pred = np.clip(
                    task.mean + factor * (raw[:, t] - task.mean), task.low, task.high
                )
                score = r2_score(test[:, t], pred)
                if t == 0:
                    learnable.append(score)
                else:
                    constant = np.full(len(pred), train[:, t].mean())
                    noise.append(score - r2_score(test[:, t], constant))
        noise = np.array(noise)
        fours = noise[: len(noise) // 4 * 4].reshape(-1, 4).mean(1)
        print(
            f"{doubt:5g}   {noise.mean():+10.4f}   {noise.min():+10.4f}   "
            f"{fours.min():+15.4f}   {np.mean(learnable):9.4f}"
        )


if __name__ == "__main__":
    main()
