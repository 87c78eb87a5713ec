"""The processes a fit trains with: :class:`Solo` (one process, today's fit) or
:class:`Collective` (every rank of an initialised ``torch.distributed`` process
group), behind one interface, so that the fit's code decides from gathered
statistics in the same words whether it runs alone or data-parallel.

Every gather returns the ranks' values in rank order and every sum adds them in that
order, so that each rank computes bit for bit the same decision. A fit finds its
group through :func:`current` (set by :func:`active` for the fit's duration), so the
functions deep in the fit (a task's scaling, a column's categories) ask it for the
totals they need without the group being handed through every call.
"""

import contextlib
import contextvars
import datetime
import itertools
import pickle
import time

import numpy as np
import torch

from .failures import RankError

# How long a rank waits for the others at one collective step before it gives up
# (a rank that stopped answering without raising: a lost machine).
TIMEOUT = datetime.timedelta(minutes=30)
# How often a waiting rank looks for another rank's failure in the store.
_LOOK_EVERY = 0.05
_LOOK = datetime.timedelta(seconds=_LOOK_EVERY)
# Distinct store keys for each fit on a process group (every rank fits as often).
_FITS = itertools.count()
_INT32_MAX = np.iinfo(np.int32).max
# The groups of fits that failed (see Collective.close).
_ABANDONED = []


class Solo:
    """The group of one process: every gather is the value itself.

    Examples
    --------
    >>> from sklearn_mmoe._distributed.group import Solo
    >>> group = Solo()
    >>> group.world, group.rank, float(group.sum(3.0)), group.gather("a")
    (1, 0, 3.0, ['a'])
    """

    world = 1
    rank = 0

    def gather(self, value):
        """Every rank's ``value``, in rank order."""
        return [value]

    def broadcast(self, value):
        """Rank 0's ``value``."""
        return value

    def seed(self, seed):
        """This rank's seed for the draws each rank makes on its own rows
        (shuffling, dropout, its validation rows): rank 0's (and one process's) is
        ``seed`` itself."""
        return seed

    def sum(self, value):
        """The ranks' ``value`` (numbers or arrays of one shape) added in rank
        order, as float64."""
        return _ordered_sum(self.gather(np.asarray(value, dtype=np.float64)))

    def max(self, value):
        return np.max(np.stack(self.gather(np.asarray(value))), axis=0)

    def min(self, value):
        return np.min(np.stack(self.gather(np.asarray(value))), axis=0)

    def any(self, value):
        """Whether any rank's ``value`` (a bool, or bools elementwise) is true."""
        return np.any(np.stack(self.gather(np.asarray(value, dtype=bool))), axis=0)

    def concatenate(self, array):
        """The ranks' arrays joined along their first axis, in rank order."""
        return np.concatenate(self.gather(np.asarray(array)))

    def union(self, values):
        """The distinct values of every rank's ``values`` (unsorted for one
        process: its own distinct values)."""
        return values

    def reduce_(self, tensor):
        """``tensor`` summed over the ranks, in place."""
        return tensor

    def fail(self, exc):
        """Tell the other ranks that this one raised ``exc``."""

    def close(self):
        """Release what the fit's group holds."""


def _ordered_sum(values):
    total = values[0].copy() if isinstance(values[0], np.ndarray) else values[0]
    for value in values[1:]:
        total = total + value
    return total


class Collective(Solo):
    """Every rank of the initialised default process group, through groups of the
    fit's own: objects over gloo, and tensors over the default backend (NCCL for
    GPUs) where the fit trains on a GPU, else gloo too.

    A rank that raises tells the others through the store (:meth:`fail`); a rank
    waiting at a collective step looks there while it waits, and raises
    :class:`~sklearn_mmoe._distributed.failures.RankError` with that rank's error.
    """

    def __init__(self, device):
        import torch.distributed as dist

        self._dist = dist
        self.world = dist.get_world_size()
        self.rank = dist.get_rank()
        self._store = dist.distributed_c10d._get_default_store()
        self._failed = False
        self._key = f"sklearn_mmoe/fit{next(_FITS)}/failed"
        self._objects = dist.new_group(backend="gloo", timeout=TIMEOUT)
        nccl = torch.device(device).type == "cuda" and dist.get_backend() == "nccl"
        self._tensors = (
            dist.new_group(backend="nccl", timeout=TIMEOUT) if nccl else self._objects
        )

    def seed(self, seed):
        if self.rank == 0:
            return seed
        return int((seed + 1_000_003 * self.rank) % _INT32_MAX)

    def gather(self, value):
        payload = torch.frombuffer(bytearray(pickle.dumps(value)), dtype=torch.uint8)
        size = torch.tensor([payload.numel()], dtype=torch.int64)
        sizes = [torch.zeros_like(size) for _ in range(self.world)]
        self._wait(self._dist.all_gather(sizes, size, self._objects, async_op=True))
        longest = int(max(s.item() for s in sizes))
        padded = torch.zeros(longest, dtype=torch.uint8)
        padded[: payload.numel()] = payload
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        self._wait(self._dist.all_gather(parts, padded, self._objects, async_op=True))
        return [
            pickle.loads(part[: int(s.item())].numpy().tobytes())
            for part, s in zip(parts, sizes)
        ]

    def broadcast(self, value):
        return self.gather(value if self.rank == 0 else None)[0]

    def union(self, values):
        return np.asarray(
            list(dict.fromkeys(v for part in self.gather(values) for v in part)),
            dtype=object,
        )

    def reduce_(self, tensor):
        work = self._dist.all_reduce(tensor, group=self._tensors, async_op=True)
        self._wait(work)
        return tensor

    def _wait(self, work):
        """Wait for ``work``, looking for a rank's failure every ``_LOOK_EVERY``
        seconds meanwhile (a wait that times out leaves the step running)."""
        started = time.monotonic()
        while True:
            try:
                work.wait(timeout=_LOOK)
                return
            except RuntimeError:
                if work.is_completed():  # failed, not timed out: a peer is gone
                    self._raise_failure(wait=True)
                    raise
            self._raise_failure()
            if time.monotonic() - started > TIMEOUT.total_seconds():
                raise RankError(
                    None,
                    f"no answer from every rank within {TIMEOUT}: a rank stopped "
                    "without raising (a lost process or machine)",
                )

    def _raise_failure(self, wait=False):
        """Raise the failure a rank reported, if any (``wait``: give a rank whose
        connection closed a moment to write it)."""
        deadline = time.monotonic() + (5.0 if wait else 0.0)
        while True:
            if self._store.check([self._key]):
                rank, kind, message = pickle.loads(self._store.get(self._key))
                raise RankError(rank, f"{kind}: {message}")
            if time.monotonic() >= deadline:
                return
            time.sleep(_LOOK_EVERY)

    def fail(self, exc):
        self._failed = True
        if isinstance(exc, RankError) or self._store.check([self._key]):
            return  # another rank's failure, told already
        report = (self.rank, type(exc).__name__, str(exc))
        self._store.set(self._key, pickle.dumps(report))

    def close(self):
        groups = {id(g): g for g in (self._objects, self._tensors)}.values()
        if self._failed:
            # A step left waiting on a rank that failed never completes, and a
            # gloo group waits for its steps when it is freed: such a group is
            # kept, unused, for the process's life rather than freed.
            _ABANDONED.extend(groups)
            return
        for group in groups:
            self._dist.destroy_process_group(group)


SOLO = Solo()
_ACTIVE = contextvars.ContextVar("sklearn_mmoe_group", default=SOLO)


def current():
    """The group of the fit running in this thread (:data:`SOLO` outside a fit)."""
    return _ACTIVE.get()


def resolve_group(distributed, device):
    """The group a fit with ``distributed`` (``"auto"``, True or False) trains
    with on ``device``: every rank of the initialised default process group
    (``"auto"``: where one of more than one process is initialised), else
    :data:`SOLO`."""
    import torch.distributed as dist

    ready = dist.is_available() and dist.is_initialized()
    wanted = distributed if isinstance(distributed, str) else bool(distributed)
    if wanted is True and not ready:
        raise ValueError(
            "distributed=True trains data-parallel on an initialised "
            "torch.distributed process group, and none is initialised: launch the "
            "script with torchrun (or accelerate launch, Ray Train) and call "
            "torch.distributed.init_process_group() before fit, or pass "
            "distributed='auto'."
        )
    if wanted is False or not ready or dist.get_world_size() == 1:
        return SOLO
    return Collective(device)


@contextlib.contextmanager
def active(group):
    """Make ``group`` the fit's (:func:`current`) inside the block; a rank that
    raises in it tells the others (a Ctrl-C too) and re-raises; the group is
    released at the end."""
    token = _ACTIVE.set(group)
    try:
        yield group
    except BaseException as exc:
        group.fail(exc)
        raise
    finally:
        _ACTIVE.reset(token)
        group.close()
