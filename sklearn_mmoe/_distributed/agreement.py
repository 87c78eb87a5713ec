"""The trained network of a data-parallel fit, the same bit for bit on every rank at
the fit's end."""

import hashlib

import torch

from .._utils.warn import warn


class WeightsDifferWarning(RuntimeWarning):
    """The ranks of a data-parallel fit ended with different weights (which the
    steps keep equal on gloo and NCCL): rank 0's were kept on every rank."""


def _digest(net):
    """A hash of ``net``'s weights and its loss's."""
    digest = hashlib.sha256()
    for part in (net.module_, net.criterion_):
        for name, tensor in part.state_dict().items():
            digest.update(name.encode())
            flat = tensor.detach().cpu().contiguous().reshape(-1)
            digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def agreed(group, trained):
    """``trained`` (see :class:`~sklearn_mmoe._training.engine.Trained`), the same
    on every rank: the ranks' weights, which the steps keep equal, checked by
    their hash (rank 0's taken, with a :class:`WeightsDifferWarning`, where a
    backend's sums differed), and rank 0's record of the epochs (whose seconds
    each rank timed)."""
    if group.world == 1:
        return trained
    net = trained.net
    if len(set(group.gather(_digest(net)))) > 1:
        warn(
            "The ranks' weights differ after training: a backend's sums were not "
            "the same on every rank. Rank 0's are kept on every rank.",
            WeightsDifferWarning,
        )
        states = group.broadcast(
            (net.module_.state_dict(), net.criterion_.state_dict())
        )
        net.module_.load_state_dict(states[0])
        net.criterion_.load_state_dict(states[1])
    same = trained.history is net.history_
    history, net_history = group.broadcast((trained.history, net.history_))
    net.history_ = net_history
    trained.history = net_history if same else history
    return trained
