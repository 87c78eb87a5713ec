"""Data-parallel training on ``torch.distributed``: the fit's group of processes
(:mod:`.group`), its failures (:mod:`.failures`), the layout every shard must share
(:mod:`.layout`) and the gradients each step adds across the ranks
(:mod:`.gradients`)."""
