"""The quickstart's gallery card (the quickstart prints scores and draws no figure):
the MMoE diagram of ``architectures.py``. Regenerate from the repository root with
``MPLBACKEND=Agg python docs/_figures/quickstart_thumbnail.py``."""

from pathlib import Path

import matplotlib.pyplot as plt

HERE = Path(__file__).parent
# The drawing helpers of architectures.py, without its four-panel figure.
exec((HERE / "architectures.py").read_text().split("# Two by two")[0])

fig, ax = plt.subplots(figsize=(4, 3.2))
mixture(ax, 2)  # noqa: F821 (defined by architectures.py)
ax.set_xlim(-0.5, 4.5)
ax.set_ylim(-0.5, 4.9)
ax.axis("off")
ax.set_title("MMoE: one gate per task", fontsize=12)
fig.tight_layout()
fig.savefig(HERE.parent / "_static" / "quickstart_thumbnail.png", dpi=80)
