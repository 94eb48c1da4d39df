"""A refresh re-verifies a kept ``false_premise`` sample whose cited section changed: its premise
is read again against the new section.

Real crawl, index and verifier over the two DRF deploys; the model is a scripted endpoint that
writes false_premise samples (the first sentence of its passages with a fact to change as the
quote, then a question opening with the premise code made of it) and, as the verifier's reader,
finds a premise stated only in a section the refresh brought: so a sample retired
``premise_not_contradicted`` was read against its new section, and before the refresh every
premise was read as contradicted.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonl_files import read_jsonl

from groundset.cli import main
from groundset.generate.choices import quote_choices
from groundset.generate.falsify import falsify
from groundset.ground import Index
from groundset.project import ProjectState
from groundset.verify.section_reader import STATES_SYSTEM

from .conftest import new_deploy
from scripted import Reply, ScriptedServer, passage_of
from sitesrv import SiteServer


class Docs:
    """The scripted model and reader; ``old`` holds the section texts before the refresh."""

    def __init__(self) -> None:
        self.old: set[str] | None = None
        self.read: list[str] = []

    def reply(self, n: int, body: dict[str, Any]) -> Reply:
        messages = body["messages"]
        if messages[0]["content"] == STATES_SYSTEM:
            section = messages[-1]["content"].split("<<<\n", 1)[1].split("\n>>>", 1)[0]
            self.read.append(section)
            new = self.old is not None and section not in self.old
            return Reply("yes" if new else "no")
        content = messages[-1]["content"]
        if "Belief: " in content:
            belief = content.split("Belief: ", 1)[1].split("\n", 1)[0].rstrip(".")
            return Reply(json.dumps({"question": f"Since {belief}, what should I do instead?"}))
        n, quote = next(
            ((n, s) for n in (1, 2, 3) if f"<<<PASSAGE {n} |" in content
             for s in quote_choices(passage_of(body, n)[1])
             if falsify(s, passage_of(body, n)[1], [], random.Random(0)) is not None),
            (1, "no sentence with a fact to change here."),
        )  # fmt: skip
        output = {"evidence": [{"passage": n, "quote": quote}]}
        return Reply(json.dumps(output))


def test_a_refresh_reads_the_premise_of_a_sample_citing_a_changed_section_again(
    tmp_path: Path,
    drf_server: SiteServer,
    make_project: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    docs = Docs()
    model = ScriptedServer(docs.reply)
    project = make_project(
        tmp_path / "p", drf_server.url, tasks="false_premise = 40",
        generate=f'base_url = "{model.url}"\nmodel = "scripted"\nchoose_quotes = false',
        budget="samples = 60",
        verify=f'translator_base_url = "{model.url}"\ntranslator_model = "reader"',
    )  # fmt: skip
    root = project.parent / "drf"
    try:
        assert main(["run", str(project)]) == 0
        kept_v1 = {r["id"]: r for r in read_jsonl(root / "versions" / "v1" / "kept.jsonl")}
        assert len(kept_v1) >= 10, capsys.readouterr().out
        assert all(r["task"] == "false_premise" and r["premise"] for r in kept_v1.values())
        assert docs.read, "no premise was read: the premise check never ran"
        with Index.open(root / "corpus") as index:
            before = {c.id for c in index.chunks()}
            docs.old = {c.text for c in index.chunks()}
        drf_server.root = new_deploy(tmp_path)
        asked_before = len(docs.read)
        assert main(["refresh", str(project)]) == 0
    finally:
        model.close()
    with Index.open(root / "corpus") as index:
        after = {c.id for c in index.chunks()}
    assert after - before
    with ProjectState(root) as state:
        reverified = state.reverified(state.phases("refresh")[0].id)
        reasons = state.retire_reasons()
    # Exactly the samples citing a changed section are re-verified: a premise is read against
    # the section its quote cites, and new sections elsewhere cannot change that.
    changed = {i for i, r in kept_v1.items() if {s["chunk_id"] for s in r["sources"]} - after}
    assert changed, "no kept sample cites a changed section: the test proves nothing"
    assert set(reverified) == changed
    # Where the quote is still in the new section, the premise is read again, against it; the
    # reader finds it stated there, so the sample is retired for it.
    reread = [i for i in changed if "premise_not_contradicted" in reasons.get(i, [])]
    assert reread, {i: reasons.get(i) for i in changed}
    assert all("source_changed" in reasons[i] and reverified[i] == "retired" for i in reread)
    assert any(section not in docs.old for section in docs.read[asked_before:])
