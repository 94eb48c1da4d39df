"""Retrieval quality on labelled queries: hit@1 and hit@k, by page and by section.

Labels can come from any MkDocs site: its ``search/search_index.json`` names every section
with its title, text and location, which is a free labelled query set for the site's own
documentation (:func:`mkdocs_queries`).
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin

from groundset.ground.chunking import PATH_SEPARATOR
from groundset.records import Chunk

__all__ = ["HitRates", "LabelledQuery", "hit_rates", "mkdocs_queries", "section_hit"]

_TAG = re.compile(r"<[^>]+>")
_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}\s+(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class LabelledQuery:
    """A query and where its answer is: a page, and a section heading ("" for the page intro)."""

    query: str
    doc_url: str
    heading: str


@dataclass(frozen=True)
class HitRates:
    """Shares of queries whose right page, or right section of the right page, was retrieved."""

    queries: int
    page_at_1: float
    page_at_k: float
    section_at_1: float
    section_at_k: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _plain(text: str) -> str:
    """Lower-case letters and digits only, so headings compare across Markdown and HTML."""
    return re.sub(r"[^0-9a-z]+", "", html.unescape(_TAG.sub("", text)).lower())


def mkdocs_queries(
    search_index: Path,
    base_url: str,
    *,
    source: Literal["title", "text"],
    every: int = 1,
) -> list[LabelledQuery]:
    """Queries made from an MkDocs search index, one per section.

    Only sections whose title is unique in the site (so that the label is unambiguous), has
    letters (not a bare version number) and has some text are used.

    Args:
        search_index: the site's ``search/search_index.json``.
        base_url: the URL the site was crawled from; locations are resolved against it.
        source: ``title`` asks for the section's title, ``text`` for its first sentence.
        every: keep one section in ``every``, in index order, for a smaller set.

    Returns:
        The queries, each labelled with the page URL and the section's heading.
    """
    docs = json.loads(search_index.read_text(encoding="utf-8"))["docs"]
    titles = Counter(_plain(entry["title"]) for entry in docs)
    queries: list[LabelledQuery] = []
    for entry in docs:
        title = " ".join(html.unescape(_TAG.sub("", entry["title"])).split())
        text = " ".join(html.unescape(_TAG.sub(" ", entry["text"])).split())
        if titles[_plain(entry["title"])] > 1 or not re.search("[A-Za-z]", title):
            continue
        if len(text.split()) < 8:
            continue
        page, _, anchor = entry["location"].partition("#")
        query = title if source == "title" else _SENTENCE_END.split(text, maxsplit=1)[0]
        heading = title if anchor else ""
        queries.append(LabelledQuery(query, urljoin(base_url, page), heading))
    return queries[::every]


def section_hit(chunk: Chunk, heading: str) -> bool:
    """Whether ``chunk`` holds the section headed ``heading`` ("" meaning the page intro).

    A section is held by the chunks that carry its heading last in their path, and by the
    chunk of an ancestor it was merged into, which writes its heading out as a Markdown line.
    """
    parts = chunk.heading_path.split(PATH_SEPARATOR) if chunk.heading_path else []
    if not heading:
        return len(parts) <= 1
    wanted = _plain(heading)
    if parts and _plain(parts[-1]) == wanted:
        return True
    return any(
        _plain(m.group(1)) == wanted
        for m in map(_HEADING_LINE.match, chunk.text.splitlines())
        if m is not None
    )


def hit_rates(
    search: Callable[[str, int], Sequence[Chunk]], queries: Sequence[LabelledQuery], *, k: int = 5
) -> HitRates:
    """Run every query and count hits at rank 1 and within the first ``k``.

    Args:
        search: returns the best chunks for a query, best first, e.g.
            ``lambda q, k: [h.chunk for h in index.search(q, k, mode="dense")]``.
        queries: labelled queries.
        k: the depth of the second figure.

    Returns:
        The four shares, each between 0 and 1.
    """
    page1 = pagek = section1 = sectionk = 0
    for q in queries:
        chunks = search(q.query, k)
        pages = [c.doc_url == q.doc_url for c in chunks]
        sections = [p and section_hit(c, q.heading) for p, c in zip(pages, chunks, strict=True)]
        page1 += bool(pages[:1] and pages[0])
        pagek += any(pages)
        section1 += bool(sections[:1] and sections[0])
        sectionk += any(sections)
    n = max(len(queries), 1)
    return HitRates(len(queries), page1 / n, pagek / n, section1 / n, sectionk / n)
