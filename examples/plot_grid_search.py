"""
GridSearchCV over experts and gates, scored per task
====================================================

Multi-task models have several scores, one per task, and the best setting for one task
need not be the best for the other. :func:`~sklearn_mmoe.task_scorer` makes a scorer
for one task (its column of ``y`` and its part of the predictions), so a dict of them
gives :class:`~sklearn.model_selection.GridSearchCV` every task's score for every
candidate; ``refit`` then says which one picks the model.

Here two binary tasks share some structure: the grid searches the number of experts
and the gate type (the paper's softmax gate against an attention gate).
"""

# %%
# Two related binary tasks
# ------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, train_test_split

from sklearn_mmoe import MMoEClassifier, task_scorer
from sklearn_mmoe.datasets import make_multitask_regression

X, Y_continuous = make_multitask_regression(
    n_samples=2400, n_features=16, n_tasks=2, correlation=0.7, random_state=0
)
Y = (Y_continuous > np.median(Y_continuous, axis=0)).astype(int)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)

# %%
# One scorer per task
# -------------------
# ``response_method="predict_proba"`` hands ROC AUC the probability of the positive
# class of that task. A last scorer averages the two, for choosing one model.
task_aucs = {
    f"auc_task_{t}": task_scorer(roc_auc_score, t, response_method="predict_proba")
    for t in range(Y.shape[1])
}


def mean_auc(estimator, X, y):
    return np.mean([scorer(estimator, X, y) for scorer in task_aucs.values()])


scoring = {**task_aucs, "mean_auc": mean_auc}

# %%
# The search
# ----------
# With a 2-D ``y`` scikit-learn's default splitter for classifiers is plain
# ``KFold``; pass it explicitly, shuffled. ``n_jobs`` runs candidates in parallel
# processes (see the user guide for joblib and Dask).
search = GridSearchCV(
    MMoEClassifier(
        expert_units=(16,),
        tower_units=(8,),
        early_stopping=True,
        n_iter_no_change=5,
        random_state=0,
    ),
    param_grid={"n_experts": [2, 4, 8], "gate_type": ["softmax", "attention"]},
    scoring=scoring,
    refit="mean_auc",
    cv=KFold(3, shuffle=True, random_state=0),
)
search.fit(X_train, Y_train)
results = pd.DataFrame(search.cv_results_)
columns = ["param_n_experts", "param_gate_type"] + [
    f"mean_test_{name}" for name in scoring
]
print(results[columns].round(4).to_string(index=False))
print("best:", search.best_params_)

# %%
# Every task's score for every candidate
# --------------------------------------
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
for ax, t in zip(axes, range(Y.shape[1])):
    for gate, rows in results.groupby("param_gate_type"):
        ax.errorbar(
            rows["param_n_experts"].astype(int),
            rows[f"mean_test_auc_task_{t}"],
            yerr=rows[f"std_test_auc_task_{t}"],
            marker="o",
            capsize=3,
            label=f"{gate} gate",
        )
    ax.set_title(f"task {t}")
    ax.set_xlabel("n_experts")
    ax.set_xticks([2, 4, 8])
axes[0].set_ylabel("cross-validated ROC AUC")
axes[0].legend()
fig.tight_layout()
plt.show()

# %%
# The refitted model on held-out data
# -----------------------------------
# ``search`` now holds the best model refitted on all the training rows; the same
# scorers score it on the test split.
for name, scorer in scoring.items():
    print(f"{name}: {scorer(search.best_estimator_, X_test, Y_test):.4f}")
