"""The PyTorch network: the input encoder, the architectures, gates and experts
from their registries, the wide part, the assembled module and its cross-fitted
ensemble, and what a network costs in memory."""
