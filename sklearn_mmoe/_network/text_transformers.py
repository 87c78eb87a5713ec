"""``text_encoder="transformers"``'s network part: a pretrained Hugging Face
encoder (BERT-class) reads each text, its pooled last states the text's vector
(the design's "MMoE2": a pretrained model as one more input every expert and gate
reads).

The pretrained model is read once per process for each path and weights hash
(:func:`pretrained`) and held outside the network's module tree, so that neither
the network's ``state_dict`` nor a model file holds its weights: the file names
the path and the hash (see :mod:`sklearn_mmoe._inputs.text_transformers`). It
moves to a batch's device when a batch first needs it there.

- Frozen (``fine_tune_layers=0``): the model runs in eval mode without gradients,
  so a text's vector never changes: it is computed once per distinct text (the
  row of its ids) and kept, for every epoch and every prediction after, and for
  every network of the same model in the process (a search's fits, a
  cross-fitted ensemble's members). The vectors are kept in CPU memory,
  ``4 * hidden_size`` bytes per distinct text.
  A Transformer expert also reads each text's tokens, their last states: those
  are kept too, per distinct text, as float16 (``2 * tokens * hidden_size``
  bytes), up to ``_KEPT_STATES_BYTES`` in all, and the text's vector is pooled
  from them (``pools_kept_states``): the model reads a text once.
- Fine-tuned (``fine_tune_layers=k``): copies of the top ``k`` layers are the
  network's own (``encoder.text{i}_top``: trained, and saved in a model file);
  the embeddings and the lower layers are the shared frozen model's, whose
  weights take no gradient, so that autograd records nothing below the top
  layers (as ``torch.no_grad`` there would). A text's vector changes as the top
  layers train: none is kept (a Transformer expert's tokens are the states the
  same pass pooled).

A missing text (id 1) reads a learned vector of its own
(``encoder.text{i}_missing``, zero at first), a text of no tokens zeros; neither
runs the model. This encoder runs in PyTorch only (``numpy = False``).
"""

import copy
import weakref

import numpy as np
import torch
from torch import nn

from .._text.hub import (
    import_transformers,
    quiet_loading,
    verified_directory,
)
from .._text.ids import FIRST_ID, MISSING_TEXT, PAD
from .ops import _TorchOps

# The fine-tuned layers' learning rate, as a multiple of learning_rate: 3e-5 at
# the default 1e-3, within the 2e-5 .. 5e-5 that BERT is fine-tuned with (Devlin et
# al., 2019; at 4e-4 its fine-tuning fails to converge: Sun et al., 2019, "How to
# fine-tune BERT for text classification?"). Not measured here.
TOP_LR_SCALE = 0.03
# The most texts the pretrained model reads at once (its attention's memory grows
# with the rows times the square of the tokens).
_CHUNK_ROWS = 256
# The most bytes of texts' last states a frozen model keeps (for a Transformer
# expert, which reads a text's tokens): beyond, a text's states are read again
# whenever a batch holds it.
_KEPT_STATES_BYTES = 2**30
# The pretrained models read in this process, by (path, weights' SHA-256), while a
# network holds them.
_LOADED = weakref.WeakValueDictionary()


def pretrained(path, sha256):
    """The pretrained model at ``path`` (:class:`Pretrained`), read once per
    process while networks hold it; refused where its weights do not hash to
    ``sha256``."""
    key = (path, sha256)
    model = _LOADED.get(key)
    if model is None:
        model = _LOADED[key] = Pretrained(path, sha256)
    return model


class Pretrained:
    """A pretrained model held outside every module tree, frozen, and the vectors
    of the texts it has read (one table per pooling).

    Parameters
    ----------
    path : str
        Where the model is (see
        :class:`~sklearn_mmoe._inputs.text_transformers.PretrainedTokens`).
    sha256 : str
        The SHA-256 its weights must have.
    """

    def __init__(self, path, sha256):
        transformers = import_transformers()
        directory, _ = verified_directory(path, sha256)
        # on the CPU, with real tensors: also where a network is built on the meta
        # device (sklearn_mmoe._export.restore), or inside inference_mode
        with torch.device("cpu"), torch.inference_mode(False), quiet_loading():
            model = transformers.AutoModel.from_pretrained(
                directory, local_files_only=True
            )
        self.model = model.float().eval().requires_grad_(False)
        config = model.config
        self.width = int(config.hidden_size)
        self.pad_id = int(getattr(config, "pad_token_id", None) or 0)
        self.layers_at = _layer_list(model, config.num_hidden_layers)
        # the texts' vectors by (pooling, pooled from the kept states)
        self.vectors = {}
        self.states, self.states_bytes = {}, 0  # each text's last states
        self.device = torch.device("cpu")

    def on(self, device):
        """The model, moved to ``device`` first if it is elsewhere."""
        if device != self.device:
            with torch.inference_mode(False):
                self.model.to(device)
            self.device = device
        return self.model

    def top_layers(self, k):
        """Trainable copies of the top ``k`` layers, on the CPU."""
        if self.layers_at is None:
            raise ValueError(
                "text_options' fine_tune_layers needs the model's layers, a list of "
                "num_hidden_layers modules, which this model does not show."
            )
        layers = self.model.get_submodule(self.layers_at)
        with torch.device("cpu"), torch.inference_mode(False):
            top = copy.deepcopy(nn.ModuleList(layers[len(layers) - k :]))
        return top.to("cpu").requires_grad_(True)

    def with_top(self, top):
        """The model with its top layers ``top`` (a network's own): a shallow copy
        of the modules down to the layers' list, the rest shared."""
        *path, last = self.layers_at.split(".")
        root = node = _shallow(self.model)
        for name in path:
            child = _shallow(node._modules[name])
            node._modules[name] = child
            node = child
        layers = node._modules[last]
        node._modules[last] = nn.ModuleList([*layers[: len(layers) - len(top)], *top])
        return root


def _layer_list(model, n_layers):
    """The dotted name of ``model``'s list of its ``n_layers`` layers (BERT's
    ``encoder.layer``, DistilBERT's ``transformer.layer``), None if none."""
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == n_layers:
            return name
    return None


def _shallow(module):
    """A copy of ``module`` that shares its tensors and submodules, but whose own
    list of submodules can be changed."""
    copied = copy.copy(module)
    copied._modules = dict(module._modules)
    return copied


def _pooled(model, ids, pooling, pad_id):
    """``(R, hidden)`` vectors of ``R`` texts' ids ``(R, slots)``, each text of
    one token or more; in chunks of at most ``_CHUNK_ROWS`` texts."""
    return torch.cat(
        [
            _pool(*_states_chunk(model, chunk, pad_id), pooling)
            for chunk in ids.split(_CHUNK_ROWS)
        ]
    )


def _states(model, ids, pad_id):
    """``(R, slots, hidden)`` last states of ``R`` texts' ids ``(R, slots)``,
    zeros where the ids are padding; in chunks of at most ``_CHUNK_ROWS`` texts."""
    parts = []
    for chunk in ids.split(_CHUNK_ROWS):
        states, mask = _states_chunk(model, chunk, pad_id)
        parts.append(nn.functional.pad(states, (0, 0, 0, ids.shape[1] - mask.shape[1])))
    return torch.cat(parts) * (ids != PAD).unsqueeze(-1)


def _states_chunk(model, ids, pad_id):
    """The last states of ids ``(R, slots)`` and where they are tokens, both cut
    to the longest text (a text's tokens come first)."""
    mask = ids != PAD
    length = int(mask.sum(1).max())
    ids, mask = ids[:, :length], mask[:, :length]
    tokens = torch.where(mask, ids - FIRST_ID, pad_id)
    states = model(input_ids=tokens, attention_mask=mask.long()).last_hidden_state
    return states, mask


def _pool(states, mask, pooling):
    """Texts' vectors from their states ``(R, L, hidden)``: the first token's, or
    the mean of the tokens'."""
    if pooling == "cls":
        return states[:, 0]
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1)


class PretrainedPart:
    """One text column's pretrained encoder: pools each text's ids into its
    vector, in the stead of the registry's entry (which holds no model).

    Parameters
    ----------
    path, sha256 : str
        Where the model is and its weights' SHA-256.
    pooling : {"mean", "cls"}
        The masked mean of the last states, or the first token's.
    fine_tune_layers : int
        The top layers the network trains (0: frozen).
    """

    numpy = False

    def __init__(self, path, sha256, pooling, fine_tune_layers):
        self.path, self.sha256 = path, sha256
        self.pooling = pooling
        self.fine_tune_layers = int(fine_tune_layers)
        self.top = None  # the network's own top layers (its encoder.text{i}_top)
        self._shared = None  # the Pretrained model, read on first use
        self._view = None  # (top, the model with it) of a fine-tuned encoder
        self._last = None  # (ids, pass, states) of the last fine-tuned read
        # set by a network whose experts read the tokens: pool the kept states
        self.pools_kept_states = False

    def shared(self):
        """The pretrained model, read (and its weights' hash checked) on first
        use: at build, or after unpickling."""
        if self._shared is None:
            self._shared = pretrained(self.path, self.sha256)
        return self._shared

    def pool(self, p, ops, ids, index):
        """Each text's vector ``(B, hidden)`` from its ids ``(B, slots)``."""
        missing = p[f"text{index}_missing"]  # (hidden,)
        out = missing.new_zeros((ids.shape[0], missing.shape[0]))
        rows = torch.nonzero(ids[:, 0] >= FIRST_ID).squeeze(1)  # a token or more
        if rows.numel():
            read = self._tuned if self.fine_tune_layers else self._frozen
            out = out.index_copy(0, rows, read(ids[rows]).to(out.dtype))
        return torch.where(ids[:, :1] == MISSING_TEXT, missing, out)

    def tokens(self, p, ops, ids, index):
        """Each text's last states ``(B, L, hidden)`` from its ids ``(B, L)`` and
        which are tokens ``(B, L)``: a missing text is one token, its learned
        vector; a text of no tokens has none."""
        missing = p[f"text{index}_missing"]  # (hidden,)
        states = missing.new_zeros((*ids.shape, missing.shape[0]))
        rows = torch.nonzero(ids[:, 0] >= FIRST_ID).squeeze(1)  # a token or more
        if rows.numel():
            read = self._tuned_states if self.fine_tune_layers else self._frozen_states
            states = states.index_copy(0, rows, read(ids[rows]).to(states.dtype))
        states = torch.where((ids == MISSING_TEXT).unsqueeze(-1), missing, states)
        return states, ids != PAD

    def _frozen(self, ids):
        """The frozen model's vectors of ``ids``: each distinct row's read once,
        ever, and kept; pooled from its kept states where the experts read
        them too (``pools_kept_states``), so that the model reads a text once."""
        shared = self.shared()
        from_states = self.pools_kept_states
        # apart from the vectors pooled by the model in float32
        kept = shared.vectors.setdefault((self.pooling, from_states), {})
        keys = [row.tobytes() for row in ids.cpu().numpy()]
        new = [key for key in dict.fromkeys(keys) if key not in kept]
        if new:
            rows = np.stack([np.frombuffer(key, dtype=np.int64) for key in new])
            fresh = torch.from_numpy(rows).to(ids.device)
            if from_states:
                vectors = _pool(self._frozen_states(fresh), fresh != PAD, self.pooling)
            else:
                with torch.inference_mode(False), torch.no_grad():
                    model = shared.on(ids.device)
                    vectors = _pooled(model, fresh, self.pooling, shared.pad_id)
            kept.update(zip(new, vectors.float().cpu()))
        return torch.stack([kept[key] for key in keys]).to(ids.device)

    def _frozen_states(self, ids):
        """The frozen model's last states of ``ids`` ``(R, L)``: each distinct
        text's kept once read (as float16, its own tokens only) while the kept
        states take at most ``_KEPT_STATES_BYTES``; read again after that."""
        shared = self.shared()
        kept = shared.states
        keys = [row[row != PAD].tobytes() for row in ids.cpu().numpy()]
        new = [key for key in dict.fromkeys(keys) if key not in kept]
        read = {}
        if new:
            rows = [np.frombuffer(key, dtype=np.int64) for key in new]
            padded = nn.utils.rnn.pad_sequence(
                [torch.tensor(row) for row in rows], batch_first=True
            )  # PAD is 0
            with torch.inference_mode(False), torch.no_grad():
                model = shared.on(ids.device)
                fresh = _states(model, padded.to(ids.device), shared.pad_id)
            for key, row, states in zip(new, rows, fresh.half().cpu()):
                read[key] = states = states[: len(row)].clone()
                if shared.states_bytes + states.nbytes <= _KEPT_STATES_BYTES:
                    kept[key] = states
                    shared.states_bytes += states.nbytes
        parts = [kept.get(key, read.get(key)) for key in keys]
        out = nn.utils.rnn.pad_sequence(parts, batch_first=True).float()
        out = nn.functional.pad(out, (0, 0, 0, ids.shape[1] - out.shape[1]))
        return out.to(ids.device)

    def _tuned(self, ids):
        """The vectors of ``ids`` through the shared lower layers and the
        network's own top ones; their states kept for :meth:`_tuned_states` of
        the same pass."""
        states = self._tuned_states(ids)
        self._last = (ids, self._pass(), states)
        return _pool(states, ids != PAD, self.pooling)

    def _tuned_states(self, ids):
        """The last states of ``ids`` through the shared lower layers and the
        network's own top ones: those of the same pass's :meth:`_tuned` if it read
        the same ids (the expert's tokens beside the pooled vector, read once)."""
        last, self._last = self._last, None
        cut = _TorchOps.cut_padding(ids)
        if last is not None and last[1] == self._pass():
            seen, beyond = last[0][:, : cut.shape[1]], last[0][:, cut.shape[1] :]
            same = seen.shape == cut.shape and torch.equal(seen, cut)
            if same and not beyond.any():  # PAD is 0: the same texts
                return last[2][:, : cut.shape[1]]
        shared = self.shared()
        if self._view is None or self._view[0] is not self.top:
            self._view = (self.top, shared.with_top(self.top))
        shared.on(ids.device)  # the lower layers; the top ones are the network's
        return _states(self._view[1], ids, shared.pad_id)

    def _pass(self):
        """What tells one pass from the next: whether autograd records, and the
        top layers' versions (each optimiser step moves them)."""
        versions = tuple(t._version for t in self.top.parameters())
        return torch.is_grad_enabled(), versions

    def __getstate__(self):  # a pickle names the model; it is read again on use
        return {**self.__dict__, "_shared": None, "_view": None, "_last": None}

    def __deepcopy__(self, memo):
        # a copy shares the frozen model (and the vectors it read), its top
        # layers copied with the network that holds them
        copied = object.__new__(type(self))
        memo[id(self)] = copied
        copied.__dict__.update(self.__dict__)
        copied.top = copy.deepcopy(self.top, memo)
        copied._view = copied._last = None
        return copied


class TransformersText:
    """``"transformers"``: a pretrained Hugging Face encoder's pooled last states
    (see the module's description); each column's model is held by the part its
    :meth:`build` returns."""

    name = "transformers"
    doc = "a pretrained Hugging Face encoder's pooled last states"
    numpy = False  # runs in PyTorch only
    # The linear term at ten times learning_rate, as the hashed encoder's (the mean
    # of a text's rows moves a tenth as fast as one row of a text of ten tokens);
    # the fine-tuned layers at TOP_LR_SCALE times.
    lr_scales = {"*encoder.text*_linear": 10.0, "*encoder.text*_top.*": TOP_LR_SCALE}

    def build(self, encoder, index, n_ids, width, slots, settings):
        """Register column ``index``'s learned vector of a missing text and, if
        fine-tuned, its top layers on ``encoder``; returns the column's part,
        which holds the pretrained model outside the module tree."""
        part = PretrainedPart(
            settings["path"],
            settings["sha256"],
            settings["pooling"],
            settings["fine_tune_layers"],
        )
        shared = part.shared()
        if shared.width != width:
            raise ValueError(
                f"the model at {part.path!r} has vectors of {shared.width}, not {width}"
            )
        missing = nn.Parameter(torch.zeros(width))
        encoder.register_parameter(f"text{index}_missing", missing)
        if part.fine_tune_layers:
            part.top = shared.top_layers(part.fine_tune_layers)
            encoder.add_module(f"text{index}_top", part.top)
        return part

    def width(self, width):
        """The encoded input's values of a text of vectors of ``width``."""
        return width

    def pool(self, p, ops, ids, index):
        """Never called: the column's part (:meth:`build`'s) pools."""
        raise RuntimeError("a pretrained text encoder pools through its column's part")
