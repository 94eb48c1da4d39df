"""The default checker, with no model: word coverage plus hard checks on the facts that matter.

How a claim is scored, in order:

1. Coverage. The claim's content words are stemmed and looked up in windows of the evidence. The
   score is the mean of the best single sentence's coverage and the best three-sentence window's:
   support gathered in one sentence counts more than words scattered over a passage, yet a claim
   that joins two adjacent sentences is not lost.
2. Hard checks, against the whole evidence, each able to refuse a claim on its own:
   every number, date and version of the claim must occur in it (``number_mismatch``), and
   every code identifier and capitalised term (``term_missing``). A number or a name that
   is not in the evidence is the commonest unsupported detail, and coverage alone dilutes it in a
   long claim.
3. Negation. When one sentence covers most of the claim, a negation in the claim that the
   sentence lacks, or a negation in the sentence of a word the claim affirms, is a
   ``negation_mismatch`` (sentences tied for the best coverage all count). Below that coverage
   the sentence may not be about the claim at all.

Each failed check multiplies the score by :data:`FAILED_CHECK_FACTOR` and makes the refusal
``certain``: no later checker of a cascade may overturn it. The figures behind these choices
are in ``benchmarks/verify_quality.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from groundset.records import Reason
from groundset.verify.base import Pair, Support
from groundset.verify.evidence import Evidence, claim_stems, prepare_evidence
from groundset.verify.text import (
    code_identifiers,
    named_terms,
    negated_stems,
    negates_only_conditions,
    numbers,
    plainly_stated,
    states_the_contrary,
    stem,
    words,
)

__all__ = [
    "DEFAULT_LEXICAL_THRESHOLD",
    "DEFAULT_OVERLAP_THRESHOLD",
    "HARD_CHECKS",
    "HardCheck",
    "LexicalChecker",
    "WordOverlapChecker",
    "missing_anchors",
]

#: Threshold of the lexical score: the value with the best mean balanced accuracy over the WiCE
#: and HaluEval fixtures (0.74 and 0.78 there; ``benchmarks/verify_quality.py``). WiCE alone
#: would take anything from 0.2 to 0.4, its refusals coming from the hard checks; HaluEval's short
#: copied answers alone would take 0.96. Cross-validated figures are in that benchmark.
DEFAULT_LEXICAL_THRESHOLD = 0.40
#: Threshold of the word-overlap baseline, chosen the same way.
DEFAULT_OVERLAP_THRESHOLD = 0.80
#: What one failed hard check multiplies the score by: it puts a refused claim below any sensible
#: threshold (so that score and decision agree) while coverage still orders the refused ones.
FAILED_CHECK_FACTOR = 0.25
#: Coverage the best sentence needs before its polarity is compared with the claim's.
NEGATION_MIN_COVERAGE = 0.6
#: Sentences in the wide window, whose best coverage is averaged with the best sentence's.
WIDE_WINDOW = 3

HardCheck = Literal["numbers", "terms", "negation"]
HARD_CHECKS: tuple[HardCheck, ...] = ("numbers", "terms", "negation")


def _numbers_missing(claim: str, evidence: Evidence) -> bool:
    return bool(numbers(claim) - numbers(evidence.text))


def _identifiers_missing(claim: str, evidence: Evidence) -> bool:
    return any(ident not in evidence.folded for ident in code_identifiers(claim))


def _names_missing(claim: str, evidence: Evidence) -> bool:
    return any(
        not all(stem(w) in evidence.stems for w in words(term)) for term in named_terms(claim)
    )


def missing_anchors(claim: str, evidence: Evidence) -> list[Reason]:
    """Check the claim's numbers and code identifiers, which no translation changes.

    Used on its own for answer text in another language than its evidence.
    """
    reasons: list[Reason] = []
    if _numbers_missing(claim, evidence):
        reasons.append("number_mismatch")
    if _identifiers_missing(claim, evidence):
        reasons.append("term_missing")
    return reasons


def _negation_mismatch(claim: str, sentences: Sequence[str]) -> bool:
    """Polarity check against the sentences that cover the claim best (ties all count)."""
    claim_negated = negated_stems(claim)
    negations = [negated_stems(s) for s in sentences]
    if claim_negated is not None:
        # "falls back to the defaults if no settings are defined" restates "checks for settings,
        # and otherwise falls back to the defaults": a contrast word negates a condition too.
        conditional = negates_only_conditions(claim)
        return all(
            n is None and not (conditional and states_the_contrary(s))
            for n, s in zip(negations, sentences, strict=True)
        )
    # A sentence negates a word the claim states plainly ("is not performed" vs "is performed"),
    # and does not state it plainly itself elsewhere.
    stems = set(claim_stems(claim))
    return any(
        n is not None and (n & stems) - plainly_stated(s)
        for n, s in zip(negations, sentences, strict=True)
    )


class LexicalChecker:
    """Coverage of the claim's content words with hard checks on numbers, terms and negation.

    Args:
        threshold: score at and above which a claim is supported.
        hard_checks: which hard checks run; fewer only to measure what each adds.
    """

    name = "lexical"

    def __init__(
        self,
        threshold: float = DEFAULT_LEXICAL_THRESHOLD,
        hard_checks: Sequence[HardCheck] = HARD_CHECKS,
    ) -> None:
        self.threshold = threshold
        self.hard_checks = tuple(hard_checks)

    def check(self, pairs: Sequence[Pair]) -> list[Support]:
        """Check each (claim, evidence) pair."""
        return [self.check_one(claim, evidence) for claim, evidence in pairs]

    def check_one(self, claim: str, evidence_text: str) -> Support:
        """Check one claim against one evidence text."""
        stems = claim_stems(claim)
        if not stems:
            return Support(False, 0.0, reasons=("unsupported_claim",), certain=True)
        evidence = prepare_evidence(evidence_text)
        ranked = evidence.best_windows(stems, 1, len(evidence.sentences))
        sentence_cov, sentence = ranked[0]
        wide_cov, wide = evidence.best_windows(stems, WIDE_WINDOW, 1)[0]
        coverage = (sentence_cov + wide_cov) / 2
        span = sentence.text if sentence_cov >= wide_cov else wide.text
        closest = [w.text for cov, w in ranked if cov == sentence_cov]

        failed: list[Reason] = []
        if "numbers" in self.hard_checks and _numbers_missing(claim, evidence):
            failed.append("number_mismatch")
        if "terms" in self.hard_checks and (
            _names_missing(claim, evidence) or _identifiers_missing(claim, evidence)
        ):
            failed.append("term_missing")
        if (
            "negation" in self.hard_checks
            and sentence_cov >= NEGATION_MIN_COVERAGE
            and _negation_mismatch(claim, closest)
        ):
            failed.append("negation_mismatch")

        score = coverage * FAILED_CHECK_FACTOR ** len(failed)
        if failed:
            return Support(False, score, span, tuple(failed), certain=True)
        supported = score >= self.threshold
        reasons: tuple[Reason, ...] = () if supported else ("unsupported_claim",)
        return Support(supported, score, span, reasons)


class WordOverlapChecker:
    """The plain baseline: the share of the claim's words found anywhere in the evidence.

    Args:
        threshold: share at and above which a claim is supported.
    """

    name = "overlap"

    def __init__(self, threshold: float = DEFAULT_OVERLAP_THRESHOLD) -> None:
        self.threshold = threshold

    def check(self, pairs: Sequence[Pair]) -> list[Support]:
        """Check each (claim, evidence) pair."""
        out = []
        for claim, evidence in pairs:
            claim_words = words(claim)
            present = set(words(evidence))
            score = (
                sum(w in present for w in claim_words) / len(claim_words) if claim_words else 0.0
            )
            supported = score >= self.threshold
            out.append(Support(supported, score, "", () if supported else ("unsupported_claim",)))
        return out
