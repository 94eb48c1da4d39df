"""Pages that only repeat other pages: print views and single-page books.

mdBook's ``print.html`` holds every chapter of the book; indexed beside the chapters, every
section is in the index twice, and retrieval and samples cite the print page. Such a page is
found by its content, whatever the generator: most of its sections appear word for word on
other pages, and no single other page holds most of it. The second condition keeps two copies
of one page apart from an aggregate (docs versions crawled side by side repeat each other page
for page, and neither is a print view of the other).

Sections are compared by their text with link targets dropped (a print view points its links
at its own anchors) and whitespace collapsed; sections shorter than :data:`MIN_SECTION_CHARS`
(a heading with one line under it) are too common to say anything.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from groundset.corpus import Document
from groundset.ground.markdown import parse_sections

__all__ = ["MIN_SECTION_CHARS", "aggregate_pages"]

#: Sections shorter than this are not compared.
MIN_SECTION_CHARS = 100
#: The share of a page's compared text that must appear on other pages.
COVERED_SHARE = 0.9
#: The most of a page's compared text that any one other page may hold.
LARGEST_SOURCE_SHARE = 0.5
#: The fewest other pages an aggregate draws from.
MIN_SOURCES = 3

_LINK = re.compile(r"(!?)\[([^\]]*)\]\([^)]*\)")


def aggregate_pages(documents: Iterable[Document]) -> set[str]:
    """The URLs of the pages whose sections all appear, spread over several, on other pages."""
    sections: dict[str, dict[str, int]] = {}
    holders: defaultdict[str, set[str]] = defaultdict(set)
    for doc in documents:
        hashes = _section_hashes(doc.markdown)
        sections[doc.url] = hashes
        for digest in hashes:
            holders[digest].add(doc.url)
    found = set()
    for url, hashes in sections.items():
        total = sum(hashes.values())
        if total == 0:
            continue
        covered = 0
        by_source: Counter[str] = Counter()
        for digest, size in hashes.items():
            others = holders[digest] - {url}
            if others:
                covered += size
                for other in others:
                    by_source[other] += size
        if (
            covered >= COVERED_SHARE * total
            and len(by_source) >= MIN_SOURCES
            and max(by_source.values()) <= LARGEST_SOURCE_SHARE * total
        ):
            found.add(url)
    return found


def _section_hashes(markdown: str) -> dict[str, int]:
    """Each long enough section's digest and its length in characters."""
    out = {}
    for section in parse_sections(markdown):
        text = " ".join(_LINK.sub(r"\2", " ".join(b.text for b in section.blocks)).split())
        if len(text) >= MIN_SECTION_CHARS:
            out[hashlib.sha256(text.encode()).hexdigest()] = len(text)
    return out
