"""False premises built by code: one sentence of a section, with one checkable fact changed.

A small model asked to write the false version of a fact writes nonsense, a true statement, or a
premise on something else (two smoke runs of the bundled 1.5B: 6 of 6 refused). Changing a fact
is a job for code: the model picks the sentence (``generate/tasks/false_premise.py``) and
:func:`falsify` changes one thing in it, deterministically for a given random generator, in one
of four ways (:data:`KINDS`):

- ``value``: a number changed to another plausible one that the section does not hold (double,
  half, one more, ten times; a year, a version, a number inside or after a name ("RFC 2616",
  "Python 3") or in a link is never one);
- ``boolean``: ``True`` and ``False`` swapped (and ``true``/``false`` written as code);
- ``negation``: "does not", "cannot", "is not"... made positive, or "can", "does", "will",
  "supports" made negative: a yes or no turned round;
- ``name``: a code name in backticks replaced by another of the same shape (a constant by a
  constant, a class by a class, a file by a file, ``mdbook build`` by ``mdbook serve``) found in
  the sample's other passages and nowhere in the section.

One of the kinds the sentence allows is drawn, then one of its changes. A sentence that allows
none gets no premise (:func:`falsifiable` tells which sentences to offer the model). Links are
reduced to their text first: a number or name in a URL is no fact a reader would get wrong.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from groundset.verify.text import STOPWORDS, numbers

__all__ = ["KINDS", "Falsified", "code_names", "falsifiable", "falsify", "plain_sentence"]

Kind = Literal["value", "boolean", "negation", "name"]
#: The ways a fact is changed.
KINDS: tuple[Kind, ...] = ("value", "boolean", "negation", "name")

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_CODE = re.compile(r"`([^`\n]+)`")
# A number standing alone: not part of a name (h2, utf8), a version (3.8) or a grouped number.
_NUMBER = re.compile(r"(?<![\w.,/-])\d+(?![\w/]|[.,]\d)")
# A number that is part of a name: "RFC 2616", "Python 3", "PEP 8", "#1234", "version 2".
_NAMED_NUMBER = re.compile(r"(?:\b(?P<name>[A-Z][\w-]*)|#|\b[Vv]ersion|\bv)\s?$")
_BOOLEAN = re.compile(r"\b(True|False)\b|(?<=`)(true|false)(?=`)|(?<== )(true|false)\b")
_NEGATED = {
    "does not": "does",
    "do not": "do",
    "did not": "did",
    "doesn't": "does",
    "don't": "do",
    "cannot": "can",
    "can not": "can",
    "can't": "can",
    "is not": "is",
    "isn't": "is",
    "are not": "are",
    "aren't": "are",
    "will not": "will",
    "won't": "will",
    "must not": "must",
    "should not": "should",
    "never": "always",
}
_POSITIVE = {
    "can": "cannot",
    "does": "does not",
    "will": "will not",
    "supports": "does not support",
}
_NEGATION = re.compile(
    r"\b(?:" + "|".join(re.escape(k) for k in sorted(_NEGATED, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# A positive modal before the verb it governs ("can be", "does support"), not "can" as a noun.
_AFFIRMED = re.compile(r"\b(can|does|will)\b(?= (?!not\b)[a-z]+\b)|\b(supports)\b(?= [\w`])")


@dataclass(frozen=True)
class Falsified:
    """A premise: ``sentence`` with ``original`` changed to ``replacement`` (a ``kind`` change)."""

    premise: str
    kind: Kind
    original: str
    replacement: str


@dataclass(frozen=True)
class _Change:
    kind: Kind
    start: int
    end: int
    replacement: str


def plain_sentence(sentence: str) -> str:
    """``sentence`` with its Markdown links reduced to their text and its spaces collapsed."""
    return " ".join(_LINK.sub(r"\1", sentence).split())


def falsifiable(sentence: str) -> bool:
    """Whether ``sentence`` holds a fact :func:`falsify` may change (a name only when another
    name of its shape is at hand, which only :func:`falsify` knows)."""
    return any(_changes(plain_sentence(sentence), "", [], names_known=False))


def falsify(
    sentence: str, section: str, names: Iterable[str], rng: random.Random
) -> Falsified | None:
    """The premise ``sentence`` becomes with one fact changed, or None when nothing can be.

    Args:
        sentence: the sentence of ``section`` stating the fact.
        section: the whole section: a number or name it holds is no false replacement.
        names: code names to replace a name with (those of the other passages).
        rng: draws the kind of change, then the change.
    """
    text = plain_sentence(sentence)
    changes = list(_changes(text, section, sorted(set(names)), names_known=True))
    kinds = sorted({c.kind for c in changes}, key=KINDS.index)
    if not kinds:
        return None
    kind = rng.choice(kinds)
    change = rng.choice([c for c in changes if c.kind == kind])
    original = text[change.start : change.end]
    if kind == "name":
        # Every mention of the name changes, so the premise does not name both.
        premise = text.replace(f"`{original}`", f"`{change.replacement}`")
    else:
        premise = text[: change.start] + change.replacement + text[change.end :]
    return Falsified(premise, kind, original, change.replacement)


def _changes(text: str, section: str, names: list[str], *, names_known: bool) -> Iterable[_Change]:
    held = numbers(section)
    for match in _NUMBER.finditer(text):
        named = _NAMED_NUMBER.search(text, 0, match.start())
        if named is not None and (named["name"] or "#").lower() not in STOPWORDS:
            continue
        for value in _other_numbers(int(match.group())):
            if str(value) not in held:
                yield _Change("value", match.start(), match.end(), str(value))
                break
    for match in _BOOLEAN.finditer(text):
        word = match.group()
        swapped = {"True": "False", "False": "True", "true": "false", "false": "true"}[word]
        yield _Change("boolean", match.start(), match.end(), swapped)
    for match in _NEGATION.finditer(text):
        yield _Change("negation", match.start(), match.end(), _cased(match, _NEGATED))
    for match in _AFFIRMED.finditer(text):
        yield _Change("negation", match.start(), match.end(), _cased(match, _POSITIVE))
    for match in _CODE.finditer(text):
        name = match.group(1)
        shape = _shape(name)
        if shape is None:
            continue
        if not names_known:
            yield _Change("name", match.start(1), match.end(1), name)
            continue
        for other in names:
            if other != name and _shape(other) == shape and other not in section:
                yield _Change("name", match.start(1), match.end(1), other)


def _other_numbers(n: int) -> list[int]:
    """Plausible wrong values for ``n``, most plausible first; none for a year or a big number."""
    if 1900 <= n <= 2100 or n > 100_000:
        return []
    if n == 0:
        return [1, 10]
    if n == 1:
        return [2, 5, 10]
    return [n * 2, n // 2, n + 1, n * 10]


def _cased(match: re.Match[str], table: dict[str, str]) -> str:
    word = match.group()
    replacement = table[word.lower()]
    return replacement[0].upper() + replacement[1:] if word[0].isupper() else replacement


def _shape(name: str) -> tuple[str, ...] | None:
    """What kind of code name ``name`` is; None for code no other name stands in for."""
    if name in ("True", "False", "None", "true", "false", "null"):
        return None
    if re.fullmatch(r"--?[a-z][\w-]*", name):
        return ("flag",)
    if re.fullmatch(r"[a-z][\w-]*(?: [a-z][\w-]*){1,2}", name):
        return ("command", name.split()[0])
    if re.fullmatch(r"[\w-]+\.[a-z]{1,5}", name) and not re.fullmatch(r"\w+\.\w+\(\)", name):
        return ("file", name.rsplit(".", 1)[1])
    if re.fullmatch(r"\w+(?:\.\w+)+", name):
        return ("dotted",)
    if re.fullmatch(r"\w+\(\)", name):
        return ("call",)
    if re.fullmatch(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{3,}", name):
        return ("constant",)
    if re.fullmatch(r"[A-Z][a-z0-9]+[A-Z]\w*", name):
        return ("class",)
    if re.fullmatch(r"[a-z][a-z0-9]*_[a-z0-9_]+", name):
        return ("snake",)
    return None


def code_names(texts: Iterable[str]) -> list[str]:
    """The code names in backticks of ``texts``, in order, each once."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _CODE.finditer(text):
            seen.setdefault(match.group(1).strip(), None)
    return list(seen)
