"""Chunk invariants on the real DRF corpus, at the embedder's size and at a size that forces splits.

The checks read the Markdown independently of the chunker: a code block is whatever lies between
fence lines, a table is a pipe row followed by a rule.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from groundset.corpus import Corpus, Document
from groundset.ground import Embedder, chunk_document
from groundset.ground.chunking import PATH_SEPARATOR
from groundset.records import Chunk

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)+\|?\s*$")
HEADING = re.compile(r"^ {0,3}#{1,6}\s")


@pytest.fixture(scope="module")
def drf_docs(drf_corpus_old: Path) -> list[Document]:
    with Corpus(drf_corpus_old) as corpus:
        return list(corpus.documents())


@pytest.fixture(scope="module")
def chunked(drf_docs: list[Document], embedder: Embedder) -> dict[str, list[Chunk]]:
    return {d.url: chunk_document(d, embedder.count_tokens) for d in drf_docs}


@pytest.fixture(scope="module")
def chunked_small(drf_docs: list[Document], embedder: Embedder) -> dict[str, list[Chunk]]:
    """Chunks of at most 96 word pieces: long code blocks, tables and paragraphs must split."""
    return {d.url: chunk_document(d, embedder.count_tokens, max_tokens=96) for d in drf_docs}


def code_blocks(markdown: str) -> list[list[str]]:
    """The lines of each fenced code block, fences excluded."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    marker = ""
    for line in markdown.splitlines():
        fence = FENCE.match(line)
        if current is None and fence:
            current, marker = [], fence.group(1)
        elif current is not None and fence and line.strip().startswith(marker):
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def tables(markdown: str) -> list[tuple[str, str, list[str]]]:
    """(header row, rule, body rows) of each pipe table."""
    lines = markdown.splitlines()
    found = []
    for i in range(len(lines) - 1):
        if "|" in lines[i] and TABLE_RULE.match(lines[i + 1]) and not TABLE_RULE.match(lines[i]):
            rows = []
            for row in lines[i + 2 :]:
                if not row.strip() or "|" not in row:
                    break
                rows.append(row)
            found.append((lines[i], lines[i + 1], rows))
    return found


def plain(heading: str) -> str:
    """Letters and digits of a heading, without its Markdown."""
    text = re.sub(r"^#+\s*|\]\([^)]*\)", "", heading)
    return re.sub(r"[^A-Za-z0-9]+", "", text).lower()


def fences_balanced(text: str) -> bool:
    marker = None
    for line in text.splitlines():
        fence = FENCE.match(line)
        if not fence:
            continue
        if marker is None:
            marker = fence.group(1)
        elif line.strip().startswith(marker) and not line.strip().strip(marker[0]):
            marker = None
    return marker is None


@pytest.mark.parametrize("variant", ["chunked", "chunked_small"])
def test_chunks_fit_and_fences_close(
    variant: str, request: pytest.FixtureRequest, embedder: Embedder
) -> None:
    by_url: dict[str, list[Chunk]] = request.getfixturevalue(variant)
    limit = 256 if variant == "chunked" else 96
    chunks = [c for cs in by_url.values() for c in cs]
    assert len(chunks) > 1000
    sizes = [embedder.count_tokens(c.text) for c in chunks]
    assert max(sizes) <= limit
    assert [c.id for c in chunks if not fences_balanced(c.text)] == []


@pytest.mark.parametrize("variant", ["chunked", "chunked_small"])
def test_code_lines_are_never_cut(
    variant: str, request: pytest.FixtureRequest, drf_docs: list[Document], embedder: Embedder
) -> None:
    """Every code line is whole in some chunk (at 96, lines too long for any chunk excepted)."""
    by_url: dict[str, list[Chunk]] = request.getfixturevalue(variant)
    longest = 256 if variant == "chunked" else 48
    checked = 0
    for doc in drf_docs:
        lines = {line for c in by_url[doc.url] for line in c.text.splitlines()}
        for block in code_blocks(doc.markdown):
            missing = [
                line
                for line in block
                if line.strip() and line not in lines and embedder.count_tokens(line) <= longest
            ]
            assert missing == [], f"{doc.url}: code lines cut or lost: {missing[:3]}"
            checked += len(block)
    assert checked > 4000


def test_long_code_blocks_are_split(
    chunked_small: dict[str, list[Chunk]], drf_docs: list[Document]
) -> None:
    """At 96 word pieces many DRF code blocks must be cut, each piece in fences of its own."""
    split = 0
    for doc in drf_docs:
        for block in code_blocks(doc.markdown):
            distinct = [line for line in block if len(line.strip()) > 20]
            holders = [
                c for c in chunked_small[doc.url] if set(distinct) & set(c.text.splitlines())
            ]
            split += len(holders) > 1
    assert split > 20


@pytest.mark.parametrize("variant", ["chunked", "chunked_small"])
def test_tables_keep_their_header_in_every_piece(
    variant: str, request: pytest.FixtureRequest, drf_docs: list[Document]
) -> None:
    """Every run of table rows in a chunk starts with one of the page's header rows and rule."""
    by_url: dict[str, list[Chunk]] = request.getfixturevalue(variant)
    runs = 0
    for doc in drf_docs:
        headers = {(header, rule) for header, rule, _ in tables(doc.markdown)}
        parts = {line for h, r, body in tables(doc.markdown) for line in (h, r, *body)}
        for chunk in by_url[doc.url]:
            lines = chunk.text.splitlines()
            for i, line in enumerate(lines):
                starts_run = "|" in line and (i == 0 or "|" not in lines[i - 1])
                if starts_run and line in parts:
                    assert (line, lines[i + 1]) in headers, f"{doc.url}: rows without header"
                    runs += 1
    assert runs >= 6


def test_tables_split_when_too_long(
    chunked_small: dict[str, list[Chunk]], drf_docs: list[Document]
) -> None:
    """At 96 word pieces some DRF tables no longer fit: their rows spread over several chunks."""
    split = 0
    for doc in drf_docs:
        found = tables(doc.markdown)
        for _, _, rows in found:
            others = {r for _, _, body in found if body is not rows for r in body}
            own = set(rows) - others
            holders = [c for c in chunked_small[doc.url] if own & set(c.text.splitlines())]
            split += len(holders) > 1
    assert split >= 1


def test_heading_paths_lead_every_chunk(
    chunked: dict[str, list[Chunk]], drf_docs: list[Document]
) -> None:
    for doc in drf_docs:
        chunks = chunked[doc.url]
        assert [c.position for c in chunks] == list(range(len(chunks)))
        headings = {plain(line) for line in doc.markdown.splitlines() if HEADING.match(line)}
        for c in chunks:
            assert (c.doc_url, c.title, c.lang) == (doc.url, doc.title, doc.lang)
            assert c.text.split("\n\n", 1)[0] == (c.heading_path or doc.title)
            if doc.markdown.lstrip().startswith("#"):
                assert c.heading_path, f"{doc.url}: chunk without heading path"
            for part in filter(None, c.heading_path.split(PATH_SEPARATOR)):
                assert plain(part) in headings, f"{doc.url}: {part!r} is no heading"


def test_nested_heading_path_of_a_known_section(chunked: dict[str, list[Chunk]]) -> None:
    """DRF's page repeats its H1 as H2 ("Serializers"); the path says it once."""
    paths = {c.heading_path for cs in chunked.values() for c in cs}
    assert "Serializers > Validation > Field-level validation" in paths
    assert "Settings > API Reference > API policy settings > DEFAULT_THROTTLE_CLASSES" in paths


def test_long_sections_repeat_their_heading_path(chunked: dict[str, list[Chunk]]) -> None:
    by_path: dict[tuple[str, str], list[Chunk]] = {}
    for cs in chunked.values():
        for c in cs:
            by_path.setdefault((c.doc_url, c.heading_path), []).append(c)
    split = [cs for cs in by_path.values() if len(cs) > 1]
    assert len(split) > 20
    for cs in split:
        assert all(c.text.startswith(cs[0].heading_path + "\n\n") for c in cs)


def test_tiny_sections_join_their_parent(
    chunked: dict[str, list[Chunk]], embedder: Embedder
) -> None:
    merged = [
        c
        for cs in chunked.values()
        for c in cs
        if any(HEADING.match(x) for x in c.text.splitlines())
    ]
    assert merged, "no tiny section was merged into its parent"
    for c in merged:
        assert embedder.count_tokens(c.text) <= 256
    sizes = Counter((c.doc_url, c.heading_path) for cs in chunked.values() for c in cs)
    tiny_alone = [
        (prev, c)
        for cs in chunked.values()
        for prev, c in itertools.pairwise(cs)
        if sizes[(c.doc_url, c.heading_path)] == 1
        and embedder.count_tokens(c.text.split("\n\n", 1)[1]) < 32
        and c.heading_path.startswith(prev.heading_path + PATH_SEPARATOR)
        and embedder.count_tokens(prev.text + "\n\n" + c.text) <= 200
    ]
    assert tiny_alone == []


def test_ids_are_stable_and_unique(
    drf_docs: list[Document], chunked: dict[str, list[Chunk]], embedder: Embedder
) -> None:
    first = [c.id for d in drf_docs for c in chunked[d.url]]
    second = [c.id for d in drf_docs for c in chunk_document(d, embedder.count_tokens)]
    assert first == second
    assert len(set(first)) == len(first)


def test_ids_change_with_content_only(drf_docs: list[Document], embedder: Embedder) -> None:
    doc = next(d for d in drf_docs if d.url.endswith("/api-guide/throttling/"))
    before = chunk_document(doc, embedder.count_tokens)
    target = next(c for c in before if c.heading_path.endswith("Setting the throttling policy"))
    sentence = target.text.split("\n\n")[1].split(". ")[0]
    edited = replace(
        doc,
        markdown=doc.markdown.replace(sentence, sentence + " (edited)", 1),
        content_sha256="",
    )
    after = chunk_document(edited, embedder.count_tokens)
    changed = {c.id for c in before} - {c.id for c in after}
    assert changed == {target.id}
    assert len(after) == len(before)


def test_drf_redeploy_keeps_ids_of_unchanged_sections(
    chunked: dict[str, list[Chunk]], drf_corpus_new: Path, embedder: Embedder, drf_changes: dict
) -> None:
    with Corpus(drf_corpus_new) as corpus:
        new = {d.url: chunk_document(d, embedder.count_tokens) for d in corpus.documents()}
    changed_pages = {u for u in new if {c.id for c in new[u]} != {c.id for c in chunked[u]}}
    expected = {p.removesuffix("index.html") for p in drf_changes["visible_text_changed"]}
    assert {u.split("/", 3)[3] for u in changed_pages} == expected
    for url in changed_pages:
        old_by_text = {c.text: c.id for c in chunked[url]}
        for c in new[url]:
            if c.text in old_by_text:
                assert old_by_text[c.text] == c.id


def test_unclosed_fence_at_the_end_is_closed(drf_docs: list[Document], embedder: Embedder) -> None:
    doc = next(d for d in drf_docs if d.url.endswith("/api-guide/serializers/"))
    lines = doc.markdown.splitlines()
    fence_lines = [i for i, line in enumerate(lines) if FENCE.match(line)]
    opening = fence_lines[len(fence_lines) // 2 // 2 * 2]
    truncated = "\n".join(lines[: opening + 3])
    assert not fences_balanced(truncated)
    chunks = chunk_document(
        replace(doc, markdown=truncated, content_sha256=""), embedder.count_tokens
    )
    assert all(fences_balanced(c.text) for c in chunks)
