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
# them, and towers of 8 units, the paper's sizes): MMoE, which gives each task its own
# mixture of the experts, scores best on both tasks, then OMoE (one mixture for both),
# then Shared-Bottom (no experts to mix), the order the paper's synthetic study finds
# for tasks that are only partly related (section 3.2).
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
print(
    f"{'model':<14} {'R2 task 0':>10} {'R2 task 1':>10} {'MSE task 0':>11} "
    f"{'MSE task 1':>11}"
)
for name, reg in models.items():
    pred = reg.fit(X_train, Y_train).predict(X_test)
    r2 = r2_score(Y_test, pred, multioutput="raw_values")
    mse = mean_squared_error(Y_test, pred, multioutput="raw_values")
    print(f"{name:<14} {r2[0]:>10.3f} {r2[1]:>10.3f} {mse[0]:>11.3f} {mse[1]:>11.3f}")

# %%
# Two binary tasks
# ----------------
# Each column of ``y`` is a task with its own classes; ``predict_proba`` returns one
# array per task. ROC AUC is 0.5 for a random guess and 1 for a perfect ranking.
threshold = np.median(Y_train, axis=0)
B_train, B_test = (Y_train > threshold).astype(int), (Y_test > threshold).astype(int)
clf = MMoEClassifier(**experts).fit(X_train, B_train)
for task, p in enumerate(clf.predict_proba(X_test)):
    print(
        f"classifier task {task}: ROC AUC {roc_auc_score(B_test[:, task], p[:, 1]):.3f}"
    )
print(f"mean per-task accuracy: {clf.score(X_test, B_test):.3f}")

# %%
# A classification and a regression task in one model
# ---------------------------------------------------
# :class:`~sklearn_mmoe.MMoEMultiTask` takes tasks of different kinds: here whether
# task 0 is above its median (a label) next to task 1's value. A DataFrame ``y`` names
# the tasks; ``task_types="auto"`` reads the bools as classes and the floats as values.
M_train = pd.DataFrame({"high_0": B_train[:, 0] == 1, "value_1": Y_train[:, 1]})
mixed = MMoEMultiTask(**experts).fit(X_train, M_train)
pred = mixed.predict(X_test)  # an object array: bools and floats
auc = roc_auc_score(B_test[:, 0], mixed.predict_proba(X_test)[0][:, 1])
r2 = r2_score(Y_test[:, 1], pred[:, 1].astype(float))
print(f"{mixed.task_types_}: ROC AUC of high_0 {auc:.3f}, R2 of value_1 {r2:.3f}")

# sphinx_gallery_thumbnail_path = "_static/quickstart_thumbnail.png"
