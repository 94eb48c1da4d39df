"""Synthetic (evidence, claim, label) pairs made from crawled docs sections, for training a checker.

The errors a small model makes about a docs section are few in kind, and each can be made on
purpose from a true sentence of the section, so that a model learns them without anyone labelling
anything. From each sentence of a section (the evidence is the section):

supported (label 1)
  ``copy``       the sentence itself;
  ``shortened``  the sentence without a trailing clause, a parenthesis or an example;
  ``reported``   the sentence as a model reports it ("The documentation says that ...").

not supported (label 0)
  ``number``     a number or version changed;
  ``term``       a code identifier or name swapped for another one of the same site;
  ``negation``   "not" added or taken away;
  ``modal``      "can" made "must", "may" made "will always", "some" made "all";
  ``purpose``    a purpose or benefit appended that the section does not state;
  ``elsewhere``  a sentence of another section of the same site on a similar subject.

Only documents of the ``tune`` split (``benchmarks/docclaims.py``) are used, so that nothing
the held-out docs claims are checked against is trained on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from groundset.records import Chunk
from groundset.verify.evidence import claim_stems
from groundset.verify.text import code_identifiers, numbers, split_sentences

__all__ = ["Pair", "make_pairs"]

#: Purposes and benefits a model invents; none is stated by the section it is appended to.
PURPOSES = (
    "which makes it easier to maintain",
    "to improve performance",
    "which keeps your configuration simple",
    "so that it scales to large projects",
    "which is the recommended approach for production",
    "to make the code more secure",
    "which saves a lot of time",
    "so that it works on every platform",
    "for better compatibility with other tools",
    "which is useful for debugging",
)
REPORTS = (
    "The documentation says that {}",
    "According to the docs, {}",
    "The passage explains that {}",
    "As described, {}",
)
_MODALS = (
    (r"\bcan\b", "must"),
    (r"\bmay\b", "will always"),
    (r"\bsome\b", "all"),
    (r"\boptional\b", "required"),
    (r"\busually\b", "always"),
    (r"\boften\b", "always"),
    (r"\bshould\b", "must never"),
)
_NEGATABLE = re.compile(r"\b(is|are|can|will|does|do|should|must|was|were)\b(?! not)")
_NEGATED = re.compile(r"\b(is|are|can|will|does|do|should|must|was|were) not\b")


@dataclass(frozen=True)
class Pair:
    """One training pair and how it was made."""

    evidence: str
    claim: str
    label: int
    kind: str


def _sentences(chunk: Chunk) -> list[str]:
    out = []
    for s in split_sentences(chunk.text):
        plain = " ".join(s.split())
        if s.startswith(("#", "|", "```", "-", "*", ">")) or s == chunk.heading_path:
            continue
        if 8 <= len(plain.split()) <= 45 and plain[-1:] in ".!?" and plain[:1].isupper():
            out.append(plain)
    return out


def _shortened(sentence: str) -> str | None:
    for pattern in (r"\s*\([^)]*\)", r",\s*(?:for example|e\.g\.|such as)[^.]*"):
        cut = re.sub(pattern, "", sentence, count=1).rstrip(" ,")
        if cut != sentence and len(cut.split()) >= 6:
            return cut if cut.endswith(".") else cut + "."
    return None


def _number(sentence: str, rng: random.Random) -> str | None:
    found = sorted(numbers(sentence))
    if not found:
        return None
    value = rng.choice(found)
    if not re.search(rf"(?<![\d.]){re.escape(value)}(?![\d])", sentence):
        return None
    if "." in value:
        parts = value.split(".")
        parts[-1] = str(int(parts[-1]) + rng.randint(1, 3)) if parts[-1].isdigit() else parts[-1]
        new = ".".join(parts)
    else:
        new = str(int(value) * rng.choice((2, 10)) + rng.randint(1, 9))
    return re.sub(rf"(?<![\d.]){re.escape(value)}(?![\d])", new, sentence, count=1)


def _term(sentence: str, pool: list[str], rng: random.Random) -> str | None:
    mine = [t for t in re.findall(r"`[^`]+`", sentence)]
    if not mine or not pool:
        return None
    old = rng.choice(mine)
    others = [t for t in pool if t != old and t.strip("`").lower() not in sentence.lower()]
    if not others:
        return None
    return sentence.replace(old, rng.choice(others), 1)


def _negation(sentence: str) -> str | None:
    if _NEGATED.search(sentence):
        return _NEGATED.sub(r"\1", sentence, count=1)
    if _NEGATABLE.search(sentence):
        return _NEGATABLE.sub(r"\1 not", sentence, count=1)
    return None


def _modal(sentence: str, rng: random.Random) -> str | None:
    options = [(p, r) for p, r in _MODALS if re.search(p, sentence)]
    if not options:
        return None
    pattern, replacement = rng.choice(options)
    return re.sub(pattern, replacement, sentence, count=1)


def _purpose(sentence: str, rng: random.Random) -> str:
    return f"{sentence.rstrip('.')}, {rng.choice(PURPOSES)}."


def _reported(sentence: str, rng: random.Random) -> str:
    head = sentence[0].lower() + sentence[1:] if not sentence[:2].isupper() else sentence
    return rng.choice(REPORTS).format(head)


def make_pairs(chunks: Iterable[Chunk], *, seed: int = 0, per_chunk: int = 3) -> Iterator[Pair]:
    """Pairs of every kind from ``per_chunk`` sentences of each chunk, made reproducibly.

    ``chunks`` should be the sections of one site, so that swapped terms and sentences from
    elsewhere come from the same docs.
    """
    rng = random.Random(seed)
    chunks = [c for c in chunks if len(c.text) >= 200]
    sentences = {c.id: _sentences(c) for c in chunks}
    pool = sorted({f"`{t}`" for c in chunks for t in code_identifiers(c.text) if len(t) > 2})
    by_stem: dict[str, list[tuple[str, str]]] = {}
    for c in chunks:
        for s in sentences[c.id]:
            for stem in set(claim_stems(s)):
                by_stem.setdefault(stem, []).append((c.id, s))
    for chunk in chunks:
        evidence = chunk.text
        picked = rng.sample(sentences[chunk.id], min(per_chunk, len(sentences[chunk.id])))
        for sentence in picked:
            yield Pair(evidence, sentence, 1, "copy")
            yield Pair(evidence, _reported(sentence, rng), 1, "reported")
            short = _shortened(sentence)
            if short:
                yield Pair(evidence, short, 1, "shortened")
            for kind, made in (
                ("number", _number(sentence, rng)),
                ("term", _term(sentence, pool, rng)),
                ("negation", _negation(sentence)),
                ("modal", _modal(sentence, rng)),
                ("purpose", _purpose(sentence, rng)),
            ):
                if made and made != sentence:
                    yield Pair(evidence, made, 0, kind)
            other = _elsewhere(sentence, chunk, by_stem, rng)
            if other:
                yield Pair(evidence, other, 0, "elsewhere")


def _elsewhere(
    sentence: str, chunk: Chunk, by_stem: dict[str, list[tuple[str, str]]], rng: random.Random
) -> str | None:
    """A sentence of another section sharing the most content words with ``sentence``, whose
    content the chunk does not hold."""
    counts: dict[str, int] = {}
    for stem in set(claim_stems(sentence)):
        for chunk_id, other in by_stem.get(stem, []):
            if chunk_id != chunk.id and other not in chunk.text:
                counts[other] = counts.get(other, 0) + 1
    if not counts:
        return None
    best = max(counts.values())
    candidates = sorted(o for o, n in counts.items() if n == best)
    return rng.choice(candidates)
