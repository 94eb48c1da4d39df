"""``groundset review PROJECT.toml`` as a user runs it: a project built from the DRF fixture with
the scripted model, its review page in headless Chromium reviewed by keyboard, reloaded, resumed,
and the figures the command prints when it is stopped."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from groundset.cli import main
from groundset.project import project_review_files

from chromium import chromium_page
from scripted import Reply, ScriptedServer, extractive_answer
from sitesrv import SiteServer

#: Markup a page quotes as code; the review page must show it as text, run none of it.
HOSTILE = (
    "<script>document.title='owned'</script>",
    "<img src=x onerror=\"document.title='owned'\">",
)
#: The pages the project crawls.
PAGES = ("api-guide/caching/", "api-guide/throttling/")
HOSTILE_HTML = (
    "A template must never hold <code>&lt;script&gt;document.title='owned'&lt;/script&gt;</code>"
    "<code>&lt;img src=x onerror=\"document.title='owned'\"&gt;</code> from a user. "
)


@pytest.fixture
def model() -> Iterator[ScriptedServer]:
    server = ScriptedServer(lambda n, body: Reply(extractive_answer(body)))
    yield server
    server.close()


@pytest.fixture
def hostile_server(drf_server: SiteServer) -> SiteServer:
    """The DRF deploy with every paragraph of two pages opening on quoted markup."""
    for page in PAGES:
        html = drf_server.root / page / "index.html"
        html.write_text(html.read_text().replace("<p>", f"<p>{HOSTILE_HTML}"))
    return drf_server


@pytest.mark.slow
def test_a_project_reviewed_by_keyboard_in_chromium_resumes_and_prints_what_was_given(
    tmp_path: Path,
    hostile_server: SiteServer,
    model: ScriptedServer,
    make_project: Callable[..., Path],
) -> None:
    project = make_project(
        tmp_path / "p", hostile_server.url, tasks="qa = 100",
        generate=f'base_url = "{model.url}"\nmodel = "scripted"', budget="samples = 30",
    )  # fmt: skip
    text = project.read_text()
    urls = re.search(r"urls = \[.*\]", text)
    assert urls is not None
    only = ", ".join(f'"{hostile_server.url}{page}"' for page in PAGES)
    project.write_text(text.replace(urls.group(0), f"urls = [{only}]"))
    assert main(["run", str(project)]) == 0
    reviews = project_review_files(project)[3]
    command = [sys.executable, "-m", "groundset", "review", str(project),
               "--kept-sample", "2", "--rejected-sample", "1"]  # fmt: skip
    # A run started as a shell's background job inherits Ctrl-C ignored: the command hears it.
    review = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        assert review.stdout is not None
        address = None
        while address is None:
            line = review.stdout.readline()
            assert line, (
                f"review printed no address: {review.stderr.read() if review.stderr else ''}"
            )
            found = re.search(r"open (http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            address = found.group(1) if found else None
        with chromium_page(address, tmp_path / "profile") as browser:
            browser.wait_for("document.querySelectorAll('.claim').length > 0")
            progress = "document.getElementById('progress').textContent"
            assert browser.eval(progress) == "0 of 3 reviewed"
            # The cited passage holds the page's quoted markup: shown as text, nothing of it ran.
            shown = browser.eval("document.getElementById('sample').textContent")
            assert all(markup in shown for markup in HOSTILE)
            assert browser.eval("document.title") == "groundset review"
            assert browser.eval("document.querySelectorAll('main img, main script').length") == 0
            # First sample: every claim supported, kept. Second: its claims not, rejected.
            given = []
            for supported, verdict in (("y", "k"), ("n", "r")):
                sample = browser.eval("document.getElementById('sample').textContent")
                n_claims = browser.eval("document.querySelectorAll('.claim').length")
                for _ in range(n_claims):
                    browser.key(supported)
                browser.key(verdict)
                browser.key("Enter")
                given.append((sample, n_claims, verdict == "k"))
                done = len(given)
                browser.wait_for(f"{progress} == '{done} of 3 reviewed'")
            # Reloaded, the page resumes at the third sample, not at one already reviewed.
            browser.send("Page.reload")
            browser.wait_for(f"{progress} == '2 of 3 reviewed'")
            third = browser.eval("document.getElementById('sample').textContent")
            assert third not in {sample for sample, _, _ in given}
    finally:
        review.send_signal(signal.SIGINT)  # Ctrl-C: the command stops and prints the figures
        out, err = review.communicate(timeout=60)
    assert review.returncode == 0, err
    lines = [json.loads(line) for line in reviews.read_text().splitlines()]
    assert [line["keep"] for line in lines] == [keep for _, _, keep in given]
    assert [len(line["claims"]) for line in lines] == [n for _, n, _ in given]
    assert [set(line["claims"]) for line in lines] == [{True}, {False}]
    # What it printed follows those two verdicts, whichever sides they were drawn from.
    kept, rejected = project_review_files(project)[:2]
    judged = {
        x["id"]: (side, x["verdict"]["claims"])
        for side, path in (("kept", kept), ("rejected", rejected))
        for x in map(json.loads, path.read_text().splitlines())
        if "id" in x
    }
    assert "review: reviewed 2 of 3 drawn samples" in out
    kept_reviewed = [line["keep"] for line in lines if judged[line["sample_id"]][0] == "kept"]
    if kept_reviewed:
        good = sum(kept_reviewed)
        assert f"kept set precision: {good / len(kept_reviewed):.0%} ({good} of" in out
    agreeing = sum(
        label == claim["supported"]
        for line in lines
        for claim, label in zip(judged[line["sample_id"]][1], line["claims"], strict=True)
    )
    n = sum(len(line["claims"]) for line in lines)
    assert f"claims: the reviewer agrees with the verifier on {agreeing} of {n}" in out
