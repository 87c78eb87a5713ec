"""
Task correlation and architecture: the MMoE paper's synthetic study
====================================================================

Ma et al. (2018) built pairs of regression tasks whose weight vectors have a chosen
cosine ``p`` and compared a Shared-Bottom network with a one-gate (OMoE) and a
multi-gate (MMoE) mixture of experts as ``p`` falls. This example runs a small version
of that study, sized to build in about twenty seconds: 16 input features instead of
100, 3,000 training rows, 30 epochs and two seeds.
``benchmarks/synthetic_correlation.py`` runs the full-size study (100 features, 50,000
rows, ten seeds); its measured table and figure are in ``benchmarks/JOURNAL.md``. At
this small size the models are far from converged, so read the picture as a
demonstration of the set-up, not as the result.
"""

# %%
# The tasks
# ---------
# ``make_multitask_regression`` draws ``w_1`` and ``w_2`` at cosine ``p`` and sets
# ``y_k = w_k . x + sum_i sin(i w_k . x + i^2) + noise``. The labels' correlation grows
# with ``p``:
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_mmoe import MMoERegressor
from sklearn_mmoe.datasets import make_multitask_regression
from sklearn_mmoe.plotting import GateWeightsDisplay

for p in (0.5, 0.9, 1.0):
    _, Y = make_multitask_regression(
        n_samples=5000, n_features=16, correlation=p, random_state=0
    )
    print(f"p = {p}: label correlation {np.corrcoef(Y.T)[0, 1]:.2f}")

# %%
# The models, with the paper's sizes
# -----------------------------------
# Shared-Bottom has one shared layer of 113 units; OMoE and MMoE have 8 experts of
# one 16-unit layer. Every model has towers of 8 units and trains with Adam.
MODELS = {
    "Shared-Bottom": dict(architecture="shared_bottom", expert_units=(113,)),
    "OMoE": dict(architecture="omoe", n_experts=8, expert_units=(16,)),
    "MMoE": dict(architecture="mmoe", n_experts=8, expert_units=(16,)),
}
COMMON = dict(
    tower_units=(8,),
    batch_size=256,
    learning_rate=3e-3,
    max_epochs=30,
    early_stopping=True,
    n_iter_no_change=20,
    tol=0.0,
)
CORRELATIONS, SEEDS, N_TRAIN = (0.5, 0.9, 1.0), (0, 1), 3000
# 30 epochs is a CI-sized budget, stopped on purpose before convergence.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

mse = {model: np.zeros((len(CORRELATIONS), len(SEEDS))) for model in MODELS}
fitted = {}
for i, p in enumerate(CORRELATIONS):
    for j, seed in enumerate(SEEDS):
        X, Y = make_multitask_regression(
            n_samples=N_TRAIN + 2000, n_features=16, correlation=p, random_state=seed
        )
        for model, params in MODELS.items():
            reg = MMoERegressor(**params, **COMMON, random_state=seed)
            reg.fit(X[:N_TRAIN], Y[:N_TRAIN])
            mse[model][i, j] = np.mean((reg.predict(X[N_TRAIN:]) - Y[N_TRAIN:]) ** 2)
            fitted[model, p, seed] = reg, X[N_TRAIN:]

for model, values in mse.items():
    print(
        f"{model:<14}",
        "  ".join(f"p={p}: {m:.3f}" for p, m in zip(CORRELATIONS, values.mean(1))),
    )

# %%
# Test error against task correlation
# -----------------------------------
fig, ax = plt.subplots()
for model, values in mse.items():
    ax.errorbar(
        CORRELATIONS,
        values.mean(1),
        yerr=values.std(1),
        marker="o",
        capsize=4,
        label=model,
    )
ax.set_xlabel("task correlation p")
ax.set_ylabel("test MSE, mean of the two tasks")
ax.set_xticks(CORRELATIONS)
ax.legend()
plt.show()

# %%
# What the gates learned
# ----------------------
# With ``p = 0.5`` each MMoE task can lean on different experts; OMoE's single gate
# gives both tasks the same mixture.
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for ax, model in zip(axes, ("MMoE", "OMoE")):
    reg, X_test = fitted[model, 0.5, 0]
    GateWeightsDisplay.from_estimator(reg, X_test, ax=ax)
    ax.set_title(model)
fig.tight_layout()
plt.show()
