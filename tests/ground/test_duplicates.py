"""Print views and single-page books are left out of the index; a killed index is finished."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import markdownify
import pytest

from groundset.corpus import Corpus
from groundset.crawl import crawl
from groundset.crawl.settings import CrawlSettings
from groundset.ground import Embedder, Index, chunk_document
from groundset.ground.duplicates import aggregate_pages

from fixture_paths import fixture_path
from sitesrv import SiteServer


def _crawled(site: str, dest: Path, start: str = "", **settings: object) -> tuple[str, Path]:
    server = SiteServer(fixture_path("sites", site), html_suffix=True)
    try:
        settings["start_urls"] = [server.url + start]
        crawl(CrawlSettings(**settings), dest)  # type: ignore[arg-type]
    finally:
        server.close()
    return server.url, dest


@pytest.fixture(scope="module")
def mdbook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    yield _crawled("mdbook-guide", tmp_path_factory.mktemp("mdbook") / "corpus")


def test_the_mdbook_print_view_is_the_one_aggregate(mdbook: tuple[str, Path]) -> None:
    url, corpus_dir = mdbook
    with Corpus(corpus_dir) as corpus:
        urls = [doc.url for doc in corpus.documents()]
        found = aggregate_pages(corpus.documents())
    assert f"{url}print.html" in urls
    # Two CLI pages share sections with each other and with the print view: not aggregates.
    assert found == {f"{url}print.html"}


def test_a_print_view_extracted_otherwise_than_its_chapters_is_found(
    mdbook: tuple[str, Path],
) -> None:
    # A page of megabytes may take another extraction path than its chapters (rustc-dev-guide's
    # print.html did): other Markdown for the same words must not hide it.
    url, corpus_dir = mdbook
    html = (fixture_path("sites", "mdbook-guide") / "print.html").read_text(encoding="utf-8")
    other_markdown = markdownify.markdownify(html, heading_style="ATX", bullets="*")
    with Corpus(corpus_dir) as corpus:
        documents = [
            dataclasses.replace(d, markdown=other_markdown) if d.url.endswith("print.html") else d
            for d in corpus.documents()
        ]
    assert other_markdown not in {d.markdown for d in documents if "print" not in d.url}
    assert aggregate_pages(documents) == {f"{url}print.html"}


def test_versions_side_by_side_are_not_aggregates(tmp_path: Path) -> None:
    # Each old docs version repeats the current one page for page: copies, not a print view.
    _, corpus_dir = _crawled("ts-jest", tmp_path / "corpus", "ts-jest/", versions="all")
    with Corpus(corpus_dir) as corpus:
        assert len(list(corpus.documents())) >= 140
        assert aggregate_pages(corpus.documents()) == set()


def test_drf_has_no_aggregate(drf_corpus_old: Path) -> None:
    with Corpus(drf_corpus_old) as corpus:
        assert aggregate_pages(corpus.documents()) == set()


def test_the_index_leaves_the_print_view_out(
    mdbook: tuple[str, Path], embedder: Embedder, tmp_path: Path
) -> None:
    url, corpus_dir = mdbook
    with Index.open(corpus_dir, embedder=embedder) as index, Corpus(corpus_dir) as corpus:
        summary = index.update(corpus)
        doc_urls = {chunk.doc_url for chunk in index.chunks()}
    assert summary.set_aside == (f"{url}print.html",)
    assert f"duplicate_content (its text is all on other pages): {url}print.html" in str(summary)
    assert f"{url}print.html" not in doc_urls
    assert f"{url}cli/serve.html" in doc_urls and len(doc_urls) >= 25


def test_an_index_killed_mid_write_is_finished_by_the_next_one(
    mdbook: tuple[str, Path], embedder: Embedder, tmp_path: Path
) -> None:
    _, crawled = mdbook
    root = tmp_path / "corpus"
    shutil.copytree(crawled, root, ignore=shutil.ignore_patterns("index"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundset", "index", "--corpus", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # "indexing: 0/N chunks", then a line a tenth
        if line.startswith("indexing:") and not line.startswith("indexing: 0/"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "killed while it wrote"
    with Index.open(root, embedder=embedder) as index, Corpus(root) as corpus:
        partial = len(list(index.chunks()))
        index.update(corpus)
        stored = {c.id: c for c in index.chunks()}
        aggregates = aggregate_pages(corpus.documents())
        expected = {
            c.id: c
            for d in corpus.documents()
            if d.url not in aggregates
            for c in chunk_document(d, embedder.count_tokens)
        }
    assert 0 < partial < len(expected)
    assert stored == expected
