"""The corpus record: document files and the manifest."""

from __future__ import annotations

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
