"""Which passages each sample is written from, chosen to cover the corpus evenly.

Sections are dealt round-robin across documents in a seeded order: every document gives one
section before any gives a second, and within a document sections are drawn without repeats, so
a run of N samples spreads over as many documents and sections as N allows. Each sample then adds
up to two related passages found by retrieval, as a user's question often spans sections.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from groundset.errors import GenerationError
from groundset.generate.settings import GenerateSettings
from groundset.records import Chunk, Hit, Sample

__all__ = ["PassagePlan", "PassageSource", "even_plan", "plan_passages", "related_passages"]


class PassageSource(Protocol):
    """What the generate stage needs of an index (``groundset.ground.Index`` is one)."""

    def chunks(self, *, doc_url: str | None = None) -> Iterator[Chunk]:
        """Every chunk, or those of one document."""
        ...

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` chunks that best match ``query``, best first."""
        ...

    def get(self, ids: list[str]) -> dict[str, Chunk]:
        """The chunks among ``ids`` that exist, by id."""
        ...


@dataclass(frozen=True)
class PassagePlan:
    """The passages of one sample (the first is the one it is about) and its persona and style.

    ``origin`` is the sample a sample is made from, for tasks that rework samples (``evol``).
    """

    index: int
    passages: tuple[Chunk, ...]
    persona: str
    style: str
    origin: Sample | None = None


def plan_passages(
    source: PassageSource,
    count: int,
    *,
    seed: int,
    personas: list[str],
    styles: list[str],
    max_passages: int = 3,
    min_chars: int = 200,
) -> list[PassagePlan]:
    """Plan ``count`` samples: the same arguments on the same corpus give the same plan.

    Args:
        source: where the passages come from.
        count: how many samples.
        seed: the seed of every random choice.
        personas: who asks; one is drawn per sample.
        styles: kinds of question; one is drawn per sample.
        max_passages: most passages per sample (1 to 3).
        min_chars: sections shorter than this (a heading, a one-line stub) are not used.

    Raises:
        GenerationError: the corpus has no section long enough.
    """
    rng = random.Random(seed)
    primaries = _round_robin(list(source.chunks()), min_chars, rng)
    if not primaries:
        raise GenerationError(
            f"the index has no passage of {min_chars} characters or more",
            fix="index a corpus first (`groundset index`), or lower min_passage_chars",
        )
    plans = []
    for i in range(count):
        primary = primaries[i % len(primaries)]
        extra = rng.randint(0, max_passages - 1)
        related = related_passages(source, primary, extra, min_chars) if extra else []
        plans.append(PassagePlan(i, (primary, *related), rng.choice(personas), rng.choice(styles)))
    return plans


def even_plan(source: PassageSource, count: int, settings: GenerateSettings) -> list[PassagePlan]:
    """:func:`plan_passages` with the diversity settings of ``settings``."""
    return plan_passages(
        source, count, seed=settings.seed, personas=settings.personas, styles=settings.styles,
        max_passages=settings.max_passages, min_chars=settings.min_passage_chars,
    )  # fmt: skip


def _round_robin(chunks: list[Chunk], min_chars: int, rng: random.Random) -> list[Chunk]:
    by_doc: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in sorted(chunks, key=lambda c: (c.doc_url, c.position, c.id)):
        if len(chunk.text) >= min_chars:
            by_doc[chunk.doc_url].append(chunk)
    docs = sorted(by_doc)
    rng.shuffle(docs)
    for url in docs:
        rng.shuffle(by_doc[url])
    dealt = []
    for turn in range(max((len(v) for v in by_doc.values()), default=0)):
        dealt += [by_doc[url][turn] for url in docs if turn < len(by_doc[url])]
    return dealt


def related_passages(
    source: PassageSource, primary: Chunk, n: int, min_chars: int, *, other_pages: bool = False
) -> list[Chunk]:
    """Up to ``n`` sections that retrieval finds nearest to ``primary``, best first.

    With ``other_pages``, sections of other pages come before those of the primary's own page
    (``multihop`` wants facts spread over pages), from a few more hits.
    """
    query = f"{primary.heading_path or primary.title}\n{primary.text[:300]}"
    hits = [hit.chunk for hit in source.search(query, k=n + (8 if other_pages else 3))]
    if other_pages:
        hits.sort(key=lambda chunk: chunk.doc_url == primary.doc_url)
    found: list[Chunk] = []
    # A section another page repeats word for word (DRF's parsers and renderers pages describe
    # the same YAML package in the same words) is shown once: its copy adds nothing to read.
    shown = {_body(primary)}
    for chunk in hits:
        if chunk.id != primary.id and len(chunk.text) >= min_chars and _body(chunk) not in shown:
            found.append(chunk)
            shown.add(_body(chunk))
        if len(found) == n:
            break
    return found


def _body(chunk: Chunk) -> str:
    """A chunk's text without the heading path it starts with, whitespace collapsed."""
    text = chunk.text
    if chunk.heading_path and text.startswith(chunk.heading_path):
        text = text[len(chunk.heading_path) :]
    return " ".join(text.split())
