"""Main-content extraction on the real DRF docs site (MkDocs Material), both deploys.

Every expectation is read independently from the page's HTML with lxml: the code blocks and
tables of the main content, the text of the navigation and TOC sidebars, and which pages
changed between the two deploys (``CHANGES.json``).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import lxml.html
import pytest

from groundset.crawl.extract import Extraction, extract

from fixture_paths import fixture_path

DEPLOYS = ("v2026-07-31", "v2026-08-18")
HOST = "https://www.django-rest-framework.org/"
FALLBACK_PAGE = "community/release-notes/index.html"

_FENCE_OPEN = re.compile(r"^(?P<fence>`{3,})(?P<lang>[\w+#.-]*)$")
_TABLE_RULE = re.compile(r"^\|(?: *:?-{3,}:? *\|)+$")
_LINK_TARGET = re.compile(r"\]\(<?([^)>\s]*)")


@dataclass(frozen=True)
class Page:
    """One content page of one deploy, with what ``extract()`` made of it."""

    deploy: str
    path: str  # relative to the deploy, e.g. "api-guide/settings/index.html"
    html: str
    extraction: Extraction | None

    @property
    def url(self) -> str:
        return HOST + self.path.removesuffix("index.html")

    @property
    def tree(self) -> lxml.html.HtmlElement:
        return lxml.html.document_fromstring(self.html)

    @property
    def markdown(self) -> str:
        assert self.extraction is not None, f"no extraction for {self.deploy}/{self.path}"
        return self.extraction.markdown


@pytest.fixture(scope="module")
def pages() -> dict[tuple[str, str], Page]:
    """Every ``*/index.html`` page of both deploys, extracted once for the module."""
    found = {}
    for deploy in DEPLOYS:
        root = fixture_path("sites", "drf", deploy)
        for file in sorted(root.rglob("index.html")):
            path = file.relative_to(root).as_posix()
            html = file.read_text(encoding="utf-8")
            found[deploy, path] = Page(deploy, path, html, extract(html, HOST + path[:-10]))
    return found


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block of the Markdown, in order."""
    blocks = []
    lines = markdown.split("\n")
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        index += 1
        if not opening:
            continue
        body = []
        while index < len(lines) and lines[index] != opening["fence"]:
            body.append(lines[index])
            index += 1
        assert index < len(lines), f"unclosed fence: {opening.group(0)!r}"
        index += 1
        blocks.append((opening["lang"], "\n".join(body)))
    return blocks


def html_code_blocks(tree: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    """(language, code) of the main content's ``pre > code`` blocks, as the page shows them."""
    blocks = []
    for code in tree.cssselect(".md-content pre > code"):
        pre = code.getparent()
        classes = " ".join(
            element.get("class") or "" for element in (code, pre, pre.getparent())
        ).split()
        languages = [name[len("language-") :] for name in classes if name.startswith("language-")]
        language = languages[0] if languages else ""
        blocks.append((language, code.text_content().rstrip("\n")))
    return blocks


def bare(line: str) -> str:
    """A Markdown line without list, heading or quote marks, emphasis and link targets."""
    line = re.sub(r"^\s*(?:[-*+>]|\d+\.|#+)\s*", "", line)
    line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
    return " ".join(line.replace("**", "").replace("\\", "").split())


def collapse(text: str) -> str:
    return " ".join(text.split())


def test_the_fixture_has_70_content_pages_per_deploy(pages: dict[tuple[str, str], Page]) -> None:
    for deploy in DEPLOYS:
        assert len([key for key in pages if key[0] == deploy]) == 70


def test_every_page_gives_markdown_and_metadata(pages: dict[tuple[str, str], Page]) -> None:
    for page in pages.values():
        extraction = page.extraction
        assert extraction is not None, f"nothing extracted from {page.deploy}/{page.path}"
        assert extraction.markdown.strip(), f"empty Markdown for {page.deploy}/{page.path}"
        assert extraction.markdown.endswith("\n") and not extraction.markdown.endswith("\n\n")
        assert extraction.lang == "en"
        assert extraction.canonical_url == page.url
        h1 = page.tree.cssselect(".md-content h1")
        # The title is the page's own heading: without the permalink mark, without site suffix.
        assert extraction.title == collapse(h1[0].text_content()).removesuffix("¶").rstrip()


def test_known_titles(pages: dict[tuple[str, str], Page]) -> None:
    titles = {path: page.extraction.title for (_, path), page in pages.items() if page.extraction}
    assert titles["api-guide/settings/index.html"] == "Settings"
    assert titles["theme/src/index.html"] == "DRF logos"
    assert titles["topics/ajax-csrf-cors/index.html"] == "Working with AJAX, CSRF & CORS"


def test_code_blocks_equal_the_pages_code_in_order_with_language(
    pages: dict[tuple[str, str], Page],
) -> None:
    total = 0
    for page in pages.values():
        expected = html_code_blocks(page.tree)
        got = fenced_blocks(page.markdown)
        assert got == expected, f"code blocks differ on {page.deploy}/{page.path}"
        total += len(expected)
    assert total > 1000, "the fixture's pages hold hundreds of code blocks"


def test_code_keeps_blank_lines_entities_and_languages(pages: dict[tuple[str, str], Page]) -> None:
    blocks = fenced_blocks(pages["v2026-07-31", "api-guide/status-codes/index.html"].markdown)
    assert blocks[0] == (
        "text",
        "from rest_framework import status\n"
        "from rest_framework.response import Response\n"
        "\n"
        "def empty_view(self):\n"
        "    content = {'please move along': 'nothing to see here'}\n"
        "    return Response(content, status=status.HTTP_404_NOT_FOUND)",
    )
    # The old deploy writes &quot; where the new one writes ": the code reads the same.
    old, new = (
        fenced_blocks(pages[deploy, "api-guide/caching/index.html"].markdown) for deploy in DEPLOYS
    )
    assert old == new
    python = next(code for lang, code in old if lang == "python")
    assert '"user_feed"' in python and "&quot;" not in python
    languages = {
        lang for page in pages.values() for lang, _ in fenced_blocks(page.markdown) if lang
    }
    assert {"python", "bash", "text", "pycon"} <= languages


def test_no_permalink_marks(pages: dict[tuple[str, str], Page]) -> None:
    for page in pages.values():
        assert "¶" not in page.markdown, f"permalink mark on {page.deploy}/{page.path}"
        assert "Permanent link" not in page.markdown


def test_no_navigation_sidebar_or_toc_text(pages: dict[tuple[str, str], Page]) -> None:
    checked = 0
    for page in pages.values():
        tree = page.tree
        article = tree.cssselect(".md-content article")[0]
        main_text = collapse(article.text_content())
        chrome = {
            collapse(element.text_content())
            for element in tree.cssselect(
                ".md-sidebar--primary *, .md-sidebar--secondary *, .md-nav *, .md-header *,"
                " .md-footer *, .md-path *, .md-skip"
            )
        }
        leaked = {text for text in chrome if text and text not in main_text}
        checked += len(leaked)
        lines = {bare(line) for line in page.markdown.split("\n")}
        assert not leaked & lines, f"navigation in {page.path}: {sorted(leaked & lines)[:5]}"
    assert checked > 1000, "the sidebars hold text that is not in the main content"


def test_tables_are_markdown_tables(pages: dict[tuple[str, str], Page]) -> None:
    with_tables = 0
    for page in pages.values():
        tables = page.tree.cssselect(".md-content table")
        lines = page.markdown.split("\n")
        rules = [index for index, line in enumerate(lines) if _TABLE_RULE.match(line)]
        assert len(rules) == len(tables), f"tables lost on {page.deploy}/{page.path}"
        for rule, table in zip(rules, tables, strict=True):
            body = []
            for line in lines[rule + 1 :]:
                if not line.startswith("|"):
                    break
                body.append(line)
            rows = [lines[rule - 1], *body]
            assert len(rows) == len(table.cssselect("tr")), f"rows lost on {page.path}"
            assert all(row.startswith("| ") and row.endswith(" |") for row in rows), rows
        with_tables += bool(tables)
    assert with_tables == 12, "6 pages per deploy hold tables"
    filtering = pages["v2026-07-31", "api-guide/filtering/index.html"].markdown
    assert (
        "| Prefix | Lookup |  |\n|---|---|---|\n| `^` | `istartswith` | Starts-with search. |"
        in (filtering)
    )
    permissions = pages["v2026-07-31", "api-guide/permissions/index.html"].markdown
    assert "| Action: create | no | global | object-level |" in permissions


def test_links_are_absolute_and_resolved_against_the_page(
    pages: dict[tuple[str, str], Page],
) -> None:
    for page in pages.values():
        targets = _LINK_TARGET.findall(page.markdown)
        relative = [target for target in targets if not re.match(r"(?:https?|mailto):", target)]
        assert not relative, f"relative links on {page.path}: {relative[:5]}"
    settings = pages["v2026-07-31", "api-guide/settings/index.html"].markdown
    assert f"[setting]({HOST}api-guide/pagination/#setting-the-pagination-style)" in settings


def test_the_release_notes_need_the_fallback(pages: dict[tuple[str, str], Page]) -> None:
    fallbacks = {
        (deploy, path)
        for (deploy, path), page in pages.items()
        if page.extraction and page.extraction.extractor == "fallback"
    }
    assert fallbacks == {(deploy, FALLBACK_PAGE) for deploy in DEPLOYS}
    for deploy in DEPLOYS:
        page = pages[deploy, FALLBACK_PAGE]
        main_text = collapse(page.tree.cssselect(".md-content article")[0].text_content())
        markdown = page.markdown
        assert markdown.startswith("# Release Notes\n\n## Versioning\n")
        assert "### 3.15.2\n\n**Date**: 14th June 2024" in markdown
        # Almost all of the main text (link targets and markup aside) is kept.
        assert len(markdown) > 0.9 * len(main_text)
        assert not any(extra in markdown for extra in ("Skip to content", "Table of contents"))
    for key, page in pages.items():
        if key not in fallbacks:
            assert page.extraction is not None and page.extraction.extractor == "trafilatura"


def test_same_visible_text_gives_identical_markdown_across_deploys(
    pages: dict[tuple[str, str], Page], drf_changes: dict
) -> None:
    raw_changed = set(drf_changes["raw_changed"])
    text_changed = set(drf_changes["visible_text_changed"])
    paths = {path for _, path in pages}
    assert len(raw_changed & paths - text_changed) == 46
    for path in sorted(paths):
        old, new = (pages[deploy, path].markdown for deploy in DEPLOYS)
        if path in text_changed:
            assert old != new, f"{path} changed its visible text but not its Markdown"
        else:
            assert old == new, f"{path} has the same visible text but different Markdown"


def test_the_same_html_gives_the_same_bytes(pages: dict[tuple[str, str], Page]) -> None:
    page = pages["v2026-08-18", "api-guide/serializers/index.html"]
    assert extract(page.html, page.url) == page.extraction


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n\t",
        "<html></html>",
        "<html><body><nav><a href='/a'>A</a> <a href='/b'>B</a></nav></body></html>",
        "\x00\x01\x02",
        "<?xml version='1.0' encoding='latin-1'?><p>déclaré</p>",
        "<div>" * 3000,
    ],
    ids=["empty", "blank", "empty-html", "only-nav", "control-chars", "xml-declaration", "deep"],
)
def test_bad_html_never_raises(html: str) -> None:
    result = extract(html, HOST)
    assert result is None or result.markdown.strip()


def test_binary_junk_gives_none() -> None:
    junk = random.Random(0).randbytes(20_000)
    for text in (junk.decode("utf-8", "replace"), junk.decode("latin-1")):
        assert extract(text, "not a url") is None


def test_nothing_to_extract_gives_none() -> None:
    assert extract("", HOST) is None
    assert extract("<html></html>", HOST) is None


def test_undecodable_bytes_decoded_with_replacement_characters() -> None:
    html = fixture_path("sites", "drf", DEPLOYS[0], "api-guide", "settings", "index.html")
    mangled = html.read_bytes().replace(b"Namespaces", b"Namespaces\xff\xfe")
    extraction = extract(mangled.decode("utf-8", "replace"), HOST + "api-guide/settings/")
    assert extraction is not None
    assert "Namespaces\ufffd\ufffd are one honking great idea" in extraction.markdown


def test_a_page_cut_short_or_with_broken_urls_never_raises(
    pages: dict[tuple[str, str], Page],
) -> None:
    page = pages["v2026-07-31", "api-guide/settings/index.html"]
    for length in range(0, len(page.html), len(page.html) // 13):
        result = extract(page.html[:length], page.url)
        assert result is None or result.markdown.endswith("\n")
    broken = page.html.replace(page.url, "http://[broken").replace('href="../', 'href="http://[')
    result = extract(broken, "http://[also-broken")
    assert result is not None and result.canonical_url is None
    assert "Namespaces are one honking great idea" in result.markdown
