"""
Census income: an MMoE on a DataFrame against gradient boosting
=================================================================

The MMoE paper's real-data benchmark: predict from the UCI Census-Income (KDD) records
whether a person earns more than 50K a year and whether they have never married. The
features are a DataFrame of 10 numeric and 28 nominal columns (pandas categories, with
missing values). :class:`~sklearn_mmoe.MMoEClassifier` takes it as it is: it embeds the
categories itself, so only the numeric columns need encoding.

We compare one two-task MMoE with one
:class:`~sklearn.ensemble.HistGradientBoostingClassifier` per task (native categorical
support), then train the MMoE again with most marital labels missing. This example
runs on a subsample to stay quick; ``benchmarks/census_income.py`` runs the full
comparison (5 seeds, tuned on a validation split) whose table is in
``benchmarks/README.md``.
"""

# %%
# Load the data
# -------------
# Only the official test split (99,762 rows) is used; set ``SKLEARN_MMOE_CENSUS`` to
# its path, or keep the project's layout with ``shared/`` next to the repository.
# :func:`~sklearn_mmoe.datasets.fetch_census_income` downloads the files when online.
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_mmoe import MMoEClassifier
from sklearn_mmoe.datasets import load_census_income
from sklearn_mmoe.preprocessing import PiecewiseLinearEncoder

# The data lies beside the repository (run from its root), or where
# SKLEARN_MMOE_CENSUS says; ``fetch_census_income()`` downloads it when online.
default = "../shared/data/census-income/census-income.test.gz"
path = os.environ.get("SKLEARN_MMOE_CENSUS", default)
X, Y = load_census_income(path, group=1)
print(X.shape, "categorical columns:", (X.dtypes == "category").sum())
print(Y.mean().round(3).to_dict())

# A CI-sized subsample: 24,000 rows, split 50/50 into train and test.
X, _, Y, _ = train_test_split(
    X, Y, train_size=24_000, random_state=0, stratify=Y["income_50k"]
)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.5, random_state=0, stratify=Y["income_50k"]
)

# %%
# One pipeline, a DataFrame in
# ----------------------------
# The money columns are heavy-tailed and mostly zero, which a standardised input
# serves badly. :class:`~sklearn_mmoe.preprocessing.PiecewiseLinearEncoder` cuts every
# numeric column into bins and encodes a value as one ramp per bin, so the network can
# treat each range on its own, as a tree's splits do. With ``strategy="tree"`` the
# edges sit where the two targets change (the pipeline hands ``y`` to the encoder),
# which quantiles cannot do for a column that is zero nine times in ten. The
# categories pass through untouched and ``categorical_features="from_dtype"`` (the
# default) finds them and embeds each with a width set by its cardinality. Every gate
# has a hidden layer of 32 units. Training keeps a moving average of the weights
# (``ema_decay``) and stops on 10 % of the training rows. These are the benchmark's
# tuned settings for this task group.
numeric = [c for c in X.columns if X[c].dtype != "category"]
encode = ColumnTransformer(
    [("numeric", PiecewiseLinearEncoder(n_bins=64, strategy="tree"), numeric)],
    remainder="passthrough",
    verbose_feature_names_out=False,
).set_output(transform="pandas")
mmoe = make_pipeline(
    encode,
    MMoEClassifier(
        n_experts=8,
        expert_units=(64,),
        gate_units=(32,),
        tower_units=(16,),
        learning_rate=3e-4,
        ema_decay=0.999,
        batch_size=512,
        early_stopping=True,
        n_iter_no_change=20,
        random_state=0,
    ),
)
mmoe.fit(X_train, Y_train.to_numpy())
print("embedded columns:", mmoe[-1].is_categorical_.sum())


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
mmoe.set_params(mmoeclassifier__missing_labels="ignore").fit(X_train, Y_partial)
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
