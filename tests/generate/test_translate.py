"""Samples written in the sources' language, then translated (``translate = "after"``).

The mechanics (what is asked, what a translation in the wrong language or an answered question
gets, what the sample records) against a scripted endpoint on real DRF passages; the bundled
model translating for real is in ``test_local_model.py``, and how often each bundled model
writes each language is measured in ``benchmarks/target_language.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from drf_passages import MemoryPassages

from groundset.errors import UsageError
from groundset.generate import GenerateSettings, GenerateSummary, generate_samples
from groundset.generate.translate import TRANSLATE_VERSION, split_source_sentences
from groundset.records import Sample
from groundset.verify.language import is_language

from scripted import Reply, ScriptedServer, answer_validly, prompt_of, valid_answer

QUESTION = "What does this section say?"
SPANISH = {
    QUESTION: "¿Qué dice esta sección?",
    "It says so.": "Lo dice así.",
}


def _text_of(body: dict[str, Any]) -> str:
    return re.search(r"<text>(.*)</text>", prompt_of(body), re.S).group(1)  # type: ignore[union-attr]


def _is_translation(body: dict[str, Any]) -> bool:
    return "<text>" in prompt_of(body)


def _settings(server: ScriptedServer, tmp_path: Path, **extra: Any) -> GenerateSettings:
    values = {
        "base_url": server.url,
        "model": "scripted",
        "api": "chat",
        "backoff_s": 0.01,
        "cache_path": tmp_path / "calls.sqlite",
        "translate": "after",
    }
    return GenerateSettings(**{**values, **extra})


def _generate_spanish(
    script: Callable[[int, dict[str, Any]], Reply],
    passages: MemoryPassages,
    tmp_path: Path,
    **settings: Any,
) -> tuple[GenerateSummary, ScriptedServer]:
    """One sample asked for in Spanish of a scripted endpoint, with the verifier's language
    check; the server, closed, keeps the requests it got."""
    server = ScriptedServer(script)
    try:
        summary = generate_samples(
            passages, tmp_path / "s.jsonl", count=1, language="es",
            settings=_settings(server, tmp_path, **settings), language_check=is_language,
        )  # fmt: skip
    finally:
        server.close()
    return summary, server


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_a_sample_is_written_in_the_sources_language_then_translated_sentence_by_sentence(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    def script(n: int, body: dict[str, Any]) -> Reply:
        if _is_translation(body):
            return Reply(SPANISH[_text_of(body)])
        return Reply(valid_answer(body))

    summary, server = _generate_spanish(script, passages, tmp_path)
    out = tmp_path / "s.jsonl"
    assert summary.written == 1
    (sample,) = [Sample.model_validate(x) for x in _read(out)]
    # The sample was asked for in English: the schema has evidence, not translated claims.
    first_prompt = prompt_of(server.requests[0][1])
    assert "source_text" not in json.dumps(server.requests[0][1].get("grammar", ""))
    assert "Spanish" not in first_prompt
    # Then the question and the one answer sentence were translated, each in a call of its own.
    asked = [_text_of(b) for _, b in server.requests[1:]]
    assert asked == [QUESTION, "It says so."]
    assert all(b["temperature"] == 0 for _, b in server.requests[1:])
    assert (sample.language, sample.question, sample.answer) == (
        "es", "¿Qué dice esta sección?", "Lo dice así."
    )  # fmt: skip
    assert sample.source_question == QUESTION
    evidence, translated = sample.claims
    assert evidence.citations and evidence.source_text is None
    assert (translated.text, translated.source_text, translated.citations) == (
        "Lo dice así.", "It says so.", []
    )  # fmt: skip
    assert sample.generator.prompt_version.endswith(f"+{TRANSLATE_VERSION}")


def test_a_translation_in_the_wrong_language_is_asked_again_once_then_refused(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    def script(n: int, body: dict[str, Any]) -> Reply:
        if not _is_translation(body):
            return Reply(valid_answer(body))
        text = _text_of(body)
        if text == QUESTION:
            # The first answer is the question in English; told so, the model translates it.
            retried = "Your last answer was wrong" in prompt_of(body)
            return Reply(SPANISH[text] if retried else text)
        # Every answer sentence comes back in English, asked once or twice.
        return Reply("It really does say so, in the section above this one.")

    summary, server = _generate_spanish(script, passages, tmp_path)
    assert (summary.written, summary.rejected) == (0, {"wrong_language": 1})
    # Asked again on its own, with what was wrong named before the text.
    (retry,) = server.requests[2][1]["messages"]
    assert "Your last answer was wrong: it was not in Spanish.\n\n<text>" in retry["content"]
    # The answer sentence: asked twice, then refused with what the model wrote each time.
    assert len(server.requests) == 5
    (refused,) = _read(tmp_path / "s.generate-rejected.jsonl")
    assert refused["error"] == "asked twice for Spanish, it was not in Spanish"
    assert refused["verdict"]["reasons"] == ["wrong_language"]
    assert len(refused["raw_output"]) == 5


def test_a_question_answered_instead_of_translated_is_asked_again(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    answers = iter(["Esta sección lo dice.", "¿Qué dice esta sección?"])

    def script(n: int, body: dict[str, Any]) -> Reply:
        if not _is_translation(body):
            return Reply(valid_answer(body))
        text = _text_of(body)
        return Reply(next(answers) if text == QUESTION else SPANISH[text])

    summary, server = _generate_spanish(script, passages, tmp_path)
    assert summary.written == 1
    (retry,) = server.requests[2][1]["messages"]
    assert "it answered the question instead of translating it" in retry["content"]


def test_translate_after_needs_a_chat_model(passages: MemoryPassages, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="needs a chat model"):
        _generate_spanish(answer_validly, passages, tmp_path, api="completions")


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "Set `PAGE_SIZE`. Then call `paginate()`.",
            ["Set `PAGE_SIZE`.", "Then call `paginate()`."],
        ),
        ("Use `a.b()` e.g. here. It works.", ["Use `a.b()` e.g. here.", "It works."]),
        ("Version 3.5 is out. 2 fields remain!", ["Version 3.5 is out.", "2 fields remain!"]),
        ("Call `x. Y` now.", ["Call `x. Y` now."]),
    ],
)
def test_source_sentences_split_where_a_sentence_ends_and_never_inside_code(
    text: str, sentences: list[str]
) -> None:
    assert split_source_sentences(text) == sentences
