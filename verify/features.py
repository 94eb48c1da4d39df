"""What a claim adds to its evidence, as numbers a calibrated checker weighs.

A model that writes about a passage and gets it wrong mostly adds something: a purpose or a
benefit the passage never states ("this makes configuration easier to manage"), a value, a name,
an option, a scope wider than the passage's. So the signals here measure what of the claim the
evidence lacks, in several ways, besides the hard checks of :mod:`groundset.verify.lexical` and
the shape of the input (a short claim against a cited section, or a long one against a whole web
page), so that one set of weights serves every distribution the verifier meets.

Every feature is computed from the claim's content-word stems (:func:`claim_stems`) and the
evidence's sentences (:func:`prepare_evidence`); nothing needs a model.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

from groundset.verify.evidence import Evidence, claim_stems, prepare_evidence
from groundset.verify.lexical import (
    NEGATION_MIN_COVERAGE,
    WIDE_WINDOW,
    _identifiers_missing,
    _names_missing,
    _negation_mismatch,
    _numbers_missing,
)
from groundset.verify.text import split_sentences

__all__ = ["FEATURE_NAMES", "ClaimFeatures", "claim_features"]

# Words a faithful paraphrase adds freely: they carry no checkable content of their own.
_LIGHT_LIST = """
use used uses using allow allows allowed enable enables provide provides provided make makes made
need needs needed want set sets setting way ways also like such example instance thing things
specific specified certain various different own able possible following follow follows well just
even simply directly
"""
_LIGHT = frozenset(_LIGHT_LIST.split())
# The commonest inventions: a purpose, benefit or judgement the passage does not state.
_BENEFIT = re.compile(
    r"(?i)\b(?:easier|easy|easily|efficient(?:ly)?|improv\w*|better|benefit\w*|help(?:s|ful)?|"
    r"ensur\w*|essential|important|crucial|useful|convenient|flexib\w*|scal\w*|robust|secure|"
    r"seamless\w*|streamlin\w*|enhanc\w*|optimi[sz]\w*|simplif\w*|powerful|maintainab\w*|"
    r"reliab\w*|performance)\b"
)
_GENERALISING = re.compile(r"(?i)\b(?:always|never|all|every|any|only|must|entire(?:ly)?)\b")

#: The order of :meth:`ClaimFeatures.vector`.
FEATURE_NAMES: tuple[str, ...] = (
    "coverage",
    "sentence_coverage",
    "window_coverage",
    "missing",
    "missing_heavy",
    "missing_share_heavy",
    "missing_bigrams",
    "benefit_added",
    "generalising_added",
    "numbers_missing",
    "terms_missing",
    "names_missing",
    "negation_mismatch",
    "claim_words",
    "evidence_sentences",
)


@dataclass(frozen=True)
class ClaimFeatures:
    """The signals of one (claim, evidence) pair, and the evidence span that covers it best."""

    values: tuple[float, ...]
    span: str

    def vector(self) -> tuple[float, ...]:
        """The values in :data:`FEATURE_NAMES` order."""
        return self.values


def claim_features(claim: str, evidence_text: str) -> ClaimFeatures:
    """Measure what ``claim`` adds to ``evidence_text`` (see the module doc)."""
    stems = claim_stems(claim)
    evidence = prepare_evidence(evidence_text)
    if not stems:
        return ClaimFeatures((0.0,) * len(FEATURE_NAMES), "")
    ranked = evidence.best_windows(stems, 1, len(evidence.sentences))
    sentence_cov, sentence = ranked[0]
    wide_cov, wide = evidence.best_windows(stems, WIDE_WINDOW, 1)[0]
    closest = [w.text for cov, w in ranked if cov == sentence_cov]
    # A claim of several sentences is covered as well as its worst-covered sentence is.
    parts = [p for p in (claim_stems(s) for s in split_sentences(claim)) if p]
    if len(parts) > 1:
        sentence_cov = min(evidence.best_windows(p, 1, 1)[0][0] for p in parts)
    missing = {s for s in stems if s not in evidence.stems}
    heavy = {s for s in set(stems) if not _light(s)}
    missing_heavy = missing & heavy
    values = (
        sum(s in evidence.stems for s in stems) / len(stems),
        sentence_cov,
        wide_cov,
        float(len(missing)),
        float(len(missing_heavy)),
        len(missing_heavy) / len(heavy) if heavy else 0.0,
        sum(_missing_bigrams(p, evidence) * len(p) for p in parts or [stems])
        / sum(len(p) for p in parts or [stems]),
        float(_added(_BENEFIT, claim, evidence_text)),
        float(_added(_GENERALISING, claim, evidence_text)),
        float(_numbers_missing(claim, evidence)),
        float(_identifiers_missing(claim, evidence)),
        float(_names_missing(claim, evidence)),
        float(sentence_cov >= NEGATION_MIN_COVERAGE and _negation_mismatch(claim, closest)),
        math.log1p(len(stems)),
        math.log1p(len(evidence.sentences)),
    )
    span = sentence.text if sentence_cov >= wide_cov else wide.text
    return ClaimFeatures(values, span)


_LIGHT_STEMS = frozenset(w[:5] for w in _LIGHT) | frozenset(_LIGHT)


def _light(stem: str) -> bool:
    return stem in _LIGHT_STEMS


def _missing_bigrams(stems: list[str], evidence: Evidence) -> float:
    """Share of a claim sentence's consecutive content-stem pairs that no two adjacent evidence
    sentences hold both of: words found, but never together, are often a fact pinned on the
    wrong thing."""
    pairs = [(a, b) for a, b in itertools.pairwise(stems) if a != b]
    if not pairs:
        return 0.0
    spans = evidence.sentence_stems
    together = [spans[i] | spans[i + 1] for i in range(len(spans) - 1)] or list(spans)
    apart = sum(not any(a in span and b in span for span in together) for a, b in pairs)
    return apart / len(pairs)


def _added(pattern: re.Pattern[str], claim: str, evidence: str) -> bool:
    """Whether the claim uses a word of ``pattern`` that the evidence does not."""
    present = {w.lower() for w in pattern.findall(evidence)}
    return any(w.lower() not in present for w in pattern.findall(claim))
