"""Heading-aware chunking, sized in the embedder's own word pieces.

A chunk is one section of a page: its text starts with the section's heading path on a line of
its own ("Serializers > Validation > Field-level validation"), a blank line, then the section's
Markdown. The heading path is repeated in every piece of a split section, so each chunk can be
embedded, retrieved and cited on its own, and it is counted in the size bound.

How a section becomes chunks, in order:

1. A section that fits (heading path included, special tokens included) is one chunk.
2. A longer one is filled greedily with its blocks (paragraphs, code blocks, tables), breaking
   only between blocks.
3. A block that cannot fit any chunk on its own is split, its first piece filling the room the
   chunk before it has left: a code block between lines, each piece in the block's own fences;
   a table between rows, each piece under the header row and rule; prose between lines, then
   sentences, then words, keeping the whitespace between them.
4. Only a single line, sentence or word that alone exceeds the budget is cut inside, at the
   longest prefix that fits: the size bound wins, because the embedder would silently drop
   whatever lies past it.
5. A tiny section (fewer than ``min_tokens``) joins the chunk just before it when that chunk
   belongs to one of its ancestors and the result still fits, its headings written out as
   Markdown headings, so that a heading with one sentence under it does not become a chunk too
   thin to retrieve. Sections with no body make no chunk; their headings live on in the paths
   of the sections below them.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from groundset.corpus import Document, content_sha256
from groundset.ground.markdown import Block, Section, parse_sections
from groundset.records import Chunk

__all__ = [
    "CHUNKER_VERSION",
    "PATH_SEPARATOR",
    "TokenCounter",
    "chunk_document",
    "chunk_id",
    "display_path",
]

#: Bumped whenever the same document would be cut differently, so that indexes rebuild it.
CHUNKER_VERSION = "1"
PATH_SEPARATOR = " > "

#: Counts the word pieces the embedder reads for a text, special tokens included.
TokenCounter = Callable[[str], int]
_Fits = Callable[[str], bool]

# Prose is split at the coarsest boundary that works: lines (list items), sentences, words.
# The separators are captured so that pieces landing in one chunk rejoin exactly.
_PROSE_SPLITS = (
    re.compile(r"(\n)"),
    re.compile(r"(?<=[.!?:;])(\s+)"),
    re.compile(r"(\s+)"),
)


@dataclass(frozen=True)
class _Unit:
    """A piece of a block that is never split, and the text that joins it to the one before."""

    text: str
    joiner: str


@dataclass(frozen=True)
class _Run:
    """A block as units, and what wraps each chunk's share of them (fences, a table header)."""

    units: list[_Unit]
    wrap: Callable[[str], str]


@dataclass
class _Draft:
    path: list[str]
    context: str
    body: str


def chunk_id(doc_url: str, heading_path: str, sha: str) -> str:
    """The id of a chunk: the same for the same page, heading path and content."""
    return hashlib.sha256(f"{doc_url}\n{heading_path}\n{sha}".encode()).hexdigest()[:32]


def chunk_document(
    doc: Document,
    count_tokens: TokenCounter,
    *,
    max_tokens: int = 256,
    min_tokens: int = 32,
) -> list[Chunk]:
    """Cut a document into chunks that the embedder reads whole.

    Args:
        doc: the document.
        count_tokens: the embedder's word-piece count of a text, special tokens included.
        max_tokens: the most word pieces a chunk may have (the embedder's sequence length).
        min_tokens: sections with a shorter body join their parent's chunk when they can.

    Returns:
        The chunks in document order, ``position`` counting from 0.
    """
    drafts: list[_Draft] = []
    for section in parse_sections(doc.markdown):
        if not section.blocks:
            continue
        context = _context_line(section.path, doc.title, count_tokens, max_tokens)

        def fits(body: str, context: str = context) -> bool:
            return count_tokens(f"{context}\n\n{body}") <= max_tokens

        bodies = _pack([_run(block, fits) for block in section.blocks], fits)
        tiny = len(bodies) == 1 and count_tokens(bodies[0]) < min_tokens
        if not (tiny and _merge_into_parent(drafts, section, bodies[0], count_tokens, max_tokens)):
            drafts.extend(_Draft(section.path, context, body) for body in bodies)
    return _chunks(doc, drafts)


def display_path(path: list[str]) -> str:
    """A heading path as written in chunks; a heading repeating its parent's is said once.

    DRF's "Serializers" page opens with "# Serializers" and "## Serializers": the path of a
    section below them reads "Serializers > Validation", not "Serializers > Serializers > ...".
    """
    kept = [p for i, p in enumerate(path) if i == 0 or p.casefold() != path[i - 1].casefold()]
    return PATH_SEPARATOR.join(kept)


def _context_line(path: list[str], title: str, count_tokens: TokenCounter, max_tokens: int) -> str:
    """The heading path, shortened from the left if it would take over a quarter of a chunk."""
    parts = display_path(path).split(PATH_SEPARATOR) if path else [title]
    budget = max_tokens // 4
    while len(parts) > 1 and count_tokens(PATH_SEPARATOR.join(parts)) > budget:
        parts.pop(0)
    line = PATH_SEPARATOR.join(parts)
    if count_tokens(line) > budget:
        line = _split_tokens(line, lambda text: count_tokens(text) <= budget)[0]
    return line


def _same(text: str) -> str:
    return text


def _run(block: Block, fits: _Fits) -> _Run:
    """The block as one unit, or, when it cannot fit a chunk on its own, as finer units."""
    if fits(block.text):
        return _Run([_Unit(block.text, "")], _same)
    lines = block.text.split("\n")
    if block.kind == "code":
        opener, closer = lines[0], lines[-1]

        def in_fences(body: str) -> str:
            return f"{opener}\n{body}\n{closer}"

        return _Run(_cut_each(lines[1:-1], in_fences, fits), in_fences)
    if block.kind == "table":
        header = "\n".join(lines[:2])

        def under_header(rows: str) -> str:
            return f"{header}\n{rows}"

        return _Run(_cut_each(lines[2:], under_header, fits), under_header)
    return _Run(_prose_units(block.text, fits, 0, ""), _same)


def _cut_each(lines: list[str], wrap: Callable[[str], str], fits: _Fits) -> list[_Unit]:
    """Lines as units; a line too long even alone is cut (its pieces rejoin with nothing)."""
    return [
        _Unit(piece, "\n" if i == 0 else "")
        for line in lines
        for i, piece in enumerate(_split_tokens(line, lambda text: fits(wrap(text))))
    ]


def _prose_units(text: str, fits: _Fits, level: int, joiner: str) -> list[_Unit]:
    """Units of prose at the coarsest boundary at which each fits, keeping its whitespace."""
    if fits(text):
        return [_Unit(text, joiner)]
    if level == len(_PROSE_SPLITS):
        pieces = _split_tokens(text, fits)
        return [_Unit(piece, joiner if i == 0 else "") for i, piece in enumerate(pieces)]
    parts = _PROSE_SPLITS[level].split(text)
    units: list[_Unit] = []
    for i in range(0, len(parts), 2):
        if parts[i]:
            units.extend(_prose_units(parts[i], fits, level + 1, joiner))
            joiner = ""
        joiner += parts[i + 1] if i + 1 < len(parts) else ""
    return units


def _split_tokens(text: str, fits: _Fits) -> list[str]:
    """Cut ``text`` at the longest prefixes that fit; always advances, so it always ends."""
    pieces: list[str] = []
    rest = text
    while rest and not fits(rest):
        lo, hi = 1, len(rest)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(rest[:mid]):
                lo = mid
            else:
                hi = mid - 1
        pieces.append(rest[:lo])
        rest = rest[lo:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _pack(runs: list[_Run], fits: _Fits) -> list[str]:
    """Fill chunks greedily, block after block, splitting a block only between its units.

    A block too long for any chunk starts in the room the chunk before it has left, so that
    "For example:" stays with the first lines of the code block it introduces.
    """
    pieces: list[str] = []
    current = ""
    for run in runs:
        inner: str | None = None
        for unit in run.units:
            trial = unit.text if inner is None else f"{inner}{unit.joiner}{unit.text}"
            if fits(_join(current, run.wrap(trial))):
                inner = trial
                continue
            if inner is not None:
                current = _join(current, run.wrap(inner))
            if current:
                pieces.append(current)
            current = ""
            inner = unit.text
        if inner is not None:
            current = _join(current, run.wrap(inner))
    if current:
        pieces.append(current)
    return pieces


def _join(body: str, block: str) -> str:
    return f"{body}\n\n{block}" if body else block


def _merge_into_parent(
    drafts: list[_Draft], section: Section, body: str, count_tokens: TokenCounter, max_tokens: int
) -> bool:
    """Append a tiny section to the chunk before it if that chunk is an ancestor's."""
    if not drafts:
        return False
    parent = drafts[-1]
    depth = len(parent.path)
    if depth >= len(section.path) or section.path[:depth] != parent.path:
        return False
    headings = [
        f"{'#' * level} {text}"
        for level, text in zip(section.levels[depth:], section.path[depth:], strict=True)
    ]
    merged = "\n\n".join([parent.body, *headings, body])
    if count_tokens(f"{parent.context}\n\n{merged}") > max_tokens:
        return False
    parent.body = merged
    return True


def _chunks(doc: Document, drafts: list[_Draft]) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    for position, draft in enumerate(drafts):
        text = f"{draft.context}\n\n{draft.body}"
        sha = content_sha256(text)
        heading_path = display_path(draft.path)
        base = chunk_id(doc.url, heading_path, sha)
        seen[base] += 1
        # Two identical sections under the same heading path would share an id; number the later.
        cid = base if seen[base] == 1 else f"{base}-{seen[base]}"
        chunks.append(
            Chunk(
                id=cid,
                text=text,
                doc_url=doc.url,
                title=doc.title,
                heading_path=heading_path,
                position=position,
                content_sha256=sha,
                lang=doc.lang,
            )
        )
    return chunks
