"""Multi-gate Mixture-of-Experts (MMoE) multi-task estimators for scikit-learn.

``MMoERegressor``, ``MMoEClassifier`` and ``MMoEMultiTask`` (tasks of different kinds
in one model) fit several related targets at once, one task per column of ``y``, with a
PyTorch MMoE trained through skorch.
"""

from ._estimators.classifier import MMoEClassifier
from ._estimators.multitask import MMoEMultiTask
from ._estimators.regressor import MMoERegressor
from ._export.files import load, save
from ._export.onnx import onnx_inputs, to_onnx
from ._inputs.text import TextColumnsWarning
from ._scoring.joint import compare_joint_training
from ._scoring.scoring import task_scorer

__version__ = "0.1.0"

__all__ = [
    "MMoEClassifier",
    "MMoEMultiTask",
    "MMoERegressor",
    "TextColumnsWarning",
    "compare_joint_training",
    "load",
    "onnx_inputs",
    "save",
    "task_scorer",
    "to_onnx",
    "__version__",
]
