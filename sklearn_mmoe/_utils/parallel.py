"""Work spread over threads, where NumPy runs it outside the GIL."""

from concurrent.futures import ThreadPoolExecutor

import torch


def threaded_map(function, items):
    """``[function(item) for item in items]``, on as many threads as PyTorch's (at
    most one per item): for NumPy work that releases the GIL (sorts, searches,
    integer products, bincounts), so that the estimator's work uses the cores its
    training does.

    Examples
    --------
    >>> from sklearn_mmoe._utils.parallel import threaded_map
    >>> threaded_map(abs, [-1, 2, -3])
    [1, 2, 3]
    """
    items = list(items)
    n_threads = min(torch.get_num_threads(), len(items))
    if n_threads <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(n_threads) as pool:
        return list(pool.map(function, items))
