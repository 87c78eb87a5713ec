"""Data-parallel training on ``torch.distributed``: the fit's group of processes
(:mod:`.group`), its failures (:mod:`.failures`), the layout every shard must share
(:mod:`.layout`), the gradients each step adds across the ranks (:mod:`.gradients`)
and the trained network every rank ends with (:mod:`.agreement`)."""
