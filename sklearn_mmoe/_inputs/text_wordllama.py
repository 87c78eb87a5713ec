"""``text_encoder="wordllama"``: the static token vectors of WordLlama (MIT), whose
weights ship inside its PyPI wheel (``pip install "sklearn-mmoe[text]"``), as a
text's pretrained encoder.

WordLlama's tokenizer (Llama 2's, 32,000 sub-word tokens, read with the
``tokenizers`` package from the wheel) turns a text into token ids; the network's
part (:mod:`sklearn_mmoe._network.text_wordllama`) reads each token's pretrained
vector, 256 values, and a text's vector is their mean: WordLlama's own embedding,
frozen by default. Nothing is downloaded: the tokenizer and the weights are read
from the installed package, and a model file names them by the package's version
and the weights' SHA-256, refusing a load where the installed weights differ.
"""

import numpy as np

from .._text.ids import FIRST_ID
from .._text.options import option_int
from .._text.wordllama import CONFIG, WIDTH, wordllama_model
from .._utils import checks as _checks


class WordLlamaTokens:
    """WordLlama's tokenizer, its ids shifted past the padding and the missing
    text's.

    Parameters
    ----------
    dim : int
        The leading values of each token's vector the network reads (WordLlama's
        vectors are trained to be truncated: 64, 128 or 256 values).
    fine_tune : bool
        Whether the vectors train with the network (then a model file keeps them).
    version, sha256 : str
        The installed package's version and its weights' SHA-256.
    """

    name = "wordllama"

    def __init__(self, dim, fine_tune, version, sha256):
        self.dim = dim
        self.fine_tune = fine_tune
        self.version = version
        self.sha256 = sha256

    @property
    def width(self):
        return self.dim

    @property
    def n_ids(self):
        return wordllama_model()[1].shape[0] + FIRST_ID

    def settings(self):
        """What the network's part reads: whether the vectors train, and the
        weights' hash (a model of other weights is another network)."""
        return (("fine_tune", self.fine_tune), ("sha256", self.sha256))

    def agrees(self, options):
        """Whether ``text_options`` (checked) give this tokenizer."""
        return (
            options.get("dim", WIDTH) == self.dim
            and options.get("fine_tune", False) == self.fine_tune
        )

    def describe(self):
        return (
            f"WordLlama {self.version}'s tokenizer ({CONFIG}, "
            "tokenizers.Tokenizer.encode without special tokens) ids, plus "
            f"{FIRST_ID}"
        )

    def ids(self, texts):
        """Each text's token ids (a list of int64 arrays) and the distinct ids
        seen."""
        tokenizer = wordllama_model()[0]
        encoded = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        ids = [
            np.asarray(e.ids, dtype=np.int64)[np.asarray(e.attention_mask, bool)]
            + FIRST_ID
            for e in encoded
        ]
        distinct = np.unique(np.concatenate(ids)).size if ids else 0
        return ids, distinct

    @classmethod
    def from_state(cls, state, where):
        """The tokenizer a model file describes, refused where the installed
        WordLlama's weights are not the ones the model was fitted with."""
        _checks.keys(state, where, ("dim", "fine_tune", "version", "sha256"))
        version, digest = wordllama_model()[2:]
        if state["sha256"] != digest:
            raise ValueError(
                f"{where}: the model was fitted with WordLlama "
                f"{state['version']!r:.40} (weights SHA-256 {state['sha256']!r:.70}); "
                f"the installed WordLlama {version} has other weights ({digest})."
            )
        return cls(
            _checks.integer(state["dim"], f"{where}'s dim", 1, WIDTH),
            _checks.boolean(state["fine_tune"], f"{where}'s fine_tune"),
            str(state["version"]),
            digest,
        )


class WordLlamaText:
    """The ``"wordllama"`` text encoder's options and tokenizer."""

    name = "wordllama"
    doc = (
        "WordLlama's pretrained token vectors (a wheel's own weights, MIT), "
        "frozen by default; pip install 'sklearn-mmoe[text]'"
    )
    options = {"dim", "fine_tune", "max_tokens"}

    def check(self, options):
        if "dim" in options:
            options["dim"] = option_int(options["dim"], "dim", 1, WIDTH)
        if "max_tokens" in options:
            options["max_tokens"] = option_int(options["max_tokens"], "max_tokens", 1)
        if not isinstance(options.get("fine_tune", False), bool):
            raise TypeError(
                f"text_options' fine_tune must be a bool; got {options['fine_tune']!r}."
            )
        return options

    def fit(self, options, texts):
        """The tokenizer (WordLlama's own, nothing learned from ``texts``) and
        the ids of ``texts``."""
        _, _, version, digest = wordllama_model()
        tokenizer = WordLlamaTokens(
            options.get("dim", WIDTH), options.get("fine_tune", False), version, digest
        )
        return tokenizer, tokenizer.ids(texts)[0]
