"""A corpus read as the sections its samples cite, and the verifier's evidence found in them.

The report and the review page both show a claim beside the section it was checked against; this
module is what they share: the sections, whole, and where a piece of evidence stands in one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from groundset.corpus import Corpus
from groundset.records import Sample, Source

__all__ = [
    "CorpusSection",
    "corpus_sections",
    "evidence_in_section",
    "find_in_text",
    "nearest_section",
]


@dataclass(frozen=True)
class CorpusSection:
    """One heading-delimited section of a corpus document, as the ground stage chunks it."""

    doc_url: str
    doc_title: str
    heading_path: str
    text: str


def corpus_sections(corpus_dir: Path) -> list[CorpusSection]:
    """Every section of every active document of a corpus, in document order.

    Args:
        corpus_dir: the corpus directory.

    Returns:
        The sections, each whole (never cut to an embedder's length), with their heading paths
        written as the chunks in the index write them.

    Raises:
        UsageError: the directory is not a corpus.
    """
    # Imported here: the ground stage brings the embedder's libraries, which only a report over a
    # corpus needs.
    from groundset.ground import chunk_document

    sections: list[CorpusSection] = []
    with Corpus(corpus_dir) as corpus:
        for doc in corpus.documents():
            # One chunk per section: no length limit, no merging of short sections into parents.
            chunks = chunk_document(doc, lambda t: len(t.split()), max_tokens=10**9, min_tokens=0)
            sections += [
                CorpusSection(doc.url, doc.title, c.heading_path, c.text.partition("\n\n")[2])
                for c in chunks
            ]
            if not chunks:
                sections.append(CorpusSection(doc.url, doc.title, "", ""))
    return sections


def evidence_in_section(evidence: str, heading_path: str) -> str:
    """The verifier's evidence as it reads in the section's own text.

    The verifier reads a chunk as it was indexed, its heading path first, so a window at the
    chunk's start begins with the heading path, which the section's text does not hold.
    """
    if heading_path and evidence.startswith(heading_path):
        return evidence.removeprefix(heading_path).lstrip()
    return evidence


def find_in_text(text: str, quote: str) -> re.Match[str] | None:
    """Where ``quote`` is in ``text``, whatever its whitespace, then ignoring case."""
    words = quote.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    return re.search(pattern, text) or re.search(pattern, text, re.IGNORECASE)


def nearest_section(sample: Sample) -> Source | None:
    """The section an ``unanswerable`` sample points at: the one its quote cites."""
    sources = {s.chunk_id: s for s in sample.sources}
    cited = (c.chunk_id for claim in sample.claims for c in claim.citations)
    return next((sources[i] for i in cited if i in sources), None)
