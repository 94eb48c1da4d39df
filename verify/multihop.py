"""Questions that need two sections (task ``multihop``): the check that refuses a single hop.

A ``multihop`` sample quotes two sections or more, each quote a claim citing its own section,
and answers from them. Every claim passing says only that each statement is supported by the
sections together. What makes the sample multi-hop is that no one of them would do, so
:func:`single_hop` refuses it (reason ``single_hop``):

1. when its claims cite fewer than two distinct sections;
2. when one cited section alone supports every statement of its answer (its sentences and the
   clauses of compound ones, :func:`~groundset.verify.claims.split_claims`), each checked
   against each cited section by the verifier's own checker. That section is named.

The reader model (:mod:`groundset.verify.section_reader`) is not asked whether one cited section
answers the question alone: it cannot tell a section that answers part of a question from one
that answers all of it. On real DRF sections, 4 questions in two parts each asked against both
sections that answer one part each, and 3 asked against the section that answers them whole (and
one against a section that answers a part), the bundled 1.5B gave P(yes) 0.41-0.84 to the nine
sections answering a part (8 of 9 at or above its 0.45 threshold) and 0.59-0.82 to the three
answering whole: it would refuse all 4 real two-section questions. ``benchmarks/multihop_set.py``
records its P(yes) for each cited section beside the samples to label, to measure it on more.

The checker decides on the answer's wording, not on the question: an answer that blends the
words of two sections saying the same thing (the 3.0 release note's "compact JSON ... by
default" and the ``COMPACT_JSON`` setting's "compact representations") is supported by neither
alone, and such a single-hop question is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from groundset.records import Chunk, Sample, Source
from groundset.verify.base import Checker
from groundset.verify.claims import sample_text, split_claims

__all__ = ["MIN_SECTIONS", "MULTIHOP", "SingleHop", "pages_cited", "single_hop"]

#: The task whose samples are checked this way.
MULTIHOP = "multihop"
#: Distinct sections a multi-hop sample's claims must cite.
MIN_SECTIONS = 2


@dataclass(frozen=True)
class SingleHop:
    """A multi-hop sample that needs only one section: ``section`` answers it alone (or is the
    only one its claims cite); None when they cite none or its answer states nothing."""

    section: Source | None


def single_hop(sample: Sample, found: dict[str, Chunk], checker: Checker) -> SingleHop | None:
    """Whether ``sample`` is answered from one section, and by which; None when it needs two.

    Args:
        sample: a ``multihop`` sample whose claims all passed.
        found: the chunks it cites, by id.
        checker: the verifier's checker, asked whether each section alone supports each
            statement of the answer.
    """
    cited = _cited_sections(sample, found)
    if len(cited) < MIN_SECTIONS:
        return SingleHop(_source(cited[0]) if cited else None)
    statements = split_claims(sample_text(sample)[1])
    if not statements:
        return SingleHop(None)
    alone = _answering_alone(statements, cited, checker)
    return SingleHop(_source(alone)) if alone is not None else None


def pages_cited(sample: Sample) -> set[str]:
    """The URLs of the pages a sample's claims cite (known from its sources)."""
    ids = {c.chunk_id for claim in sample.claims for c in claim.citations}
    return {s.doc_url for s in sample.sources if s.chunk_id in ids}


def _cited_sections(sample: Sample, found: dict[str, Chunk]) -> list[Chunk]:
    """The distinct sections the claims cite, in order of first citation."""
    ids = dict.fromkeys(c.chunk_id for claim in sample.claims for c in claim.citations)
    return [found[i] for i in ids if i in found]


def _answering_alone(
    statements: Sequence[str], sections: Sequence[Chunk], checker: Checker
) -> Chunk | None:
    """The section that supports every statement by itself (the surest when several do)."""
    pairs = [(s, section.text) for section in sections for s in statements]
    supports = checker.check(pairs)
    best: tuple[float, Chunk] | None = None
    for i, section in enumerate(sections):
        own = supports[i * len(statements) : (i + 1) * len(statements)]
        if all(s.supported for s in own):
            weakest = min(s.score for s in own)
            if best is None or weakest > best[0]:
                best = (weakest, section)
    return best[1] if best is not None else None


def _source(chunk: Chunk) -> Source:
    return Source(chunk_id=chunk.id, content_sha256=chunk.content_sha256,
                  doc_url=chunk.doc_url, heading_path=chunk.heading_path)  # fmt: skip
