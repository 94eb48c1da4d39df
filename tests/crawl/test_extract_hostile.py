"""Hostile pages at the extractor: binary data served as HTML, and HTML nested 10,000 deep."""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator

import pytest

from groundset.crawl.extract import extract, is_text

from fixture_paths import fixture_path

URL = "https://docs.example.com/guide/page/"
JUNK = random.Random(0).randbytes(300_000)

INTRO = (
    "<h1>Deep</h1><p>Serializers allow complex data such as querysets and model instances to "
    "be converted to native Python datatypes.</p>"
)


def real_pages() -> Iterator[tuple[str, str]]:
    """(name, text) of every real page of tests/fixtures: the docs sites and the 181 pages of
    the article-extraction benchmark (news, blogs, shops; many languages)."""
    for path in sorted(fixture_path("sites").rglob("*.html")):
        if path.is_file():
            yield path.as_posix(), path.read_bytes().decode("utf-8", "replace")
    benchmark = fixture_path("extraction", "article-extraction-benchmark", "html")
    for path in sorted(benchmark.glob("*.html.gz")):
        yield path.name, gzip.decompress(path.read_bytes()).decode("utf-8", "replace")


# -- not text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["ascii", "utf-8", "cp1252", "koi8-r", "utf-16", "shift_jis"])
def test_random_bytes_are_not_text_whatever_the_charset(codec: str) -> None:
    body = JUNK.decode(codec, "replace")
    assert not is_text(body)
    assert extract(body, URL) is None


def test_no_real_page_is_refused_as_not_text() -> None:
    pages = dict(real_pages())
    assert len(pages) == 690
    assert [name for name, text in pages.items() if not is_text(text)] == []


def test_a_few_replacement_characters_are_still_text() -> None:
    page = fixture_path("sites", "drf", "v2026-07-31", "api-guide", "settings", "index.html")
    mangled = page.read_bytes().replace(b"e", b"\xff", 300).decode("utf-8", "replace")
    assert is_text(mangled)
    assert is_text("")


# -- deep nesting ------------------------------------------------------------------------------


def nested(depth: int, opening: str, closing: str) -> str:
    """A page whose deepest paragraph sits ``depth`` wrappers down, with a paragraph after."""
    return (
        f"<html><head><title>Deep</title></head><body><main>{INTRO}{opening * depth}"
        f"<p>The deepest paragraph says hello.</p>{closing * depth}"
        "<p>After the nesting comes the rest of the page.</p></main></body></html>"
    )


# lxml's parser stops at 256 levels and drops the rest of the page; markdownify fails near 330.
@pytest.mark.parametrize("depth", [100, 255, 260, 1_000, 10_000])
def test_deeply_nested_text_is_kept(depth: int) -> None:
    extraction = extract(nested(depth, "<div>", "</div>"), URL)
    assert extraction is not None
    markdown = extraction.markdown
    assert markdown.startswith("# Deep\n\nSerializers allow complex data")
    assert "The deepest paragraph says hello." in markdown
    assert markdown.endswith("After the nesting comes the rest of the page.\n")


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("<blockquote>", "</blockquote>"),
        ("<ul><li>", "</li></ul>"),
        ("<table><tr><td>", "</td></tr></table>"),
        ("<section>level ", "</section>"),
        ("<span>", "</span>"),
        ("<div>", ""),  # never closed
    ],
    ids=["blockquote", "list", "table", "text-at-each-level", "inline", "unclosed"],
)
def test_text_nested_10000_deep_in_any_element_is_kept(opening: str, closing: str) -> None:
    extraction = extract(nested(10_000, opening, closing), URL)
    assert extraction is not None
    assert "The deepest paragraph says hello." in extraction.markdown
    assert "After the nesting comes the rest of the page." in extraction.markdown
