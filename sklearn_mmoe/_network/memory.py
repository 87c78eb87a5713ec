"""What a network costs in memory, and what the machine has.

A network is built first on PyTorch's ``meta`` device, which records every tensor's
shape and allocates nothing (:func:`network_on_meta`): its size is then known before a
byte is spent, so that a setting that asks for more memory than the machine has (a
``token_dim`` of ``2**40``, a file whose header says so) is a ``ValueError`` that names
the sizes, not an allocator's crash. Inference runs in chunks of rows sized to the
network's activations (:func:`rows_per_chunk`), so that a wide Transformer expert
predicts on many rows without holding every row's attention at once.
"""

import math
import os
import sys

import torch

# Bytes of a float32 value.
_FLOAT = 4
# Training holds each parameter about this many times: the weights, their gradient,
# AdamW's two moments, the best epoch's copy and a moving average.
_COPIES_PER_PARAMETER = 6
# ... and each activation of a batch about this many times: the forward pass's,
# kept for the backward pass, its gradient and a temporary.
_COPIES_PER_ACTIVATION = 3
# Inference's chunk of rows holds at most this many bytes of activations (or a
# quarter of the memory available, if that is less) ...
_CHUNK_BYTES = 256 * 2**20
# ... and at most this many rows: large enough to amortise per-call overhead, small
# enough that the (n_experts, rows, units) activations stay in cache-sized memory.
MAX_CHUNK_ROWS = 8192


def network_on_meta(module_class, params):
    """``module_class(**params)`` built on the meta device: every weight's shape,
    none of its memory."""
    with torch.device("meta"):
        return module_class(**params)


def available_bytes(device="cpu"):
    """Bytes of memory free for a fit on ``device`` now, or None where unknown."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo") as info:  # Linux: what can be had without swap
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    if sys.platform == "win32":
        return _windows_available()
    try:  # other POSIX systems (macOS): the physical memory
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _windows_available():
    import ctypes

    class _Status(ctypes.Structure):
        _fields_ = [
            ("length", ctypes.c_ulong),
            ("load", ctypes.c_ulong),
            ("total", ctypes.c_ulonglong),
            ("available", ctypes.c_ulonglong),
            ("total_page", ctypes.c_ulonglong),
            ("available_page", ctypes.c_ulonglong),
            ("total_virtual", ctypes.c_ulonglong),
            ("available_virtual", ctypes.c_ulonglong),
            ("available_extended", ctypes.c_ulonglong),
        ]

    status = _Status()
    status.length = ctypes.sizeof(_Status)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.available)


def training_bytes(module, batch_size):
    """About the bytes a fit of ``module`` (built, or on the meta device) holds at
    once with batches of ``batch_size`` rows."""
    n_parameters = sum(p.numel() for p in module.parameters())
    weights = n_parameters * _COPIES_PER_PARAMETER
    activations = module.floats_per_row() * batch_size * _COPIES_PER_ACTIVATION
    return (weights + activations) * _FLOAT


def check_fits(module, batch_size, device, available=None):
    """Refuse (``ValueError``) a fit of ``module`` with batches of ``batch_size``
    rows on ``device`` that would take more memory than is ``available`` (read from
    the machine when None; nothing is refused where that is unknown)."""
    available = available_bytes(device) if available is None else available
    needed = training_bytes(module, batch_size)
    if available is None or needed <= available:
        return
    n_parameters = sum(p.numel() for p in module.parameters())
    device = torch.device(device)
    where = "this machine" if device.type == "cpu" else str(device)
    raise ValueError(
        f"This network would need about {_size(needed)} to train ({n_parameters:,} "
        f"parameters, {module.floats_per_row():,} activations per row, batches of "
        f"{batch_size} rows), and {where} has {_size(available)} free. Lower "
        "n_experts, expert_units, tower_units, token_dim or n_blocks (the sizes), "
        "or batch_size."
    )


def rows_per_chunk(module, available=None):
    """Rows of one inference chunk of ``module``: its activations within
    ``_CHUNK_BYTES`` (and a quarter of the ``available`` bytes), at least one row,
    at most ``MAX_CHUNK_ROWS``."""
    budget = _CHUNK_BYTES
    if available is not None:
        budget = min(budget, available // 4)
    per_row = max(1, module.floats_per_row()) * _FLOAT
    return int(min(MAX_CHUNK_ROWS, max(1, budget // per_row)))


def _size(n_bytes):
    """``n_bytes`` as a person reads it: ``"12.3 GB"``."""
    if n_bytes < 1024:
        return f"{n_bytes:.0f} bytes"
    power = min(int(math.log(n_bytes, 1024)), 4)
    return f"{n_bytes / 1024**power:.1f} {' KMGT'[power]}B"
