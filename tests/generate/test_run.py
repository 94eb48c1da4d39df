"""generate_samples against a scripted server, on real DRF passages."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from drf_passages import MemoryPassages

from groundset.errors import GenerationError, UsageError
from groundset.generate import GenerateSettings, generate_samples
from groundset.generate.choices import quote_choices
from groundset.generate.prompts import passage_text
from groundset.records import Chunk, Sample

from damage import damage_page
from scripted import COMPLETION_TOKENS, PROMPT_TOKENS, Reply, ScriptedServer, valid_answer


def settings_for(server: ScriptedServer, tmp_path: Path, **extra: Any) -> GenerateSettings:
    values: dict[str, Any] = {
        "base_url": server.url,
        "model": "scripted",
        "api": "completions",
        "backoff_s": 0.01,
        "cache_path": tmp_path / "calls.sqlite",
    }
    return GenerateSettings(**{**values, **extra})


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_samples_follow_the_schema_and_cite_real_chunks(
    scripted: ScriptedServer, passages: MemoryPassages, drf_passage_chunks: list[Chunk],
    tmp_path: Path,
) -> None:  # fmt: skip
    out = tmp_path / "samples.jsonl"
    summary = generate_samples(
        passages, out, count=5, settings=settings_for(scripted, tmp_path, price_prompt=1.0,
                                                       price_completion=2.0)
    )  # fmt: skip
    by_id = {c.id: c for c in drf_passage_chunks}
    samples = [Sample.model_validate(r) for r in read(out)]
    assert (summary.written, summary.rejected, len(samples)) == (5, {}, 5)
    assert len({s.id for s in samples}) == 5
    for sample in samples:
        assert sample.task == "qa" and sample.question and sample.answer
        assert sample.generator.prompt_version == "qa.v3"
        assert sample.generator.model == "scripted"
        assert sample.generator.endpoint_host == "127.0.0.1"
        assert 1 <= len(sample.sources) <= 3
        for source in sample.sources:
            assert by_id[source.chunk_id].content_sha256 == source.content_sha256
        for claim in sample.claims:
            for citation in claim.citations:
                assert citation.chunk_id == sample.sources[0].chunk_id
                assert citation.quote in by_id[citation.chunk_id].text
    assert summary.usage.calls == 5
    assert summary.usage.prompt_tokens == 5 * PROMPT_TOKENS
    assert summary.cost == pytest.approx(5 * (PROMPT_TOKENS + 2 * COMPLETION_TOKENS) / 1e6)


def test_invalid_output_is_retried_once_showing_the_error(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    def script(n: int, body: dict[str, Any]) -> Reply:
        return Reply('{"question": "Why?", "answer": "') if n == 1 else Reply(valid_answer(body))

    server = ScriptedServer(script)
    out = tmp_path / "samples.jsonl"
    summary = generate_samples(
        passages, out, count=1, settings=settings_for(server, tmp_path, concurrency=1)
    )
    server.close()
    assert summary.written == 1 and len(read(out)) == 1
    first, repair = (body["prompt"] for _, body in server.requests)
    assert repair.startswith(first + ' {"question": "Why?", "answer": "')
    assert "That JSON is invalid: " in repair and "Invalid JSON" in repair
    assert repair.endswith("JSON:")


def test_output_invalid_twice_is_rejected_as_invalid_json_with_its_raw_output(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    server = ScriptedServer(lambda n, body: Reply('{"question": "Why?"}'))
    out = tmp_path / "samples.jsonl"
    summary = generate_samples(passages, out, count=2, settings=settings_for(server, tmp_path))
    server.close()
    rejected = read(tmp_path / "samples.generate-rejected.jsonl")
    assert len(server.requests) == 4
    assert summary.written == 0 and summary.rejected == {"invalid_json": 2}
    assert read(out) == []
    assert len(rejected) == 2
    for record in rejected:
        assert record["verdict"] == {
            "sample_id": record["id"], "accepted": False, "claims": [],
            "reasons": ["invalid_json"], "checker": "", "translated": None, "answered_by": None,
        }  # fmt: skip
        assert record["raw_output"] == ['{"question": "Why?"}'] * 2
        assert "answer: Field required" in record["error"]
        assert record["sources"] and record["generator"]["prompt_version"] == "qa.v3"


def test_an_answer_cut_off_at_its_length_bound_is_asked_again_then_rejected_as_too_long(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    # A constrained decoder stops a rambling answer at the schema's maxLength, mid-word. The
    # first sample's answer is cut off once and written shorter when asked again; the second's
    # is cut off both times.
    asked_again: list[str] = []

    def script(n: int, body: dict[str, Any]) -> Reply:
        output = json.loads(valid_answer(body))
        if n in (1, 3, 4):
            output["answer"] = ("Throttling limits the rate of requests " * 20)[:300]
        if n in (2, 4):
            asked_again.append(json.dumps(body))
        return Reply(json.dumps(output))

    server = ScriptedServer(script)
    out = tmp_path / "samples.jsonl"
    summary = generate_samples(
        passages, out, count=2, settings=settings_for(server, tmp_path, concurrency=1)
    )
    server.close()
    assert summary.written == 1 and summary.rejected == {"too_long": 1}
    assert len(asked_again) == 2
    assert all("bound of 300 characters" in m and "shorter" in m for m in asked_again)
    (record,) = read(tmp_path / "samples.generate-rejected.jsonl")
    assert record["verdict"]["reasons"] == ["too_long"] and len(record["raw_output"]) == 2
    assert "answer reached its bound of 300 characters" in record["error"]
    assert [s["answer"] for s in read(out)] == ["It says so."]


def test_a_citation_of_a_passage_that_is_not_there_is_invalid(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    bad = {
        "question": "What is throttling?", "evidence": [{"passage": 4, "quote": "x"}],
        "answer": "A limit.",
    }  # fmt: skip
    server = ScriptedServer(lambda n, body: Reply(json.dumps(bad)))
    summary = generate_samples(
        passages, tmp_path / "s.jsonl", count=1, settings=settings_for(server, tmp_path)
    )
    server.close()
    assert summary.rejected == {"invalid_json": 1}
    assert "less than or equal to" in read(tmp_path / "s.generate-rejected.jsonl")[0]["error"]


def test_a_rerun_is_served_from_the_cache(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    settings = settings_for(scripted, tmp_path)
    first = tmp_path / "first.jsonl"
    generate_samples(passages, first, count=4, settings=settings)
    assert len(scripted.requests) == 4
    second = tmp_path / "second.jsonl"
    summary = generate_samples(passages, second, count=4, settings=settings)
    assert len(scripted.requests) == 4  # nothing new reached the server
    assert summary.usage.cache_hits == 4 and summary.usage.calls == 0
    assert sorted(map(str, read(first))) == sorted(map(str, read(second)))


def test_an_interrupted_run_resumes_with_only_the_missing_samples(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    def dies_after_three(n: int, body: dict[str, Any]) -> Reply:
        return Reply(valid_answer(body)) if n <= 3 else Reply(status=401, error="key revoked")

    failing = ScriptedServer(dies_after_three)
    out = tmp_path / "samples.jsonl"
    with pytest.raises(GenerationError, match="key revoked"):
        generate_samples(
            passages, out, count=7, settings=settings_for(failing, tmp_path, concurrency=1)
        )
    failing.close()
    assert len(read(out)) == 3
    with out.open("a") as fh:
        fh.write('{"id": "cut short by the interrup')  # a line the crash left half written
    healthy = ScriptedServer()
    # Without the cache, only resuming can keep the first three samples from being asked again.
    settings = settings_for(healthy, tmp_path, cache=False)
    summary = generate_samples(passages, out, count=7, settings=settings)
    healthy.close()
    records = read(out)
    assert len(healthy.requests) == 4
    assert (summary.already_done, summary.written) == (3, 4)
    assert len(records) == 7 and len({r["id"] for r in records}) == 7


def test_chat_endpoints_get_messages_and_a_json_schema_of_chosen_quotes(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    out = tmp_path / "samples.jsonl"
    settings = settings_for(scripted, tmp_path, api="chat", concurrency=1)  # requests in order
    generate_samples(passages, out, count=2, settings=settings)
    samples = read(out)
    assert len(samples) == 2
    paths = {path for path, _ in scripted.requests}
    assert paths == {"/v1/chat/completions"}
    chunks = {c.id: c for c in passages.chunks()}
    systems = set()
    for (_, body), sample in zip(scripted.requests, samples, strict=True):
        # qa.v5 shows a chat model no worked example: the instructions, then the sample.
        system, user = body["messages"]
        systems.add(system["content"])
        assert (system["role"], user["role"]) == ("system", "user")
        assert "<<<PASSAGE 1 |" in user["content"] and not user["content"].endswith("JSON:")
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        schema = fmt["json_schema"]["schema"]
        assert list(schema["properties"]) == ["evidence", "question", "answer"]
        # Each passage's citation shape offers exactly that passage's sentences.
        for n, source in enumerate(sample["sources"], start=1):
            shape = schema["$defs"][f"QuoteOfPassage{n}"]["properties"]
            assert shape["passage"]["const"] == n
            chunk = chunks[source["chunk_id"]]
            offered = shape["quote"]["enum"]
            shown = passage_text(chunk.text, settings.max_passage_chars)  # what the prompt shows
            assert offered == quote_choices(shown, heading_path=chunk.heading_path)
    assert len(systems) == 1  # the stable prefix, the same for every sample


def test_quotes_are_free_text_when_choosing_is_off(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    settings = settings_for(scripted, tmp_path, api="chat", choose_quotes=False)
    generate_samples(passages, tmp_path / "s.jsonl", count=1, settings=settings)
    schema = scripted.requests[0][1]["response_format"]["json_schema"]["schema"]
    assert not any(name.startswith("QuoteOfPassage") for name in schema["$defs"])


def test_a_sample_in_another_language_keeps_quotes_and_source_text(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    out = tmp_path / "samples.jsonl"
    generate_samples(
        passages, out, count=2, language="sw", settings=settings_for(scripted, tmp_path)
    )
    prompt = scripted.requests[0][1]["prompt"]
    assert "but the quotes in Swahili. Quotes stay word for word in English" in prompt
    assert "source_text" in scripted.requests[0][1]["grammar"]
    for sample in (Sample.model_validate(r) for r in read(out)):
        assert sample.language == "sw"
        assert all(
            c.text == "Inasema hivyo." and c.source_text == "It says so." for c in sample.claims
        )


def test_an_english_run_asks_for_no_source_text(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    generate_samples(
        passages, tmp_path / "s.jsonl", count=1, settings=settings_for(scripted, tmp_path)
    )
    assert "source_text" not in scripted.requests[0][1]["grammar"]
    assert "Swahili" not in scripted.requests[0][1]["prompt"]


def test_an_endpoint_without_a_model_name_is_a_usage_error(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    settings = GenerateSettings(base_url="http://127.0.0.1:9/v1")
    with pytest.raises(UsageError, match="no model name"):
        generate_samples(passages, tmp_path / "s.jsonl", count=1, settings=settings)


def test_an_unknown_task_is_a_usage_error(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="unknown task 'poetry'"):
        generate_samples(
            passages, tmp_path / "s.jsonl", count=1, task="poetry",
            settings=settings_for(scripted, tmp_path),
        )  # fmt: skip


def test_the_instruct_task_writes_a_conversation(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    out = tmp_path / "samples.jsonl"
    summary = generate_samples(
        passages, out, count=2, task="instruct", settings=settings_for(scripted, tmp_path)
    )
    assert summary.written == 2
    assert scripted.requests[0][1]["prompt"].startswith("You write instruction-and-response")
    for sample in (Sample.model_validate(r) for r in read(out)):
        assert sample.task == "instruct" and sample.question is None
        assert sample.generator.prompt_version == "instruct.v3"
        assert sample.messages is not None
        assert [m.role for m in sample.messages] == ["user", "assistant"]
        assert sample.messages[0].content == "Do what this section says."
        assert (
            sample.claims[0].citations[0].quote
            in passages.get([sample.sources[0].chunk_id])[sample.sources[0].chunk_id].text
        )


def test_an_output_file_that_is_not_ours_is_a_usage_error(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    out = tmp_path / "notes.jsonl"
    out.write_text('{"id": "a"}\nsome notes\n')
    with pytest.raises(UsageError, match=r"notes\.jsonl:2 is not a generated record"):
        generate_samples(passages, out, count=1, settings=settings_for(scripted, tmp_path))
    assert scripted.requests == []


def test_a_damaged_call_cache_is_moved_aside_never_deleted(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    from groundset.statefile import StateWarning

    settings = settings_for(scripted, tmp_path)
    generate_samples(passages, tmp_path / "first.jsonl", count=4, settings=settings)
    cache = tmp_path / "calls.sqlite"
    junk = b"this is no database " * 100
    cache.write_bytes(junk)
    with pytest.warns(StateWarning, match=r"model-call cache .*calls\.sqlite was damaged"):
        summary = generate_samples(passages, tmp_path / "second.jsonl", count=4, settings=settings)
    # The answers it held are asked for again; the damaged file is kept beside it, byte for byte.
    assert summary.usage.calls == 4 and len(scripted.requests) == 8
    (aside,) = tmp_path.glob("calls.sqlite.corrupt-*")
    assert aside.read_bytes() == junk
    assert len(read(tmp_path / "second.jsonl")) == 4


def test_a_call_cache_with_a_damaged_page_keeps_every_answer_it_can_still_read(
    scripted: ScriptedServer, passages: MemoryPassages, tmp_path: Path
) -> None:
    from groundset.statefile import StateWarning

    settings = settings_for(scripted, tmp_path)
    first = generate_samples(passages, tmp_path / "first.jsonl", count=4, settings=settings)
    assert first.usage.calls == 4
    cache = tmp_path / "calls.sqlite"
    damage_page(cache, "sqlite_autoindex_calls_1")  # the key index; the answers are intact
    with pytest.warns(
        StateWarning, match=r"started afresh: all 4 of its cached model answers were recovered"
    ):
        summary = generate_samples(passages, tmp_path / "second.jsonl", count=4, settings=settings)
    # Every answer is found again in the fresh file: nothing is asked twice.
    assert summary.usage.calls == 0 and len(scripted.requests) == 4
    assert sorted(json.dumps(s["claims"]) for s in read(tmp_path / "second.jsonl")) == sorted(
        json.dumps(s["claims"]) for s in read(tmp_path / "first.jsonl")
    )
    assert len(list(tmp_path.glob("calls.sqlite.corrupt-*"))) == 1


def test_a_bundled_model_says_before_the_budget_is_spent_that_it_will_not_write_a_language(
    tmp_path: Path,
) -> None:
    from groundset.errors import GroundsetWarning
    from groundset.generate.client import LLMClient
    from groundset.generate.samples import Endpoint, warn_unwritten
    from groundset.generate.translate import SampleTranslator

    def endpoint(model: str, local: bool = True) -> Endpoint:
        settings = GenerateSettings(local_model=model)
        client = LLMClient("http://127.0.0.1:9/v1", model, settings=settings)
        return Endpoint(client, "chat", settings, local)

    big, small = endpoint("qwen2.5-coder-1.5b-instruct"), endpoint("qwen2.5-coder-0.5b-instruct")
    translator = SampleTranslator(big.client, "sw")
    with pytest.warns(GroundsetWarning, match="not measured to write 'sw' .*es, hi, zh.*--llm"):
        warn_unwritten("sw", big, translator)
    with pytest.warns(GroundsetWarning, match="0.5b-instruct was not measured to write 'ja'"):
        warn_unwritten("ja", small, translator)
    with pytest.warns(GroundsetWarning, match="writes English when asked directly for 'es'"):
        warn_unwritten("es", big, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_unwritten("es-MX", big, translator)
        warn_unwritten("zh-CN", big, translator)
        warn_unwritten("hi", small, translator)
        warn_unwritten("en-GB", small, None)
        warn_unwritten("sw", endpoint("qwen2.5-coder-1.5b-instruct", local=False), None)
