"""``text_encoder="transformers"``: a pretrained Hugging Face encoder (BERT-class)
reads each text, the tokenizer side.

The model and its tokenizer are read from ``text_options``' ``path``: a local
directory as ``save_pretrained`` writes it, or the name of a model in the local
Hugging Face cache. Nothing is ever downloaded (every read is
``local_files_only=True``): a path that holds no model is a ValueError naming it.
A text's ids are the tokenizer's (its special tokens added, cut at ``max_tokens``)
plus :data:`~sklearn_mmoe._inputs.text.FIRST_ID`, so that 0 stays the padding's
and 1 the missing text's.

A fitted model keeps the path and the SHA-256 of the weights there, never the
weights (but the ``fine_tune_layers`` it trained: see
:mod:`sklearn_mmoe._network.text_transformers`); a model file or a pickle read
where those weights now hash otherwise is refused, not run on another encoder.
The ``transformers`` package is an optional extra, imported only when this encoder
is asked for.
"""

import os
import re

import numpy as np

from .._text.hub import (
    POOLINGS,
    import_transformers,
    no_model,
    quiet_loading,
    verified_directory,
)
from .._text.ids import FIRST_ID
from .._text.options import option_int
from .._utils import checks as _checks

_SHA256 = re.compile(r"[0-9a-f]{64}")

# text_options' defaults: the most tokens of a text read, the layers trained (0:
# the encoder is frozen) and how a text's token states become one vector.
MAX_TOKENS = 128


def check_options(options):
    """``text_encoder="transformers"``'s ``text_options`` (a dict), each checked
    and the defaults filled in; the model is not read yet."""
    import_transformers()
    if "path" not in options:
        raise ValueError(
            "text_encoder='transformers' needs text_options' path: a directory "
            "holding a Hugging Face model and its tokenizer (save_pretrained's), or "
            "the name of a model in the local Hugging Face cache."
        )
    path = options["path"]
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"text_options' path must be a string; got {path!r}.")
    options["path"] = os.fspath(path)
    if "max_tokens" in options:  # else the model's most, at most MAX_TOKENS
        options["max_tokens"] = option_int(options["max_tokens"], "max_tokens", 2)
    options["fine_tune_layers"] = option_int(
        options.get("fine_tune_layers", 0), "fine_tune_layers", 0
    )
    pooling = options.setdefault("pooling", "mean")
    if pooling not in POOLINGS:
        raise ValueError(
            f"text_options' pooling must be one of {list(POOLINGS)}; got {pooling!r}."
        )
    return options


class PretrainedTokens:
    """The token ids of a Hugging Face tokenizer, plus ``FIRST_ID``.

    Parameters
    ----------
    path : str
        A directory holding the model and its tokenizer, or the name of a model
        in the local Hugging Face cache (a directory is kept as an absolute path).
    max_tokens : int, default=None
        The most tokens of a text, its special tokens included (the rest cut);
        None: the most the model reads, at most 128.
    fine_tune_layers : int, default=0
        The encoder's top layers that train with the network (0: none).
    pooling : {"mean", "cls"}, default="mean"
        A text's vector: the mean of its tokens' last states, or its first
        token's (``[CLS]``).
    sha256 : str, default=None
        The SHA-256 of the weights the model was fitted with: the weights at
        ``path`` must hash so (None: whatever they are now).

    Raises
    ------
    ValueError
        If ``path`` holds no model, its weights hash otherwise than ``sha256``,
        or it has fewer layers than ``fine_tune_layers`` or positions than
        ``max_tokens``.
    """

    name = "transformers"
    # What a model file keeps of it (the tokenizer is read again from the path).
    state_names = ("path", "sha256", "max_tokens", "fine_tune_layers", "pooling")

    def __init__(
        self,
        path,
        max_tokens=None,
        fine_tune_layers=0,
        pooling="mean",
        sha256=None,
    ):
        self.path = os.path.abspath(path) if os.path.isdir(path) else path
        self.max_tokens = max_tokens
        self.fine_tune_layers = fine_tune_layers
        self.pooling = pooling
        self.sha256 = sha256
        self._read()

    def _read(self):
        """The model's configuration and tokenizer, read from ``path``; the
        weights' hash checked against ``sha256`` (and kept, where None)."""
        transformers = import_transformers()
        directory, digest = verified_directory(self.path, self.sha256)
        try:
            with quiet_loading():
                config = transformers.AutoConfig.from_pretrained(
                    directory, local_files_only=True
                )
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    directory, local_files_only=True
                )
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(no_model(self.path, str(exc).splitlines()[0])) from None
        self._check_fits(config, tokenizer)
        self.sha256 = digest
        self._config, self._tokenizer = config, tokenizer

    def _check_fits(self, config, tokenizer):
        """Refuse settings the model cannot take; ``max_tokens`` None becomes the
        most tokens it reads, at most ``MAX_TOKENS``."""
        layers = getattr(config, "num_hidden_layers", None)
        if (
            layers is None
            or not hasattr(config, "hidden_size")
            or getattr(config, "is_encoder_decoder", False)
        ):
            raise ValueError(
                f"text_options' path {self.path!r} holds a {config.model_type} "
                "model, not a BERT-class encoder (an encoder alone, whose "
                "configuration gives hidden_size and num_hidden_layers)."
            )
        if self.fine_tune_layers > layers:
            raise ValueError(
                f"text_options' fine_tune_layers is {self.fine_tune_layers}, but the "
                f"model at {self.path!r} has {layers} layers."
            )
        # RoBERTa's positions count two it never reads; its tokenizer knows
        most = min(
            getattr(config, "max_position_embeddings", None) or 2**16,
            getattr(tokenizer, "model_max_length", None) or 2**16,
        )
        if self.max_tokens is None:
            self.max_tokens = min(MAX_TOKENS, most)
        if self.max_tokens > most:
            raise ValueError(
                f"text_options' max_tokens is {self.max_tokens}, but the model at "
                f"{self.path!r} reads at most {most} tokens."
            )

    @property
    def width(self):
        """The model's hidden size: the width of a text's vector."""
        return int(self._source()[0].hidden_size)

    @property
    def n_ids(self):
        """Ids in all: the tokenizer's, the padding's and the missing text's."""
        config, tokenizer = self._source()
        return FIRST_ID + max(len(tokenizer), int(config.vocab_size))

    def _source(self):
        if getattr(self, "_tokenizer", None) is None:  # unpickled: read again
            self._read()
        return self._config, self._tokenizer

    def ids(self, texts):
        """Each text's token ids (a list of int64 arrays) and the distinct ids
        seen."""
        texts = list(texts)
        if not texts:
            return [], 0
        encoded = self._source()[1](
            texts, add_special_tokens=True, truncation=True, max_length=self.max_tokens
        )["input_ids"]
        ids = [np.asarray(e, dtype=np.int64) + FIRST_ID for e in encoded]
        return ids, len(np.unique(np.concatenate(ids)))

    def settings(self):
        """What the network's part needs: where the model is, its weights' hash,
        the layers it trains and the pooling."""
        return (
            ("path", self.path),
            ("fine_tune_layers", int(self.fine_tune_layers)),
            ("pooling", self.pooling),
            ("sha256", self.sha256),
        )

    def agrees(self, options):
        """Whether ``text_options`` (checked) give this tokenizer: its model's path,
        the layers fine-tuned, the pooling and, where given, the most tokens."""
        path = options["path"]
        path = os.path.abspath(path) if os.path.isdir(path) else path
        return (
            path == self.path
            and options.get("fine_tune_layers", 0) == self.fine_tune_layers
            and options.get("pooling", "mean") == self.pooling
            and options.get("max_tokens", self.max_tokens) == self.max_tokens
        )

    def describe(self):
        """How a text's ids are made, for a server in another language."""
        return (
            f"the input_ids of the Hugging Face tokenizer at {self.path} "
            f"(AutoTokenizer; its special tokens added, truncated to "
            f"{self.max_tokens} tokens), each plus {FIRST_ID}; the model's weights "
            f"have SHA-256 {self.sha256}"
        )

    def __getstate__(self):  # a pickle names the model; it is read again on use
        return {name: getattr(self, name) for name in self.state_names}

    @classmethod
    def from_state(cls, state, where):
        """The tokenizer a model file describes, read again from its path: refused
        where the weights there hash otherwise than the file says."""
        _checks.keys(state, where, cls.state_names)
        path, sha256 = state["path"], state["sha256"]
        if not isinstance(path, str) or not path:
            raise ValueError(f"{where}'s path must be a string.")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"{where}'s sha256 must be 64 hexadecimal digits.")
        if state["pooling"] not in POOLINGS:
            raise ValueError(f"{where}'s pooling must be one of {list(POOLINGS)}.")
        return cls(
            path,
            _checks.integer(state["max_tokens"], f"{where}'s max_tokens", 2, 2**16),
            _checks.integer(state["fine_tune_layers"], f"{where}'s fine_tune_layers"),
            state["pooling"],
            sha256,
        )


class TransformersText:
    """``text_encoder="transformers"``: a pretrained Hugging Face encoder
    (BERT-class) reads each text (see :class:`PretrainedTokens`)."""

    name = "transformers"
    doc = (
        "a pretrained Hugging Face encoder (BERT-class) read from text_options' "
        "path, frozen or with its top fine_tune_layers trained; needs the "
        "transformers extra"
    )
    options = {"path", "fine_tune_layers", "max_tokens", "pooling"}

    def check(self, options):
        """``options`` (a dict of some of ``self.options``) with each checked and
        the defaults filled in."""
        return check_options(options)

    def fit(self, options, texts):
        """The tokenizer at ``options``' path (nothing learned from ``texts``)
        and the ids of ``texts``."""
        tokenizer = PretrainedTokens(
            options["path"],
            options.get("max_tokens"),
            options["fine_tune_layers"],
            options["pooling"],
        )
        return tokenizer, tokenizer.ids(texts)[0]
