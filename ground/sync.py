"""What an index update must do to make the index match the corpus: a plan, computed, not run.

The plan compares the corpus with the stamps actually stored in the collection (see
:mod:`groundset.ground.store`), never with a record of what a previous run meant to do. So a run
that was interrupted anywhere, or chunks left over from any cause, are simply more differences
for the next plan to remove.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from groundset.corpus import Document
from groundset.ground.chunking import CHUNKER_VERSION
from groundset.ground.store import Stamp
from groundset.records import Chunk

__all__ = ["Plan", "doc_version", "plan_update"]


def doc_version(doc: Document, chunking: str) -> str:
    """What a page's chunks depend on: its content, title and language, and how it is chunked."""
    key = "\n".join([CHUNKER_VERSION, chunking, doc.content_sha256, doc.title, doc.lang])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class Plan:
    """The writes that bring the index in line with the corpus, and how to count them.

    Attributes:
        delete: ids of stored chunks that no current page version has.
        write: chunks to embed and store.
        restamp: stored chunks whose text is current but whose metadata is not.
        stamps: per doc URL, the stamp fields its chunks are written with.
        added: chunks in ``write`` that replace no deleted chunk.
        updated: chunks in ``write`` that replace a deleted chunk under the same heading path.
        unchanged: stored chunks kept as they are, or only restamped.
        documents_changed: URLs of pages (re)chunked because they are new or changed.
        documents_removed: URLs whose chunks all go because the page left the corpus.
    """

    delete: list[str] = field(default_factory=list)
    write: list[Chunk] = field(default_factory=list)
    restamp: list[Chunk] = field(default_factory=list)
    stamps: dict[str, dict[str, str | int]] = field(default_factory=dict)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    documents_changed: list[str] = field(default_factory=list)
    documents_removed: list[str] = field(default_factory=list)

    @property
    def deleted(self) -> int:
        """Deleted chunks that no written chunk replaces."""
        return len(self.delete) - self.updated


def plan_update(
    documents: Iterable[Document],
    stored: dict[str, Stamp],
    chunk: Callable[[Document], list[Chunk]],
    chunking: str,
) -> Plan:
    """Compare the corpus with the stored stamps.

    Args:
        documents: the corpus's active documents.
        stored: every stored chunk id with its stamp.
        chunk: cuts a document into chunks; called only for pages that are not fully indexed.
        chunking: the chunking settings, part of every page version.

    Returns:
        The plan; nothing has been written.
    """
    by_url: dict[str, dict[str, Stamp]] = defaultdict(dict)
    for cid, stamp in stored.items():
        by_url[stamp.doc_url][cid] = stamp
    plan = Plan()
    replaced: Counter[tuple[str, str]] = Counter()
    for doc in documents:
        version = doc_version(doc, chunking)
        held = by_url.pop(doc.url, {})
        if _complete(held, version):
            plan.unchanged += len(held)
            continue
        chunks = chunk(doc)
        if not chunks and not held:
            continue
        plan.documents_changed.append(doc.url)
        plan.stamps[doc.url] = {"doc_version": version, "doc_chunks": len(chunks)}
        current = {c.id for c in chunks}
        gone = [cid for cid in held if cid not in current]
        plan.delete.extend(gone)
        replaced.update((doc.url, held[cid].heading_path) for cid in gone)
        for c in chunks:
            if c.id not in held:
                plan.write.append(c)
                continue
            plan.unchanged += 1
            if held[c.id].doc_version != version:
                plan.restamp.append(c)
    for url, held in by_url.items():
        plan.documents_removed.append(url)
        plan.delete.extend(held)
    for c in plan.write:
        key = (c.doc_url, c.heading_path)
        if replaced[key] > 0:
            replaced[key] -= 1
            plan.updated += 1
        else:
            plan.added += 1
    return plan


def _complete(held: dict[str, Stamp], version: str) -> bool:
    """True when the stored chunks of a page are exactly those of its current version."""
    return bool(held) and all(
        s.doc_version == version and s.doc_chunks == len(held) for s in held.values()
    )
