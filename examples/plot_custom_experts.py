"""
Experts of your own: a residual module as every expert
======================================================

``expert_type`` takes any ``torch.nn.Module`` subclass: the estimator builds it once
per expert as ``cls(n_inputs, n_outputs, **expert_options)`` (``n_outputs`` is the last
of ``expert_units``), stacks the experts' parameters along an expert axis, and runs all
of them as one computation (``torch.func.vmap``), not a loop. The gates mix them as
they mix the built-in experts, and :class:`~sklearn_mmoe.plotting.GateWeightsDisplay`
reads them the same way.

Here two regression tasks alike and one unrelated, fitted with feed-forward experts
and with experts that are a small residual network each.
"""

# %%
# An expert is a module of ``(n_inputs, n_outputs, **options)``
# -------------------------------------------------------------
# It maps a batch ``(n_rows, n_inputs)`` to ``(n_rows, n_outputs)``; a projection to
# the experts' width, then a pre-norm residual block.
import numpy as np
import torch
from sklearn.metrics import r2_score
from torch import nn

from sklearn_mmoe import MMoERegressor
from sklearn_mmoe.datasets import make_multitask_regression
from sklearn_mmoe.plotting import GateWeightsDisplay


class ResidualExpert(nn.Module):
    def __init__(self, n_inputs, n_outputs, hidden=32):
        super().__init__()
        self.project = nn.Linear(n_inputs, n_outputs)
        self.block = nn.Sequential(
            nn.LayerNorm(n_outputs),
            nn.Linear(n_outputs, hidden),
            nn.GELU(),
            nn.Linear(hidden, n_outputs),
        )

    def forward(self, x):
        h = self.project(x)
        return torch.relu(h + self.block(h))


X, Y = make_multitask_regression(
    n_samples=2500, n_features=8, correlation=0.0, n_sines=3, random_state=0
)
rng = np.random.RandomState(0)
Y = np.column_stack([Y[:, 0], Y[:, 0] + rng.normal(0, 0.3, len(Y)), Y[:, 1]])
tasks = ["A", "A' (like A)", "B (unrelated)"]
X_train, Y_train, X_test, Y_test = X[:2000], Y[:2000], X[2000:], Y[2000:]

# %%
# The same estimator, two kinds of experts
# ----------------------------------------
# Six experts of width 16 either way; ``expert_options`` go to the module's
# constructor. One seed and no tuning: which experts suit a table is for a search
# over ``expert_type`` to say (see the user guide's "Experts" page).
common = dict(n_experts=6, expert_units=(16,), tower_units=(8,), random_state=0)
models = {
    "mlp": MMoERegressor(**common),
    "residual": MMoERegressor(
        **common, expert_type=ResidualExpert, expert_options={"hidden": 32}
    ),
}
for name, model in models.items():
    model.fit(X_train, Y_train)
    r2 = r2_score(Y_test, model.predict(X_test), multioutput="raw_values")
    print(f"{name:>8}: test R2 per task", np.round(r2, 3))

# %%
# The experts' weights have an expert axis
# ----------------------------------------
# Each parameter of the module is kept once, stacked over the six experts.
weights = models["residual"].expert_weights()
print(weights["project__weight"].shape)  # (experts, out, in)

# %%
# Which experts each task uses
# ----------------------------
# The two alike tasks should lean on overlapping experts, the unrelated one on
# others.
GateWeightsDisplay.from_estimator(models["residual"], X_test, task_names=tasks)
