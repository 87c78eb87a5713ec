"""What a data-parallel fit raises on the ranks that did not fail, and the check
that every rank's table has one layout."""


class RankError(RuntimeError):
    """Another rank of a data-parallel fit raised (or stopped answering); the
    message names the rank and repeats its error.

    Examples
    --------
    >>> from sklearn_mmoe._distributed.failures import RankError
    >>> str(RankError(1, "ValueError: y has NaN"))
    'rank 1 of the data-parallel fit raised ValueError: y has NaN'
    """

    def __init__(self, rank, message):
        self.rank = rank
        who = "a rank" if rank is None else f"rank {rank}"
        verb = "failed:" if rank is None else "raised"
        super().__init__(f"{who} of the data-parallel fit {verb} {message}")


def check_same(group, layout):
    """Raise a ValueError naming the first rank whose shard's ``layout`` (a dict:
    what of the shard, to its description) differs from rank 0's, and what
    differs."""
    layouts = group.gather(layout)
    for rank, other in enumerate(layouts[1:], start=1):
        for what, value in layouts[0].items():
            if other.get(what) != value:
                raise ValueError(
                    f"The data-parallel fit's shards differ: rank {rank}'s {what} "
                    f"is {other.get(what)!r}, rank 0's is {value!r}. Every rank "
                    "must fit with the same parameters, on a table of the same "
                    "columns, dtypes and tasks."
                )
