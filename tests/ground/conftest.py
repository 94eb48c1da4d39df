"""Ground-stage fixtures: one loaded embedder and one indexed DRF corpus per test session.

Embedding the whole DRF corpus takes a minute or two on two cores, so it happens once; tests
that change an index work on a copy (:func:`clone`), and the copy brings the embedding cache
along, so re-indexing it costs only what actually changed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from groundset.corpus import Corpus
from groundset.ground import Embedder, Index


def clone(corpus: Path, dest: Path, *, index_from: Path | None = None) -> Path:
    """Copy a corpus directory; with ``index_from``, give it that corpus's ``index/`` folder."""
    shutil.copytree(corpus, dest, ignore=shutil.ignore_patterns("index"))
    if index_from is not None:
        shutil.copytree(index_from / "index", dest / "index")
    return dest


@pytest.fixture(scope="session", name="clone")
def clone_fixture() -> Callable[..., Path]:
    """:func:`clone`, for tests."""
    return clone


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2, loaded once and shared by every index in the session."""
    model = Embedder()
    assert model.max_tokens == 256
    return model


@pytest.fixture(scope="session")
def indexed_old(
    drf_corpus_old: Path,
    embedder: Embedder,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Path:
    """The old DRF corpus with a complete index (read-only: :func:`clone` it to change it).

    The embedding cache is kept between test runs in pytest's cache folder: it is keyed by
    content and model, so it changes no result, and only the first run pays for embedding.
    """
    assert pytestconfig.cache is not None
    kept = pytestconfig.cache.mkdir("groundset-embeddings") / "embeddings.sqlite"
    root = clone(drf_corpus_old, tmp_path_factory.mktemp("ground") / "old")
    (root / "index").mkdir()
    if kept.exists():
        shutil.copyfile(kept, root / "index" / "embeddings.sqlite")
    with Index.open(root, embedder=embedder) as index, Corpus(root) as corpus:
        summary = index.update(corpus)
    assert summary.added == summary.embedded + summary.cached > 1000
    assert summary.deleted == summary.updated == summary.unchanged == 0
    shutil.copyfile(root / "index" / "embeddings.sqlite", kept)
    return root
