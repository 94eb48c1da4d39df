"""Extraction on real deploys of the generators most docs sites are built with.

Sphinx (mapclassify), Docusaurus 2 and 3 (immer, ts-jest), mdBook (mdbook-guide) and Hugo with
Docsy (secrets-store-csi-azure): every page of each deploy in ``tests/fixtures/sites``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.html
import pytest

from groundset.crawl.extract import extract

from fixture_paths import fixture_path

# Each site and the element its pages mark as main content (from the fixtures' README).
SITES = {
    "mapclassify": "div[role=main]",
    "immer": "article",
    "ts-jest": "article",
    "mdbook-guide": "main",
    "secrets-store-csi-azure": "div.td-content",
}

_HEADING = re.compile(r"^#{1,6} (.*)$", re.MULTILINE)
_FENCE = re.compile(r"^(`{3,})[^\n`]*\n.*?\n\1$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Page:
    site: str
    url: str
    html: str
    markdown: str


def _pages(site: str) -> list[Page]:
    root = fixture_path("sites", site)
    pages = []
    for path in sorted(p for p in root.rglob("*.html") if p.is_file()):
        url = f"http://127.0.0.1:8000/{path.relative_to(root).as_posix()}"
        html = path.read_bytes().decode("utf-8", "replace")
        extraction = extract(html, url)
        if extraction is not None and extraction.set_aside is None:
            pages.append(Page(site, url, html, extraction.markdown))
    return pages


def _outermost(page: Page, selector: str, tag: str) -> int:
    """How many ``tag`` elements, not nested in another, the page's main element holds."""
    root = lxml.html.document_fromstring(page.html.encode("utf-8"))
    mains = root.cssselect(selector)
    if not mains:
        return 0
    return sum(1 for e in mains[0].iter(tag) if not any(a.tag == tag for a in e.iterancestors()))


@pytest.fixture(scope="module")
def sites() -> dict[str, list[Page]]:
    return {site: _pages(site) for site in SITES}


def test_every_deploy_gives_pages(sites: dict[str, list[Page]]) -> None:
    counts = {site: len(pages) for site, pages in sites.items()}
    # ts-jest: the current version's pages; its five other versions are set aside.
    assert counts["ts-jest"] >= 25 and counts["mapclassify"] >= 40, counts
    assert min(counts.values()) >= 25, counts


@pytest.mark.parametrize("site", ["immer", "ts-jest", "mdbook-guide"])
def test_headings_are_their_text_without_permalinks(
    sites: dict[str, list[Page]], site: str
) -> None:
    headings = [
        (page.url, heading)
        for page in sites[site]
        for heading in _HEADING.findall(_FENCE.sub("", page.markdown))
    ]
    # Docusaurus: "Limitations[​](http://host/page#limitations)"; mdBook: "[CI](page.html#ci)".
    self_links = [
        (url, h) for url, h in headings if f"]({url}#" in h or "\u200b" in h or h.startswith("[")
    ]
    assert len(headings) > 100
    assert self_links == []


def test_a_heading_link_to_another_page_stays_a_link(sites: dict[str, list[Page]]) -> None:
    # Docsy's section index lists its child pages as linked headings: real links, not anchors.
    docs = [
        p
        for p in sites["secrets-store-csi-azure"]
        if p.url.endswith("/docs/getting-started/index.html")
    ]
    assert docs, "the Docsy fixture has its getting-started index page"
    assert re.search(
        r"^#+ \[Installation\]\(http://127\.0\.0\.1:8000/\S+/\)$", docs[0].markdown, re.M
    )


def test_docsy_feedback_widget_and_page_meta_are_not_content(
    sites: dict[str, list[Page]],
) -> None:
    pages = sites["secrets-store-csi-azure"]
    assert sum("Was this page helpful?" in p.html for p in pages) >= 30
    leaks = [
        p.url
        for p in pages
        if re.search(
            r"Was this page helpful|Glad to hear it|Sorry to hear that|Last modified", p.markdown
        )
    ]
    assert leaks == []


def test_a_sentence_about_a_last_modified_field_stays() -> None:
    html = (
        "<html><body><main><h1>Files</h1><p>Last modified times are kept in the mtime field.</p>"
        "<p>Other text of the page, long enough to be the main content of it.</p>"
        '<div class="text-muted">Last modified January 15, 2021: <a href="/c">docs (2a30)</a></div>'
        "</main></body></html>"
    )
    extraction = extract(html, "http://127.0.0.1/files/")
    assert extraction is not None
    assert "Last modified times are kept in the mtime field." in extraction.markdown
    assert "January 15" not in extraction.markdown and "2a30" not in extraction.markdown


@pytest.mark.parametrize("site", sorted(SITES))
def test_no_code_block_of_the_main_content_is_lost(sites: dict[str, list[Page]], site: str) -> None:
    lost = []
    total = 0
    for page in sites[site]:
        pres = _outermost(page, SITES[site], "pre")
        total += pres
        kept = len(_FENCE.findall(page.markdown))
        if kept < pres:
            lost.append((page.url, pres, kept))
    assert total >= 50, f"{site}: the fixture's main content holds code"
    assert lost == []


_TABLE_SEPARATOR = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+\s*$", re.MULTILINE)


@pytest.mark.parametrize("site", sorted(SITES))
def test_every_table_of_the_main_content_is_a_markdown_table(
    sites: dict[str, list[Page]], site: str
) -> None:
    # Sphinx's autosummary tables have no header row; a Chinese Docusaurus page made trafilatura
    # flatten its table into lines. Both must come out as Markdown tables.
    lost = []
    total = 0
    for page in sites[site]:
        tables = _outermost(page, SITES[site], "table")
        total += tables
        kept = len(_TABLE_SEPARATOR.findall(_FENCE.sub("", page.markdown)))
        if kept < tables:
            lost.append((page.url, tables, kept))
    assert total >= 2, f"{site}: the fixture's main content holds tables"
    assert lost == []


def test_an_autodoc_entry_reads_as_a_developer_reads_it(sites: dict[str, list[Page]]) -> None:
    page = next(p for p in sites["mapclassify"] if p.url.endswith("/mapclassify.Quantiles.html"))
    assert (
        "## class `mapclassify.Quantiles(y, k=5)`\n\nQuantile Map Classification." in page.markdown
    )
    assert "**Parameters:**\n\n- **y** (numpy.array): $(n,1)$, values to classify." in page.markdown
    assert "- **k** (int (default 5)): The number of classes required." in page.markdown
    # The autosummary of its methods is a table, one method a row.
    assert "| `find_bin`(x) | Sort input or inputs according to the current bin estimate. |" in (
        page.markdown
    )
    assert "[source]" not in page.markdown
