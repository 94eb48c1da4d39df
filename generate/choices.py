"""Quotes chosen, not typed: the spans of a passage that a citation may quote.

A small model asked to copy a quote word for word miscopies it (a dropped word, a changed
inflection), and the sample is lost to ``quote_not_found``. Choosing is easy where copying is not:
each citation's quote is constrained to one of the passage's own sentences, an ``enum`` in the
JSON schema for endpoints that honour schemas and the same alternatives in the GBNF grammar of
the completions path, so every quote is verbatim by construction.

The choices are exact substrings of the chunk, taken from the part of it the prompt shows:

1. the text is split into sentences (lines are sentences too: list items, table rows); a fenced
   code block is split into its lines, without the fences;
2. list and quote markers are dropped from the front, and Markdown headings and the chunk's
   heading path line left out (they are not evidence);
3. spans of fewer than :data:`MIN_CHOICE_WORDS` words are left out, longer ones than
   :data:`MAX_CHOICE_CHARS` cut at a word boundary (a verbatim prefix is still verbatim);
4. repeats are dropped, and at most :data:`MAX_CHOICES` are kept, in the passage's order, so that
   the grammar and the endpoint's limits on ``enum`` sizes hold (OpenAI allows 500 values).
"""

from __future__ import annotations

import re

from groundset.verify.text import split_sentences

__all__ = ["MAX_CHOICES", "MAX_CHOICE_CHARS", "MIN_CHOICE_WORDS", "quote_choices"]

#: Fewest words a quotable span has: "See below." proves nothing.
MIN_CHOICE_WORDS = 3
#: Longest quotable span; a longer sentence is offered as its first part.
MAX_CHOICE_CHARS = 240
#: Most spans offered per passage.
MAX_CHOICES = 40

_MARKER = re.compile(r"^(?:[-+*]|\d+[.)]|>)\s+")
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")


def quote_choices(
    text: str,
    *,
    heading_path: str = "",
    max_choices: int = MAX_CHOICES,
    max_chars: int = MAX_CHOICE_CHARS,
) -> list[str]:
    """The spans of ``text`` a citation may quote, each an exact substring of it.

    Args:
        text: the passage as the prompt shows it (a chunk, or the verbatim prefix it is cut to).
        heading_path: the chunk's heading path, which its text starts with: not evidence.
        max_choices: most spans returned.
        max_chars: longest span; longer sentences are cut at a word boundary.

    Returns:
        The spans in the order they occur; empty when the passage has no quotable sentence.
    """
    out: list[str] = []
    seen: set[str] = set()
    for piece in _pieces(text):
        span = _cut(piece.strip(), max_chars)
        if span == heading_path or len(span.split()) < MIN_CHOICE_WORDS:
            continue
        if span in seen or span not in text:
            continue
        seen.add(span)
        out.append(span)
        if len(out) == max_choices:
            break
    return out


def _pieces(text: str) -> list[str]:
    pieces: list[str] = []
    for sentence in split_sentences(text):
        if _FENCE.match(sentence):
            pieces += [line for line in sentence.splitlines() if not _FENCE.match(line)]
        elif not sentence.lstrip().startswith("#") and not _TABLE_RULE.match(sentence.strip()):
            pieces.append(_MARKER.sub("", sentence.strip()))
    return pieces


def _cut(span: str, max_chars: int) -> str:
    if len(span) <= max_chars:
        return span
    cut = span[:max_chars]
    return cut[: cut.rfind(" ")].rstrip(" ,;:") if " " in cut else cut
