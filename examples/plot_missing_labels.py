"""
Missing labels: every row trains the tasks it has labels for
============================================================

In real multi-task data some labels are unknown: a survey question left blank, a
rating the user never gave. Dropping every row with a missing label throws away what
it says about the other tasks. With ``missing_labels="ignore"`` a missing entry of
``y`` (NaN, or None in an object column) is left out of its own task's loss,
validation loss and score, while the row still trains the other tasks.

Here task B is labelled on only a fraction of the rows, and task A, related to it,
on all of them. The multi-task model learns B from its few labels *and* from what A's
labels teach the shared experts; a single-task model sees only B's labelled rows.
"""

# %%
# Two related tasks, B mostly unlabelled
# --------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import r2_score

from sklearn_mmoe import MMoERegressor
from sklearn_mmoe.datasets import make_multitask_regression

X, Y = make_multitask_regression(
    n_samples=2000, n_features=16, correlation=0.9, n_sines=3, random_state=0
)
X_train, Y_train, X_test, Y_test = X[:1400], Y[:1400], X[1400:], Y[1400:]

rng = np.random.RandomState(0)
Y_partial = Y_train.copy()
Y_partial[rng.uniform(size=len(Y_partial)) > 0.1, 1] = np.nan  # B: 10 % labelled
print(f"task B labelled on {np.mean(~np.isnan(Y_partial[:, 1])):.0%} of the rows")

# %%
# The default refuses NaN labels, as scikit-learn does
# ----------------------------------------------------
params = dict(
    n_experts=4,
    expert_units=(16,),
    tower_units=(8,),
    learning_rate=3e-3,
    early_stopping=True,
    random_state=0,
)
try:
    MMoERegressor(**params).fit(X_train, Y_partial)
except ValueError as error:
    print("ValueError:", error)

# %%
# Ignoring the missing entries
# ----------------------------
# ``score`` (and :func:`~sklearn_mmoe.task_scorer`) skip the missing entries too.
multi = MMoERegressor(**params, missing_labels="ignore").fit(X_train, Y_partial)
print(
    "training-set R2, labelled entries only:", round(multi.score(X_train, Y_partial), 3)
)

# %%
# Against task B alone, on its labelled rows
# ------------------------------------------
# Repeat for several labelled fractions of B. The multi-task model always sees all of
# A's labels; the single-task model only B's labelled rows.
fractions = [0.05, 0.2, 1.0]
scores = {"MMoE, A + partly labelled B": [], "B alone": []}
draw = rng.uniform(size=len(Y_train))
for fraction in fractions:
    Y_partial = Y_train.copy()
    Y_partial[draw > fraction, 1] = np.nan
    multi = MMoERegressor(**params, missing_labels="ignore").fit(X_train, Y_partial)
    labelled = ~np.isnan(Y_partial[:, 1])
    single = MMoERegressor(**params).fit(X_train[labelled], Y_train[labelled, 1])
    scores["MMoE, A + partly labelled B"].append(
        r2_score(Y_test[:, 1], multi.predict(X_test)[:, 1])
    )
    scores["B alone"].append(r2_score(Y_test[:, 1], single.predict(X_test)))
    print(
        f"B labelled on {fraction:>4.0%} ({labelled.sum():>4} rows): test R2 of B "
        f"{scores['MMoE, A + partly labelled B'][-1]:.3f} with A, "
        f"{scores['B alone'][-1]:.3f} alone"
    )

# %%
# Task B's test score against its labelled fraction
# -------------------------------------------------
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, values in scores.items():
    ax.plot(fractions, values, marker="o", label=name)
ax.set_xscale("log")
ax.set_xticks(fractions, [f"{f:.0%}" for f in fractions])
ax.set_xlabel("fraction of task B's labels present")
ax.set_ylabel("test R2 of task B")
ax.legend()
fig.tight_layout()
plt.show()
