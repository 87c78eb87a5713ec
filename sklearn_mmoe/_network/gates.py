"""The gate types, one registration each: what a gate network outputs and how that
becomes one score per expert.

Every gate of a level runs in one batched product (its network's output for every
gate at once); a gate type then turns those outputs, with the experts' outputs, into
scores, which the module masks (experts a gate does not see), sparsifies (``top_k``)
and normalises with a softmax. The estimators' accepted values of ``gate_type``, their
validation and their documentation come from :data:`GATE_TYPES`; a new gate type is a
subclass of :class:`GateType` passed to :func:`register`, plus its tests.
"""

from .._utils.registry import Registry


class GateType:
    """How a gate scores the experts.

    Subclasses set ``name`` and ``doc`` (the documentation of the value, RST, one
    paragraph) and implement :meth:`output_width` and :meth:`scores`; ``has_key``
    asks the module for one ``(H, H)`` key projection per level, passed to
    :meth:`scores`.
    """

    name = None
    doc = None
    has_key = False

    def output_width(self, expert_width, n_experts):
        """Outputs of each gate network, for experts of output width
        ``expert_width`` of which the level has ``n_experts``."""
        raise NotImplementedError

    def scores(self, g, h, key, scale):
        """Scores ``(B, G, E)`` of every gate for every expert, from the gate networks'
        outputs ``g`` (B, G, output_width) and the experts' outputs ``h`` (B, E, H),
        NumPy arrays or tensors alike; ``scale`` is ``1 / sqrt(H)``."""
        raise NotImplementedError


GATE_TYPES = Registry()
register = GATE_TYPES.register


@register
class Softmax(GateType):
    name = "softmax"
    doc = "each gate network outputs one score per expert from the gate's input."

    def output_width(self, expert_width, n_experts):
        return n_experts

    def scores(self, g, h, key, scale):
        return g


@register
class Attention(GateType):
    name = "attention"
    doc = (
        "each gate network outputs a query (a learned vector plus a function of the "
        "input) scored against keys projected from every expert's output (scaled dot "
        "product), so the weights also depend on what the experts say."
    )
    has_key = True

    def output_width(self, expert_width, n_experts):
        return expert_width

    def scores(self, g, h, key, scale):
        keys = h @ key  # (B, E, H)
        return (g @ keys.swapaxes(-1, -2)) * scale
