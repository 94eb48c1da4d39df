"""``groundset generate`` on a crawled and indexed DRF corpus (the ground stage's real Index)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from groundset.corpus import Corpus
from groundset.generate.commands import generate_command
from groundset.ground import Index
from groundset.records import Sample

from scripted import ScriptedServer


@pytest.fixture(scope="module")
def indexed_corpus(
    drf_corpus_old: Path, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Path:
    """A copy of the old DRF corpus with its index.

    Embeddings are keyed by content, so the ground tests' cache in pytest's cache folder is
    shared: whichever suite runs first pays for embedding the corpus.
    """
    cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
    kept = cache.mkdir("groundset-embeddings") / "embeddings.sqlite" if cache else None
    root = tmp_path_factory.mktemp("generate") / "corpus"
    shutil.copytree(drf_corpus_old, root, ignore=shutil.ignore_patterns("index"))
    (root / "index").mkdir()
    if kept is not None and kept.exists():
        shutil.copyfile(kept, root / "index" / "embeddings.sqlite")
    with Index.open(root) as index, Corpus(root) as corpus:
        index.update(corpus)
    if kept is not None:
        shutil.copyfile(root / "index" / "embeddings.sqlite", kept)
    return root


@pytest.mark.slow
def test_generate_command_writes_samples_citing_indexed_chunks(
    indexed_corpus: Path, scripted: ScriptedServer, tmp_path: Path
) -> None:
    out = tmp_path / "samples.jsonl"
    summary = generate_command(
        indexed_corpus, out, count=4, llm_url=scripted.url, llm_model="scripted", env={}
    )
    assert (summary.written, summary.rejected) == (4, {})
    assert {path for path, _ in scripted.requests} == {"/v1/chat/completions"}  # auto: chat
    samples = [Sample.model_validate(json.loads(line)) for line in out.read_text().splitlines()]
    with Index.open(indexed_corpus) as index:
        chunks = index.get([s.chunk_id for sample in samples for s in sample.sources])
    assert len({sample.sources[0].doc_url for sample in samples}) == 4  # four different pages
    for sample in samples:
        for source in sample.sources:
            chunk = chunks[source.chunk_id]
            assert (chunk.content_sha256, chunk.doc_url) == (source.content_sha256, source.doc_url)
        for claim in sample.claims:
            for citation in claim.citations:
                assert citation.quote in chunks[citation.chunk_id].text


@pytest.mark.slow
def test_endpoint_comes_from_the_env_the_caller_passes(
    indexed_corpus: Path,
    scripted: ScriptedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The process environment names a dead endpoint; the mapping passed in is what counts, so a
    # caller such as the offline demo can leave the user's OPENAI_* variables out.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    out = tmp_path / "samples.jsonl"
    summary = generate_command(
        indexed_corpus, out, count=1, llm_model="scripted", env={"OPENAI_BASE_URL": scripted.url}
    )
    assert summary.written == 1
    assert scripted.requests, "the endpoint from the passed env was used"
