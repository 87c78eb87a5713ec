"""
GridSearchCV over a Pipeline, scored per task
=============================================

Multi-task models have several scores, one per task, and the best setting for one task
need not be the best for the other. :func:`~sklearn_mmoe.task_scorer` makes a scorer
for one task (its column of ``y`` and its part of the predictions), so a dict of them
gives :class:`~sklearn.model_selection.GridSearchCV` every task's score for every
candidate; ``refit`` then says which one picks the model.

Here two binary tasks share some structure, one labelled 0/1 and one ``"low"`` /
``"high"``, and some inputs are missing, so the model is a Pipeline: an imputer, then
the MMoE. The grid searches the number of experts and the gate type (the paper's
softmax gate against an attention gate) through the Pipeline's step name.
"""

# %%
# Two related binary tasks, with different label types
# ----------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_mmoe import MMoEClassifier, task_scorer
from sklearn_mmoe.datasets import make_multitask_regression

X, Y_continuous = make_multitask_regression(
    n_samples=600, n_features=16, n_tasks=2, correlation=0.7, random_state=0
)
X[np.random.RandomState(0).uniform(size=X.shape) < 0.05] = np.nan  # 5 % missing
above = Y_continuous > np.median(Y_continuous, axis=0)
Y = np.empty(above.shape, dtype=object)
Y[:, 0] = above[:, 0].astype(int)
Y[:, 1] = np.where(above[:, 1], "high", "low")
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)

# %%
# One scorer per task
# -------------------
# ``response_method="predict_proba"`` hands ROC AUC the probability of the positive
# class of that task (the second of its sorted classes: 1, and ``"low"``). A last
# scorer averages the two, for choosing one model. A scorer is called with the whole
# Pipeline; ``task_scorer`` only needs its ``predict_proba``.
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
# ``make_pipeline`` names the MMoE step ``mmoeclassifier``, so its parameters are
# searched as ``mmoeclassifier__n_experts`` and so on (``pipe.get_params()`` lists
# them all).
#
# Why ``cv=KFold(...)``: given an int, GridSearchCV asks
# :func:`~sklearn.utils.multiclass.type_of_target` which splitter suits ``y``, and a
# 2-D ``y`` whose tasks mix label types (ints and strings here) is not a type it
# knows: it raises "You appear to be using a legacy multi-label data representation"
# or "mix of label input types". A splitter object is used as it is. Shuffle it: rows
# often come sorted. ``n_jobs`` runs candidates in parallel processes (see the user
# guide for joblib and Dask).
pipe = make_pipeline(
    SimpleImputer(),
    MMoEClassifier(expert_units=(16,), tower_units=(8,), random_state=0),
)
search = GridSearchCV(
    pipe,
    param_grid={
        "mmoeclassifier__n_experts": [2, 6],
        "mmoeclassifier__gate_type": ["softmax", "attention"],
    },
    scoring=scoring,
    refit="mean_auc",
    cv=KFold(3, shuffle=True, random_state=0),
)
search.fit(X_train, Y_train)
results = pd.DataFrame(search.cv_results_)
results.columns = results.columns.str.replace("mmoeclassifier__", "")
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
    ax.set_xticks([2, 6])
axes[0].set_ylabel("cross-validated ROC AUC")
axes[0].legend()
fig.tight_layout()
plt.show()

# %%
# The refitted model on held-out data
# -----------------------------------
# ``search`` now holds the best Pipeline refitted on all the training rows; the same
# scorers score it on the test split.
for name, scorer in scoring.items():
    print(f"{name}: {scorer(search.best_estimator_, X_test, Y_test):.4f}")
