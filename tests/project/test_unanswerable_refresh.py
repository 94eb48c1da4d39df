"""A refresh re-verifies every kept ``unanswerable`` sample against the new and changed sections:
new docs can answer its question.

Real crawl, index and verifier over the two DRF deploys; the model is a scripted endpoint that
writes unanswerable samples (a quote of passage 1, a question about its heading) and, as the
verifier's reader, says that a section answers a question only when that section is new or
changed by the refresh: so a sample the refresh retires ``answerable`` was read against them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonl_files import read_jsonl

from groundset.cli import main
from groundset.ground import Index
from groundset.project import ProjectState
from groundset.verify.section_reader import ANSWERS_SYSTEM

from .conftest import new_deploy
from scripted import Reply, ScriptedServer
from sitesrv import SiteServer


class Docs:
    """The scripted model and reader; ``old`` holds the section texts before the refresh."""

    def __init__(self) -> None:
        self.old: set[str] | None = None
        self.read: list[str] = []

    def reply(self, n: int, body: dict[str, Any]) -> Reply:
        messages = body["messages"]
        if messages[0]["content"] == ANSWERS_SYSTEM:
            section = messages[-1]["content"].split("<<<\n", 1)[1].split("\n>>>", 1)[0]
            self.read.append(section)
            new = self.old is not None and section not in self.old
            return Reply("yes" if new else "no")
        title = messages[-1]["content"].split("<<<TITLE\n", 1)[1].split("\nTITLE>>>", 1)[0]
        topic = title.split(" > ")[-1]
        return Reply(json.dumps({"question": f"Can {topic} be used with Redis?"}))


def test_a_refresh_reads_kept_unanswerable_questions_against_new_sections(
    tmp_path: Path,
    drf_server: SiteServer,
    make_project: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    docs = Docs()
    model = ScriptedServer(docs.reply)
    project = make_project(
        tmp_path / "p", drf_server.url, tasks="unanswerable = 40",
        generate=f'base_url = "{model.url}"\nmodel = "scripted"\nchoose_quotes = false',
        budget="samples = 40",
        verify=f'translator_base_url = "{model.url}"\ntranslator_model = "reader"',
    )  # fmt: skip
    root = project.parent / "drf"
    try:
        assert main(["run", str(project)]) == 0
        kept_v1 = {r["id"]: r for r in read_jsonl(root / "versions" / "v1" / "kept.jsonl")}
        assert len(kept_v1) >= 10, capsys.readouterr().out
        assert docs.read, "no section was read: the corpus search never ran"
        with Index.open(root / "corpus") as index:
            before = {c.id: c for c in index.chunks()}
        docs.old = {c.text for c in before.values()}
        drf_server.root = new_deploy(tmp_path)
        assert main(["refresh", str(project)]) == 0
    finally:
        model.close()
    with Index.open(root / "corpus") as index:
        after = {c.id for c in index.chunks()}
    fresh = after - set(before)
    assert fresh
    with ProjectState(root) as state:
        reverified = state.reverified(state.phases("refresh")[0].id)
        reasons = state.retire_reasons()
    # Every kept unanswerable sample was re-verified, those citing only unchanged sections too.
    unchanged = [i for i, r in kept_v1.items() if {s["chunk_id"] for s in r["sources"]} <= after]
    assert unchanged and set(kept_v1) <= set(reverified)
    retired = [i for i in kept_v1 if reverified[i] == "retired"]
    assert retired, "no question was found answered by a new section: the test proves nothing"
    versions = root / "versions"
    records = {r["id"]: r for r in read_jsonl(versions / "v2" / "retired.jsonl")}
    for sample_id in retired:
        verdict = records[sample_id]["verdict"]
        # Answered by a section the refresh brought; "source_changed" only where its own
        # sections changed.
        assert "answerable" in reasons[sample_id] and verdict["answered_by"]["chunk_id"] in fresh
        cites = {s["chunk_id"] for s in kept_v1[sample_id]["sources"]}
        assert ("source_changed" in reasons[sample_id]) == bool(cites - after)
