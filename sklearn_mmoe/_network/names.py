"""The names the network's tensors had before its blocks were modules, and the
reading of a state that has them (files saved by earlier versions).

Until then every weight was the network's own, under one flat name:
``level<i>_expert_weight<j>`` (now ``experts.<i>.weight<j>``), ``level<i>_gate_*``
and ``level<i>_key`` (``gates.<i>.*``, ``gates.<i>.key``), ``tower_*``
(``towers.*``), ``funnel_*`` (``funnel.*``), a Transformer expert's
``level<i>_expert_block<b>_query_weight0`` (``experts.<i>.blocks.<b>.query.weight0``),
and, before the encoder was its own module, the embeddings' ``embedding_weight``
(``encoder.embedding_weight``). The old name of a new one is its path with the
levels' and blocks' indices written back in and every other dot an underscore
(:func:`flat_name`, which also names the experts' weights for
:meth:`~sklearn_mmoe._network.module.MMoEModule.expert_weights`).
"""

import re

# (the new name's pattern, the old name) for the parts that moved, first match;
# the remaining path is then flattened by flat_name.
_MOVED = (
    (r"experts\.(\d+)\.(.+)", r"level\1_expert_\2"),
    (r"gates\.(\d+)\.key", r"level\1_key"),
    (r"gates\.(\d+)\.(.+)", r"level\1_gate_\2"),
    (r"towers\.(.+)", r"tower_\1"),
    (r"funnel\.(.+)", r"funnel_\1"),
    (r"encoder\.embedding_weight", "embedding_weight"),
)
# a cross-fitted ensemble's member, whose names follow its own
_MEMBER = re.compile(r"(members\.\d+\.)?(.*)")


def flat_name(path):
    """``path`` inside a block as one flat name: ``blocks.0.query.weight0`` is
    ``block0_query_weight0``.

    Examples
    --------
    >>> from sklearn_mmoe._network.names import flat_name
    >>> flat_name("blocks.1.norm2.weight")
    'block1_norm2_weight'
    """
    return re.sub(r"blocks\.(\d+)\.", r"block\1_", path).replace(".", "_")


def old_name(name):
    """The name a tensor of the network named ``name`` had in earlier versions;
    None where it had the same.

    Examples
    --------
    >>> from sklearn_mmoe._network.names import old_name
    >>> old_name("experts.0.weight1"), old_name("members.1.gates.0.key")
    ('level0_expert_weight1', 'members.1.level0_key')
    >>> old_name("input_weight") is None
    True
    """
    member, rest = _MEMBER.fullmatch(name).groups()
    for pattern, old in _MOVED:
        if re.fullmatch(pattern, rest):
            return (member or "") + flat_name(re.sub(pattern, old, rest))
    return None


def rename_old_keys(state, names, prefix=""):
    """Give the tensors of ``state`` (a dict, changed in place) that have their
    old name (:func:`old_name`) the name they have now among ``names`` (those of
    the network's state, under ``prefix`` in ``state``); a state that already has
    a new name keeps it, and returns ``state``."""
    for name in names:
        if prefix + name in state:
            continue
        old = old_name(name)
        if old is not None and prefix + old in state:
            state[prefix + name] = state.pop(prefix + old)
    return state
