"""Pages that only repeat other pages: print views and single-page books.

mdBook's ``print.html`` holds every chapter of the book; indexed beside the chapters, every
section is in the index twice, and retrieval and samples cite the print page. Such a page is
found by its content, whatever the generator: most of its text appears on other pages, and no
single other page holds most of it. The second condition keeps two copies of one page apart
from an aggregate (docs versions crawled side by side repeat each other page for page, and
neither is a print view of the other).

Text is compared as runs of :data:`SHINGLE_WORDS` words, not as sections or Markdown: an
aggregate is often extracted differently from its chapters (a page of megabytes may take the
extractor's fallback, which writes other Markdown; chapter boundaries need not be section
boundaries), and its links point at its own anchors. So link targets are dropped, only the
words are kept, and one run in :data:`SAMPLE_ONE_IN` is compared (chosen by a hash of its
words, so the same runs are chosen on every page): a site of thousands of pages is compared in
memory a small share of its text. Pages with fewer than :data:`MIN_SHINGLES` chosen runs are too
short to say anything.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable

from groundset.corpus import Document

__all__ = ["MIN_SHINGLES", "SHINGLE_WORDS", "aggregate_pages"]

#: Words in one compared run.
SHINGLE_WORDS = 8
#: One run in this many is compared.
SAMPLE_ONE_IN = 8
#: Pages with fewer chosen runs than this are not judged.
MIN_SHINGLES = 12
#: The share of a page's compared runs that must appear on other pages.
COVERED_SHARE = 0.9
#: The most of a page's compared runs that any one other page may hold.
LARGEST_SOURCE_SHARE = 0.5
#: The fewest other pages an aggregate draws from.
MIN_SOURCES = 3

_LINK = re.compile(r"(!?)\[([^\]]*)\]\([^)]*\)")
_WORD = re.compile(r"[^\W_]+")


def aggregate_pages(documents: Iterable[Document]) -> set[str]:
    """The URLs of the pages whose text all appears, spread over several, on other pages."""
    shingles: dict[str, set[int]] = {}
    holders: defaultdict[int, set[str]] = defaultdict(set)
    for doc in documents:
        chosen = _shingles(doc.markdown)
        shingles[doc.url] = chosen
        for shingle in chosen:
            holders[shingle].add(doc.url)
    found = set()
    for url, chosen in shingles.items():
        if len(chosen) < MIN_SHINGLES:
            continue
        covered = 0
        by_source: Counter[str] = Counter()
        for shingle in chosen:
            others = holders[shingle] - {url}
            if others:
                covered += 1
                by_source.update(others)
        if (
            covered >= COVERED_SHARE * len(chosen)
            and len(by_source) >= MIN_SOURCES
            and max(by_source.values()) <= LARGEST_SOURCE_SHARE * len(chosen)
        ):
            found.add(url)
    return found


def _shingles(markdown: str) -> set[int]:
    """The chosen runs of words of a page, as hashes stable across processes."""
    words = _WORD.findall(_LINK.sub(r"\2", markdown).lower())
    out = set()
    for start in range(len(words) - SHINGLE_WORDS + 1):
        digest = zlib.crc32(" ".join(words[start : start + SHINGLE_WORDS]).encode())
        if digest % SAMPLE_ONE_IN == 0:
            out.add(digest)
    return out
