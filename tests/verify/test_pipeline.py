"""The verify stage end to end: samples citing real DRF chunks, counted by reason."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from groundset.errors import UsageError
from groundset.records import Citation, Claim, Verdict
from groundset.verify import DictChunkLookup, verify_claims_file, verify_samples_file

GERMAN_ARTICLE = "57b4dafd18cfd0531b69f81e87158648227c673ef159f8d8c87d34e34bdb21f2"
TURN_OFF = "Pagination can be turned off by setting the pagination class to None."
TURN_OFF_QUOTE = "Pagination can be turned off by setting the pagination class to `None`"
QUESTION = "How do I turn pagination off in REST framework?"


@pytest.fixture(scope="module")
def samples(
    make_sample: Callable[..., Any],
    pagination_chunks: dict[str, Any],
    articles: dict[str, Any],
) -> list[Any]:
    """One sample per thing the verifier must catch, plus two it must keep."""
    intro = pagination_chunks["Pagination"]
    setting = pagination_chunks["Setting the pagination style"]
    turn_off = [(TURN_OFF, [(intro, TURN_OFF_QUOTE)])]
    defaults_quote = "Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are None by default"
    # The whole section, pasted: a copy. (One of its paragraphs would be a quote, and kept.)
    paragraph = setting.text.split("\n\n")[1]
    copied = " ".join(setting.text.split("\n\n")[1:])
    german = articles[GERMAN_ARTICLE]["articleBody"][:300]
    spanish = Claim(
        text="La paginación se desactiva poniendo la clase de paginación en None.",
        source_text="Pagination can be turned off by setting the pagination class to None.",
        citations=[Citation(chunk_id=intro.id, quote=TURN_OFF_QUOTE)],
    )
    changed = make_sample("changed", "How can pagination be turned off?", TURN_OFF, turn_off)
    changed.sources[0].content_sha256 = "0" * 64
    return [
        make_sample("ok", QUESTION, TURN_OFF, turn_off),
        make_sample(
            "number",
            "What do DEFAULT_PAGINATION_CLASS and PAGE_SIZE default to?",
            "Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are 100 by default.",
            [
                (
                    "Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are 100 by default.",
                    [(setting, defaults_quote)],
                )
            ],
        ),
        make_sample(
            "negated",
            QUESTION,
            "Pagination cannot be turned off by setting the pagination class to None.",
            [
                (
                    "Pagination cannot be turned off by setting the pagination class to None.",
                    [(intro, TURN_OFF_QUOTE)],
                )
            ],
        ),
        make_sample(
            "bad-quote",
            "Can pagination be switched off in REST framework?",
            TURN_OFF,
            [(TURN_OFF, [(intro, "Pagination is always switched on in REST framework")])],
        ),
        make_sample(
            "unknown-chunk",
            "What turns pagination off?",
            TURN_OFF,
            [
                (
                    TURN_OFF,
                    [
                        (
                            intro.model_copy(update={"id": "api-guide/pagination#gone"}),
                            TURN_OFF_QUOTE,
                        )
                    ],
                )
            ],
            sources=[intro],
        ),
        make_sample("duplicate", QUESTION, TURN_OFF, turn_off),
        make_sample(
            "copy",
            "What must be set for pagination to work?",
            copied,
            [(paragraph, [(setting, paragraph)])],
        ),
        make_sample("german", QUESTION, german, turn_off),
        make_sample(
            "hidden-claim",
            QUESTION,
            f"{TURN_OFF} This setting was added in version 3.1.",
            turn_off,
        ),
        make_sample(
            "spanish",
            "¿Cómo se desactiva la paginación en REST framework?",
            spanish.text,
            [spanish],
            language="es",
        ),
        make_sample(
            "unanswerable",
            "Which throttle classes limit anonymous users per day?",
            TURN_OFF,
            turn_off,
        ),
        changed,
        make_sample(
            "no-claims", "Which pagination class turns it off?", TURN_OFF, [], sources=[intro]
        ),
    ]


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory,
    samples: list[Any],
    pagination_chunks: dict[str, Any],
) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("verify")
    path = folder / "samples.jsonl"
    lines = [s.model_dump_json(exclude_none=True) for s in samples]
    lines.insert(3, '{"id": "broken", "task": "qa", "question": ')  # cut short
    lines.insert(5, json.dumps({"id": "no-generator", "task": "qa", "language": "en"}))
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    summary = verify_samples_file(
        path,
        DictChunkLookup(pagination_chunks.values()),
        folder / "kept.jsonl",
        folder / "rejected.jsonl",
    )

    def read(name: str) -> dict[str, dict[str, Any]]:
        rows = [json.loads(x) for x in (folder / name).read_text(encoding="utf-8").splitlines()]
        return {row["verdict"]["sample_id"]: row for row in rows}

    return {"summary": summary, "kept": read("kept.jsonl"), "rejected": read("rejected.jsonl")}


def reasons(run: dict[str, Any], sample_id: str) -> list[str]:
    return list(run["rejected"][sample_id]["verdict"]["reasons"])


def test_only_fully_supported_samples_are_kept(run: dict[str, Any]) -> None:
    assert sorted(run["kept"]) == ["ok", "spanish"]
    summary = run["summary"]
    assert (summary.total, summary.kept, summary.rejected) == (15, 2, 13)


def test_rejections_are_counted_by_reason(run: dict[str, Any]) -> None:
    assert run["summary"].reasons == Counter(
        {
            "invalid_json": 2,
            "number_mismatch": 2,
            "negation_mismatch": 1,
            "quote_not_found": 1,
            "unknown_chunk": 1,
            "duplicate": 1,
            "copies_source": 1,
            "wrong_language": 1,
            "incomplete_answer": 1,
            "term_missing": 1,
            "unanswerable": 1,
            "source_changed": 1,
            "no_citation": 1,
        }
    )


def test_each_refusal_names_its_reason(run: dict[str, Any]) -> None:
    assert reasons(run, "number") == ["number_mismatch"]
    assert reasons(run, "negated") == ["negation_mismatch"]
    assert reasons(run, "bad-quote") == ["quote_not_found"]
    assert reasons(run, "unknown-chunk") == ["unknown_chunk"]
    assert reasons(run, "duplicate") == ["duplicate"]
    assert reasons(run, "copy") == ["copies_source"]
    assert reasons(run, "unanswerable") == ["unanswerable"]
    assert reasons(run, "changed") == ["source_changed"]
    assert reasons(run, "no-claims") == ["no_citation"]
    # German nouns are capitalised: the answer's clauses also name terms the chunk lacks; and
    # the article's first 300 characters stop mid-sentence.
    assert reasons(run, "german") == ["wrong_language", "incomplete_answer", "term_missing"]


def test_answer_text_left_out_of_the_claims_is_still_checked(run: dict[str, Any]) -> None:
    verdict = Verdict.model_validate(run["rejected"]["hidden-claim"]["verdict"])
    assert verdict.reasons == ["number_mismatch"]
    listed, hidden = verdict.claims
    assert listed.supported
    assert hidden.text == "This setting was added in version 3.1."
    assert not hidden.supported
    assert hidden.reasons == ["number_mismatch"]


def test_kept_lines_are_the_sample_plus_its_verdict(
    run: dict[str, Any], samples: list[Any], pagination_chunks: dict[str, Any]
) -> None:
    row = run["kept"]["ok"]
    verdict = Verdict.model_validate(row.pop("verdict"))
    assert row == samples[0].model_dump(mode="json", exclude_none=True)
    assert verdict.accepted
    assert verdict.checker == "calibrated"
    (claim,) = verdict.claims
    assert claim.supported
    assert claim.score >= 0.75  # a verbatim claim: well above the 0.5 of "supported"
    assert (
        claim.evidence == "Pagination can be turned off by setting the pagination class to `None`."
    )
    assert claim.chunk_id == pagination_chunks["Pagination"].id


def test_cross_language_sample_is_checked_through_its_source_text(run: dict[str, Any]) -> None:
    verdict = Verdict.model_validate(run["kept"]["spanish"]["verdict"])
    assert verdict.claims[0].text.startswith("La paginación")
    assert verdict.claims[0].evidence.startswith("Pagination can be turned off")


def test_invalid_lines_are_kept_with_their_raw_text(run: dict[str, Any]) -> None:
    broken = run["rejected"]["line-4"]
    assert broken["line"] == 4
    assert broken["raw"] == '{"id": "broken", "task": "qa", "question": '
    assert broken["verdict"]["reasons"] == ["invalid_json"]
    no_generator = run["rejected"]["no-generator"]
    assert no_generator["line"] == 6
    assert "generator" in no_generator["error"] or "validation error" in no_generator["error"]


def test_requested_language_overrides_the_samples_own(
    tmp_path: Path, samples: list[Any], pagination_chunks: dict[str, Any]
) -> None:
    path = tmp_path / "samples.jsonl"
    path.write_text(samples[0].model_dump_json() + "\n", encoding="utf-8")
    summary = verify_samples_file(
        path,
        DictChunkLookup(pagination_chunks.values()),
        tmp_path / "kept.jsonl",
        tmp_path / "rejected.jsonl",
        language="de",
    )
    assert summary.reasons == Counter({"wrong_language": 1})


def test_judge_that_wrote_the_samples_is_warned_about(
    tmp_path: Path,
    samples: list[Any],
    pagination_chunks: dict[str, Any],
    scripted_judge: Callable[..., Any],
) -> None:
    def all_true(body: dict[str, Any]) -> str:
        keys = body["response_format"]["json_schema"]["schema"]["properties"]
        return json.dumps(dict.fromkeys(keys, True))

    judge = scripted_judge(all_true)
    path = tmp_path / "samples.jsonl"
    path.write_text(samples[0].model_dump_json() + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="'gemma-3-270m' is the model that wrote the samples"):
        summary = verify_samples_file(
            path,
            DictChunkLookup(pagination_chunks.values()),
            tmp_path / "kept.jsonl",
            tmp_path / "rejected.jsonl",
            checker="llm",
            llm_model="gemma-3-270m",
            llm_base_url=judge.url,
        )
    assert summary.kept == 1
    assert len(judge.requests) == 1


def test_bad_inputs_are_usage_errors(tmp_path: Path, pagination_chunks: dict[str, Any]) -> None:
    lookup = DictChunkLookup(pagination_chunks.values())
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(UsageError, match=f"no such file: {missing}"):
        verify_samples_file(missing, lookup, tmp_path / "k", tmp_path / "r")
    assert not (tmp_path / "k").exists()
    existing = tmp_path / "s.jsonl"
    existing.write_text("", encoding="utf-8")
    with pytest.raises(UsageError, match="unknown verify option"):
        verify_samples_file(existing, lookup, tmp_path / "k", tmp_path / "r", treshold=0.5)
    with pytest.raises(UsageError, match="unknown checker"):
        verify_samples_file(existing, lookup, tmp_path / "k", tmp_path / "r", checker="magic")


def test_claims_file_adds_verdicts_and_reports_bad_lines(
    tmp_path: Path, wice_rows: list[dict[str, Any]]
) -> None:
    rows = wice_rows[:20]
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, "not json at all")
    lines.insert(7, json.dumps({"id": "x", "evidence": "e"}))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out" / "checked.jsonl"
    summary = verify_claims_file(pairs, out)
    written = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [w["id"] for w in written] == [r["id"] for r in rows]
    for row, result in zip(rows, written, strict=True):
        assert result["label"] == row["label"]  # extra keys are kept
        assert isinstance(result["supported"], bool)
        assert isinstance(result["score"], float)
        assert result["supported"] == (result["reasons"] == [])
    supported = sum(w["supported"] for w in written)
    assert summary["total"] == 22
    assert summary["malformed"] == 2
    assert summary["supported"] == supported
    assert summary["unsupported"] == 20 - supported
    assert [m["line"] for m in summary["malformed_lines"]] == [3, 8]
    assert "not JSON" in summary["malformed_lines"][0]["error"]
    assert summary["malformed_lines"][1]["error"] == "no 'claim' string"
    assert sum(summary["reasons"].values()) >= 20 - supported


def test_claims_file_to_stdout_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pagination_sections: dict[str, str]
) -> None:
    pairs = tmp_path / "pairs.jsonl"
    evidence = pagination_sections["Pagination"]
    pairs.write_text(
        json.dumps({"id": "a", "evidence": evidence, "claim": TURN_OFF}) + "\n", encoding="utf-8"
    )
    summary = verify_claims_file(pairs)
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["supported"] is True
    assert summary["supported"] == 1
    with pytest.raises(UsageError, match="no such file"):
        verify_claims_file(tmp_path / "missing.jsonl")
    with pytest.raises(UsageError, match="no sample filter options"):
        verify_claims_file(pairs, min_answer_words=3)


def test_cross_language_answer_text_is_read_through_its_back_translation(
    tmp_path: Path, make_sample: Callable[..., Any], pagination_chunks: dict[str, Any]
) -> None:
    intro = pagination_chunks["Pagination"]
    claim = Claim(
        text="La paginación se desactiva poniendo la clase de paginación en None.",
        source_text=TURN_OFF,
        citations=[Citation(chunk_id=intro.id, quote=TURN_OFF_QUOTE)],
    )
    sample = make_sample(
        "es-100",
        "¿Cómo se desactiva la paginación en REST framework?",
        f"{claim.text} Desde la versión 3.1, la clase por defecto pagina de 100 en 100.",
        [claim],
        language="es",
    )
    path = tmp_path / "samples.jsonl"
    path.write_text(sample.model_dump_json() + "\n", encoding="utf-8")
    summary = verify_samples_file(
        path, DictChunkLookup([intro]), tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl"
    )
    # The bundled model reads Spanish: the clause the claims leave out is translated back and
    # checked like any answer clause, so its invented version and page size are caught.
    assert summary.rejected == 1 and summary.reasons["number_mismatch"] == 1
    row = json.loads((tmp_path / "rejected.jsonl").read_text(encoding="utf-8"))
    listed, clause = Verdict.model_validate(row["verdict"]).claims
    assert listed.supported
    assert clause.text.startswith("Desde la versión 3.1")
    assert "number_mismatch" in clause.reasons


def test_a_claim_that_restates_its_own_quote_is_supported_by_it(
    tmp_path: Path, make_sample: Callable[..., Any], pagination_chunks: dict[str, Any]
) -> None:
    from groundset.generate.choices import quote_choices

    # Evidence the generator chose from the passage: the choices of a real chunk, one of them
    # a long sentence cut at its length bound, which no checker would read as a whole claim.
    chunk = pagination_chunks["Pagination"]
    choices = quote_choices(chunk.text, max_chars=60)
    cut = next(q for q in choices if not q.endswith((".", ":", ")")))
    answer_clause = "Pagination is switched off on every list view for paying customers."
    sample = make_sample(
        "own-quote", QUESTION, f"{TURN_OFF} {answer_clause}", [(cut, [(chunk, cut)])]
    )
    path = tmp_path / "samples.jsonl"
    path.write_text(sample.model_dump_json(exclude_none=True) + "\n", encoding="utf-8")
    verify_samples_file(
        path, DictChunkLookup(pagination_chunks.values()), tmp_path / "k", tmp_path / "r"
    )
    rows = [json.loads(x) for x in (tmp_path / "r").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["own-quote"], (tmp_path / "k").read_text(encoding="utf-8")
    verdict = Verdict.model_validate(rows[0]["verdict"])
    by_text = {c.text: c for c in verdict.claims}
    assert by_text[cut].supported and by_text[cut].score == 1.0
    assert by_text[cut].chunk_id == chunk.id
    # The answer's own clauses are still judged: the invented one sinks the sample.
    assert not by_text[answer_clause].supported


def test_an_answer_that_is_only_its_passage_heading_is_refused(
    tmp_path: Path, make_sample: Callable[..., Any], pagination_chunks: dict[str, Any]
) -> None:
    # The local model answered "What are the major fixes in 3.14?" with the section's heading
    # path, which an indexed chunk starts with: supported word for word, and no answer.
    section = pagination_chunks["Setting the pagination style"]
    heading = section.heading_path
    chunk = section.model_copy(update={"text": f"{heading}\n\n{section.text}"})
    quote = section.text.split(". ")[0]
    sample = make_sample(
        "heading", "How is the pagination style set?", f"{heading}.", [(quote, [(chunk, quote)])]
    )
    path = tmp_path / "samples.jsonl"
    path.write_text(sample.model_dump_json(exclude_none=True) + "\n", encoding="utf-8")
    verify_samples_file(path, DictChunkLookup([chunk]), tmp_path / "k", tmp_path / "r")
    (row,) = [json.loads(x) for x in (tmp_path / "r").read_text(encoding="utf-8").splitlines()]
    assert "copies_source" in row["verdict"]["reasons"]


def test_an_answer_that_ends_in_a_colon_is_refused_as_incomplete(
    tmp_path: Path, make_sample: Callable[..., Any], pagination_chunks: dict[str, Any]
) -> None:
    # The local model answered a DRF tutorial question with "... Add the following setting:",
    # supported word for word by a passage that goes on with the code block it left out.
    chunk = pagination_chunks["Setting the pagination style"]
    sentence = next(s for s in chunk.text.split("\n") if s.rstrip().endswith(":"))
    quote = sentence.strip()
    sample = make_sample(
        "colon", "How do I use limit/offset pagination?", quote, [(quote, [(chunk, quote)])]
    )
    path = tmp_path / "samples.jsonl"
    path.write_text(sample.model_dump_json(exclude_none=True) + "\n", encoding="utf-8")
    verify_samples_file(path, DictChunkLookup([chunk]), tmp_path / "k", tmp_path / "r")
    (row,) = [json.loads(x) for x in (tmp_path / "r").read_text(encoding="utf-8").splitlines()]
    assert "incomplete_answer" in row["verdict"]["reasons"]
    # Its claims are supported: only the colon tells that something is missing.
    assert all(c["supported"] for c in row["verdict"]["claims"])


def test_an_output_that_is_the_input_is_refused_before_anything_is_written(
    tmp_path: Path, samples: list[Any], pagination_chunks: dict[str, Any]
) -> None:
    lookup = DictChunkLookup(pagination_chunks.values())
    path = tmp_path / "S.jsonl"
    path.write_text(samples[0].model_dump_json() + "\n", encoding="utf-8")
    before = path.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(path)
    (tmp_path / "hard.jsonl").hardlink_to(path)
    for name in ("S.jsonl", "link.jsonl", "hard.jsonl", "sub/../S.jsonl"):
        with pytest.raises(UsageError, match=r"--kept .* is the samples file itself"):
            verify_samples_file(path, lookup, tmp_path / name, tmp_path / "r.jsonl")
        with pytest.raises(UsageError, match=r"--rejected .* is the samples file itself"):
            verify_samples_file(path, lookup, tmp_path / "k.jsonl", tmp_path / name)
    with pytest.raises(UsageError, match="--kept and --rejected are one file"):
        verify_samples_file(path, lookup, tmp_path / "out.jsonl", tmp_path / "out.jsonl")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S.jsonl", "hard.jsonl", "link.jsonl"]
    # A device is no file to clobber: both outputs may go to /dev/null.
    summary = verify_samples_file(path, lookup, Path("/dev/null"), Path("/dev/null"))
    assert summary.total == 1


def test_claims_written_over_their_own_file_are_refused(
    tmp_path: Path, wice_rows: list[dict[str, Any]]
) -> None:
    pairs = tmp_path / "X.jsonl"
    pairs.write_text("".join(json.dumps(r) + "\n" for r in wice_rows[:2]), encoding="utf-8")
    before = pairs.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(pairs)
    for out in (pairs, tmp_path / "link.jsonl", tmp_path / "." / "X.jsonl"):
        with pytest.raises(UsageError, match=r"--out .* is the claims file itself") as refused:
            verify_claims_file(pairs, out)
        assert refused.value.fix == "give --out another path"
    assert pairs.read_bytes() == before


def test_a_line_nested_too_deep_is_one_invalid_sample_among_good_ones(
    tmp_path: Path, samples: list[Any], pagination_chunks: dict[str, Any]
) -> None:
    ok, number = samples[0], samples[1]
    deep_sample = json.loads(ok.model_dump_json())
    deep_sample["id"] = "deep"
    deep_sample["question"] = json.loads("[" * 150 + "]" * 150)  # JSON reads it; too deep
    lines = [
        ok.model_dump_json(),
        "[" * 100_000,  # JSON cannot read it: RecursionError
        json.dumps(deep_sample),
        number.model_dump_json(),
    ]
    path = tmp_path / "samples.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = verify_samples_file(
        path, DictChunkLookup(pagination_chunks.values()), tmp_path / "k", tmp_path / "r"
    )
    assert (summary.total, summary.kept, summary.rejected) == (4, 1, 3)
    assert summary.reasons["invalid_json"] == 2
    kept = [json.loads(x) for x in (tmp_path / "k").read_text(encoding="utf-8").splitlines()]
    rejected = [json.loads(x) for x in (tmp_path / "r").read_text(encoding="utf-8").splitlines()]
    assert [k["id"] for k in kept] == ["ok"]
    assert [r["verdict"]["sample_id"] for r in rejected] == ["line-2", "line-3", "number"]
    assert rejected[0]["error"] == rejected[1]["error"] == "nested deeper than 100 levels"
    assert rejected[0]["raw"] == "[" * 100_000


def test_a_claims_line_nested_too_deep_is_malformed_and_the_rest_written(
    tmp_path: Path, wice_rows: list[dict[str, Any]]
) -> None:
    lines = [json.dumps(r) for r in wice_rows[:3]]
    lines.insert(1, "[" * 100_000)
    lines.insert(3, json.dumps({**wice_rows[3], "extra": json.loads("[" * 500 + "]" * 500)}))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = verify_claims_file(pairs, tmp_path / "out.jsonl")
    written = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [w["id"] for w in written] == [r["id"] for r in wice_rows[:3]]
    assert (summary["total"], summary["malformed"]) == (5, 2)
    assert summary["malformed_lines"] == [
        {"line": 2, "error": "nested deeper than 100 levels"},
        {"line": 4, "error": "nested deeper than 100 levels"},
    ]
