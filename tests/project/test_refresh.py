"""``groundset run`` then ``groundset refresh`` over the real DRF deploys, with a scripted model.

Everything is real but the model: the Scrapy crawl over HTTP, the Chroma index with real
embeddings, the verifier. The model is a scripted OpenAI-compatible endpoint that answers from
the passages in its prompt (one of passage 1's sentences, quoted), so that enough samples are
kept for a refresh to have something to re-verify; the local model's run is in
``test_local_model.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import datasets
import pytest
from jsonl_files import read_jsonl

from groundset.cli import main
from groundset.ground import Index
from groundset.project import ProjectState
from groundset.records import Sample

from .conftest import CHANGED, UNCHANGED, new_deploy
from scripted import Reply, ScriptedServer, extractive_answer, passage_of
from sitesrv import SiteServer


@pytest.fixture
def model() -> Iterator[ScriptedServer]:
    server = ScriptedServer(lambda n, body: Reply(extractive_answer(body)))
    yield server
    server.close()


def cited(record: dict[str, Any]) -> set[str]:
    sample = Sample.model_validate({k: v for k, v in record.items() if k != "verdict"})
    ids = {s.chunk_id for s in sample.sources}
    return ids | {c.chunk_id for claim in sample.claims for c in claim.citations}


def page_of(url: str, base: str) -> str:
    return url.removeprefix(base)


def test_run_then_refresh_reverifies_only_what_changed(
    tmp_path: Path,
    drf_server: SiteServer,
    model: ScriptedServer,
    make_project: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = make_project(
        tmp_path / "p",
        drf_server.url,
        # The budget ends the run before the quota is met, so the refresh has a quota to refill.
        tasks="qa = 200",
        generate=f'base_url = "{model.url}"\nmodel = "scripted"',
        budget="samples = 160",
    )
    root = project.parent / "drf"
    assert main(["run", str(project)]) == 0
    out = capsys.readouterr().out
    assert "run of drf: stopped: the sample budget (160) is spent" in out
    assert "pages: 8 in the corpus" in out and "samples: 160 generated" in out
    v1 = root / "versions" / "v1"
    assert (root / "versions" / "LATEST").read_text().strip() == "v1"
    kept_v1 = {r["id"]: r for r in read_jsonl(v1 / "kept.jsonl")}
    assert len(kept_v1) >= 20, out
    v1_bytes = hashlib.sha256((v1 / "kept.jsonl").read_bytes()).hexdigest()
    run_calls = len(model.requests)

    # A rerun of the finished run asks the model nothing and publishes nothing new.
    assert main(["run", str(project)]) == 0
    assert len(model.requests) == run_calls
    assert not (root / "versions" / "v2").exists()

    with Index.open(root / "corpus") as index:
        before = {c.id: c for c in index.chunks()}
    drf_server.root = new_deploy(tmp_path)
    assert main(["refresh", str(project)]) == 0
    out = capsys.readouterr().out
    assert "refresh of drf:" in out and "new or changed sections: 24" in out
    with Index.open(root / "corpus") as index:
        after = {c.id: c for c in index.chunks()}
    gone = set(before) - set(after)
    fresh = set(after) - set(before)
    # The crawl found the six changed pages, and nothing else changed.
    assert {page_of(before[i].doc_url, drf_server.url) for i in gone} <= set(CHANGED)
    assert {page_of(after[i].doc_url, drf_server.url) for i in fresh} <= set(CHANGED)

    with ProjectState(root) as state:
        refresh = state.phases("refresh")[0]
        reverified = state.reverified(refresh.id)
        assert set(refresh.crawl["changed_urls"]) == {drf_server.url + p for p in CHANGED}
    # Exactly the kept samples citing a chunk that changed or vanished were re-verified ...
    expected = {i for i, r in kept_v1.items() if cited(r) & gone}
    assert set(reverified) == expected
    assert expected, "the run kept no sample citing a changed section: the test proves nothing"
    # ... and each of them cites one of the changed pages.
    for sample_id in reverified:
        pages = {page_of(s["doc_url"], drf_server.url) for s in kept_v1[sample_id]["sources"]}
        assert pages & set(CHANGED)

    v2 = root / "versions" / "v2"
    assert (root / "versions" / "LATEST").read_text().strip() == "v2"
    kept_v2 = {r["id"]: r for r in read_jsonl(v2 / "kept.jsonl")}
    diff = json.loads((v2 / "diff.json").read_text())
    retired = {i for i, o in reverified.items() if o == "retired"}
    still = {i for i, o in reverified.items() if o == "kept"}
    # The diff is right: v2 = v1 - retired + added; re-verified samples that hold are updated.
    assert diff["from"] == "v1" and diff["to"] == "v2"
    assert {r["id"] for r in diff["retired"]} == retired
    assert all({"source_changed", "source_removed"} & set(r["reasons"]) for r in diff["retired"])
    assert set(diff["added"]) == set(kept_v2) - set(kept_v1)
    assert set(kept_v2) == (set(kept_v1) - retired) | set(diff["added"])
    assert set(diff["updated"]) == still
    assert diff["unchanged"] == len(kept_v1) - len(reverified)
    # A sample that still holds now cites the current chunks; the untouched ones are as they were.
    for sample_id in still:
        assert cited(kept_v2[sample_id]) <= set(after)
    for sample_id in set(kept_v1) - set(reverified):
        assert kept_v2[sample_id] == kept_v1[sample_id]
    for record in read_jsonl(v2 / "retired.jsonl"):
        assert record["id"] in retired or record["id"] not in kept_v1

    # New samples were written about new and changed sections only: unchanged docs cost nothing.
    refresh_requests = model.requests[run_calls:]
    assert refresh_requests
    fresh_text = {after[i].text[:200] for i in fresh}
    for _, body in refresh_requests:
        _, text = passage_of(body)
        assert text[:200] in fresh_text
    for sample_id in diff["added"]:
        primary = kept_v2[sample_id]["sources"][0]
        assert primary["chunk_id"] in fresh
        assert page_of(primary["doc_url"], drf_server.url) not in UNCHANGED

    # The old version is still there, byte for byte, and still loads.
    assert hashlib.sha256((v1 / "kept.jsonl").read_bytes()).hexdigest() == v1_bytes
    old = datasets.load_dataset("parquet", data_dir=str(v1 / "parquet"), split="train")
    new = datasets.load_dataset("parquet", data_dir=str(v2 / "parquet"), split="train")
    assert len(old) > 0 and len(new) > 0


def test_refresh_retires_what_no_longer_holds_and_refills(
    tmp_path: Path,
    drf_server: SiteServer,
    model: ScriptedServer,
    make_project: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The docs change under kept samples: a quoted sentence is rewritten and a page is taken
    down. Their samples are retired with the reasons; the rest stand; the quota is refilled
    from the rewritten section."""
    project = make_project(
        tmp_path / "p",
        drf_server.url,
        tasks="qa = 300",
        generate=f'base_url = "{model.url}"\nmodel = "scripted"',
        budget="samples = 200",
    )
    root = project.parent / "drf"
    assert main(["run", str(project)]) == 0
    kept_v1 = {r["id"]: r for r in read_jsonl(root / "versions" / "v1" / "kept.jsonl")}

    def on_page(page: str) -> list[dict[str, Any]]:
        url = drf_server.url + page
        return [r for r in kept_v1.values() if {s["doc_url"] for s in r["sources"]} == {url}]

    # Rewrite, on the served site, a sentence that a kept sample about caching quotes.
    html_path = drf_server.root / "api-guide" / "caching" / "index.html"
    html = html_path.read_text(encoding="utf-8")
    edited = next(
        r
        for r in on_page("api-guide/caching/")
        if html.count(r["claims"][0]["citations"][0]["quote"]) == 1
    )
    quote = edited["claims"][0]["citations"][0]["quote"]
    html_path.write_text(
        html.replace(quote, "This paragraph was rewritten in a later deploy."), encoding="utf-8"
    )
    # Take the throttling page down.
    removed = on_page("api-guide/throttling/")
    assert removed, "no kept sample about throttling: the test proves nothing"
    (drf_server.root / "api-guide" / "throttling" / "index.html").unlink()
    run_calls = len(model.requests)

    assert main(["refresh", str(project)]) == 0
    out = capsys.readouterr().out
    with ProjectState(root) as state:
        reverified = state.reverified(state.phases("refresh")[0].id)
    diff = json.loads((root / "versions" / "v2" / "diff.json").read_text())
    reasons = {r["id"]: r["reasons"] for r in diff["retired"]}
    assert reverified[edited["id"]] == "retired"
    assert reasons[edited["id"]][:2] == ["source_changed", "quote_not_found"]
    for record in removed:
        assert reasons[record["id"]] == ["source_removed"]
    # Only samples citing the two pages were re-verified.
    touched = {drf_server.url + p for p in ("api-guide/caching/", "api-guide/throttling/")}
    for sample_id in reverified:
        assert {s["doc_url"] for s in kept_v1[sample_id]["sources"]} & touched
    assert f"{len(reasons)} retired" in out
    # The refill wrote about the rewritten caching section only.
    requests = model.requests[run_calls:]
    assert requests
    for _, body in requests:
        where, text = passage_of(body)
        assert where.startswith("Caching") and "rewritten in a later deploy" in text
    kept_v2 = read_jsonl(root / "versions" / "v2" / "kept.jsonl")
    assert {r["id"] for r in kept_v2} == (set(kept_v1) - set(reasons)) | set(diff["added"])


def test_a_project_review_outlives_a_refresh_and_reaches_the_report_and_card(
    tmp_path: Path,
    drf_server: SiteServer,
    model: ScriptedServer,
    make_project: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from groundset.export import ReviewLog, review_inputs
    from groundset.project import project_review_files

    project = make_project(
        tmp_path / "p", drf_server.url, tasks="qa = 100",
        generate=f'base_url = "{model.url}"\nmodel = "scripted"', budget="samples = 60",
    )  # fmt: skip
    assert main(["review", str(project), "--summary"]) == 2  # a usage error
    assert "no published dataset version to review yet" in capsys.readouterr().err
    assert main(["run", str(project)]) == 0
    root = project.parent / "drf"
    kept, rejected, corpus, reviews = project_review_files(project)
    assert kept == root / "versions" / "v1" / "kept.jsonl" and reviews == root / "reviews.jsonl"
    # Every kept sample reviewed and kept, every claim supported.
    inputs = review_inputs(kept, rejected, corpus=corpus, n_kept=1000, n_rejected=0,
                           reviews=reviews)  # fmt: skip
    log = ReviewLog(reviews)
    for item in inputs.items:
        log.record(item, [True] * len(item.judged.verdict.claims), keep=True)
    capsys.readouterr()
    assert main(["review", str(project), "--summary", "--kept-sample", "1000"]) == 0
    n = len(inputs.items)
    assert f"kept set precision: 100% ({n} of {n} kept samples" in capsys.readouterr().out

    # The docs change: the refresh re-verifies what cites changed pages. The reviews stay, and
    # those of samples whose sources changed are counted as given on older sources.
    drf_server.root = new_deploy(tmp_path)
    assert main(["refresh", str(project)]) == 0
    capsys.readouterr()
    kept_v2 = root / "versions" / "v2" / "kept.jsonl"
    assert project_review_files(project)[0] == kept_v2
    old_sources = {line["sample_id"]: line["sources"] for line in read_jsonl(reviews)}
    moved = [
        r["id"]
        for r in [*read_jsonl(kept_v2), *read_jsonl(root / "versions" / "v2" / "rejected.jsonl")]
        if r["id"] in old_sources
        and old_sources[r["id"]] != {s["chunk_id"]: s["content_sha256"] for s in r["sources"]}
    ]  # fmt: skip
    assert moved, "the refresh changed the sources of no reviewed sample"
    page = (root / "versions" / "v2" / "report.html").read_text()
    assert f"{len(moved)} of the reviews were given on older sources" in page
    card = (root / "versions" / "v2" / "README.md").read_text()
    assert "## Human review" in card and "kept set precision" in card
