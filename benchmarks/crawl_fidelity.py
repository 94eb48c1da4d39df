"""Extraction fidelity per generator: groundset's extraction against bare trafilatura.

For every page of each fixture deploy (Sphinx, Docusaurus 2 and 3, mdBook, Hugo/Docsy and the
DRF MkDocs site) counts what the page's main element holds (``<pre>`` blocks, ``<table>``
elements, headings) and what each extractor's Markdown keeps of it: fenced code blocks, Markdown
tables (rows with a separator line), and headings that still carry an anchor mark (a link to
the page's own anchor, a zero-width space, a pilcrow). Pages groundset sets aside (old docs
versions, generated index pages) are counted apart and left out of the comparison.

    python benchmarks/crawl_fidelity.py
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
import trafilatura

from groundset.crawl.extract import extract

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "sites"
SITES = {
    "drf/v2026-08-18": "div.md-content",
    "mapclassify": "div[role=main]",
    "immer": "article",
    "ts-jest": "article",
    "mdbook-guide": "main",
    "secrets-store-csi-azure": "div.td-content",
}
_FENCE = re.compile(r"^(`{3,})[^\n`]*\n.*?\n\1$", re.MULTILINE | re.DOTALL)
_TABLE_SEPARATOR = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+\s*$", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6} (.*)$", re.MULTILINE)


@dataclass
class Counts:
    pages: int = 0
    set_aside: dict[str, int] = field(default_factory=dict)
    pre: int = 0
    tables: int = 0
    fences: dict[str, int] = field(default_factory=lambda: {"groundset": 0, "trafilatura": 0})
    md_tables: dict[str, int] = field(default_factory=lambda: {"groundset": 0, "trafilatura": 0})
    headings: dict[str, int] = field(default_factory=lambda: {"groundset": 0, "trafilatura": 0})
    marked: dict[str, int] = field(default_factory=lambda: {"groundset": 0, "trafilatura": 0})
    seconds: dict[str, float] = field(
        default_factory=lambda: {"groundset": 0.0, "trafilatura": 0.0}
    )


def _marked(heading: str, url: str) -> bool:
    return (
        "\u200b" in heading
        or "¶" in heading
        or f"]({url}#" in heading
        or bool(re.search(r"\]\(#[^)]*\)", heading))
    )


def _count(markdown: str, url: str, who: str, counts: Counts) -> None:
    body = _FENCE.sub("", markdown)
    counts.fences[who] += len(_FENCE.findall(markdown))
    counts.md_tables[who] += len(_TABLE_SEPARATOR.findall(body))
    headings = _HEADING.findall(body)
    counts.headings[who] += len(headings)
    counts.marked[who] += sum(_marked(h, url) for h in headings)


def measure(site: str, selector: str) -> Counts:
    counts = Counts()
    root = FIXTURES / site
    for path in sorted(p for p in root.rglob("*.html") if p.is_file()):
        html = path.read_bytes().decode("utf-8", "replace")
        url = f"http://127.0.0.1:8000/{path.relative_to(root).as_posix()}"
        start = time.perf_counter()
        ours = extract(html, url)
        counts.seconds["groundset"] += time.perf_counter() - start
        if ours is None:
            continue
        if ours.set_aside:
            counts.set_aside[ours.set_aside] = counts.set_aside.get(ours.set_aside, 0) + 1
            continue
        doc = lxml.html.document_fromstring(html.encode("utf-8"))
        mains = doc.cssselect(selector)
        if not mains:
            continue
        counts.pages += 1
        counts.pre += sum(
            1
            for pre in mains[0].iter("pre")
            if not any(a.tag == "pre" for a in pre.iterancestors())
        )
        counts.tables += sum(
            1
            for t in mains[0].iter("table")
            if not any(a.tag == "table" for a in t.iterancestors())
        )
        start = time.perf_counter()
        bare = (
            trafilatura.extract(
                html,
                url=url,
                output_format="markdown",
                include_tables=True,
                include_links=True,
                include_formatting=True,
            )
            or ""
        )
        counts.seconds["trafilatura"] += time.perf_counter() - start
        _count(ours.markdown, url, "groundset", counts)
        _count(bare, url, "trafilatura", counts)
    return counts


def _share(kept: int, total: int) -> str:
    return f"{kept}/{total} ({kept / total:.0%})" if total else f"{kept}/0"


def main() -> int:
    if not FIXTURES.exists():
        print(f"missing fixtures: {FIXTURES}", file=sys.stderr)
        return 1
    print(
        "site | pages (set aside) | code blocks: groundset / trafilatura | tables: groundset /"
        " trafilatura | headings with anchor marks: groundset / trafilatura | ms/page ours / bare"
    )
    for site, selector in SITES.items():
        c = measure(site, selector)
        aside = ", ".join(f"{k} {v}" for k, v in sorted(c.set_aside.items())) or "none"
        print(
            f"{site} | {c.pages} ({aside}) | "
            f"{_share(c.fences['groundset'], c.pre)} / {_share(c.fences['trafilatura'], c.pre)} | "
            f"{_share(c.md_tables['groundset'], c.tables)} / "
            f"{_share(c.md_tables['trafilatura'], c.tables)} | "
            f"{c.marked['groundset']}/{c.headings['groundset']} / "
            f"{c.marked['trafilatura']}/{c.headings['trafilatura']} | "
            f"{1000 * c.seconds['groundset'] / max(1, c.pages):.0f} / "
            f"{1000 * c.seconds['trafilatura'] / max(1, c.pages):.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
