"""Cross-language claims: the target-language text is read, not only its English rendering.

The logic is tested against a scripted OpenAI-compatible translator (what it asks, what it does
with the answers); what the bundled model reads is measured on the labelled dev set in
``test_crosslang_quality.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from groundset.records import Citation, Claim, Verdict
from groundset.verify import (
    CrossClaim,
    CrossLanguageChecker,
    DictChunkLookup,
    make_checker,
    verify_claims_file,
    verify_samples_file,
)
from groundset.verify.crosslang import BACK_PROMPT, SAME_PROMPT, make_translator, names_lost

from scripted import Reply, ScriptedServer

TURN_OFF = "Pagination can be turned off by setting the pagination class to None."
TURN_OFF_QUOTE = "Pagination can be turned off by setting the pagination class to `None`"
FAITHFUL = "La paginación se desactiva poniendo la clase de paginación en None."
# Looks like the same sentence; says pagination cannot be turned off.
FLIPPED = "La paginación no se puede desactivar poniendo la clase de paginación en None."
BACK = {
    FAITHFUL: "Pagination is turned off by setting the pagination class to None.",
    FLIPPED: "Pagination cannot be turned off by setting the pagination class to None.",
}


def _translator_script(n: int, body: dict[str, Any]) -> Reply:
    system, user = (m["content"] for m in body["messages"])
    if system == BACK_PROMPT:
        return Reply(BACK.get(user, "Something else entirely."))
    assert system == SAME_PROMPT
    rendering, back = (line.split(": ", 1)[1] for line in user.splitlines())
    if "(Spanish)" in user:
        assert user.startswith("A (English): ")
    # The scripted reader finds only the faithful translation, and its back-translation, to
    # mean what the rendering says.
    return Reply("yes" if rendering == TURN_OFF and back in (FAITHFUL, BACK[FAITHFUL]) else "no")


@pytest.fixture
def translator_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer(_translator_script)
    yield server
    server.close()


def _endpoint(server: ScriptedServer, **options: Any) -> dict[str, Any]:
    return {"translator_base_url": server.url, "translator_model": "reader", **options}


def test_a_translation_that_changes_the_meaning_is_refused_though_its_rendering_is_right(
    translator_server: ScriptedServer, pagination_chunks: dict[str, Any]
) -> None:
    evidence = pagination_chunks["Pagination"].text
    translator = make_translator("reader", translator_server.url)
    checker = CrossLanguageChecker(make_checker("calibrated"), translator)
    faithful, flipped, swahili = checker.check(
        [
            CrossClaim(FAITHFUL, "es", evidence, TURN_OFF),
            CrossClaim(FLIPPED, "es-MX", evidence, TURN_OFF),
            CrossClaim("Kurasa zinaweza kuzimwa.", "sw", evidence, TURN_OFF),
        ]
    )
    assert faithful.supported and not faithful.reasons
    assert not flipped.supported and flipped.reasons == ("translation_mismatch",)
    # The endpoint reads every language unless told: Swahili is read too (and mistranslated).
    assert not swahili.supported
    backs = [b["messages"][1]["content"] for _, b in translator_server.requests]
    assert FAITHFUL in backs and FLIPPED in backs
    translator.close()


def test_a_language_the_translator_does_not_read_is_refused_and_nothing_is_asked(
    translator_server: ScriptedServer, pagination_chunks: dict[str, Any]
) -> None:
    evidence = pagination_chunks["Pagination"].text
    translator = make_translator("reader", translator_server.url, languages=["es"])
    checker = CrossLanguageChecker(make_checker("calibrated"), translator)
    (swahili,) = checker.check([CrossClaim("Kurasa zinaweza kuzimwa.", "sw", evidence, TURN_OFF)])
    assert not swahili.supported and swahili.reasons == ("unreadable_language",)
    assert swahili.certain
    assert translator_server.requests == []
    no_reader = CrossLanguageChecker(make_checker("calibrated"), None)
    assert no_reader.check([CrossClaim(FAITHFUL, "es", evidence, TURN_OFF)])[0].reasons == (
        "unreadable_language",
    )
    assert no_reader.how("sw") == (
        "not checked: no model here reads Swahili (refused unreadable_language)"
    )


def test_a_sample_in_another_language_is_checked_in_that_language(
    tmp_path: Path,
    translator_server: ScriptedServer,
    make_sample: Callable[..., Any],
    pagination_chunks: dict[str, Any],
) -> None:
    intro = pagination_chunks["Pagination"]

    def spanish(sample_id: str, text: str) -> Any:
        claim = Claim(
            text=text,
            source_text=TURN_OFF,
            citations=[Citation(chunk_id=intro.id, quote=TURN_OFF_QUOTE)],
        )
        question = "¿Cómo se desactiva la paginación en REST framework?"
        return make_sample(sample_id, question, text, [claim], language="es")

    path = tmp_path / "samples.jsonl"
    samples = [spanish("faithful", FAITHFUL), spanish("flipped", FLIPPED)]
    path.write_text("".join(s.model_dump_json() + "\n" for s in samples), encoding="utf-8")
    summary = verify_samples_file(
        path,
        DictChunkLookup([intro]),
        tmp_path / "kept.jsonl",
        tmp_path / "rejected.jsonl",
        **_endpoint(translator_server),
    )
    assert (summary.kept, summary.reasons["translation_mismatch"]) == (1, 1)
    (kept,) = [json.loads(x) for x in (tmp_path / "kept.jsonl").read_text().splitlines()]
    assert kept["id"] == "faithful"
    (refused,) = [json.loads(x) for x in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    verdict = Verdict.model_validate(refused["verdict"])
    assert verdict.claims[0].text == FLIPPED
    assert verdict.claims[0].reasons == ["translation_mismatch"]


def test_verify_claims_reads_cross_language_lines(
    tmp_path: Path, translator_server: ScriptedServer, pagination_chunks: dict[str, Any]
) -> None:
    evidence = pagination_chunks["Pagination"].text
    lines = [
        {"id": "faithful", "evidence": evidence, "claim": FAITHFUL, "source_text": TURN_OFF,
         "language": "es"},
        {"id": "flipped", "evidence": evidence, "claim": FLIPPED, "source_text": TURN_OFF,
         "language": "es"},
        # No rendering: the claim's back-translation is what the checker reads.
        {"id": "bare", "evidence": evidence, "claim": FAITHFUL, "language": "es"},
        {"id": "english", "evidence": evidence, "claim": TURN_OFF},
        {"id": "no-language", "evidence": evidence, "claim": FAITHFUL, "source_text": TURN_OFF},
    ]  # fmt: skip
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    summary = verify_claims_file(pairs, out, **_endpoint(translator_server))
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["faithful"]["supported"] and rows["english"]["supported"]
    assert rows["bare"]["supported"]
    assert not rows["flipped"]["supported"]
    assert rows["flipped"]["reasons"] == ["translation_mismatch"]
    assert summary["malformed"] == 1
    assert "needs the claim's 'language'" in summary["malformed_lines"][0]["error"]


def test_a_number_changed_in_translation_is_caught_without_asking_the_reader(
    translator_server: ScriptedServer,
) -> None:
    # From the cross-language dev set: the rendering says 1000, the Spanish text says 100.
    evidence = "If pct is set such that n*pct > 1000, then pct = 1000./n."
    rendering = "If pct is set such that n*pct > 1000, then pct = 1000./n."
    text = "Si pct se establece de forma que n*pct > 100, entonces pct = 100./n."
    translator = make_translator("reader", translator_server.url)
    checker = CrossLanguageChecker(make_checker("calibrated"), translator)
    (support,) = checker.check([CrossClaim(text, "es", evidence, rendering)])
    assert not support.supported and support.reasons == ("number_mismatch",)
    assert translator_server.requests == []


QUESTION_EN = "How do I turn pagination off?"
QUESTION_ES = "¿Cómo desactivo la paginación?"
# Reads like the same question; asks how to turn it on.
QUESTION_FLIPPED = "¿Cómo activo la paginación?"


def test_a_translated_sample_is_checked_sentence_by_sentence_and_its_question_too(
    tmp_path: Path,
    make_sample: Callable[..., Any],
    pagination_chunks: dict[str, Any],
) -> None:
    """A sample as ``translate = "after"`` writes it: the evidence quoted in English, each answer
    sentence a claim with its English original and no citation, and the English question."""
    intro = pagination_chunks["Pagination"]

    def script(n: int, body: dict[str, Any]) -> Reply:
        system, user = (m["content"] for m in body["messages"])
        if system == BACK_PROMPT:
            back = {QUESTION_ES: QUESTION_EN, QUESTION_FLIPPED: "How do I turn pagination on?"}
            return Reply(back.get(user) or BACK.get(user, "Something else entirely."))
        rendering, text = (line.split(": ", 1)[1] for line in user.splitlines())
        same = {(TURN_OFF, FAITHFUL), (TURN_OFF, BACK[FAITHFUL]), (QUESTION_EN, QUESTION_ES)}
        return Reply("yes" if (rendering, text) in same or text == QUESTION_EN else "no")

    def translated(sample_id: str, question: str) -> Any:
        evidence = Claim(
            text=TURN_OFF_QUOTE, citations=[Citation(chunk_id=intro.id, quote=TURN_OFF_QUOTE)]
        )
        sentence = Claim(text=FAITHFUL, source_text=TURN_OFF)
        sample = make_sample(sample_id, question, FAITHFUL, [evidence, sentence], language="es")
        return sample.model_copy(update={"source_question": QUESTION_EN})

    server = ScriptedServer(script)
    path = tmp_path / "samples.jsonl"
    samples = [translated("faithful", QUESTION_ES), translated("flipped", QUESTION_FLIPPED)]
    path.write_text("".join(s.model_dump_json() + "\n" for s in samples), encoding="utf-8")
    try:
        summary = verify_samples_file(
            path, DictChunkLookup([intro]), tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl",
            **_endpoint(server),
        )  # fmt: skip
    finally:
        server.close()
    assert (summary.kept, summary.reasons["translation_mismatch"]) == (1, 1)
    (kept,) = [json.loads(x) for x in (tmp_path / "kept.jsonl").read_text().splitlines()]
    assert kept["id"] == "faithful"
    # The answer sentence was read as a claim: its English against the evidence, its Spanish
    # against that English, with no citation of its own needed.
    verdict = Verdict.model_validate(kept["verdict"])
    assert [c.text for c in verdict.claims] == [TURN_OFF_QUOTE, FAITHFUL]
    assert all(c.supported for c in verdict.claims)
    (refused,) = [json.loads(x) for x in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert refused["verdict"]["reasons"] == ["translation_mismatch"]
    assert all(c["supported"] for c in refused["verdict"]["claims"])


@pytest.mark.parametrize(
    ("rendering", "text", "lost"),
    [
        # A person's name written in katakana as another name (the bundled 1.5B, translating).
        (
            "Marc Gibbons is working towards a 2.0 release.",
            "マーケル・ギブソンは2.0リリースに向けて努力しています。",
            True,
        ),
        (
            "Marc Gibbons is working towards a 2.0 release.",
            "Marc Gibbons 正在努力实现 2.0 版本。",
            False,
        ),
        # Into a Latin script a product name may be translated; there names are not held.
        ("Use the Array Methods Plugin.", "Usa el Plugin de Métodos Array.", False),
        # A sentence's first word is not a name unless another capitalised word follows it.
        ("Setting up a new environment helps.", "设置新环境有帮助。", False),
        ("Install it with Azure CLI first.", "首先使用 Azure CLI 安装它。", False),
    ],
)
def test_a_translation_into_another_script_keeps_the_latin_names_of_its_rendering(
    rendering: str, text: str, lost: bool
) -> None:
    assert names_lost(rendering, text) is lost
