"""``groundset demo``: every stage, offline, with the real local model; a rerun resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundset.cli import main
from groundset.corpus import Corpus


@pytest.mark.slow
def test_demo_keeps_verified_samples_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    first = capsys.readouterr().out
    assert "5 pages (5 new" in first
    with Corpus(out / "corpus") as corpus:
        assert len(corpus.pages("active")) == 5
        assert all("groundset docs" not in d.markdown for d in corpus.documents()), "site chrome"
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    kept = [json.loads(x) for x in (out / "samples.kept.jsonl").read_text().splitlines()]
    rejected = [json.loads(x) for x in (out / "samples.rejected.jsonl").read_text().splitlines()]
    # The demo stops at 3 kept samples or 20 written (the default model keeps 3 of 8).
    refused = out / "samples.generate-rejected.jsonl"
    written = len(samples) + (len(refused.read_text().splitlines()) if refused.exists() else 0)
    assert len(kept) >= 3 or written == 20, "it writes on until 3 are kept"
    assert len(kept) + len(rejected) == len(samples), "every sample is kept or rejected"
    assert all(r["verdict"]["reasons"] for r in rejected)
    corpus_text = "\n".join(
        (out / "corpus" / "docs").joinpath(p).read_text()
        for p in sorted(p.name for p in (out / "corpus" / "docs").iterdir())
    )
    for sample in kept:
        assert sample["verdict"]["accepted"] and sample["verdict"]["checker"] == "calibrated"
        for claim in sample["claims"]:
            for citation in claim["citations"]:
                assert " ".join(citation["quote"].split()) in " ".join(corpus_text.split())
    report = (out / "report.html").read_text()
    assert "<svg" in report and "Kept samples" in report
    assert all(sample["id"] in report for sample in kept), "every kept sample is shown"
    assert f"demo done: {len(kept)} samples kept" in first and "Kept samples" in first

    assert main(["demo", "--out", str(out)]) == 0
    second = capsys.readouterr().out
    assert "5 pages (0 new, 0 changed, 5 unchanged)" in second
    assert "0 embedded" in second
    assert "0 calls" in second and f"demo done: {len(kept)} samples kept" in second


def test_a_rebuilt_demo_site_answers_not_modified(tmp_path: Path) -> None:
    import os
    import urllib.error
    import urllib.request

    from groundset.demo import build_site, serve

    site = tmp_path / "site"
    pages = build_site(site)
    (site / "stale.html").write_text("left over")
    stamps = {p: p.stat().st_mtime_ns for p in site.rglob("*.html") if p.name != "stale.html"}
    os.utime(site / "index.html", ns=(1, 1))  # older than any crawl
    stamps[site / "index.html"] = 1
    assert build_site(site) == pages
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*.html")} == stamps, "rewritten"
    with serve(site, port=0) as url:
        with urllib.request.urlopen(url) as first:
            modified = first.headers["Last-Modified"]
        request = urllib.request.Request(url, headers={"If-Modified-Since": modified})
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request)
    assert answer.value.code == 304
