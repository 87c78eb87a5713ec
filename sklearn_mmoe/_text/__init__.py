"""What the text columns' parts share, below both the inputs and the network: the
token ids' convention and the pretrained models read from this machine."""
