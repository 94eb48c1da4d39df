"""The report page: real counts, marked evidence, escaped text, nothing fetched from outside."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import pytest

import groundset.export.report as report
from groundset.export import report_command, write_report

from records_builder import (
    Verified,
    drf_sections,
    make_sample,
    page_sections,
    verdict_for,
    with_verdict,
)


def _page(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_text(encoding="utf-8"))


def _text(el: lxml.html.HtmlElement) -> str:
    return " ".join(el.text_content().split())


def _tooltips(page: lxml.html.HtmlElement) -> list[str]:
    return [t.text or "" for t in page.iter("{http://www.w3.org/2000/svg}title", "title")]


def test_the_page_states_the_runs_counts(verified: Verified, tmp_path: Path) -> None:
    page = _page(write_report(verified.kept, verified.rejected, tmp_path / "r.html"))
    tiles = {_text(t.find("span")): _text(t.find("b")) for t in page.find_class("tile")}
    assert tiles["samples kept"] == "300"
    assert tiles["samples rejected"] == "17"
    assert tiles["acceptance rate"] == "94.6%"
    claims = [
        c
        for line in verified.results.kept + verified.results.rejected
        for c in line["verdict"]["claims"]
    ]
    supported = sum(c["supported"] for c in claims)
    assert tiles["claims checked"] == str(len(claims))
    assert f"{supported} supported and {len(claims) - supported} unsupported claims" in _text(page)
    tips = _tooltips(page)
    for reason, count in {"negation_mismatch": 4, "quote_not_found": 3, "invalid_json": 1}.items():
        assert f"{reason}: rejected {count}" in tips
    assert "kept: kept 300" in tips
    assert "qa: kept 150" in tips and "sw: kept 75" in tips


def test_coverage_counts_every_corpus_document_and_section(
    verified: Verified, tmp_path: Path
) -> None:
    with_corpus = _text(
        _page(
            write_report(
                verified.kept, verified.rejected, tmp_path / "a.html", corpus_dir=verified.corpus
            )
        )
    )
    kept = verified.results.kept
    docs = {s["doc_url"] for x in kept for s in x["sources"]}
    sections = {(s["doc_url"], s["heading_path"]) for x in kept for s in x["sources"]}
    assert (len(docs), len(sections)) == (17, 300)
    assert (
        f"{len(docs)} of 24 documents and {len(sections)} of 378 sections have kept" in with_corpus
    )
    alone = _text(_page(write_report(verified.kept, verified.rejected, tmp_path / "b.html")))
    assert "(documents known from the samples only)" in alone
    assert f"{len(docs)} of {len(docs)} documents" in alone


def test_each_quote_is_marked_inside_its_cited_text(verified: Verified, tmp_path: Path) -> None:
    page = _page(
        write_report(
            verified.kept, verified.rejected, tmp_path / "r.html", corpus_dir=verified.corpus
        )
    )
    kept_list = page.get_element_by_id("kept-list")
    items = kept_list.findall("details")
    assert len(items) == report.KEPT_SHOWN
    by_id = {x["id"]: x for x in verified.results.kept}
    texts = {(s.doc_url, s.heading_path): " ".join(s.text.split()) for s in drf_sections()}
    with_context = 0
    for item in items:
        sample = by_id[_text(item.find_class("id")[0])]
        marks = list(item.iter("mark"))
        assert [_text(m) for m in marks] == [c["citations"][0]["quote"] for c in sample["claims"]]
        for mark, source in zip(marks, sample["sources"], strict=True):
            # The mark sits inside the cited section's own text, shown around it.
            shown = _text(mark.getparent()).strip("…")
            assert shown in texts[(source["doc_url"], source["heading_path"])]
            with_context += len(shown) > len(_text(mark))
    # Some sections are one sentence long; most quotes have text of their section around them.
    assert with_context > 0.75 * sum(len(list(i.iter("mark"))) for i in items)
    rejected_text = _text(page.get_element_by_id("rejected-list"))
    assert rejected_text.count("quote not found in the cited text") == 3


def test_injected_markup_is_shown_as_text_never_run(verified: Verified, tmp_path: Path) -> None:
    section = page_sections("api-guide/throttling")[0]
    sample = make_sample("<script>alert('id')</script>", [section])
    sample["question"] = "<script>alert('q')</script> how?"
    sample["answer"] = "<img src=x onerror=alert(1)>"
    sample["task"] = 'qa"><svg onload=alert(5)>'
    sample["claims"][0]["text"] = "</details><script>alert(2)</script>"
    sample["claims"][0]["citations"][0]["quote"] = "the <quote & more>"
    sample["sources"][0]["doc_url"] = 'https://x.test/"><script>alert(4)</script>'
    sample["sources"][0]["heading_path"] = "<iframe src=//x.test>"
    verdict = verdict_for(sample)
    verdict["claims"][0]["evidence"] = "Before <script>alert(3)</script> the <quote & more> after."
    kept = tmp_path / "kept.jsonl"
    rejected = tmp_path / "rejected.jsonl"
    kept.write_text(json.dumps(with_verdict(sample, verdict)) + "\n", encoding="utf-8")
    bad = {
        "raw": "<script>alert(6)</script>",
        "verdict": {"sample_id": "line-1", "accepted": False, "reasons": ["invalid_json"]},
    }
    rejected.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    html = write_report(kept, rejected, tmp_path / "r.html").read_text(encoding="utf-8")
    page = lxml.html.fromstring(html)
    scripts = list(page.iter("script"))
    assert len(scripts) == 1 and "alert" not in (scripts[0].text or "")
    assert not list(page.iter("img", "iframe"))
    assert not [a for el in page.iter() for a in el.attrib if a.lower().startswith("on")]
    text = page.text_content()
    for shown in (
        "<script>alert('q')</script>",
        "<img src=x onerror=alert(1)>",
        "</details><script>alert(2)</script>",
        "<script>alert(6)</script>",
        "<iframe src=//x.test>",
    ):
        assert shown in text
    assert [m.text_content() for m in page.iter("mark")] == ["the <quote & more>"]


def test_the_page_needs_nothing_from_outside(verified: Verified, tmp_path: Path) -> None:
    out = report_command(
        str(verified.kept),
        str(verified.rejected),
        str(tmp_path / "r.html"),
        corpus=str(verified.corpus),
    )
    html = out.read_text(encoding="utf-8")
    page = lxml.html.fromstring(html)
    assert not [el for el in page.iter() if {"src", "href"} & set(el.attrib)]
    assert not list(page.iter("link", "iframe", "img", "object", "embed"))
    assert not re.search(r"@import|url\(", html)
    assert len(list(page.iter("{http://www.w3.org/2000/svg}svg", "svg"))) >= 6


def test_a_large_corpus_draws_the_first_documents_and_sums_up_the_rest(
    verified: Verified, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "COVERAGE_ROWS", 10)
    out = write_report(
        verified.kept, verified.rejected, tmp_path / "r.html", corpus_dir=verified.corpus
    )
    page = _page(out)
    chart = next(
        svg
        for svg in page.iter("{http://www.w3.org/2000/svg}svg", "svg")
        if svg.get("aria-label") == "coverage of the corpus"
    )
    assert len(chart.find_class("label")) == 10
    # The corpus's documents in URL order: 24, of which these 14 are not drawn.
    drawn = sorted({s.doc_url for s in drf_sections()})[:10]
    rest_with_samples = len(
        {s["doc_url"] for x in verified.results.kept for s in x["sources"]} - set(drawn)
    )
    assert f"… and 14 more documents, {rest_with_samples} of them with kept samples" in _text(page)


def test_the_answer_sentences_the_verifier_checked_are_shown_with_their_evidence(
    verified: Verified, tmp_path: Path
) -> None:
    # A sample's answer is checked sentence by sentence beside its listed claims; a reader must
    # see those verdicts, and the evidence the verifier read (a chunk as indexed: its heading
    # path first, sentences joined by one space) marked in the section's own text.
    section = next(s for s in drf_sections() if len(s.sentences()) >= 3 and "\n" in s.text)
    sample = make_sample("answer-sentences", [section])
    verdict = verdict_for(sample, reasons=["unsupported_claim"])
    first, second = section.sentences()[:2]
    answer = "It also makes configuration easier to manage."
    verdict["claims"].append(
        {"text": answer, "supported": False, "score": 0.12, "chunk_id": section.chunk_id,
         "evidence": f"{section.heading_path} {first} {second}", "reasons": ["unsupported_claim"]}
    )  # fmt: skip
    kept, rejected = tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl"
    kept.write_text("")
    rejected.write_text(json.dumps(with_verdict(sample, verdict)) + "\n")
    page = _page(write_report(kept, rejected, tmp_path / "r.html", corpus_dir=verified.corpus))
    item = page.get_element_by_id("rejected-list").find("details")
    checks = [c for c in item.find_class("claim") if "answer sentence" in _text(c)]
    assert len(checks) == 1
    assert answer in _text(checks[0]) and "not supported · score 0.12" in _text(checks[0])
    marked = [_text(m) for m in checks[0].iter("mark")]
    assert marked == [" ".join(f"{first} {second}".split())]
    assert "quote not found" not in _text(item)


def test_the_diversity_section_counts_what_is_covered_asked_and_refused_as_repeats(
    verified: Verified, tmp_path: Path
) -> None:
    out = write_report(
        verified.kept, verified.rejected, tmp_path / "r.html", corpus_dir=verified.corpus
    )
    section = _page(out).get_element_by_id("diversity")
    text = _text(section)
    # 300 kept samples cite 300 of the corpus's 378 sections, on 17 of its 24 pages.
    assert (
        "The kept samples cite 300 of the corpus's 378 sections (79%) and 17 of its 24 pages (71%)."
        in text
    )
    # 225 English questions start "What does ..."; the 75 in Swahili count as other.
    tips = _tooltips(section)
    assert "what: kept 225" in tips and "other: kept 75" in tips
    labels = [t.text for t in section.find_class("label")]
    assert labels == ["what", "how", "why", "when", "where", "which", "can", "does", "other"]
    # Two of the 317 verified samples (17 rejected) copy a kept one; none ask its question again.
    assert (
        "Of 317 verified samples, 2 (0.6%) were refused as near-verbatim repeats of a kept sample"
        " (duplicate: exact or MinHash) and 0 (0.0%) as its question asked in other words"
        " (repeated_question;" in text
    )
    alone = _page(write_report(verified.kept, verified.rejected, tmp_path / "b.html"))
    assert "cite 300 sections of 17 pages (the corpus was not given" in _text(
        alone.get_element_by_id("diversity")
    )


def test_unanswerable_questions_show_their_nearest_section_and_what_answers_one(
    tmp_path: Path,
) -> None:
    # One kept unanswerable sample, and one refused because another section answers it: the
    # page lists each with the section its answer points at, and names the answering one.
    from groundset.records import Chunk
    from groundset.verify.answerable import unanswered_answer

    cache, settings, other = drf_sections()[:3]

    def asked(sample_id: str, question: str, section: object) -> dict:
        sample = make_sample(sample_id, [section], task="unanswerable")
        chunk = Chunk(
            id=section.chunk_id,
            text=section.text,
            doc_url=section.doc_url,
            heading_path=section.heading_path,
            content_sha256=section.content_sha256,
        )
        quote = sample["claims"][0]["citations"][0]["quote"]
        return {**sample, "question": question, "answer": unanswered_answer(chunk, quote)}

    kept_sample = asked("unanswered", "Which Redis client does it recommend?", cache)
    refused = asked("answered", "How do I set the page size?", other)
    verdict = verdict_for(refused, reasons=["answerable"])
    verdict["answered_by"] = {"chunk_id": settings.chunk_id, "doc_url": settings.doc_url,
                              "content_sha256": settings.content_sha256,
                              "heading_path": settings.heading_path}  # fmt: skip
    kept, rejected = tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl"
    kept.write_text(json.dumps(with_verdict(kept_sample, verdict_for(kept_sample))) + "\n")
    rejected.write_text(json.dumps(with_verdict(refused, verdict)) + "\n")
    page = _page(write_report(kept, rejected, tmp_path / "r.html"))
    section = page.get_element_by_id("unanswerable")
    rows = [[_text(td) for td in tr.findall("td")] for tr in section.iter("tr")]
    rows = [r for r in rows if r]
    assert rows == [
        ["Which Redis client does it recommend?", f"{cache.heading_path} · {cache.doc_url}"],
        [
            "How do I set the page size?",
            f"{other.heading_path} · {other.doc_url}",
            f"{settings.heading_path} · {settings.doc_url}",
        ],
    ]
    assert "1 kept and 1 rejected unanswerable samples; 1 rejected because" in _text(section)
    item = page.get_element_by_id("rejected-list").find("details")
    assert f"nearest section: {other.heading_path}" in _text(item)
    (answering,) = [c for c in item.find_class("claim") if "answered by" in _text(c)]
    assert _text(answering.find_class("src")[0]) == f"{settings.heading_path} · {settings.doc_url}"
    assert "unanswerable: kept 1" in _tooltips(page)


def test_multihop_questions_show_the_section_that_answers_a_single_hop_alone(
    tmp_path: Path,
) -> None:
    # One kept multihop sample over two pages, and one refused single_hop: the page counts
    # them and names the section that answers the refused one alone, in the list and the item.
    sections = drf_sections()
    one = sections[0]
    other = next(s for s in sections if s.doc_url != one.doc_url)
    kept_sample = {**make_sample("two", [one, other], task="multihop"), "question": "Both?"}
    refused = {**make_sample("one", [one, other], task="multihop"), "question": "One?"}
    verdict = verdict_for(refused, reasons=["single_hop"])
    verdict["answered_by"] = {"chunk_id": one.chunk_id, "doc_url": one.doc_url,
                              "content_sha256": one.content_sha256,
                              "heading_path": one.heading_path}  # fmt: skip
    kept, rejected = tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl"
    kept.write_text(json.dumps(with_verdict(kept_sample, verdict_for(kept_sample))) + "\n")
    rejected.write_text(json.dumps(with_verdict(refused, verdict)) + "\n")
    page = _page(write_report(kept, rejected, tmp_path / "r.html"))
    section = page.get_element_by_id("multihop")
    assert (
        "1 kept multihop samples (1 citing two pages or more) and 1 rejected; 1 rejected"
        " because one section answers alone (single_hop)." in _text(section)
    )
    rows = [[_text(td) for td in tr.findall("td")] for tr in section.iter("tr")]
    assert [r for r in rows if r] == [["One?", f"{one.heading_path} · {one.doc_url}"]]
    item = page.get_element_by_id("rejected-list").find("details")
    (alone,) = [c for c in item.find_class("claim") if "answered by one section" in _text(c)]
    assert _text(alone.find_class("src")[0]) == f"{one.heading_path} · {one.doc_url}"


def test_false_premise_questions_show_their_premise_and_correcting_section(
    tmp_path: Path,
) -> None:
    # One kept false_premise sample, one refused because its section does not contradict the
    # premise: the page lists the kept one with its premise and section, and counts the other.
    from groundset.records import Chunk
    from groundset.verify.premise import corrected_answer

    cache, settings = drf_sections()[:2]

    def premised(sample_id: str, question: str, premise: str, section: object) -> dict:
        sample = make_sample(sample_id, [section], task="false_premise")
        chunk = Chunk(
            id=section.chunk_id,
            text=section.text,
            doc_url=section.doc_url,
            heading_path=section.heading_path,
            content_sha256=section.content_sha256,
        )
        quote = sample["claims"][0]["citations"][0]["quote"]
        answer = corrected_answer(chunk, premise, quote)
        return {**sample, "question": question, "premise": premise, "answer": answer}

    kept_sample = premised("wrong", "Since X is <b>5</b>, how?", "X is <b>5</b>.", cache)
    refused = premised("true", "Since Y is 3, how?", "Y is 3.", settings)
    kept, rejected = tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl"
    kept.write_text(json.dumps(with_verdict(kept_sample, verdict_for(kept_sample))) + "\n")
    verdict = verdict_for(refused, reasons=["premise_not_contradicted"])
    rejected.write_text(json.dumps(with_verdict(refused, verdict)) + "\n")
    page = _page(write_report(kept, rejected, tmp_path / "r.html"))
    section = page.get_element_by_id("false_premise")
    rows = [[_text(td) for td in tr.findall("td")] for tr in section.iter("tr")]
    assert [r for r in rows if r] == [
        ["Since X is <b>5</b>, how?", "X is <b>5</b>.", f"{cache.heading_path} · {cache.doc_url}"]
    ]
    assert "1 kept and 1 rejected false_premise samples; 1 rejected because" in _text(section)
    assert "false_premise: kept 1" in _tooltips(page)
    # Nothing of the task, no section.
    plain = tmp_path / "plain.jsonl"
    plain.write_text("")
    with pytest.raises(KeyError):
        _page(write_report(plain, plain, tmp_path / "p.html")).get_element_by_id("false_premise")
