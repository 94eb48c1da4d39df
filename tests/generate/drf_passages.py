"""Passages made of real DRF documentation text, and an in-memory passage source over them.

Each chunk is one ``<h2>`` section of an API-guide page of the DRF fixture site: its paragraphs,
as the page has them. Search is plain word overlap, enough to find related sections.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import lxml.html

from groundset.records import Chunk, Hit

SITE = Path(__file__).resolve().parents[1] / "fixtures" / "sites" / "drf" / "v2026-07-31"
PAGES = ("throttling", "permissions", "pagination", "versioning", "caching", "filtering")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z_]{3,}", text.lower()))


def drf_chunks(pages: tuple[str, ...] = PAGES) -> list[Chunk]:
    """One chunk per ``<h2>`` section of the given API-guide pages."""
    chunks = []
    for page in pages:
        path = SITE / "api-guide" / page / "index.html"
        if not path.exists():
            raise FileNotFoundError(f"missing test fixture: {path}")
        tree = lxml.html.parse(str(path))
        title = " ".join(tree.xpath("string(//h1)").split()).rstrip("¶").strip()
        url = f"https://www.django-rest-framework.org/api-guide/{page}/"
        heading, paragraphs, position = title, [], 0
        for el in tree.xpath("//h1 | //h2 | //p"):
            if el.tag == "p":
                text = " ".join(el.text_content().split())
                if text:
                    paragraphs.append(text)
                continue
            if paragraphs:
                chunks.append(_chunk(url, title, heading, position, paragraphs))
                position += 1
            heading = " ".join(el.text_content().split()).rstrip("¶").strip()
            paragraphs = []
        if paragraphs:
            chunks.append(_chunk(url, title, heading, position, paragraphs))
    return chunks


def _chunk(url: str, title: str, heading: str, position: int, paragraphs: list[str]) -> Chunk:
    text = "\n\n".join(paragraphs)
    sha = hashlib.sha256(text.encode()).hexdigest()
    path = title if heading == title else f"{title} > {heading}"
    cid = hashlib.sha256(f"{url}|{path}|{sha}".encode()).hexdigest()[:16]
    return Chunk(
        id=cid, text=text, doc_url=url, title=title, heading_path=path,
        position=position, content_sha256=sha, lang="en",
    )  # fmt: skip


class MemoryPassages:
    """A passage source over a list of chunks (the methods generate needs of an Index)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self._chunks = chunks
        self.searches: list[str] = []

    def chunks(self, *, doc_url: str | None = None) -> Iterator[Chunk]:
        yield from (c for c in self._chunks if doc_url is None or c.doc_url == doc_url)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        self.searches.append(query)
        q = _words(query)
        scored = sorted(self._chunks, key=lambda c: (-len(q & _words(c.text)), c.id))
        return [Hit(chunk=c, score=float(len(q & _words(c.text)))) for c in scored[:k]]

    def get(self, ids: list[str]) -> dict[str, Chunk]:
        return {c.id: c for c in self._chunks if c.id in set(ids)}
