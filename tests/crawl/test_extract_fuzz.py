"""``extract()`` on 10,000 random inputs: a bad page may give ``None``, never an exception.

Each case is drawn from its own seeded generator (``random.Random(case)``), so a failing case is
rebuilt alone with ``_case(n)``. Four kinds: random bytes decoded as a server's charset would be,
random tag soup (tags, attributes that the cascade looks at, entities, comments, declarations),
random nesting up to 3,000 levels deep, and real pages cut and spliced with soup.
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import cache

from lxml.html.defs import tags as html_tags

from groundset.crawl.extract import Extraction, extract

from fixture_paths import fixture_path

CASES = 10_000
WORKERS = 2
MAX_DEPTH = 3_000

# Every HTML tag, and the foreign ones the cascade drops.
TAGS = (*sorted(html_tags), "svg", "math")
# Tags that nest, block and inline, with those the cascade treats apart.
NESTING_TAGS = (
    "div",
    "span",
    "section",
    "main",
    "p",
    "b",
    "a",
    "ul",
    "li",
    "dl",
    "dd",
    "blockquote",
    "table",
    "td",
    "pre",
    "code",
    "h2",
)
ATTRIBUTES = (
    "class",
    "id",
    "href",
    "src",
    "lang",
    "xml:lang",
    "rel",
    "role",
    "http-equiv",
    "content",
    "name",
    "style",
)
VALUES = (
    "",
    "#",
    "#intro",
    "../x/",
    "/docs/2.1/page/",
    "http://[broken",
    "javascript:alert(1)",
    "https://h/docs/",
    "canonical",
    "index search",
    "navigation",
    "main",
    "en-US",
    "zh_CN,en",
    "content-language",
    "py function",
    "sig sig-object",
    "field-list",
    "classifier",
    "rubric",
    "headerlink",
    "hash-link",
    "viewcode-link",
    "property",
    "md-nav md-sidebar",
    "d-print-none",
    "theme-doc-version-banner",
    "language-python",
    "highlight-default",
    "lang-c++",
    "\u200b",
    "\ufffd",
    "groundsetcodeblock0x",
)
WORDS = (
    "text",
    "Serializers convert querysets to JSON.",
    "¶",
    "#",
    "\u200b",
    "Last modified January 15, 2021: abc",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&nbsp;",
    "&bogus",
    "<",
    ">",
    "&",
    "|",
    "| a | b |",
    "```",
    "~~~",
    "\\",
    "*",
    "_",
    "groundsetcodeblock0x",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x0b",
    "\ufffd",
    "\ud800",
    "ä中文",
    "\U0001f600",
)
MARKUP_BYTES = b"<>/!-?[]=&#;\"' \n\tabcdehilmprtvx\x00\xff"
CODECS = ("utf-8", "latin-1", "cp1252", "utf-16", "shift_jis", "koi8-r")
URLS = (
    "https://h/docs/page/",
    "https://h/docs/2.1/page/",
    "https://h/genindex.html",
    "https://h/versions/",
    "http://[broken",
    "not a url",
    "",
)
REAL_PAGES = (
    ("sites", "mapclassify", "generated", "mapclassify.EqualInterval.html"),
    ("sites", "drf", "v2026-07-31", "api-guide", "caching", "index.html"),
    ("sites", "mdbook-guide", "format", "summary.html"),
    ("sites", "ts-jest", "ts-jest", "docs", "debugging.html"),
)


def _attributes(rng: random.Random) -> str:
    pairs = []
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        name = rng.choice(ATTRIBUTES)
        value = rng.choice(VALUES)
        pairs.append(rng.choice((f' {name}="{value}"', f" {name}='{value}'", f" {name}")))
    return "".join(pairs)


def _token(rng: random.Random) -> str:
    tag = rng.choice(TAGS)
    kind = rng.random()
    if kind < 0.35:
        return f"<{tag}{_attributes(rng)}>"
    if kind < 0.55:
        return f"</{tag}>"
    if kind < 0.6:
        return f"<{tag}{_attributes(rng)}/>"
    if kind < 0.9:
        return rng.choice(WORDS)
    return rng.choice(
        (
            "<!-- a comment -->",
            "<!--",
            "<!DOCTYPE html>",
            "<![CDATA[x]]>",
            "<![if !IE]>",
            "<![&",
            "<?xml version='1.0' encoding='latin-1'?>",
            "<!",
            "</",
            "<a",
            "<p =x>",
            "<source=>",
            "\udfff",
        )
    )


def _soup(rng: random.Random) -> str:
    return "".join(_token(rng) for _ in range(rng.randrange(1, 60)))


def _random_bytes(rng: random.Random) -> str:
    size = rng.randrange(0, 3_000)
    # Half of them from bytes that read as broken markup, so that most pass the text check.
    markup = rng.random() < 0.5
    data = bytes(rng.choices(MARKUP_BYTES, k=size)) if markup else rng.randbytes(size)
    return data.decode(rng.choice(CODECS), "replace")


def _nested(rng: random.Random) -> str:
    depth = int(MAX_DEPTH ** rng.random())  # as many shallow cases as deep ones
    tags = [rng.choice(NESTING_TAGS) for _ in range(depth)]
    opened = "".join(
        f"<{tag}{_attributes(rng)}>" + (_token(rng) if rng.random() < 0.2 else "") for tag in tags
    )
    closing = rng.choice(("all", "some", "none"))
    closed = "".join(
        f"</{tag}>"
        for tag in reversed(tags)
        if closing == "all" or (closing == "some" and rng.random() < 0.5)
    )
    return f"<html><body><main><h1>Deep</h1>{opened}<p>The deepest text.</p>{closed}</main>"


@cache
def _real_pages() -> tuple[str, ...]:
    return tuple(fixture_path(*parts).read_text(encoding="utf-8") for parts in REAL_PAGES)


def _mutated(rng: random.Random) -> str:
    page = rng.choice(_real_pages())
    start = rng.randrange(len(page))
    piece = page[start : start + rng.randrange(500, 6_000)]
    cut = rng.randrange(len(piece) + 1)
    return f"<html><body>{piece[:cut]}{_soup(rng)}{piece[cut:]}"


KINDS: tuple[tuple[float, Callable[[random.Random], str]], ...] = (
    (0.25, _random_bytes),
    (0.45, _soup),
    (0.15, _nested),
    (0.15, _mutated),
)


def _case(case: int) -> tuple[str, str, bool]:
    """The HTML, URL and ``all_versions`` of one case."""
    rng = random.Random(case)
    make = rng.choices([k for _, k in KINDS], weights=[w for w, _ in KINDS])[0]
    return make(rng), rng.choice(URLS), rng.random() < 0.5


def _failures(cases: range) -> list[str]:
    """Runs ``cases``; one line for each that raised."""
    failures = []
    for case in cases:
        html, url, all_versions = _case(case)
        try:
            result = extract(html, url, all_versions=all_versions)
        except Exception as exc:  # every escaping exception is a finding, reported by case
            failures.append(f"case {case}: {type(exc).__name__}: {exc}")
            continue
        if result is not None and not isinstance(result, Extraction):
            failures.append(f"case {case}: returned {type(result).__name__}")
    return failures


def test_extract_never_raises_on_random_input() -> None:
    # Two processes: a case with text costs trafilatura's fixed ~10 ms; about 60 s on one core.
    chunks = [range(start, CASES, WORKERS) for start in range(WORKERS)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        failures = [line for lines in pool.map(_failures, chunks) for line in lines]
    assert not failures, f"{len(failures)} cases raised; rebuild one with _case(n):\n" + "\n".join(
        failures[:10]
    )
