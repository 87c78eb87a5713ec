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


class ExpertType:
    """How the experts of a level are built and run.

    Subclasses set ``name`` and ``doc`` (the documentation of the value, RST, one
    paragraph) and implement :meth:`build` and :meth:`run`; ``numpy`` says whether
    :meth:`run` also runs on the NumPy inference path (its operations all come from
    ``ops``).
    """

    name = None
    doc = None
    numpy = True
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

    def build(self, module, level, n_inputs, units):
        """Register the weights of ``level.n_experts`` experts on ``module`` (drawn
        independently, so that the experts start apart), each reading ``n_inputs``
        values (on the first level, the encoded input's width) and returning
        ``units[-1]``."""
        raise NotImplementedError

    def floats_per_row(self, level, units):
        """About how many float activations one row's pass through ``level``'s
        experts holds at once (sizing batches and inference chunks)."""
        return level.n_experts * sum(units)

    def weights(self, module, level):
        """The learned weights of ``level``'s experts, by name: every parameter the
        type registered for them (``level<i>_expert_<name>``), as tensors."""
        prefix = f"level{level.index}_expert_"
        return {
            name[len(prefix) :]: value
            for name, value in module.named_parameters()
            if name.startswith(prefix)
        }

    def run(self, module, p, ops, level, x):
        """Every expert's output ``(E, B, H)``. ``x``: on the first level, the
        experts' columns of the input product ``(B, first_layer_width)``, or the
        encoded input ``(B, n_inputs)`` when ``first_layer_width`` is 0; on a later
        level, what each expert reads, ``(E, B, n_inputs)``."""
        raise NotImplementedError


EXPERT_TYPES = Registry()
register = EXPERT_TYPES.register
