"""The corpus record: document files and the manifest."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from groundset.corpus import Corpus, Document, content_sha256
from groundset.errors import UsageError


def _doc(markdown: str = "# Fields\n\nEach field in a Form class validates data.\n") -> Document:
    return Document(
        url="https://h/api-guide/fields/",
        title="Serializer fields: a title with a colon",
        lang="en",
        markdown=markdown,
        fetched_at="2026-11-22T08:00:00+00:00",
        etag='"abc"',
        last_modified="Sun, 22 Nov 2026 08:00:00 GMT",
    )


def test_document_round_trips_through_its_file() -> None:
    doc = _doc("---\nA body that starts like front matter.\n---\n")
    assert Document.from_text(doc.to_text()) == doc
    assert doc.content_sha256 == content_sha256(doc.markdown)


def test_damaged_documents_are_detected(tmp_path: Path) -> None:
    with Corpus(tmp_path, create=True) as corpus:
        corpus.write_document("fields", _doc())
        assert corpus.read_document("fields") == _doc()
        path = corpus.doc_path("fields")
        path.write_text(path.read_text().replace("validates", "invalidates"))
        assert corpus.read_document("fields") is None  # body no longer matches its hash
        path.write_text("no front matter")
        assert corpus.read_document("fields") is None
        path.unlink()
        assert corpus.read_document("fields") is None


def test_opening_a_missing_corpus_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no corpus at .*groundset crawl"):
        Corpus(tmp_path / "nowhere")


def test_slugs_never_collide(tmp_path: Path) -> None:
    with Corpus(tmp_path, create=True) as corpus:
        first = corpus.claim_slug("https://h/a/b/")
        corpus.upsert_page("https://h/a/b/", slug=first, status="active")
        second = corpus.claim_slug("https://other/a/b/")
        assert first == "a--b" and second != first and second.startswith("a--b-")


def test_slugs_stay_unique_when_a_url_looks_like_another_ones_fallback(tmp_path: Path) -> None:
    """``/a/b/`` and ``/a--b/`` share the slug ``a--b``, so the second falls back to
    ``a--b-<hash of its URL>``: a page named just so must not lose its file to it."""
    second = "https://h/a--b/"
    lookalike = f"https://h/a--b-{hashlib.sha256(second.encode()).hexdigest()[:10]}/"
    urls = [lookalike, "https://h/a/b/", second]
    with Corpus(tmp_path, create=True) as corpus:
        for url in urls:
            slug = corpus.claim_slug(url)
            corpus.write_document(slug, replace(_doc(f"# {url}\n\nThe page at {url}.\n"), url=url))
            corpus.upsert_page(url, slug=slug, status="active")
        slugs = [corpus.claim_slug(url) for url in urls]  # a stored page keeps its slug
        assert slugs == [row.slug for row in map(corpus.page, urls) if row]
        assert len(set(slugs)) == 3
        assert {doc.url: doc.markdown for doc in corpus.documents()} == {
            url: f"# {url}\n\nThe page at {url}.\n" for url in urls
        }


def test_a_doc_file_holding_another_pages_document_is_damaged(tmp_path: Path) -> None:
    with Corpus(tmp_path, create=True) as corpus:
        for url, slug in (("https://h/a/", "a"), ("https://h/b/", "b")):
            corpus.write_document(slug, replace(_doc(), url=url))
            corpus.upsert_page(url, slug=slug, status="active")
        corpus.write_document("b", replace(_doc(), url="https://h/a/"))  # as one once was
        assert corpus.read_document("b") is None
        assert [doc.url for doc in corpus.documents()] == ["https://h/a/"]
        assert corpus.unreadable == ["https://h/b/"]
