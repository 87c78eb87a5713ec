"""
Reading the gates: which experts each task uses
===============================================

Each MMoE task mixes the shared experts with its own gate, so the gate weights say
how the tasks split the model between them: tasks that lean on the same experts share
what those experts learned, tasks with experts of their own keep apart.
``gate_weights(X)`` returns every sample's weights, of shape
``(n_samples, n_tasks, n_experts)``, and
:class:`~sklearn_mmoe.plotting.GateWeightsDisplay` draws their mean per task.

Here three regression tasks: two alike (the same function, different noise) and one
unrelated to them.
"""

# %%
# Three tasks, two of them alike
# ------------------------------
# ``make_multitask_regression`` with ``correlation=0`` gives two unrelated tasks; a
# third is the first one again with its own noise.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import r2_score

from sklearn_mmoe import MMoERegressor
from sklearn_mmoe.datasets import make_multitask_regression
from sklearn_mmoe.plotting import GateWeightsDisplay, LossCurvesDisplay

X, Y = make_multitask_regression(
    n_samples=6000, n_features=8, correlation=0.0, n_sines=3, random_state=0
)
rng = np.random.RandomState(0)
Y = np.column_stack([Y[:, 0], Y[:, 0] + rng.normal(0, 0.3, len(Y)), Y[:, 1]])
tasks = ["A", "A' (like A)", "B (unrelated)"]
print("label correlations:\n", np.corrcoef(Y.T).round(2))

# %%
# Fit, and read the gates
# -----------------------
# Six experts of one layer, linear softmax gates (the paper's).
reg = MMoERegressor(
    n_experts=6,
    expert_units=(16,),
    tower_units=(8,),
    learning_rate=3e-3,
    early_stopping=True,
    random_state=0,
).fit(X[:5000], Y[:5000])
X_test, Y_test = X[5000:], Y[5000:]
r2 = r2_score(Y_test, reg.predict(X_test), multioutput="raw_values")
print("test R2 per task:", {task: round(float(v), 3) for task, v in zip(tasks, r2)})
weights = reg.gate_weights(X_test)
print("gate_weights shape:", weights.shape)

# %%
# Mean weight per task and expert
# -------------------------------
# Each row sums to one. The two alike tasks should draw on overlapping experts, the
# unrelated one on others.
GateWeightsDisplay.from_estimator(reg, X_test, task_names=tasks)
plt.tight_layout()
plt.show()

# %%
# How much two tasks share
# ------------------------
# One number per pair: the overlap of their mean gate weights,
# ``sum_e min(w_a[e], w_b[e])``, 1 when two gates are the same, 0 when they use
# disjoint experts.
mean = weights.mean(axis=0)
overlap = np.minimum(mean[:, None, :], mean[None, :, :]).sum(axis=-1)
for a in range(len(tasks)):
    for b in range(a + 1, len(tasks)):
        print(f"{tasks[a]} / {tasks[b]}: overlap {overlap[a, b]:.2f}")

# %%
# Gates depend on the sample
# --------------------------
# The means hide that every sample gets its own mixture: the spread of each task's
# weight on every expert over the test rows.
fig, axes = plt.subplots(1, len(tasks), figsize=(10, 3), sharey=True)
for t, ax in enumerate(axes):
    ax.boxplot(weights[:, t, :], showfliers=False)
    ax.set_xticks(range(1, weights.shape[2] + 1), range(weights.shape[2]))
    ax.set_title(tasks[t])
    ax.set_xlabel("expert")
axes[0].set_ylabel("gate weight")
fig.tight_layout()
plt.show()

# %%
# The loss of each task, epoch by epoch
# -------------------------------------
# ``task_loss_curves_`` (and, with early stopping, ``task_validation_curves_``) keep
# each task's loss per epoch, not only their sum.
LossCurvesDisplay.from_estimator(reg, task_names=tasks, log_scale=True)
plt.tight_layout()
plt.show()
