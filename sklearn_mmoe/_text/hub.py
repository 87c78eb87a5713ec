"""Hugging Face models on this machine: the ``transformers`` package (an optional
extra, imported only when asked for), a model's local directory (never a
download: every read is ``local_files_only``) and the SHA-256 of its weights, by
which a fitted model names the encoder it read.

Shared by the tokenizer (:mod:`sklearn_mmoe._inputs.text_transformers`) and the
network's part (:mod:`sklearn_mmoe._network.text_transformers`).
"""

import contextlib
import hashlib
import os
import re

# How a text's token states become one vector.
POOLINGS = ("mean", "cls")
# The files a model's weights are in, in its directory (sharded or not).
WEIGHTS_FILES = re.compile(r"(model.*\.safetensors|pytorch_model.*\.bin)")
_READ = 2**20  # bytes hashed at a time
# Each weights' SHA-256 by their files' (path, size, modification time): hashed
# once per process, however often a model is built.
_HASHES = {}


def import_transformers():
    """The ``transformers`` module, or an ImportError that says how to install
    it."""
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(
            'text_encoder="transformers" needs the transformers package: pip '
            'install "sklearn-mmoe[transformers]".'
        ) from exc
    return transformers


@contextlib.contextmanager
def quiet_loading():
    """Reading a model without ``transformers``' progress bars (a fit's output is
    the package's own); their setting is put back after."""
    logging = import_transformers().utils.logging
    shown = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            logging.enable_progress_bar()


def model_directory(path):
    """The local directory that ``path`` names: itself, or the snapshot of a model
    of that name in the local Hugging Face cache; a ValueError naming ``path``
    where there is none."""
    if os.path.isdir(path):
        return path
    import_transformers()
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(path, local_files_only=True)
    except (OSError, ValueError):
        why = "no such directory, nor a model in the local Hugging Face cache"
        raise ValueError(no_model(path, why)) from None


def weights_sha256(directory):
    """The SHA-256 (hex) of the model's weights in ``directory``: of its weights
    files' bytes, one after another in the order of their names (of a single
    file, ``sha256sum``'s)."""
    names = sorted(n for n in os.listdir(directory) if WEIGHTS_FILES.fullmatch(n))
    if not names:
        raise ValueError(
            no_model(directory, "no weights (model*.safetensors, pytorch_model*.bin)")
        )
    files = [os.path.realpath(os.path.join(directory, n)) for n in names]
    key = tuple((f, os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files)
    if key not in _HASHES:
        digest = hashlib.sha256()
        for f in files:
            with open(f, "rb") as handle:
                while chunk := handle.read(_READ):
                    digest.update(chunk)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def verified_directory(path, sha256=None):
    """The directory of ``path``'s model and the SHA-256 of its weights; refused
    (a ValueError naming the path and both hashes) where ``sha256`` is given and
    differs."""
    directory = model_directory(path)
    digest = weights_sha256(directory)
    if sha256 is not None and digest != sha256:
        raise ValueError(
            "refusing a load whose encoder differs: the model was fitted with the "
            f"weights of SHA-256 {sha256}, but those at {str(path)!r} now have "
            f"{digest}. Put the fitted weights back there, or fit again on the new "
            "ones."
        )
    return directory, digest


def no_model(path, why):
    """The message of a path that holds no model, and why."""
    return (
        f"text_options' path {str(path)!r} holds no Hugging Face model ({why}). It "
        "must be a directory that save_pretrained wrote (the model and its "
        "tokenizer), or the name of a model already in the local Hugging Face "
        "cache: nothing is downloaded."
    )
