"""The dataset card states the export's real counts, reasons, sources and split method."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from groundset.export import export_dataset

from records_builder import Exported


def _card(exported: Exported) -> str:
    return (exported.out / "README.md").read_text(encoding="utf-8")


def test_the_card_states_split_sizes_and_documents(exported: Exported) -> None:
    card = _card(exported)
    train, eval_ = exported.summary.samples["train"], exported.summary.samples["eval"]
    assert (train, eval_) == (270, 30)
    docs = exported.summary.documents
    assert f"| train | 270 | {docs['train']} |" in card
    assert f"| eval | 30 | {docs['eval']} |" in card
    assert "union-find" in card and "seed 0" in card and "10%" in card


def test_the_card_states_acceptance_and_every_rejection_reason(exported: Exported) -> None:
    card = _card(exported)
    # 300 kept, 17 rejected (one of them not even JSON): 300 / 317.
    assert "Kept 300 of 317 verified samples: acceptance rate 94.6%. Rejected 17" in card
    expected = {
        "negation_mismatch": 4,
        "number_mismatch": 4,
        "quote_not_found": 3,
        "unsupported_claim": 2,
        "term_missing": 2,
        "duplicate": 2,
        "wrong_language": 1,
        "invalid_json": 1,
    }
    for reason, count in expected.items():
        assert f"| {reason} | {count} |" in card
    assert "| source_changed |" not in card


def test_the_card_states_sources_languages_tasks_models_and_checker(exported: Exported) -> None:
    card = _card(exported)
    kept = exported.run.results.kept
    languages = Counter(x["language"] for x in kept)
    assert languages == {"en": 225, "sw": 75}
    assert "| en | 225 |" in card and "| sw | 75 |" in card
    assert "| qa | 150 |" in card and "| instruct | 150 |" in card
    assert "| gemma-3-270m-it-Q4_K_M.gguf (prompt instruct.v1) | 150 |" in card
    assert "`lexical` checker" in card
    urls = {s["doc_url"] for x in kept for s in x["sources"]}
    assert f"{len(urls)} documents" in card
    for url in urls:
        assert f"| {url} |" in card
    assert card.startswith("---\nlicense: other\nlanguage:\n- en\n- sw\n")
    assert "**TO FILL IN before publishing:** the licence" in card


def test_without_a_rejected_file_the_rate_is_unknown(exported: Exported, tmp_path: Path) -> None:
    export_dataset(exported.run.kept, tmp_path, formats=["openai"])
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "300 samples kept; no rejected file was given, so the acceptance rate is unknown" in card
    assert "configs:" not in card


def test_untrusted_text_cannot_break_the_cards_tables(exported: Exported, tmp_path: Path) -> None:
    line = exported.run.kept.read_text(encoding="utf-8").splitlines()[0]
    hostile = line.replace('"language": "en"', '"language": "en|<img src=x onerror=alert(1)>"')
    kept = tmp_path / "kept.jsonl"
    kept.write_text(hostile + "\n", encoding="utf-8")
    export_dataset(kept, tmp_path / "out", formats=["openai"])
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "<img" not in card
    assert r"| en\|&lt;img src=x onerror=alert(1)&gt; | 1 |" in card


def test_the_card_says_how_text_in_another_language_was_read(
    exported: Exported, tmp_path: Path
) -> None:
    lines = exported.run.kept.read_text(encoding="utf-8").splitlines()[:2]
    rows = [json.loads(line) for line in lines]
    read = "translated back and compared with its rendering by qwen2.5-coder-0.5b-instruct"
    unread = "not checked: no model here reads Swahili (refused unreadable_language)"
    rows[0]["language"], rows[0]["verdict"]["translated"] = "es", read
    rows[1]["language"], rows[1]["verdict"]["translated"] = "sw", unread
    rows[1]["verdict"].update(accepted=False, reasons=["unreadable_language"])
    kept, rejected = tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl"
    kept.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    rejected.write_text(json.dumps(rows[1]) + "\n", encoding="utf-8")
    export_dataset(kept, tmp_path / "out", formats=["openai"], rejected=rejected)
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert f"- `es`: {read}" in card
    assert f"- `sw`: {unread}" in card
    assert "| unreadable_language | 1 |" in card


def test_the_card_states_diversity_question_types_and_repeats_apart(
    exported: Exported, tmp_path: Path
) -> None:
    rows = [json.loads(line) for line in exported.run.kept.read_text("utf-8").splitlines()]
    english = [r for r in rows if r["language"] == "en"]
    # Questions the bundled models wrote on the fixture sites (benchmarks/data/question_pairs).
    asked = [
        "How do I create an endpoint for the root of my API?",
        "How can I use Immer with React?",
        "Why is it important to use loose iteration with Immer?",
        "When should I enable the Array Methods Plugin?",
        "What is the `JenksCaspall` class used for?",
    ]
    kept = english[:5]
    for row, question in zip(kept, asked, strict=True):
        if row["task"] == "qa":
            row["question"] = question
        else:
            row["messages"][0]["content"] = question
    refused = english[5:9]
    for row, reason in zip(
        refused,
        ["duplicate", "repeated_question", "repeated_question", "unsupported_claim"],
        strict=True,
    ):
        row["verdict"].update(accepted=False, reasons=[reason])
    kept_file, rejected_file = tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl"
    kept_file.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    rejected_file.write_text("".join(json.dumps(r) + "\n" for r in refused), encoding="utf-8")
    export_dataset(kept_file, tmp_path / "out", formats=["openai"], rejected=rejected_file)
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    diversity = card.split("## Diversity\n", 1)[1].split("\n## ", 1)[0]
    sections = {(s["doc_url"], s["heading_path"]) for r in kept for s in r["sources"]}
    pages = {url for url, _ in sections}
    assert (
        f"The kept samples cite {len(sections)} sections of {len(pages)} pages (the corpus was"
        " not given, so their share of it is unknown)." in diversity
    )
    for row in ("| what | 1 | 20% |", "| how | 2 | 40% |", "| why | 1 | 20% |",
                "| when | 1 | 20% |", "| where | 0 | 0% |", "| other | 0 | 0% |"):  # fmt: skip
        assert row in diversity
    assert (
        "Of 9 verified samples, 1 (11.1%) were refused as near-verbatim repeats of a kept sample"
        " (duplicate: exact or MinHash) and 2 (22.2%) as its question asked in other words"
        " (repeated_question;" in diversity
    )
    # With the corpus, the share of its sections and pages.
    export_dataset(
        kept_file,
        tmp_path / "with-corpus",
        formats=["openai"],
        rejected=rejected_file,
        corpus_dir=exported.run.corpus,
    )
    card = (tmp_path / "with-corpus" / "README.md").read_text(encoding="utf-8")
    assert (
        f"The kept samples cite {len(sections)} of the corpus's 378 sections "
        f"({len(sections) / 378:.0%}) and {len(pages)} of its 24 pages ({len(pages) / 24:.0%})."
        in card
    )


def test_the_card_says_what_unanswerable_samples_are_and_how_many_were_answerable() -> None:
    from groundset.export.card import dataset_card
    from groundset.export.judged import JudgedSample
    from groundset.records import Sample, Verdict

    from records_builder import drf_sections, make_sample

    one, two = drf_sections()[:2]
    kept = [
        Sample.model_validate(make_sample(f"u{n}", [section], task="unanswerable"))
        for n, section in enumerate((one, two, one))
    ]
    refused = Sample.model_validate(make_sample("u3", [two], task="unanswerable"))
    answered_by = refused.sources[0]
    rejected = [
        JudgedSample(refused, Verdict(sample_id="u3", accepted=False, reasons=["answerable"],
                                      answered_by=answered_by)),
        JudgedSample(refused, Verdict(sample_id="u4", accepted=False, reasons=["too_short"])),
    ]  # fmt: skip
    card = dataset_card(
        [(s, Verdict(sample_id=s.id, accepted=True)) for s in kept], ["train"] * 3, rejected,
        formats=["openai"], eval_fraction=0.1, seed=0,
    )  # fmt: skip
    assert "| unanswerable | 3 |" in card
    assert (
        "The 3 `unanswerable` samples ask what the documentation does not answer: each answer says"
        " so and points at the nearest section (heading and URL), quoting one sentence of it"
        " (2 sections pointed at)." in card
    )
    assert "(`answerable`: 1 refused)." in card


def test_the_card_says_what_multihop_samples_are_and_how_many_were_single_hops() -> None:
    from groundset.export.card import dataset_card
    from groundset.export.judged import JudgedSample
    from groundset.records import Sample, Verdict

    from records_builder import drf_sections, make_sample

    sections = drf_sections()
    one, two = sections[0], sections[1]
    elsewhere = next(s for s in sections if s.doc_url != one.doc_url)
    kept = [
        Sample.model_validate(make_sample("m0", [one, two], task="multihop")),
        Sample.model_validate(make_sample("m1", [one, elsewhere], task="multihop")),
    ]
    refused = Sample.model_validate(make_sample("m2", [one, two], task="multihop"))
    rejected = [
        JudgedSample(refused, Verdict(sample_id="m2", accepted=False, reasons=["single_hop"],
                                      answered_by=refused.sources[0])),
        JudgedSample(refused, Verdict(sample_id="m3", accepted=False, reasons=["too_short"])),
    ]  # fmt: skip
    card = dataset_card(
        [(s, Verdict(sample_id=s.id, accepted=True)) for s in kept], ["train"] * 2, rejected,
        formats=["openai"], eval_fraction=0.1, seed=0,
    )  # fmt: skip
    assert "| multihop | 2 |" in card
    pages = 1 if one.doc_url == two.doc_url else 2
    assert (
        "The 2 `multihop` samples ask what needs two sections or more: each quotes two, each "
        f"quote citing its own section ({pages} of them from two pages or more). Each answer was "
        "checked against each cited section alone, and a sample was refused when one section "
        "supports all of it (`single_hop`: 1 refused)." in card
    )


def test_the_card_says_what_false_premise_samples_are_and_how_many_were_not_contradicted() -> None:
    from groundset.export.card import dataset_card
    from groundset.export.judged import JudgedSample
    from groundset.records import Sample, Verdict

    from records_builder import drf_sections, make_sample

    one, two = drf_sections()[:2]
    kept = [
        Sample.model_validate(
            {**make_sample(f"f{n}", [section], task="false_premise"), "premise": "X is 5."}
        )
        for n, section in enumerate((one, two))
    ]
    refused = kept[0].model_copy(update={"id": "f2"})
    rejected = [
        JudgedSample(refused, Verdict(sample_id="f2", accepted=False,
                                      reasons=["premise_not_contradicted"])),
        JudgedSample(refused, Verdict(sample_id="f3", accepted=False, reasons=["too_short"])),
    ]  # fmt: skip
    card = dataset_card(
        [(s, Verdict(sample_id=s.id, accepted=True)) for s in kept], ["train"] * 2, rejected,
        formats=["openai"], eval_fraction=0.1, seed=0,
    )  # fmt: skip
    assert "| false_premise | 2 |" in card
    assert (
        "The 2 `false_premise` samples ask a question resting on a premise the documentation "
        "contradicts: each answer names the premise as wrong and quotes the sentence of the cited "
        "section that says otherwise." in card
    )
    assert "(`premise_not_contradicted`: 1 refused)." in card
    # A card of no false_premise samples says nothing of them.
    only_qa = [
        (Sample.model_validate(make_sample("q", [one])), Verdict(sample_id="q", accepted=True))
    ]
    assert "false_premise" not in dataset_card(only_qa, ["train"], [], formats=["openai"],
                                               eval_fraction=0.1, seed=0)  # fmt: skip
