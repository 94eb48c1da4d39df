"""Passage planning: even coverage of documents and sections, seeded, with related passages."""

from __future__ import annotations

from collections import Counter

import pytest
from drf_passages import MemoryPassages

from groundset.errors import GenerationError
from groundset.generate.passages import plan_passages
from groundset.records import Chunk

PERSONAS = ["a student", "an SRE"]
STYLES = ["how-to", "why"]


def plan(chunks: list[Chunk], count: int, seed: int = 0, max_passages: int = 3) -> list:
    return plan_passages(
        MemoryPassages(chunks), count, seed=seed, personas=PERSONAS, styles=STYLES,
        max_passages=max_passages,
    )  # fmt: skip


def test_every_document_before_any_second_section(drf_passage_chunks: list[Chunk]) -> None:
    docs = {c.doc_url for c in drf_passage_chunks}
    plans = plan(drf_passage_chunks, len(docs) * 2)
    first_round = [p.passages[0].doc_url for p in plans[: len(docs)]]
    assert sorted(first_round) == sorted(docs)
    assert Counter(p.passages[0].doc_url for p in plans) == dict.fromkeys(docs, 2)


def test_sections_do_not_repeat_until_all_are_used(drf_passage_chunks: list[Chunk]) -> None:
    usable = [c for c in drf_passage_chunks if len(c.text) >= 200]
    plans = plan(drf_passage_chunks, len(usable))
    assert {p.passages[0].id for p in plans} == {c.id for c in usable}


def test_the_seed_decides_the_plan(drf_passage_chunks: list[Chunk]) -> None:
    def ids(seed: int) -> list[tuple[str, ...]]:
        return [tuple(c.id for c in p.passages) for p in plan(drf_passage_chunks, 8, seed)]

    assert ids(1) == ids(1)
    assert ids(1) != ids(2)


def test_personas_styles_and_related_passages(drf_passage_chunks: list[Chunk]) -> None:
    plans = plan(drf_passage_chunks, 20)
    assert {p.persona for p in plans} == set(PERSONAS)
    assert {p.style for p in plans} == set(STYLES)
    sizes = Counter(len(p.passages) for p in plans)
    assert set(sizes) == {1, 2, 3}
    for p in plans:
        assert len({c.id for c in p.passages}) == len(p.passages)  # no passage twice


def test_a_section_another_page_repeats_word_for_word_is_shown_once(
    drf_passage_chunks: list[Chunk],
) -> None:
    # As DRF's parsers and renderers pages both describe the YAML package in the same words.
    throttling = [c for c in drf_passage_chunks if c.doc_url.endswith("/throttling/")]
    copies = [
        c.model_copy(update={
            "id": f"copy-{c.id}", "doc_url": c.doc_url.replace("throttling", "renderers"),
            "heading_path": c.heading_path.replace("Throttling", "Renderers"),
        })
        for c in throttling
    ]  # fmt: skip
    plans = plan([*drf_passage_chunks, *copies], 40)
    assert any(p.passages[0] in throttling and len(p.passages) > 1 for p in plans)
    for p in plans:
        assert len({c.text for c in p.passages}) == len(p.passages), [c.id for c in p.passages]


def test_one_passage_when_asked(drf_passage_chunks: list[Chunk]) -> None:
    source = MemoryPassages(drf_passage_chunks)
    plans = plan_passages(source, 5, seed=0, personas=PERSONAS, styles=STYLES, max_passages=1)
    assert all(len(p.passages) == 1 for p in plans)
    assert source.searches == []  # no retrieval needed


def test_a_corpus_without_usable_passages_is_an_error(drf_passage_chunks: list[Chunk]) -> None:
    short = [c.model_copy(update={"text": "Too short."}) for c in drf_passage_chunks[:3]]
    with pytest.raises(GenerationError, match="no passage of 200 characters"):
        plan(short, 1)
