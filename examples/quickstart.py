"""
Quickstart: two related tasks, one model
========================================

Fit a Multi-gate Mixture-of-Experts on two regression tasks whose weight vectors have
cosine 0.5 (the MMoE paper's synthetic data), score each task on held-out rows, and
compare with the one-gate (OMoE) and Shared-Bottom architectures, every model with the
estimator's default training (no learning rate, epochs or scaler to choose). Then
classify two binary tasks and score each with ROC AUC.
"""

# %%
# Two correlated regression tasks
# -------------------------------
import numpy as np
import pandas as pd
from sklearn.metrics import mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor
from sklearn_mmoe.datasets import make_multitask_regression

X, Y = make_multitask_regression(
    n_samples=4000, n_features=100, n_tasks=2, correlation=0.5, random_state=0
)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)

# %%
# Each model trains on the 3,000 training rows with the defaults: no learning rate,
# epochs or scaler to choose. The estimator scales the inputs itself, sets a budget of
# 2,000 optimiser steps with the learning rate warmed up and then decayed, and, with
# more than 1,000 rows, holds out 10 % of them to stop when the held-out loss stops
# improving, keeping the best epoch. The table scores each task on the 1,000 test rows:
# R2 (1 is a perfect prediction, 0 no better than predicting the mean: higher is
# better) and the mean squared error (lower is better; each target's variance is about
# 6).
#
# The linear part ``w_k . x`` of a target carries about a sixth of its variance; the ten
# sine terms of rising frequency carry the rest and need far more rows than these to
# learn, so R2 stays low for every model. What the table compares is the architectures,
# all of the same size (8 experts of one 16-unit layer, or one bottom as wide as all of
# them, and towers of 8 units, the paper's sizes): MMoE gives each task its own mixture
# of the experts, OMoE one mixture for both, Shared-Bottom no experts to mix. The
# paper's synthetic study finds them in that order for tasks only partly related, over
# many seeds and 50,000 rows (section 3.2; :ref:`performance` has our reproduction);
# on one split of 3,000 rows their differences are small, and the last line says
# which led on each task here.
import time

experts = dict(n_experts=8, expert_units=(16,), tower_units=(8,), random_state=0)
models = {
    "MMoE": MMoERegressor(**experts),
    "OMoE": MMoERegressor(architecture="omoe", **experts),
    "Shared-Bottom": MMoERegressor(
        architecture="shared_bottom",
        expert_units=(128,),
        tower_units=(8,),
        random_state=0,
    ),
}
scores = {}
for name, reg in models.items():
    print(f"fitting {name} on {len(X_train):,} rows ...", end=" ", flush=True)
    start = time.perf_counter()
    pred = reg.fit(X_train, Y_train).predict(X_test)
    print(f"{reg.n_iter_} epochs, {time.perf_counter() - start:.1f} s")
    r2 = r2_score(Y_test, pred, multioutput="raw_values")
    mse = mean_squared_error(Y_test, pred, multioutput="raw_values")
    scores[name] = (r2, mse)

header = ("model", "R2 task 0", "R2 task 1", "MSE task 0", "MSE task 1")
print(
    f"\n{header[0]:<14} {header[1]:>10} {header[2]:>10} {header[3]:>11} {header[4]:>11}"
)
for name, (r2, mse) in scores.items():
    print(f"{name:<14} {r2[0]:>10.3f} {r2[1]:>10.3f} {mse[0]:>11.3f} {mse[1]:>11.3f}")
best = [max(scores, key=lambda name: scores[name][0][t]) for t in range(2)]
print(f"highest R2: {best[0]} on task 0, {best[1]} on task 1")

# %%
# Two binary tasks
# ----------------
# Each column of ``y`` is a task with its own classes; ``predict_proba`` returns one
# array per task. ROC AUC is 0.5 for a random guess and 1 for a perfect ranking.
threshold = np.median(Y_train, axis=0)
B_train, B_test = (Y_train > threshold).astype(int), (Y_test > threshold).astype(int)
print("\nfitting MMoEClassifier on two binary tasks ...", flush=True)
clf = MMoEClassifier(**experts).fit(X_train, B_train)
for task, p in enumerate(clf.predict_proba(X_test)):
    auc = roc_auc_score(B_test[:, task], p[:, 1])
    print(f"task {task}: ROC AUC {auc:.3f}")
print(f"accuracy, the mean over both tasks: {clf.score(X_test, B_test):.3f}")

# %%
# A classification and a regression task in one model
# ---------------------------------------------------
# :class:`~sklearn_mmoe.MMoEMultiTask` takes tasks of different kinds: here whether
# task 0 is above its median (a label) next to task 1's value. A DataFrame ``y`` names
# the tasks; ``task_types="auto"`` reads the bools as classes and the floats as values.
M_train = pd.DataFrame({"high_0": B_train[:, 0] == 1, "value_1": Y_train[:, 1]})
print("\nfitting MMoEMultiTask on a label and a value ...", flush=True)
mixed = MMoEMultiTask(**experts).fit(X_train, M_train)
pred = mixed.predict(X_test)  # an object array: bools and floats
auc = roc_auc_score(B_test[:, 0], mixed.predict_proba(X_test)[0][:, 1])
r2 = r2_score(Y_test[:, 1], pred[:, 1].astype(float))
for name, kind, metric, value in zip(
    mixed.task_names_, mixed.task_types_, ("ROC AUC", "R2"), (auc, r2)
):
    print(f"{name} ({kind}): {metric} {value:.3f}")

# sphinx_gallery_thumbnail_path = "_static/quickstart_thumbnail.png"
