"""Shared fixtures: the real material of tests/fixtures, served and crawled once a session.

A fixture that cannot be found fails the test with the missing path; it is never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Nothing may download model weights or data at run time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

sys.path.insert(0, str(Path(__file__).parent))

from groundset.corpus import Corpus
from groundset.crawl import crawl
from groundset.crawl.settings import CrawlSettings
from groundset.generate import LocalModelServer
from groundset.ground import Embedder, Index, SentenceTransformerEmbedder

from fixture_paths import DrfCrawls, copy_site, fixture_path
from sitesrv import SiteServer


@pytest.fixture(scope="session")
def drf_changes() -> dict:
    return json.loads(fixture_path("sites", "drf", "CHANGES.json").read_text())


@pytest.fixture(scope="session")
def drf_crawls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrfCrawls]:
    base = tmp_path_factory.mktemp("drf")
    server = SiteServer(copy_site("v2026-07-31", base / "site-old"))
    settings = CrawlSettings(start_urls=[server.url])
    old_corpus = base / "corpus-old"
    old_report = crawl(settings, old_corpus)
    new_corpus = base / "corpus-new"
    shutil.copytree(old_corpus, new_corpus)
    server.root = copy_site("v2026-08-18", base / "site-new")
    server.clear_log()
    new_report = crawl(settings, new_corpus)
    yield DrfCrawls(server, old_corpus, new_corpus, old_report, new_report, list(server.log))
    server.close()


@pytest.fixture(scope="session")
def drf_corpus_old(drf_crawls: DrfCrawls) -> Path:
    """A corpus crawled from the 2026-07-31 deploy (read-only: copy it before changing it)."""
    return drf_crawls.old_corpus


@pytest.fixture(scope="session")
def drf_corpus_new(drf_crawls: DrfCrawls) -> Path:
    """The same corpus after a recrawl of the 2026-08-18 deploy on the same address."""
    return drf_crawls.new_corpus


@pytest.fixture
def drf_site(tmp_path: Path) -> Iterator[SiteServer]:
    """A private server of the old DRF deploy, for tests that change what it serves."""
    server = SiteServer(copy_site("v2026-07-31", tmp_path / "site"))
    yield server
    server.close()


# -- the indexed DRF corpus, shared by the ground and project tests ---------------------------


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
    model = SentenceTransformerEmbedder()
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


# -- the local models behind llama.cpp --------------------------------------------------------


@pytest.fixture(scope="session")
def local_model() -> Iterator[LocalModelServer]:
    """The default local model behind llama.cpp, started once a session (or a running one)."""
    with LocalModelServer() as server:
        yield server


@pytest.fixture
def gemma_model() -> Iterator[LocalModelServer]:
    """The bundled Gemma 3 270M base model behind llama.cpp."""
    with LocalModelServer("gemma-3-270m") as server:
        yield server
