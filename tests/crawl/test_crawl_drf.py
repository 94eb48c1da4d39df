"""The crawl stage end to end: the real DRF docs site over HTTP, crawled, then recrawled."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html

from groundset.corpus import Corpus

from fixture_paths import DRF, DrfCrawls, fixture_path

_FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<lang>[\w+#.-]*)\s*$")


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block, in order."""
    blocks: list[tuple[str, str]] = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence = m["fence"]
        body: list[str] = []
        i += 1
        while i < len(lines) and not (
            lines[i].startswith(fence[0] * len(fence)) and lines[i].strip(fence[0]) == ""
        ):
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"unclosed fence in:\n{markdown[:300]}"
        blocks.append((m["lang"], "\n".join(body)))
        i += 1
    return blocks


def html_code_blocks(html_path: Path) -> list[str]:
    tree = lxml.html.fromstring(html_path.read_bytes())
    return [code.text_content().rstrip("\n") for code in tree.cssselect(".md-content pre > code")]


def page_urls(drf_crawls: DrfCrawls, deploy: str) -> dict[str, Path]:
    root = fixture_path("sites", "drf", deploy)
    urls = {}
    for page in root.rglob("index.html"):
        rel = page.parent.relative_to(root).as_posix()
        urls[drf_crawls.server.url + ("" if rel == "." else f"{rel}/")] = page
    return urls


def test_first_crawl_stores_every_content_page(drf_crawls: DrfCrawls) -> None:
    report = drf_crawls.old_report
    expected = page_urls(drf_crawls, "v2026-07-31")
    assert len(expected) == 70
    with Corpus(drf_crawls.old_corpus) as corpus:
        active = {p.url for p in corpus.pages("active")}
        assert active == set(expected)
        assert len(list(corpus.documents())) == 70
    assert report.new == 70 and report.changed == 0 and report.removed == 0
    assert report.failed == {}
    assert report.fallbacks >= 1
    # Theme assets and the public host named by canonical links and the sitemap are not pages
    # of this crawl: counted, not fetched.
    assert report.skipped.get("offsite", 0) > 0


def test_code_blocks_match_the_pages_main_content(drf_crawls: DrfCrawls) -> None:
    with Corpus(drf_crawls.old_corpus) as corpus:
        docs = {d.url: d for d in corpus.documents()}
    for url, html_path in page_urls(drf_crawls, "v2026-07-31").items():
        expected = html_code_blocks(html_path)
        got = [code for _, code in fenced_blocks(docs[url].markdown)]
        assert got == expected, f"code blocks differ on {url}"


def test_code_blocks_keep_their_language(drf_crawls: DrfCrawls) -> None:
    with Corpus(drf_crawls.old_corpus) as corpus:
        doc = next(d for d in corpus.documents() if d.url.endswith("/api-guide/serializers/"))
    languages = {lang for lang, _ in fenced_blocks(doc.markdown)}
    assert "python" in languages or "py" in languages


def test_no_navigation_or_sidebar_text(drf_crawls: DrfCrawls) -> None:
    with Corpus(drf_crawls.old_corpus) as corpus:
        docs = {d.url: d for d in corpus.documents()}
    for url, html_path in page_urls(drf_crawls, "v2026-07-31").items():
        tree = lxml.html.fromstring(html_path.read_bytes())
        main_text = " ".join(tree.cssselect(".md-content")[0].text_content().split())
        labels = {
            " ".join(a.text_content().split())
            for a in tree.cssselect(".md-sidebar a, .md-header a, .md-footer a")
        }
        lines = {_bare(line) for line in docs[url].markdown.split("\n")}
        leaked = {label for label in labels if label and label not in main_text} & lines
        assert not leaked, f"navigation text in {url}: {sorted(leaked)[:5]}"
        assert "¶" not in docs[url].markdown


def _bare(line: str) -> str:
    """A Markdown line without list marks, heading marks or link syntax."""
    line = re.sub(r"^\s*(?:[-*+]|\d+\.|#+)\s*", "", line)
    line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
    return " ".join(line.split())


def test_recrawl_reports_exactly_the_pages_whose_text_changed(
    drf_crawls: DrfCrawls, drf_changes: dict
) -> None:
    report = drf_crawls.new_report
    expected = sorted(
        drf_crawls.server.url + path.removesuffix("index.html")
        for path in drf_changes["visible_text_changed"]
    )
    assert report.changed_urls == expected
    assert report.changed == 6
    assert report.unchanged == 64
    assert report.new == 0 and report.removed == 0 and report.failed == {}
    with Corpus(drf_crawls.new_corpus) as corpus:
        fallback_pages = {p.url for p in corpus.pages("active") if p.extractor == "fallback"}
    assert fallback_pages & set(expected), "the fallback page is among the changed ones"


def test_recrawl_sends_conditional_requests(drf_crawls: DrfCrawls, drf_changes: dict) -> None:
    pages = [r for r in drf_crawls.new_requests if r.path.endswith("/")]
    assert pages, "the recrawl requested no pages"
    assert all("if-none-match" in r.headers for r in pages)
    not_modified = {r.path for r in pages if r.status == 304}
    # Pages whose bytes did not change between the deploys are answered 304, not downloaded.
    root = DRF / "v2026-08-18"
    byte_identical = {
        "/" + str(p.relative_to(root)).removesuffix("index.html")
        for p in root.rglob("index.html")
        if str(p.relative_to(root)) not in drf_changes["raw_changed"]
    }
    assert not_modified == byte_identical
