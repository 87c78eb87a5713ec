"""What every expert type provides (:class:`ExpertType`) and the registry of types
(:data:`EXPERT_TYPES`): what the experts of a level are, how their weights are laid out
(stacked, an expert axis first) and how all of them run as one batched computation.
The types themselves are the files beside this one.

A level's experts read either the network's input (the first level) or the mixtures
of the level below (PLE's later levels), and return ``(E, B, H)``: every expert's
output of width ``H`` (the last of ``expert_units``). On the first level, an expert
type may take its first layer from the product that reads the input for every
expert and every gate at once (``first_layer_width`` columns of it): the MLP does,
so that the input (or its piecewise-linear code's lookup) is read once; the
Transformer reads the encoded input, a token per column. The estimators' accepted
values of ``expert_type`` come from :data:`EXPERT_TYPES`, and the parameters a type
declares (``ExpertType.parameters``, the Transformer's sizes) are estimator
parameters whose validation and documentation come from there; a new expert type is
a subclass of :class:`ExpertType` passed to :func:`register`, plus its tests (and,
if it declares parameters, their names in the estimators' signature). A
``torch.nn.Module`` subclass of the user's own is not registered: it is wrapped by
:class:`ModuleExperts` (:func:`expert_type_of` resolves either).
"""

from ..._utils.registry import Registry
from ..names import flat_name


class ExpertType:
    """How the experts of a level are built and run.

    Subclasses set ``name`` and ``doc`` (the documentation of the value, RST, one
    paragraph) and implement :meth:`build` and :meth:`run`; ``numpy`` says whether
    :meth:`run` also runs on the NumPy inference path (its operations all come from
    ``ops``). :meth:`build` makes a level's experts as a ``torch.nn.Module`` that
    owns their weights (the network keeps it as ``experts[str(level.index)]``);
    :meth:`run` runs that module from ``p``, the network's tensors by name, where a
    :class:`~sklearn_mmoe._network.layers.Block` finds its own under its
    ``prefix``. A type never touches the network that holds its experts.
    """

    name = None
    doc = None
    numpy = True
    # Whether the first level's experts read each text column's tokens (their
    # vectors, one per token, and which are not padding) beside the encoded input:
    # then :meth:`build` is given ``texts`` and :meth:`run` the tokens.
    reads_text_tokens = False
    # The estimator parameters of this type's own (read only when it is chosen):
    # name -> (default, constraints as scikit-learn validates them, numpydoc type,
    # documentation). The type is built with them as keyword arguments.
    parameters = {}

    def __init__(self, **options):
        for name, (default, *_) in self.parameters.items():
            setattr(self, name, options.pop(name, default))
        if options:
            raise TypeError(f"expert_type={self.name!r} takes no {sorted(options)}.")

    def first_layer_width(self, n_experts, units):
        """Columns of the first level's input product that feed the experts (0: the
        experts read the input themselves)."""
        return 0

    def build(self, level, n_inputs, units, columns):
        """The module of ``level.n_experts`` experts, their weights drawn
        independently (so that the experts start apart), each reading ``n_inputs``
        values (on the first level, the encoded input's width) and returning
        ``units[-1]``. ``columns``: on the first level, the input column each
        encoded value comes from, ``(n_inputs,)`` (None on later levels). A type
        that ``reads_text_tokens`` is also given ``texts``: on the first level of
        a network with text columns, each column's ``(width, slots)`` (the width
        of a token's vector and the most tokens of a text)."""
        raise NotImplementedError

    def floats_per_row(self, level, units):
        """About how many float activations one row's pass through ``level``'s
        experts holds at once (sizing batches and inference chunks)."""
        return level.n_experts * sum(units)

    def weights(self, experts, level, first):
        """The learned weights of ``level``'s experts (``experts``, the module
        :meth:`build` made), by name: every parameter of the module, its path
        flattened (:func:`~sklearn_mmoe._network.names.flat_name`), as tensors.
        ``first``: the weight and bias of the first level's input product that
        feed the experts (its ``first_layer_width`` columns)."""
        return {flat_name(name): value for name, value in experts.named_parameters()}

    def run(self, experts, p, ops, level, x):
        """Every expert's output ``(E, B, H)``, from ``experts`` (the module
        :meth:`build` made) and its weights in ``p``. ``x``: on the first level,
        the experts' columns of the input product ``(B, first_layer_width)``, or
        the encoded input ``(B, n_inputs)`` when ``first_layer_width`` is 0; on a
        later level, what each expert reads, ``(E, B, n_inputs)``. A type that
        ``reads_text_tokens`` is also given ``texts`` on the first level of a
        network with text columns: each column's token vectors ``(B, L, width)``
        and a mask ``(B, L)``, True where a token is one (False: padding)."""
        raise NotImplementedError


EXPERT_TYPES = Registry()
register = EXPERT_TYPES.register
