"""Lexical tokens for identifiers, BM25 over chunks, and rank fusion."""

from __future__ import annotations

from groundset.ground.retrieve import LexicalIndex, lexical_tokens, reciprocal_rank_fusion
from groundset.records import Chunk


def test_identifiers_are_kept_whole_and_split_into_parts() -> None:
    assert lexical_tokens("ModelSerializer") == ["modelserializer", "model", "serializer"]
    assert lexical_tokens("DEFAULT_THROTTLE_RATES") == [
        "default_throttle_rate",
        "default",
        "throttle",
        "rate",
    ]
    assert lexical_tokens("@api_view()") == ["api_view", "api", "view"]
    assert lexical_tokens("JSONRenderer") == ["jsonrenderer", "json", "renderer"]
    assert lexical_tokens("HTTP_400_BAD_REQUEST")[1:] == ["http", "400", "bad", "request"]


def test_questions_keep_their_content_words_in_singular() -> None:
    assert lexical_tokens("How do I set the throttle rates for classes?") == [
        "set",
        "throttle",
        "rate",
        "class",
    ]


def chunk(cid: str, text: str, url: str = "https://docs.example/a/") -> Chunk:
    return Chunk(id=cid, text=text, doc_url=url, content_sha256=cid)


def test_bm25_finds_the_exact_identifier_and_respects_the_filter() -> None:
    chunks = [
        chunk("rates", "Throttling\n\nSet DEFAULT_THROTTLE_RATES in settings."),
        chunk("classes", "Settings\n\nDEFAULT_THROTTLE_CLASSES lists the throttles."),
        chunk("other", "Pagination\n\nPAGE_SIZE sets the page size.", "https://docs.example/b/"),
    ]
    index = LexicalIndex(chunks)
    assert index.search("DEFAULT_THROTTLE_RATES", 5)[0][0].id == "rates"
    assert index.search("page size", 5, keep=lambda c: c.doc_url.endswith("/a/")) == []
    assert index.search("nothing here matches", 5) == []
    assert LexicalIndex([]).search("anything", 5) == []


def test_rank_fusion_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert [cid for cid, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == 1 / 62 + 1 / 61
