"""A project's ``multihop`` samples: judged ``single_hop`` in the run, and re-verified by a
refresh when a section they cite changed, the second one as well as the first.

Real crawl, index and verifier (the default checker) over the two DRF deploys; the model is a
scripted endpoint that quotes the first sentence of passage 1 and of passage 2 and asks how
their headings relate. Every other sample answers with both quotes (two sections: kept), the
rest with the first quote only, which passage 1 alone supports (refused ``single_hop``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonl_files import read_jsonl

from groundset.cli import main
from groundset.ground import Index
from groundset.project import ProjectState

from scripted import Reply, ScriptedServer, passage_of
from sitesrv import SiteServer


def first_sentence(text: str) -> str:
    return next(s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if len(s) > 30)[:200]


def two_sections(n: int, body: dict[str, Any]) -> Reply:
    (where1, text1), (where2, text2) = passage_of(body, 1), passage_of(body, 2)
    quotes = [first_sentence(text1), first_sentence(text2)]
    question = f"How does {where1.split(' > ')[-1]} relate to {where2.split(' > ')[-1]}?"
    answer = " ".join(quotes) if n % 2 else quotes[0]
    evidence = [{"passage": 1, "quote": quotes[0]}, {"passage": 2, "quote": quotes[1]}]
    return Reply(json.dumps({"evidence": evidence, "question": question, "answer": answer}))


def cited(record: dict[str, Any]) -> set[str]:
    ids = {s["chunk_id"] for s in record["sources"]}
    return ids | {c["chunk_id"] for claim in record["claims"] for c in claim["citations"]}


def test_multihop_samples_are_judged_single_hop_and_reverified_when_a_cited_section_changes(
    tmp_path: Path,
    drf_server: SiteServer,
    make_project: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = ScriptedServer(two_sections)
    project = make_project(
        tmp_path / "p", drf_server.url, tasks="multihop = 40",
        generate=f'base_url = "{model.url}"\nmodel = "scripted"\nchoose_quotes = false\n'
                 "concurrency = 1",
        budget="samples = 60",
    )  # fmt: skip
    root = project.parent / "drf"
    try:
        assert main(["run", str(project)]) == 0
        kept_v1 = {r["id"]: r for r in read_jsonl(root / "versions" / "v1" / "kept.jsonl")}
        rejected = read_jsonl(root / "versions" / "v1" / "rejected.jsonl")
        with Index.open(root / "corpus") as index:
            before = {c.id for c in index.chunks()}
        edited = rewrite_second_quote(kept_v1, drf_server)
        assert main(["refresh", str(project)]) == 0
    finally:
        model.close()
    out = capsys.readouterr().out
    assert len(kept_v1) >= 10, out
    # Kept samples answer from both sections; refused single hops name the section that
    # answers alone, the one their answer quotes.
    for record in kept_v1.values():
        assert record["task"] == "multihop"
        assert len({c["chunk_id"] for claim in record["claims"] for c in claim["citations"]}) == 2
    single = [r for r in rejected if "single_hop" in r["verdict"]["reasons"]]
    assert single, "no single hop was refused: the check never ran in the project"
    for record in single:
        quoted = {
            c["quote"]: c["chunk_id"] for claim in record["claims"] for c in claim["citations"]
        }
        answered_by = record["verdict"]["answered_by"]["chunk_id"]
        assert answered_by in quoted.values()
        if record["answer"] in quoted:
            assert answered_by == quoted[record["answer"]]
    assert any(r["answer"] in {c["quote"] for c in r["claims"][0]["citations"]} for r in single)

    with Index.open(root / "corpus") as index:
        after = {c.id for c in index.chunks()}
    gone = before - after
    with ProjectState(root) as state:
        reverified = state.reverified(state.phases("refresh")[0].id)
        reasons = state.retire_reasons()
    # The sample whose second section was rewritten was re-verified (kept when rebased onto a
    # section of its page that still quotes it whole), and exactly the kept samples citing a
    # changed section were.
    assert edited["claims"][1]["citations"][0]["chunk_id"] in gone
    assert edited["id"] in reverified
    if reverified[edited["id"]] == "retired":
        assert reasons[edited["id"]][0] == "source_changed"
    assert set(reverified) == {i for i, r in kept_v1.items() if cited(r) & gone}


def rewrite_second_quote(kept: dict[str, dict[str, Any]], site: SiteServer) -> dict[str, Any]:
    """Rewrite, on the served site, words of the sentence a kept sample quotes from its second
    section (a plain run of them the page holds once); return that sample."""
    for record in kept.values():
        citation = record["claims"][1]["citations"][0]
        url = next(s["doc_url"] for s in record["sources"] if s["chunk_id"] == citation["chunk_id"])
        path = site.root / url.removeprefix(site.url) / "index.html"
        html = path.read_text(encoding="utf-8")
        for words in re.findall(r"[A-Za-z][A-Za-z ]{24,}", citation["quote"]):
            if html.count(words) == 1:
                path.write_text(
                    html.replace(words, "rewritten in a later deploy"), encoding="utf-8"
                )
                return record
    raise AssertionError("no kept sample's second quote has plain words to rewrite")
