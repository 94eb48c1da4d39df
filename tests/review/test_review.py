"""``groundset review``: the drawn sample, the reviews file, the figures, the server's guard, and
the page in a real browser (headless Chromium driven over the DevTools protocol)."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import groundset.export
from groundset.cli import main
from groundset.export import (
    ReviewLog,
    ReviewServer,
    ReviewSession,
    read_judged,
    review_figures,
    review_inputs,
    wilson_interval,
)
from groundset.export.review import item_view
from groundset.export.reviews import ReviewItem, draw_review

from chromium import chromium_page
from records_builder import Verified, drf_sections, make_sample, verdict_for, with_verdict

HOSTILE = "<script>document.title='owned'</script><img src=x onerror=\"document.title='owned'\">"


def test_the_draw_is_seeded_stratified_and_interleaved(verified: Verified) -> None:
    kept, rejected = read_judged(verified.kept), read_judged(verified.rejected)
    first = [i.id for i in draw_review(kept, rejected, 12, 6, seed=3)]
    assert first == [i.id for i in draw_review(kept, rejected, 12, 6, seed=3)]
    assert first != [i.id for i in draw_review(kept, rejected, 12, 6, seed=4)]
    items = draw_review(kept, rejected, 12, 6, seed=3)
    assert Counter(i.side for i in items) == {"kept": 12, "rejected": 6}
    # Each (task, document) stratum gives one sample before any gives a second: all are drawn
    # from, evenly.
    strata = Counter((i.judged.sample.task, i.judged.sample.sources[0].doc_url)  # type: ignore[union-attr]
                     for i in items if i.side == "kept")  # fmt: skip
    all_strata = {(j.sample.task, j.sample.sources[0].doc_url) for j in kept if j.sample}
    assert set(strata) == all_strata and max(strata.values()) - min(strata.values()) <= 1
    # The sides alternate in proportion: two kept to one rejected, all the way through.
    sides = "".join(i.side[0] for i in items)
    assert all(sides[n : n + 3].count("r") == 1 for n in range(0, 18, 3)), sides
    # A line that was not a sample has nothing to review.
    assert all(i.judged.sample is not None for i in draw_review(kept, rejected, 0, 50))


def test_wilson_interval() -> None:
    lo, hi = wilson_interval(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(20, 20)
    assert hi == 1.0 and 0.83 < lo < 0.84


@pytest.fixture
def review(verified: Verified, tmp_path: Path) -> Iterator[tuple[ReviewServer, Path]]:
    reviews = tmp_path / "reviews.jsonl"
    inputs = review_inputs(verified.kept, verified.rejected, corpus=verified.corpus,
                           n_kept=4, n_rejected=2, reviews=reviews)  # fmt: skip
    with ReviewServer(ReviewSession(inputs.items, inputs.log, inputs.texts)) as server:
        yield server, reviews


def _call(
    server: ReviewServer,
    path: str,
    body: Any = None,
    token: str | None = None,
    reviewer: str = "",
) -> Any:
    token = server.token if token is None else token
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}?token={token}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Reviewer": reviewer},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _status(url: str, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_server_refuses_requests_without_its_token_and_paths_it_does_not_serve(
    review: tuple[ReviewServer, Path],
) -> None:
    server, _ = review
    base = f"http://127.0.0.1:{server.port}"
    assert server.url.startswith("http://127.0.0.1:")
    assert _status(f"{base}/") == 403
    assert _status(f"{base}/api/state?token=wrong") == 403
    assert _status(f"{base}/api/verdict", data=b"{}") == 403
    for path in ("/../../../etc/passwd", "/review_page.html", "/export/review.py", "/api"):
        assert _status(f"{base}{path}?token={server.token}") == 404, path
    assert _status(f"{base}/?token={server.token}") == 200
    assert server.httpd.server_address[0] == "127.0.0.1"


def test_verdicts_are_saved_as_given_resume_and_count_once(
    review: tuple[ReviewServer, Path], verified: Verified
) -> None:
    server, reviews = review
    state = _call(server, "/api/state")
    assert (state["done"], state["total"]) == (0, 6)
    first = state["item"]
    # The cited passage is the corpus's section, whole, with the claim's deciding evidence in it.
    assert first["claims"] and all(c["passage"] for c in first["claims"])
    assert all(c["evidence"] in c["passage"] for c in first["claims"] if c["evidence"])
    verdict = {"sample_id": first["id"], "claims": [True] * len(first["claims"]), "keep": True}
    state = _call(server, "/api/verdict", verdict)
    assert state["done"] == 1 and state["item"]["id"] != first["id"]
    # The same sample again (a second tab): it replaces the first verdict, it does not add one.
    _call(server, "/api/verdict", {**verdict, "keep": False, "note": "on second thoughts"})
    assert _call(server, "/api/state")["done"] == 1
    lines = [json.loads(line) for line in reviews.read_text().splitlines()]
    assert [line["keep"] for line in lines] == [True, False]
    assert lines[1]["note"] == "on second thoughts" and lines[1]["sources"]
    # A bad verdict is refused with what is wrong, and nothing is written.
    for bad in ({"sample_id": "nope", "claims": [], "keep": True},
                {**verdict, "claims": [True]} if len(verdict["claims"]) != 1 else {**verdict,
                 "claims": []},
                {**verdict, "keep": "yes"}):  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as refused:
            _call(server, "/api/verdict", bad)
        assert refused.value.code == 400
    assert len(reviews.read_text().splitlines()) == 2
    # A new server on the same reviews file resumes at the next unreviewed sample.
    inputs = review_inputs(verified.kept, verified.rejected, corpus=verified.corpus,
                           n_kept=4, n_rejected=2, reviews=reviews)  # fmt: skip
    with ReviewServer(ReviewSession(inputs.items, inputs.log, inputs.texts)) as again:
        state = _call(again, "/api/state")
        assert state["done"] == 1 and state["item"]["id"] != first["id"]


def test_a_verdict_given_after_a_crash_cut_the_last_line_short_is_kept(
    review: tuple[ReviewServer, Path],
) -> None:
    server, reviews = review
    first = _call(server, "/api/state")["item"]
    verdict = {"sample_id": first["id"], "claims": [True] * len(first["claims"]), "keep": True}
    reviews.write_text(json.dumps({**verdict, "note": "given before the crash"})[:40])  # cut
    state = _call(server, "/api/verdict", verdict)
    assert state["done"] == 1, "the verdict is not glued to the cut line and lost with it"
    (line,) = reviews.read_text().splitlines()
    assert json.loads(line)["sample_id"] == first["id"]


def test_two_tabs_are_shown_different_samples_and_a_reload_the_same_one(
    review: tuple[ReviewServer, Path],
) -> None:
    server, _ = review

    def verdict_on(item: dict[str, Any]) -> dict[str, Any]:
        return {"sample_id": item["id"], "claims": [True] * len(item["claims"]), "keep": True}

    first = _call(server, "/api/state", reviewer="tab-a")["item"]
    second = _call(server, "/api/state", reviewer="tab-b")["item"]
    assert first["id"] != second["id"]
    assert _call(server, "/api/state", reviewer="tab-a")["item"]["id"] == first["id"]
    # Saving frees a tab's sample and shows it the next one nobody holds.
    after = _call(server, "/api/verdict", verdict_on(first), reviewer="tab-a")
    assert after["done"] == 1 and after["item"]["id"] not in (first["id"], second["id"])
    assert _call(server, "/api/state", reviewer="tab-b")["item"]["id"] == second["id"]
    # Reviewing on through both tabs covers every drawn sample once.
    seen = {first["id"]}
    for tab, state in (("tab-b", {"item": second}), ("tab-a", after)):
        while state["item"] is not None and state["item"]["id"] not in seen:
            seen.add(state["item"]["id"])
            state = _call(server, "/api/verdict", verdict_on(state["item"]), reviewer=tab)
    final = _call(server, "/api/state", reviewer="tab-a")
    assert final["done"] == final["total"] == len(seen) == 6 and final["item"] is None


def test_the_figures_and_the_export_follow_the_verdicts_given(
    verified: Verified, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = tmp_path / "reviews.jsonl"
    inputs = review_inputs(verified.kept, verified.rejected, corpus=verified.corpus,
                           n_kept=5, n_rejected=3, reviews=reviews)  # fmt: skip
    kept = [i for i in inputs.items if i.side == "kept"]
    rejected = [i for i in inputs.items if i.side == "rejected"]
    log = ReviewLog(reviews)
    # Four of the five kept samples are good; the fourth has its first claim wrong.
    for n, item in enumerate(kept[:5]):
        claims = [c.supported for c in item.judged.verdict.claims]
        if n == 3:
            claims[0] = False
        log.record(item, claims, keep=n != 3)
    # One of the three rejected samples the reviewer would keep, all its claims supported.
    for n, item in enumerate(rejected):
        log.record(item, [n == 0 for _ in item.judged.verdict.claims], keep=n == 0)
    figures = review_figures(inputs.items, log.latest())
    assert (figures.kept_reviewed, figures.kept_good) == (5, 4)
    assert (figures.rejected_reviewed, figures.rejected_would_keep) == (3, 1)
    n_claims = sum(len(i.judged.verdict.claims) for i in inputs.items)
    disagreeing = 1 + sum(
        c.supported != (n == 0) for n, i in enumerate(rejected) for c in i.judged.verdict.claims
    )
    assert (figures.claims_reviewed, figures.claims_agreeing) == (n_claims, n_claims - disagreeing)
    # By task, the same claims split by their sample's task.
    tasks = Counter(i.judged.sample.task for i in inputs.items for _ in i.judged.verdict.claims)  # type: ignore[union-attr]
    assert {t: n for t, (_, n) in figures.claims_by_task.items()} == dict(tasks)
    assert sum(a for a, _ in figures.claims_by_task.values()) == n_claims - disagreeing
    # By what the verifier decided: a refused claim counts under each of its reasons.
    verdicts = [c for i in inputs.items for c in i.judged.verdict.claims]
    assert figures.claims_by_reason["supported"][1] == sum(c.supported for c in verdicts)
    refused = Counter(r for c in verdicts if not c.supported for r in c.reasons)
    assert {k: n for k, (_, n) in figures.claims_by_reason.items() if k != "supported"} == dict(
        refused
    )
    # Every kept claim is supported; the reviewer marks false every claim of the rejected
    # samples after the first, so a refused claim agrees exactly when it is one of those.
    expected = dict.fromkeys(refused, 0)
    for item in rejected[1:]:
        for c in item.judged.verdict.claims:
            for r in [] if c.supported else c.reasons:
                expected[r] += 1
    assert refused and expected == {
        k: a for k, (a, _) in figures.claims_by_reason.items() if k != "supported"
    }
    # The samples decided the other way, listed first: the fourth kept, the first rejected.
    other_way = [r.sample_id for r in figures.reviewed if r.disagrees]
    assert other_way == [r.sample_id for r in figures.reviewed[:2]]
    assert set(other_way) == {kept[3].id, rejected[0].id}
    assert len(figures.reviewed) == 8

    code = main(["review", str(verified.kept), str(verified.rejected), "--corpus",
                 str(verified.corpus), "--kept-sample", "5", "--rejected-sample", "3",
                 "--reviews", str(reviews), "--summary"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "review: reviewed 8 of 8 drawn samples" in printed
    lo, hi = wilson_interval(4, 5)
    assert "kept set precision: 80% (4 of 5 kept samples" in printed
    assert f"95% interval {lo:.0%}-{hi:.0%}" in printed
    assert "wrongly rejected: 1 of 3 rejected samples" in printed
    assert "decided the other way by the reviewer: 2 samples" in printed
    assert f"  {kept[3].id}, kept, the reviewer rejects: " in printed
    assert f"  {rejected[0].id}, rejected, the reviewer keeps: " in printed
    assert "  claims the verifier supported: agrees on " in printed

    out = tmp_path / "claims.jsonl"
    assert main(["review", str(verified.kept), str(verified.rejected), "--corpus",
                 str(verified.corpus), "--kept-sample", "5", "--rejected-sample", "3",
                 "--reviews", str(reviews), "--export", str(out)]) == 0  # fmt: skip
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == n_claims and {r["label"] for r in rows} == {0, 1}
    assert all(set(r) == {"id", "evidence", "claim", "label"} and r["evidence"] for r in rows)
    assert (
        sum(r["label"] == 0 for r in rows)
        == sum(len(i.judged.verdict.claims) for i in rejected[1:]) + 1
    )
    # What verify-claims reads.
    assert main(["verify-claims", str(out), "--out", str(tmp_path / "scored.jsonl")]) == 0


# -- in a real browser -----------------------------------------------------------------------


def _hostile_kept(verified: Verified, tmp_path: Path) -> Path:
    """The kept file with a page's markup in its first sample's answer and claim."""
    lines = verified.kept.read_text().splitlines()
    first = json.loads(lines[0])
    first["answer"] = f"{first.get('answer') or ''} {HOSTILE}"
    first["verdict"]["claims"][0]["text"] = HOSTILE
    first["verdict"]["claims"][0]["evidence"] = HOSTILE
    path = tmp_path / "kept.jsonl"
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    return path


@pytest.mark.slow
def test_a_review_by_keyboard_in_chromium_resumes_after_a_reload(
    verified: Verified, tmp_path: Path
) -> None:
    kept = _hostile_kept(verified, tmp_path)
    reviews = tmp_path / "reviews.jsonl"
    inputs = review_inputs(kept, verified.rejected, corpus=verified.corpus, n_kept=40,
                           n_rejected=0, reviews=reviews)  # fmt: skip
    hostile_first = sorted(inputs.items, key=lambda i: i.id != "s0000")
    session = ReviewSession(hostile_first[:3], inputs.log, inputs.texts)
    with (
        ReviewServer(session) as server,
        chromium_page(server.url, tmp_path / "profile") as browser,
    ):
        browser.wait_for("document.querySelectorAll('.claim').length > 0")
        # The page's markup shows as text: no element of it, nothing of it ran.
        assert browser.eval("document.title") == "groundset review"
        assert browser.eval("document.querySelectorAll('main img, main script').length") == 0
        shown = browser.eval("document.getElementById('sample').textContent")
        assert HOSTILE in shown
        assert browser.eval("document.getElementById('progress').textContent") == (
            "0 of 3 reviewed"
        )
        n_claims = browser.eval("document.querySelectorAll('.claim').length")
        # Mark every claim supported but the last, keep the sample, save.
        for _ in range(n_claims - 1):
            browser.key("y")
        browser.key("n")
        browser.key("k")
        browser.key("Enter")
        browser.wait_for("document.getElementById('progress').textContent == '1 of 3 reviewed'")
        (line,) = [json.loads(x) for x in reviews.read_text().splitlines()]
        assert line["sample_id"] == "s0000" and line["keep"] is True
        assert line["claims"] == [True] * (n_claims - 1) + [False]
        # Saving without a keep/reject mark is refused on the page, nothing is written.
        browser.key("Enter")
        assert "first" in browser.eval("document.getElementById('progress').textContent")
        assert len(reviews.read_text().splitlines()) == 1
        browser.key("r")
        browser.key("Enter")
        browser.wait_for("document.getElementById('progress').textContent == '2 of 3 reviewed'")
        # Reloaded, the page resumes at the third sample.
        browser.send("Page.reload")
        browser.wait_for("document.getElementById('progress').textContent == '2 of 3 reviewed'")
        shown = browser.eval("document.getElementById('sample').textContent")
        assert hostile_first[2].id in shown
    figures = review_figures(session.items, ReviewLog(reviews).latest())
    assert (figures.kept_reviewed, figures.kept_good) == (2, 1)


def test_the_report_and_the_card_say_what_the_review_found_and_which_reviews_are_older(
    verified: Verified, tmp_path: Path
) -> None:
    from groundset.export import export_dataset, write_report

    kept, rejected = tmp_path / "samples.kept.jsonl", tmp_path / "samples.rejected.jsonl"
    shutil.copy(verified.kept, kept)
    shutil.copy(verified.rejected, rejected)
    inputs = review_inputs(kept, rejected, n_kept=3, n_rejected=1)
    assert inputs.log.path == tmp_path / "samples.reviews.jsonl"
    for n, item in enumerate(inputs.items):
        inputs.log.record(item, [True] * len(item.judged.verdict.claims), keep=n != 1)
    # A refresh changes a source of one reviewed kept sample: its review is now on older text.
    changed = next(i.id for i in inputs.items if i.side == "kept")
    lines = [json.loads(line) for line in kept.read_text().splitlines()]
    for line in lines:
        if line["id"] == changed:
            line["sources"][0]["content_sha256"] = "0" * 64
    kept.write_text("".join(json.dumps(line) + "\n" for line in lines))

    page = write_report(kept, rejected, tmp_path / "report.html").read_text()
    section = page[page.index('id="review"') :].split("</section>")[0]
    assert "Human review" in section
    assert "kept set precision: 67% (2 of 3 kept samples" in section
    assert "1 of the reviews were given on older sources" in section
    # The reviewed samples themselves, each with the reviewer's verdict beside the verifier's.
    reviewed = section[section.index('id="reviewed-list"') :]
    assert reviewed.count("<details>") == len(inputs.items) == 4
    assert reviewed.count("reviewer: reject") == 1 and reviewed.count("reviewer: keep") == 3
    assert reviewed.count("given on older sources") == 1 and changed in reviewed
    summary = export_dataset(kept, tmp_path / "dataset", formats=["openai"], rejected=rejected)
    card = summary.card.read_text() if summary.card else ""
    assert "## Human review" in card and "kept set precision: 67%" in card
    assert "- 1 of the reviews were given on older sources" in card
    table = card[card.index("| sample | task | verifier | reviewer |") :].split("\n\n")[0]
    rows = table.splitlines()[2:]
    assert len(rows) == 4 and sum("| older |" in row for row in rows) == 1
    assert any(row.startswith(f"| {changed} |") and "| older |" in row for row in rows)
    # Without a reviews file, neither has a review section.
    inputs.log.path.unlink()
    assert 'id="review"' not in write_report(kept, rejected, tmp_path / "r2.html").read_text()


def test_the_page_marks_deciding_evidence_whose_whitespace_differs_from_the_passage(
    tmp_path: Path,
) -> None:
    # The verifier's evidence is a window of sentences joined by one space; the passage keeps
    # its paragraph breaks and list layout (DRF's permissions overview, as Qwen was judged on).
    page = (Path(groundset.export.__file__).parent / "review_page.html").read_text(encoding="utf-8")
    script = page[
        page.index("function el(") : page.index("\nfunction", page.index("function highlighted("))
    ]
    passage = (
        "REST framework offers three different methods to customize access restrictions."
        " These apply in different scenarios.\n\n- `queryset`/`get_queryset()`: Limits the"
        " general visibility of existing objects from the database."
    )
    evidence = (
        "These apply in different scenarios. - `queryset`/`get_queryset()`: Limits the general"
    )
    call = f"highlighted({json.dumps(passage)}, [[{json.dumps(evidence)}, 'decided']])"
    with chromium_page("about:blank", tmp_path / "profile") as browser:
        browser.eval(script)
        marked = browser.eval(f"{call}.querySelector('mark.decided')?.textContent")
    assert marked == evidence.replace(" - ", "\n\n- ")


def test_the_page_is_given_evidence_as_the_section_reads_not_as_the_chunk_was_indexed(
    tmp_path: Path,
) -> None:
    # The verifier reads a chunk with its heading path first, so a window at the chunk's start
    # begins with it; the page shows the section's own text, which does not.
    section = next(s for s in drf_sections() if len(s.sentences()) >= 2)
    sample = make_sample("indexed-evidence", [section])
    verdict = verdict_for(sample)
    first = section.sentences()[0]
    verdict["claims"][0]["evidence"] = f"{section.heading_path} {first}"
    path = tmp_path / "kept.jsonl"
    path.write_text(json.dumps(with_verdict(sample, verdict)) + "\n")
    (judged,) = read_judged(path)
    view = item_view(ReviewItem("kept", judged), {section.chunk_id: section.text})
    (claim,) = view["claims"]
    assert claim["evidence"] == first
    assert claim["evidence"] in claim["passage"]
