"""Text columns: which columns are text, and each text as a bag of token ids.

A text column is not a category: its values are mostly distinct, and what they share
is their words. Each text becomes a bag of token ids that travels in the float32
input matrix as ``slots`` columns (ids are exact in float32 up to 2**24): the
tokens' ids in the text's order, then 0 (padding) to the column's number of slots;
tokens beyond it are cut. Id 1 stands for a missing text (NaN, None, pd.NA): the
network learns a vector for it, the missing text's flag. An empty text is a bag of
no tokens.

The tokenizer of each text encoder (``text_encoder``) lives here, registered in
``TEXT_ENCODERS`` by name; the network's part of the encoder (what it does with the
ids) in :mod:`sklearn_mmoe._network.text`. The default, ``"hashed"``, is
fastText's: lower-cased words (``\\w+``), their n-grams up to ``word_ngrams`` and,
if asked, each word's character n-grams, each token hashed to one of ``buckets``
ids (the hash of :mod:`sklearn_mmoe._inputs.hashing`), so that no vocabulary is
kept and a word never seen in training gets an id like any other.

``text_features="auto"`` takes as text a DataFrame column of strings (object or
string dtype, not ``category``) whose present values are mostly distinct (at least
``AUTO_DISTINCT`` of them) and made of several words (a median of at least
``AUTO_WORDS`` words split by white space): product reviews, descriptions,
remarks; not an id, a name, a date or a code.
"""

import itertools
import re
from numbers import Integral

import numpy as np
import pandas as pd

from .._distributed.group import current
from .._text.ids import FIRST_ID, MISSING_TEXT
from .._text.options import option_int
from .._utils import checks as _checks
from .._utils.registry import Registry
from .columns import column_mask
from .hashing import HASH, MAX_BUCKETS

# text_features="auto": a column of strings whose present values are at least this
# share distinct and have a median of at least this many words is text.
AUTO_DISTINCT = 0.5
AUTO_WORDS = 3
# ... judged on at most this many of a column's present values.
AUTO_SAMPLE = 10_000
# The most slots a text column takes by default (options: max_tokens).
MAX_TOKENS = 256
# buckets="auto": the power of two at or above the distinct tokens of the fit's
# texts, within these bounds.
AUTO_BUCKETS = (2**10, 2**18)
_WORD = re.compile(r"\w+")


class TextColumnsWarning(UserWarning):
    """``text_features="auto"`` took columns as text: said once per fit, so that a
    column that was a category before is not read otherwise silently.

    Naming the text columns (``text_features=[...]``, or None for none) silences it.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_mmoe import TextColumnsWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", TextColumnsWarning)
    ...     # a fit here says nothing of the columns "auto" takes as text
    """


def _is_text_dtype(dtype):
    return not isinstance(dtype, pd.CategoricalDtype) and (
        pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
    )


def looks_like_text(values):
    """Whether a column's ``values`` are text by the ``"auto"`` rule: strings,
    mostly distinct, of several words.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mmoe._inputs.text import looks_like_text
    >>> looks_like_text(np.array(["a fine film", "too long by far", "loved it a lot"]))
    True
    >>> looks_like_text(np.array(["u1", "u2", "u3"]))
    False
    """
    values = pd.Series(values, dtype=object)
    present = values[~values.isna()]
    group = current()  # a data-parallel fit: each rank's share of the sample
    share = -(-AUTO_SAMPLE // group.world)
    if len(present) > share:  # evenly spaced rows: the rule's cost bounded
        present = present.iloc[:: -(-len(present) // share)]
    if group.world > 1:
        present = pd.Series(group.concatenate(present.to_numpy()), dtype=object)
    if present.empty or not all(isinstance(v, str) for v in present):
        return False
    distinct = present.nunique() / len(present)
    words = present.str.split().str.len().median()
    return bool(distinct >= AUTO_DISTINCT and words >= AUTO_WORDS)


def text_mask(X, spec, n_features, feature_names, categorical):
    """The text columns of ``X`` for ``text_features`` (``spec``) and whether
    ``"auto"`` chose them; ``categorical`` marks the columns ``categorical_features``
    names (by names, indices or a mask: not ``"from_dtype"``).

    ``spec`` is None (no text), ``"auto"`` (see :func:`looks_like_text`; a DataFrame's
    columns only, never one named categorical), or column names, indices or a
    boolean mask. A column named both text and categorical is an error; a text
    column is no longer categorical by its dtype (the caller drops it).
    """
    if spec is None:
        return np.zeros(n_features, dtype=bool), False
    if isinstance(spec, str):  # "auto"; other strings fail parameter validation
        mask = np.zeros(n_features, dtype=bool)
        if hasattr(X, "dtypes"):
            for j, dtype in enumerate(X.dtypes):
                mask[j] = (
                    not categorical[j]
                    and _is_text_dtype(dtype)
                    and looks_like_text(X.iloc[:, j])
                )
        return mask, True
    mask = column_mask(spec, n_features, feature_names, "text_features")
    both = np.flatnonzero(mask & categorical)
    if both.size:
        names = [feature_names[j] if feature_names is not None else j for j in both]
        raise ValueError(
            f"Column(s) {names} are given both as text (text_features) and as "
            "categorical (categorical_features); a column is one or the other."
        )
    return mask, False


# -- tokenizers
# ---------------------------------------------------------------------------


class HashedNgrams:
    """fastText's bag of tokens: words, word n-grams and character n-grams, each
    hashed to one of ``buckets`` ids.

    Parameters
    ----------
    buckets : int
        Ids a token is hashed to (beyond the padding and the missing text's).
    word_ngrams : int
        The longest run of words taken as a token (1: words alone).
    char_ngrams : tuple of (int, int) or None
        The shortest and longest character n-grams of each word (marked ``<`` and
        ``>`` at its ends) taken as tokens; None: none.

    Examples
    --------
    >>> from sklearn_mmoe._inputs.text import HashedNgrams
    >>> HashedNgrams(1000, word_ngrams=2).tokens("Not bad, not bad at all")
    ['not', 'bad', 'not', 'bad', 'at', 'all', 'not bad', 'bad not', 'not bad', \
'bad at', 'at all']
    """

    name = "hashed"
    width = None  # its vectors are learned: text_options' dim says how wide

    def __init__(self, buckets, word_ngrams=2, char_ngrams=None):
        self.buckets = buckets
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams

    @property
    def n_ids(self):
        """Ids in all, the padding's and the missing text's included."""
        return self.buckets + FIRST_ID

    def tokens(self, text):
        """A text's tokens, words first, then word n-grams, then character
        n-grams."""
        words = _WORD.findall(text.lower())
        tokens = list(words)
        for n in range(2, self.word_ngrams + 1):
            tokens += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        if self.char_ngrams is not None:
            low, high = self.char_ngrams
            for word in words:
                word = f"<{word}>"
                # "#" before: never a word's text (\w+) nor a pair's (a space);
                # printable (pandas 2.0 hashed a string only up to a NUL: every
                # such token had one id)
                for n in range(low, high + 1):
                    tokens += ["#" + word[i : i + n] for i in range(len(word) - n + 1)]
        return tokens

    def settings(self):
        """What the network's part needs beyond the ids: nothing."""
        return ()

    def agrees(self, options):
        """Whether ``text_options`` (checked) give this tokenizer."""
        return (
            options.get("word_ngrams", 2) == self.word_ngrams
            and options.get("char_ngrams") == self.char_ngrams
            and options.get("buckets", "auto") in ("auto", self.buckets)
        )

    def describe(self):
        """How a text's ids are made, for a server in another language."""
        grams = (
            ""
            if self.char_ngrams is None
            else (
                ", then each word's character n-grams of {}..{} characters, the word "
                "marked '<' before and '>' after, each prefixed by the character "
                "'#'".format(*self.char_ngrams)
            )
        )
        return (
            "lower-cased text, words by the regular expression \\w+ (Unicode); "
            f"tokens: the words, then word n-grams of 2..{self.word_ngrams} joined "
            f"by one space{grams}; id = {FIRST_ID} + hash % {self.buckets}, the hash "
            f"{HASH}"
        )

    def ids(self, texts):
        """Each text's token ids (a list of int64 arrays) and the distinct tokens
        seen."""
        return self.hashed(self.tokenize(texts))

    def tokenize(self, texts):
        """The texts' tokens, factorized: each token's code among the distinct
        tokens, the distinct tokens, and each text's count of tokens."""
        tokens = [self.tokens(text) for text in texts]
        flat = np.array(list(itertools.chain.from_iterable(tokens)), dtype=object)
        codes, distinct = pd.factorize(flat)
        return codes, distinct, [len(t) for t in tokens]

    def hashed(self, tokenized):
        """Each text's token ids and the distinct tokens seen, from
        :meth:`tokenize`'s tokens."""
        codes, distinct, counts = tokenized
        hashed = pd.util.hash_array(
            np.asarray(distinct, dtype=object), categorize=False
        )
        ids = (hashed % np.uint64(self.buckets)).astype(np.int64) + FIRST_ID
        ends = np.cumsum(counts)
        return np.split(ids[codes], ends[:-1]) if counts else [], len(distinct)

    @classmethod
    def from_state(cls, state, where):
        _checks.keys(state, where, ("buckets", "word_ngrams", "char_ngrams"))
        grams = state["char_ngrams"]
        if grams is not None:
            if not isinstance(grams, (list, tuple)) or len(grams) != 2:
                raise ValueError(f"{where}'s char_ngrams must be two ints or None.")
            grams = tuple(
                _checks.integer(g, f"{where}'s char_ngrams", 1) for g in grams
            )
        return cls(
            _checks.integer(state["buckets"], f"{where}'s buckets", 1, MAX_BUCKETS),
            _checks.integer(state["word_ngrams"], f"{where}'s word_ngrams", 1, 16),
            grams,
        )


class HashedText:
    """The default text encoder: fastText's bag of hashed word and character
    n-grams (see :class:`HashedNgrams`), learned with the network."""

    name = "hashed"
    doc = (
        "a learned bag of hashed word n-grams (and character n-grams, if asked), "
        "fastText's; needs nothing extra"
    )
    options = {"buckets", "word_ngrams", "char_ngrams", "dim", "max_tokens"}

    def check(self, options):
        """``options`` (a dict of some of ``self.options``) with each checked."""
        for name, low in (("word_ngrams", 1), ("dim", 1), ("max_tokens", 1)):
            if name in options:
                options[name] = option_int(options[name], name, low)
        if "buckets" in options and options["buckets"] != "auto":
            options["buckets"] = option_int(
                options["buckets"], "buckets", 1, MAX_BUCKETS
            )
        grams = options.get("char_ngrams")
        if grams is not None:
            if (
                not isinstance(grams, (tuple, list))
                or len(grams) != 2
                or not all(
                    isinstance(g, Integral) and not isinstance(g, bool) for g in grams
                )
                or not 1 <= grams[0] <= grams[1]
            ):
                raise ValueError(
                    "text_options' char_ngrams must be None or (shortest, longest), "
                    f"two ints with 1 <= shortest <= longest; got {grams!r}."
                )
            options["char_ngrams"] = (int(grams[0]), int(grams[1]))
        return options

    def fit(self, options, texts):
        """The tokenizer of ``options`` (checked) and the ids of the fit's
        ``texts``, each text tokenized once: its ``"auto"`` buckets chosen from
        their distinct tokens."""
        buckets = options.get("buckets", "auto")
        tokenizer = HashedNgrams(
            1, options.get("word_ngrams", 2), options.get("char_ngrams", None)
        )
        tokenized = tokenizer.tokenize(texts)
        if buckets == "auto":
            low, high = AUTO_BUCKETS
            distinct = _distinct_tokens(tokenized[1], high)
            power = 2 ** int(np.ceil(np.log2(max(distinct, 1))))
            buckets = int(min(max(power, low), high))
        tokenizer.buckets = buckets
        return tokenizer, tokenizer.hashed(tokenized)[0]


# The text encoders by name (text_encoder): each checks its options (check), and
# fits the tokenizer that turns texts into ids (fit: the tokenizer and the ids of
# the texts it was fitted on); its network's part is
# registered by the same name in sklearn_mmoe._network.text.TEXT_MODULES.
TEXT_ENCODERS = Registry()
TEXT_ENCODERS.register(HashedText)


def _distinct_tokens(tokens, enough):
    """How many distinct ``tokens`` (strings) the fit's texts hold: on every rank
    of a data-parallel fit (their hashes pooled, at most ``enough`` of each
    rank's: more than that decides nothing more)."""
    group = current()
    if group.world == 1:
        return len(tokens)
    hashes = pd.util.hash_array(np.asarray(tokens[:enough], dtype=object))
    return len(np.unique(group.concatenate(hashes)))


def check_text_options(encoder, options):
    """``text_options`` for ``text_encoder`` as a dict, each entry checked by the
    encoder."""
    if encoder not in TEXT_ENCODERS:
        raise ValueError(
            f"text_encoder={encoder!r} is not one of {sorted(TEXT_ENCODERS)}."
        )
    taken = TEXT_ENCODERS[encoder].options
    options = {} if options is None else dict(options)
    unknown = sorted(set(options) - taken)
    if unknown:
        raise ValueError(
            f"text_options holds {unknown}, which text_encoder={encoder!r} does not "
            f"take; it takes {sorted(taken)}."
        )
    return TEXT_ENCODERS[encoder].check(options)


# -- the fitted columns
# ---------------------------------------------------------------------------


class TextColumns:
    """The text columns' tokenizers and slots, and each text's ids.

    Parameters
    ----------
    columns : ndarray of int
        The text columns' positions in ``X``.
    tokenizers : list
        Each column's fitted tokenizer.
    slots : list of int
        Each column's slots: the most tokens of a text kept.
    """

    def __init__(self, columns, tokenizers, slots):
        self.columns = np.asarray(columns, dtype=np.int64)
        self.tokenizers = list(tokenizers)
        self.slots = [int(s) for s in slots]

    @classmethod
    def fit(cls, X, columns, encoder, options):
        """Each of ``columns``' tokenizer (``text_encoder``'s, with ``options``)
        and slots (the most tokens of a training text, at most ``max_tokens``);
        returns them and ``X``'s ids, as :meth:`transform` gives them (each
        distinct text tokenized once)."""
        tokenizers, slots, parts = [], [], []
        for j in columns:
            (missing, codes), texts = _distinct_texts(_text_column(X, j))
            tokenizer, ids = TEXT_ENCODERS[encoder].fit(options, texts)
            longest = int(current().max(max((len(i) for i in ids), default=1)))
            width = max(1, min(longest, options.get("max_tokens", MAX_TOKENS)))
            parts.append(_placed(missing, codes, _slot_table(ids, width)))
            slots.append(width)
            tokenizers.append(tokenizer)
        out = np.concatenate(parts, 1) if parts else np.zeros((X.shape[0], 0))
        return cls(columns, tokenizers, slots), out.astype(np.float32, copy=False)

    @property
    def n_slots(self):
        return sum(self.slots)

    def agrees(self, encoder, options):
        """Whether ``text_encoder`` and its checked ``text_options`` give these
        columns' tokenizers and slots (a model file's must)."""
        cap = options.get("max_tokens", MAX_TOKENS)
        return all(
            t.name == encoder and t.agrees(options) and s <= cap
            for t, s in zip(self.tokenizers, self.slots)
        )

    def transform(self, X):
        """Each text's ids, ``(n, n_slots)`` float32: the columns' slots side by
        side."""
        out = np.zeros((X.shape[0], self.n_slots), dtype=np.float32)
        start = 0
        for j, tokenizer, width in zip(self.columns, self.tokenizers, self.slots):
            out[:, start : start + width] = _bags(_text_column(X, j), tokenizer, width)
            start += width
        return out

    @classmethod
    def from_state(cls, state, where):
        """The text columns a model file describes, checked (the columns against
        the model's by the caller)."""
        _checks.keys(state, where, ("columns", "tokenizers", "slots"))
        columns = _checks.positions(state["columns"], f"{where}'s columns", 2**31)
        tokenizers, slots = state["tokenizers"], state["slots"]
        if not (isinstance(tokenizers, list) and isinstance(slots, list)) or not (
            len(tokenizers) == len(slots) == len(columns) > 0
        ):
            raise ValueError(f"{where} needs one tokenizer and slots per column.")
        if not all(isinstance(t, TOKENIZER_TYPES) for t in tokenizers):
            raise ValueError(f"{where}: a column's tokenizer is not one.")
        slots = [_checks.integer(s, f"{where}'s slots", 1, 2**16) for s in slots]
        return cls(columns, tokenizers, slots)


# The tokenizers a model file may hold (sklearn_mmoe._export.restore reads each by
# its class's from_state).
TOKENIZER_TYPES = (HashedNgrams,)


def _text_column(X, j):
    """Column ``j`` of a DataFrame or array, as objects."""
    if hasattr(X, "iloc"):
        return X.iloc[:, j].to_numpy(dtype=object, na_value=np.nan)
    return np.asarray(X, dtype=object)[:, j]


def _distinct_texts(values):
    """Where each value is missing, each present value's index among the
    distinct texts, and the distinct texts (as ``str``)."""
    missing = np.asarray(pd.isna(values), dtype=bool)
    codes, distinct = pd.factorize(
        np.array([str(v) for v in values[~missing]], dtype=object)
    )
    return (missing, codes), list(distinct)


def _bags(values, tokenizer, width):
    """``(n, width)`` ids of ``values``: each distinct text tokenized once."""
    (missing, codes), distinct = _distinct_texts(values)
    ids, _ = tokenizer.ids(distinct)
    return _placed(missing, codes, _slot_table(ids, width))


def _slot_table(ids, width):
    """``(len(ids), width)`` float32: each text's ids, then 0, cut at ``width``."""
    table = np.zeros((len(ids), width), dtype=np.float32)
    lengths = np.array([min(len(i), width) for i in ids], dtype=np.int64)
    if len(ids):
        row = np.repeat(np.arange(len(ids)), lengths)
        slot = np.arange(lengths.sum()) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        table[row, slot] = np.concatenate([i[:width] for i in ids])
    return table


def _placed(missing, codes, table):
    """Each value's row of its distinct text's ``table`` (``codes``), the
    missing text's id where ``missing``."""
    out = np.zeros((len(missing), table.shape[1]), dtype=np.float32)
    out[~missing] = table[codes]
    out[missing, 0] = MISSING_TEXT
    return out


# Pretrained encoders, each in its own module (imported last: they build on the above).
from .text_transformers import PretrainedTokens, TransformersText  # noqa: E402
from .text_wordllama import WordLlamaText, WordLlamaTokens  # noqa: E402

TEXT_ENCODERS.register(WordLlamaText)
TEXT_ENCODERS.register(TransformersText)
TOKENIZER_TYPES += (WordLlamaTokens, PretrainedTokens)
