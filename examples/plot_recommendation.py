"""
Recommendation: users, items, "will they buy" and "what rating"
===============================================================

The MMoE paper's own motivating case: one model predicts whether a user buys an item
and the rating they give it. Ids (users, items) go in as categorical columns of a
DataFrame; where a column has at least 100 categories, the defaults add a *wide part*
beside the experts: a learned bias per id on every task and a factorisation
machine's user x item product, which an MLP over id embeddings learns poorly.

Here we fit the defaults and the same model without the wide part on a synthetic
users x items table, and score each task on held-out ratings, the purchase also per
user (gAUC), as recommender teams read it.
"""

# %%
# A users x items table
# ---------------------
# :func:`~sklearn_mmoe.datasets.make_recommendation` draws latent user and item
# factors, side features that explain part of them, a popularity skew, and the two
# tasks from shared factors.
import matplotlib.pyplot as plt
from sklearn.metrics import roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

from sklearn_mmoe import MMoEMultiTask, task_scorer
from sklearn_mmoe.datasets import make_recommendation

X, Y = make_recommendation(n_samples=4000, n_users=100, n_items=150, random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)
print(X.dtypes.astype(str).value_counts().to_dict())
print(f"{X['user_id'].nunique()} users, {X['item_id'].nunique()} items")

# %%
# The defaults, and the same model without the wide part
# ------------------------------------------------------
gauc = task_scorer("gauc", "purchase")
scores = {}
for name, params in {"defaults": {}, "no wide part": {"interactions": False}}.items():
    model = MMoEMultiTask(random_state=0, **params).fit(X_train, Y_train)
    p_buy = model.predict_proba(X_test)[0][:, 1]
    rating = model.predict(X_test)[:, 1]
    scores[name] = {
        "purchase AUC": roc_auc_score(Y_test["purchase"], p_buy),
        "purchase gAUC": gauc(model, X_test, Y_test, groups=X_test["user_id"]),
        "rating RMSE": root_mean_squared_error(Y_test["rating"], rating),
    }
    print(name, {k: round(v, 3) for k, v in scores[name].items()})

# %%
# The scores side by side
# -----------------------
# Lower is better for the RMSE, higher for the AUCs.
fig, axes = plt.subplots(1, 3, figsize=(9, 3), layout="constrained")
for ax, metric in zip(axes, next(iter(scores.values()))):
    values = [s[metric] for s in scores.values()]
    ax.bar(list(scores), values, color=["tab:blue", "tab:gray"])
    ax.set_title(metric)
    ax.set_ylim(min(values) * 0.95, max(values) * 1.02)
plt.show()
