"""Quote anchoring: does a cited quote really occur in the chunk it cites?

Both sides are normalised first (Unicode, quotes, dashes, case, whitespace, Markdown emphasis,
code ticks and link targets), because a generator quotes the rendered text while a chunk holds
Markdown. A quote may elide with "..." : each part must then occur, in order. What is left may
differ by a little (a typo, a changed inflection): see :data:`QUOTE_TOLERANCE`; its numbers may
not differ at all.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from groundset.verify.text import fold

__all__ = ["QUOTE_TOLERANCE", "find_quote", "normalise_quote"]

#: Share of a quote's characters that may differ from the chunk's text: about one word in ten.
QUOTE_TOLERANCE = 0.1

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"\*+|`+|^\s*(?:#+|>+|[-+*]|\d+\.)\s+", re.M)
_QUOTES = re.compile(r"[\"']")


def normalise_quote(text: str) -> str:
    """Fold, lower-case and strip the Markdown and quote marks that differ between renderings."""
    text = _LINK.sub(r"\1", fold(text))
    text = _QUOTES.sub("", _MARKUP.sub(" ", text))
    return " ".join(text.lower().split()).strip(" .,;:")


def find_quote(quote: str, text: str, tolerance: float = QUOTE_TOLERANCE) -> bool:
    """Whether ``quote`` occurs in ``text`` after normalising, within ``tolerance``.

    Args:
        quote: the cited quote; "..." marks elided text.
        text: the chunk's text.
        tolerance: share of the quote's characters that may differ.

    Returns:
        True if every part of the quote is found, in order.
    """
    haystack = normalise_quote(text)
    parts = [normalise_quote(p) for p in re.split(r"\.\.\.+", fold(quote))]
    parts = [p for p in parts if p]
    if not parts:
        return False
    position = 0
    for part in parts:
        found = _locate(part, haystack, position, tolerance)
        if found is None:
            return False
        position = found
    return True


def _locate(part: str, haystack: str, start: int, tolerance: float) -> int | None:
    """End offset of ``part`` in ``haystack`` at or after ``start``, exact or fuzzy."""
    exact = haystack.find(part, start)
    if exact >= 0:
        return exact + len(part)
    if tolerance <= 0:
        return None
    return _fuzzy_locate(part, haystack, start, tolerance)


def _digits(tokens: list[str]) -> set[str]:
    return {t.strip(".,;:") for t in tokens if any(ch.isdigit() for ch in t)}


def _fuzzy_locate(part: str, haystack: str, start: int, tolerance: float) -> int | None:
    """Slide a window of about the quote's word count over the text; compare the likely ones."""
    quote_words = part.split()
    tokens = [m for m in re.finditer(r"\S+", haystack) if m.start() >= start]
    text_words = [m.group(0) for m in tokens]
    n = len(quote_words)
    slack = max(1, round(n * tolerance))
    needed = set(quote_words)
    best: tuple[float, int] = (0.0, -1)
    for i in range(len(text_words)):
        for size in range(max(1, n - slack), n + slack + 1):
            window = text_words[i : i + size]
            # Cheap filter first: a window sharing too few words cannot be within tolerance.
            if len(window) < size or sum(w in needed for w in window) < n - 2 * slack:
                continue
            if _digits(window) != _digits(quote_words):
                continue
            ratio = SequenceMatcher(None, part, " ".join(window), autojunk=False).ratio()
            if ratio > best[0]:
                best = (ratio, tokens[i + size - 1].end())
    if best[0] >= 1 - tolerance:
        return best[1]
    return None
