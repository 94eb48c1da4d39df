"""``run`` and ``refresh`` end to end with the bundled local model on the real DRF deploys.

The 270M model's samples are nearly always rejected, so the quota is not what ends the run: the
budget is. What must hold is the pipeline: every stage runs, every sample is judged, the budget
stops the rounds, a rerun asks the model nothing, and the refresh re-verifies only what changed
and writes new samples about new and changed sections only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from groundset.ground import Index
from groundset.project import ProjectState, load_project, refresh_project, run_project
from groundset.records import Sample

from .conftest import CHANGED, new_deploy
from sitesrv import SiteServer


def cited(record: dict) -> set[str]:
    sample = Sample.model_validate({k: v for k, v in record.items() if k != "verdict"})
    return {s.chunk_id for s in sample.sources} | {
        c.chunk_id for claim in sample.claims for c in claim.citations
    }


@pytest.mark.slow
def test_run_and_refresh_on_the_local_model(
    tmp_path: Path, drf_server: SiteServer, make_project: Callable[..., Path]
) -> None:
    project = make_project(
        tmp_path / "p", drf_server.url, tasks="qa = 5", budget="samples = 2", generate=""
    )
    lines: list[str] = []
    run = run_project(load_project(project), say=lines.append)
    assert run.outcome == "stopped: the sample budget (2) is spent" or (
        run.outcome == "every quota is met"
    )
    assert run.pages == 8 and run.chunks > 500
    assert run.generated == 2 == sum(run.kept.values()) + sum(run.rejected.values())
    assert run.spend is not None and 2 <= run.spend.usage.calls <= 4  # a repair call at most
    assert run.spend.usage.completion_tokens > 0
    assert all(run.seconds[s] > 0 for s in ("crawl", "index", "generate", "verify"))
    root = project.parent / "drf"
    v1 = root / "versions" / "v1"
    assert (v1 / "report.html").exists()
    judged = (v1 / "kept.jsonl").read_text().splitlines()
    judged += (v1 / "rejected.jsonl").read_text().splitlines()
    assert len(judged) == 2, "every generated sample is kept or rejected, none lost"
    for line in (v1 / "rejected.jsonl").read_text().splitlines():
        assert json.loads(line)["verdict"]["reasons"]

    # The budget of a run covers its reruns: a rerun asks the model nothing.
    again = run_project(load_project(project), say=lines.append)
    assert again.generated == 0 and again.spend is not None and again.spend.usage.calls == 0

    with Index.open(root / "corpus") as index:
        before = {c.id for c in index.chunks()}
    drf_server.root = new_deploy(tmp_path)
    refresh = refresh_project(load_project(project), say=lines.append)
    assert refresh.crawl is not None and refresh.crawl["changed"] == len(CHANGED)
    with Index.open(root / "corpus") as index:
        after = {c.id: c for c in index.chunks()}
    fresh = set(after) - before
    kept_v1 = [json.loads(x) for x in (v1 / "kept.jsonl").read_text().splitlines()]
    assert set(refresh.reverified) == {r["id"] for r in kept_v1 if cited(r) - set(after)}
    with ProjectState(root) as state:
        phase = state.phases("refresh")[0].id
    # What the refresh asked the model for, accepted or not, is about new and changed sections.
    stream = root / "work" / f"p{phase}-qa.jsonl"
    asked = [
        json.loads(line)
        for path in (stream, stream.with_name(f"p{phase}-qa.generate-rejected.jsonl"))
        if path.exists()
        for line in path.read_text().splitlines()
    ]
    assert len(asked) == refresh.generated
    if refresh.quotas["qa"][0] < 5:
        assert refresh.generated == 2, refresh.lines()
    for record in asked:
        assert record["sources"][0]["chunk_id"] in fresh, "a sample about an unchanged section"
    assert refresh.spend is not None and refresh.spend.usage.calls <= 2 * refresh.generated
    # The diff is right whatever the model managed; a version is written only for a change.
    latest = (root / "versions" / "LATEST").read_text().strip()
    with ProjectState(root) as state:
        kept_now = {r["id"] for r in state.records("kept")}
    ids_v1 = {r["id"] for r in kept_v1}
    if latest == "v1":
        assert kept_now == ids_v1 and refresh.diff is None
    else:
        assert latest == "v2" and (v1 / "kept.jsonl").exists()
        diff = json.loads((root / "versions" / "v2" / "diff.json").read_text())
        assert set(diff["added"]) == kept_now - ids_v1
        assert {r["id"] for r in diff["retired"]} == ids_v1 - kept_now
        assert set(diff["updated"]) == {i for i, o in refresh.reverified.items() if o == "kept"}
