"""The network's part of ``text_encoder="wordllama"`` (see
:mod:`sklearn_mmoe._inputs.text_wordllama`): each token's pretrained vector, a
text's the mean of its tokens', frozen by default."""

import torch
from torch import nn

from .._text.wordllama import wordllama_model
from .text import table_tokens


class WordLlamaBag:
    """WordLlama's vectors (their leading ``width`` values), read as a table of one
    row per id: the padding's and the missing text's rows zero (the missing text's
    flag is its weight in the text's linear term). Frozen, the table is a buffer
    that no model file keeps (it is read again from the installed package, whose
    weights the file's hash must match); fine-tuned, a parameter like any other."""

    name = "wordllama"
    doc = "the mean of the text's tokens' WordLlama vectors"
    numpy = True
    # Fine-tuned, the pretrained vectors move at a tenth of learning_rate, as the
    # hashed encoder's learned ones (see sklearn_mmoe._network.text.HashedBag).
    lr_scales = {"*encoder.text*_weight": 0.1, "*encoder.text*_linear": 10.0}

    def width(self, width):
        return width

    def build(self, encoder, index, n_ids, width, slots, settings):
        vectors = torch.from_numpy(wordllama_model()[1][:, :width].copy())
        table = torch.zeros(n_ids, width)
        table[n_ids - vectors.shape[0] :] = vectors
        name = f"text{index}_weight"
        if settings["fine_tune"]:
            encoder.register_parameter(name, nn.Parameter(table))
        else:
            encoder.register_buffer(name, table, persistent=False)

    def pool(self, p, ops, ids, index):
        return ops.bag_mean(p[f"text{index}_weight"], ids)

    def tokens(self, p, ops, ids, index):
        return table_tokens(p[f"text{index}_weight"], ops, ids)
