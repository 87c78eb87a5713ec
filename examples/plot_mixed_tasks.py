"""
A classification and a regression task in one model
====================================================

MMoE's motivating case is a pair of tasks of different kinds trained together: whether
a user buys and what rating they give, whether a video is clicked and how long it is
watched. Here, from the UCI Census-Income (KDD) records, whether a person's income
exceeds 50K (binary) and how many weeks they worked in the year (0 to 52, a
regression target, its column removed from the inputs).
:class:`~sklearn_mmoe.MMoEMultiTask` fits both in one network, predicts labels and
values in their own types, and can learn how to weigh the two losses
(``task_weights="uncertainty"``). We compare it with the same network trained on each
task alone. The example runs on a subsample to stay quick;
``benchmarks/mixed_tasks.py`` runs the comparison on 60,000 training rows and five
seeds (its table is in the documentation's performance page).
"""

# %%
# Load the data
# -------------
# The census test split ships with the package: no path, no download.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor
from sklearn_mmoe.datasets import load_census_income

X, labels = load_census_income()
Y = pd.DataFrame(
    {
        "income_50k": labels["income_50k"].map({0: "no", 1: "yes"}),
        "weeks_worked": X.pop("weeks_worked").astype(float),
    }
)
# A quick subsample: 3,000 rows, 2,000 to train and 1,000 to test.
X, _, Y, _ = train_test_split(
    X, Y, train_size=3_000, random_state=0, stratify=Y["income_50k"]
)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=1_000, random_state=0, stratify=Y["income_50k"]
)
print(Y_train.dtypes.to_dict())

# %%
# One model, two kinds of task
# ----------------------------
# Weeks worked are whole numbers, which scikit-learn's ``type_of_target`` calls 53
# classes; ``task_types="auto"`` reads that many whole numbers as a quantity and warns
# that it did. Naming the kinds says so without the warning. Everything else is the
# default.
types = ["classification", "regression"]
model = MMoEMultiTask(task_types=types, random_state=0).fit(X_train, Y_train)
pred = model.predict(X_test)
print(pred[:3])  # labels and floats side by side (an object array)
print("task names:", model.task_names_.tolist(), "classes:", model.classes_)


def scores(p_income, weeks):
    return (
        roc_auc_score(Y_test["income_50k"] == "yes", p_income),
        r2_score(Y_test["weeks_worked"], weeks),
    )


results = {
    "one model": scores(model.predict_proba(X_test)[0][:, 1], pred[:, 1].astype(float))
}

# %%
# Learned task weights
# --------------------
# Uncertainty weighting (Kendall et al., 2018) learns one log-variance per task; at
# its optimum a task's weight is a constant over its loss, so it keeps rising while
# the task's loss falls, and the task whose labels the inputs explain less weighs
# less. ``net_.history`` records the weights after every epoch.
learned = MMoEMultiTask(
    task_types=types, task_weights="uncertainty", random_state=0
).fit(X_train, Y_train)
results["one model, learned weights"] = scores(
    learned.predict_proba(X_test)[0][:, 1],
    learned.predict(X_test)[:, 1].astype(float),
)
print("learned task weights:", learned.task_weights_.round(2))

# %%
# Each task alone
# ---------------
# The same network (the same defaults) trained on one task at a time.
alone_income = MMoEClassifier(random_state=0).fit(X_train, Y_train["income_50k"])
alone_weeks = MMoERegressor(random_state=0).fit(X_train, Y_train["weeks_worked"])
results["each task alone"] = scores(
    alone_income.predict_proba(X_test)[:, 1], alone_weeks.predict(X_test)
)
table = pd.DataFrame(results, index=["income AUC", "weeks worked R2"]).T
print(table.round(4))

# %%
# What the figure shows
# ---------------------
# Left: the test scores of each model. Right: the learned weights over the epochs;
# they start at 1 (the classification task) and 1/2 (the regression task), and rise
# as each task's loss falls: they follow the losses, they do not settle on a value of
# their own. Only their ratio steers the optimiser.
fig, (ax_scores, ax_weights) = plt.subplots(1, 2, figsize=(10, 4.4))
positions = np.arange(len(table))
for i, column in enumerate(table.columns):
    ax_scores.barh(positions + 0.4 * i, table[column], height=0.4, label=column)
ax_scores.set_yticks(positions + 0.2, table.index)
ax_scores.set_xlim(0.8, 1.0)
ax_scores.set_xlabel("test score")
# below the axes, where it covers no bar
ax_scores.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
curve = np.array(learned.net_.history[:, "task_weights"])
for t, name in enumerate(learned.task_names_):
    ax_weights.plot(np.arange(1, len(curve) + 1), curve[:, t], label=name)
ax_weights.set_xlabel("epoch")
ax_weights.set_ylabel("task weight")
ax_weights.legend()
fig.tight_layout()
plt.show()
