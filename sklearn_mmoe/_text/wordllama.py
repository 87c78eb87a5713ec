"""WordLlama (MIT), whose tokenizer and token vectors ship inside its PyPI wheel
(``pip install "sklearn-mmoe[text]"``), read from the installed package: nothing is
downloaded."""

import functools
import hashlib
import pathlib

import numpy as np

# WordLlama's weights in its wheel: the configuration and the widest vectors.
CONFIG, WIDTH = "l2_supercat", 256


@functools.lru_cache(maxsize=1)
def wordllama_model():
    """WordLlama's tokenizer, token vectors ``(32000, 256)`` float32, version and
    the weights' SHA-256, read once from the installed package (offline)."""
    try:
        import wordllama
    except ImportError as exc:
        raise ImportError(
            'text_encoder="wordllama" needs the wordllama package: pip install '
            '"sklearn-mmoe[text]".'
        ) from exc
    folder = pathlib.Path(wordllama.__file__).parent
    weights = folder / "weights" / f"{CONFIG}_{WIDTH}.safetensors"
    model = wordllama.WordLlama.load(
        config=CONFIG, dim=WIDTH, cache_dir=folder, disable_download=True
    )
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    version = getattr(wordllama, "__version__", "unknown")
    vectors = np.asarray(model.embedding, dtype=np.float32)
    return model.tokenizer, vectors, version, digest
