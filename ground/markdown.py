"""Just enough Markdown structure for chunking: sections under headings, made of blocks.

The corpus is Markdown written by our own extractors, so this reads the subset they produce:
ATX and setext headings, fenced code blocks, pipe tables, and paragraphs (lists, quotes and
everything else are paragraphs: runs of non-blank lines). Headings inside a fence are code, not
headings, which is why fences are recognised first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Block", "Section", "clean_heading", "parse_sections"]

BlockKind = Literal["paragraph", "code", "table"]

_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
# Permalink anchors that doc themes append to headings ("Fields[¶](#fields)").
_PERMALINK = re.compile(r"\s*\[[¶#§]\]\([^)]*\)\s*$|\s*[¶§]\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")


@dataclass(frozen=True)
class Block:
    """A unit of a section's body that is only split when it cannot fit a chunk on its own."""

    kind: BlockKind
    text: str


@dataclass
class Section:
    """The body under one heading, up to the next heading of any level.

    ``path`` holds the cleaned texts of the heading and all its ancestors, ``levels`` their
    heading levels; both are empty for the text before a document's first heading.
    """

    path: list[str]
    levels: list[int]
    blocks: list[Block] = field(default_factory=list)


def clean_heading(raw: str) -> str:
    """A heading's text without permalinks, link syntax, escapes or emphasis markers."""
    text = _PERMALINK.sub("", raw.strip())
    text = _LINK.sub(r"\1", text)
    text = _ESCAPE.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    return " ".join(text.split())


def parse_sections(markdown: str) -> list[Section]:
    """Split a Markdown document into sections, in document order.

    Args:
        markdown: the document body.

    Returns:
        One section per heading (plus one for any text before the first heading), each with its
        heading path and its blocks. Sections with no body are kept: their headings belong to
        the paths of the sections below them.
    """
    lines = markdown.splitlines()
    sections = [Section(path=[], levels=[])]
    paragraph: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE_OPEN.match(line)
        if fence and not (fence.group(2)[0] == "`" and "`" in fence.group(3)):
            _flush(paragraph, sections[-1])
            i = _read_fence(lines, i, fence, sections[-1])
            continue
        atx = _ATX.match(line)
        if atx:
            _flush(paragraph, sections[-1])
            _open_section(sections, len(atx.group(1)), atx.group(2) or "")
        elif len(paragraph) == 1 and _SETEXT.match(line):
            # A single paragraph line underlined by === or --- is a heading, not a rule.
            text = paragraph.pop()
            _open_section(sections, 1 if line.strip()[0] == "=" else 2, text)
        elif _is_table(lines, i):
            _flush(paragraph, sections[-1])
            i = _read_table(lines, i, sections[-1])
            continue
        elif line.strip():
            paragraph.append(line)
        else:
            _flush(paragraph, sections[-1])
        i += 1
    _flush(paragraph, sections[-1])
    return sections


def _open_section(sections: list[Section], level: int, raw: str) -> None:
    parent = sections[-1]
    keep = [n for n, lv in enumerate(parent.levels) if lv < level]
    cut = keep[-1] + 1 if keep else 0
    sections.append(
        Section(
            path=[*parent.path[:cut], clean_heading(raw)],
            levels=[*parent.levels[:cut], level],
        )
    )


def _flush(paragraph: list[str], section: Section) -> None:
    if paragraph:
        section.blocks.append(Block("paragraph", "\n".join(paragraph)))
        paragraph.clear()


def _read_fence(lines: list[str], start: int, fence: re.Match[str], section: Section) -> int:
    """Append the code block opened at ``start``; returns the index after it.

    A fence left open at the end of the document is closed here, so no chunk ever carries an
    unterminated code block.
    """
    marker = fence.group(2)
    closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
    body = [lines[start]]
    i = start + 1
    while i < len(lines) and not closing.match(lines[i]):
        body.append(lines[i])
        i += 1
    body.append(lines[i] if i < len(lines) else fence.group(1) + marker)
    section.blocks.append(Block("code", "\n".join(body)))
    return i + 1


def _is_table(lines: list[str], i: int) -> bool:
    return (
        0 <= i < len(lines) - 1
        and "|" in lines[i]
        and "|" in lines[i + 1]
        and bool(_TABLE_RULE.match(lines[i + 1]))
    )


def _read_table(lines: list[str], start: int, section: Section) -> int:
    i = start + 2
    while i < len(lines) and lines[i].strip() and "|" in lines[i]:
        i += 1
    section.blocks.append(Block("table", "\n".join(lines[start:i])))
    return i
