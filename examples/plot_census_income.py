"""
Census income: an MMoE on a DataFrame against gradient boosting
=================================================================

The MMoE paper's real-data benchmark: predict from the UCI Census-Income (KDD) records
whether a person earns more than 50K a year and whether they have never married. The
features are a DataFrame of 10 numeric and 28 nominal columns (pandas categories, with
missing values). :class:`~sklearn_mmoe.MMoEClassifier` takes it as it is, with no
parameter: it embeds the categories and encodes the numeric columns itself.

We compare one two-task MMoE with one
:class:`~sklearn.ensemble.HistGradientBoostingClassifier` per task (native categorical
support), then train the MMoE again with most marital labels missing. This example
runs on a subsample to stay quick; ``benchmarks/defaults.py`` compares the defaults on
60,000 training rows and ``benchmarks/census_income.py`` tuned settings (5 seeds, on a
validation split); their tables are in ``benchmarks/JOURNAL.md``.
"""

# %%
# Load the data
# -------------
# Only the official test split (99,762 rows) is used: it ships with the package, so
# :func:`~sklearn_mmoe.datasets.load_census_income` reads it offline with no path.
# :func:`~sklearn_mmoe.datasets.fetch_census_income` downloads both splits when online.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_mmoe import MMoEClassifier
from sklearn_mmoe.datasets import load_census_income

X, Y = load_census_income(group=1)
print(X.shape, "categorical columns:", (X.dtypes == "category").sum())
print(Y.mean().round(3).to_dict())

# A CI-sized subsample: 12,000 rows, split 50/50 into train and test.
X, _, Y, _ = train_test_split(
    X, Y, train_size=12_000, random_state=0, stratify=Y["income_50k"]
)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.5, random_state=0, stratify=Y["income_50k"]
)

# %%
# The defaults, a DataFrame in
# ----------------------------
# ``categorical_features="from_dtype"`` finds the category columns and embeds each with
# a width set by its cardinality. The money columns are heavy-tailed and mostly zero,
# which a standardised input serves badly; with 100 or more training rows per numeric
# column (and a code of at most 512 inputs, here about 200), ``numeric_encoding="auto"``
# encodes each numeric column piecewise-linearly over bins that a tree places where the
# two targets change, so the network can treat each range on its own, as gradient
# boosting's splits do. From 20 training rows on
# ``early_stopping="auto"`` holds out a validation split (10 % of 5,000 rows or more)
# and keeps the best epoch.
mmoe = MMoEClassifier(random_state=0)
mmoe.fit(X_train, Y_train.to_numpy())
print("embedded columns:", mmoe.is_categorical_.sum(), "epochs:", mmoe.n_iter_)


def aucs(proba_per_task, Y):
    return [roc_auc_score(Y.iloc[:, t], p[:, 1]) for t, p in enumerate(proba_per_task)]


scores = {"MMoE (one model)": aucs(mmoe.predict_proba(X_test), Y_test)}

# %%
# Gradient boosting, one model per task
# -------------------------------------
boosted = [
    HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    .fit(X_train, Y_train.iloc[:, t])
    .predict_proba(X_test)
    for t in range(2)
]
scores["HGB (one per task)"] = aucs(boosted, Y_test)

# %%
# Most marital labels missing
# ---------------------------
# Hide 80 % of the marital labels. With ``missing_labels="ignore"`` those entries
# leave the marital loss while their rows still train the income task.
Y_partial = Y_train.to_numpy(dtype=float, copy=True)
hidden = np.random.RandomState(0).rand(len(Y_partial)) < 0.8
Y_partial[hidden, 1] = np.nan
mmoe.set_params(missing_labels="ignore").fit(X_train, Y_partial)
scores["MMoE, 80 % marital labels missing"] = aucs(mmoe.predict_proba(X_test), Y_test)

table = pd.DataFrame(scores, index=list(Y.columns)).T.round(4)
print(table)

# %%
# Test AUC per task
# -----------------
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
for ax, task in zip(axes, table.columns):
    ax.barh(table.index, table[task], color=["C0", "C1", "C2"])
    low = table[task].min()
    ax.set_xlim(low - 0.02, min(1.0, table[task].max() + 0.01))
    ax.set_title(f"{task}: test AUC")
    for y, value in enumerate(table[task]):
        ax.text(value, y, f" {value:.4f}", va="center")
axes[1].set_yticks([])
plt.show()
