"""Which statements of a sample get checked: the generator's claims and the answer's own clauses.

A generator lists its claims, but a generator that hallucinates may also leave its inventions out
of that list. So the answer is split too, into sentences and the clauses of compound sentences,
and every clause the listed claims do not already cover is checked against all of the sample's
evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from groundset.records import Citation, Sample
from groundset.verify.answerable import UNANSWERABLE, answer_statement
from groundset.verify.evidence import claim_stems
from groundset.verify.premise import FALSE_PREMISE, correction_statement
from groundset.verify.text import mask_code, split_sentences, unmask_code

__all__ = ["ClaimToCheck", "sample_claims", "sample_text", "split_claims"]

#: Fewest words each side of a split needs, so that "X, and so on" stays one clause.
MIN_CLAUSE_WORDS = 4

_CLAUSE_BREAK = re.compile(
    r"\s*;\s+|,\s+(?=(?:and|but|while|whereas|although|though|so|yet|however)\s)", re.I
)
_LIST_MARK = re.compile(r"^\s*(?:[-+*]|\d+[.)]|#+|>)\s+")


@dataclass(frozen=True)
class ClaimToCheck:
    """One statement to check.

    Attributes:
        text: the statement as the sample states it.
        checked_text: what is compared with the evidence: the claim's ``source_text`` when the
            sample is in another language than its sources, else ``text``.
        citations: the generator's citations; empty for clauses split from the answer.
        from_answer: split from the answer, or a translated answer's sentence: checked
            against all of the sample's sources, and needs no citation.
    """

    text: str
    checked_text: str
    citations: tuple[Citation, ...] = ()
    from_answer: bool = False


def split_claims(answer: str) -> list[str]:
    """Split an answer into sentences, and compound sentences into their clauses.

    List markers and heading marks are dropped; a code block stays whole; fragments with no
    content word ("Yes.") are not claims.
    """
    out = []
    for sentence in split_sentences(answer):
        for clause in _split_clauses(_LIST_MARK.sub("", sentence)):
            if claim_stems(clause):
                out.append(clause)
    return out


def _split_clauses(sentence: str) -> list[str]:
    masked, spans = mask_code(sentence)
    pieces = [p for p in _CLAUSE_BREAK.split(masked) if p.strip()]
    clauses: list[str] = []
    for piece in pieces:
        # A piece too short to stand alone ("and so on") stays with the clause before it.
        short = len(piece.split()) < MIN_CLAUSE_WORDS
        if clauses and (short or len(clauses[-1].split()) < MIN_CLAUSE_WORDS):
            clauses[-1] = f"{clauses[-1]}, {piece}"
        else:
            clauses.append(piece)
    return [unmask_code(c, spans).strip() for c in clauses]


#: Fewest words a record's value needs to be checked as a statement; shorter ones are names,
#: kinds and flags ("NUM_PROXIES", "setting"), which their evidence must hold as anchors.
RECORD_STATEMENT_WORDS = 3


def sample_text(sample: Sample) -> tuple[str, str]:
    """The question and the answer of a sample, from its fields or from its conversation.

    A record has no question; its answer is its text values, one a line, so that what it
    states is checked like an answer's sentences.
    """
    if sample.record is not None:
        values = [v for v in _strings(sample.record) if len(v.split()) >= RECORD_STATEMENT_WORDS]
        return "", "\n".join(values)
    if sample.messages:
        question = next((m.content for m in sample.messages if m.role == "user"), "")
        answer = "\n".join(m.content for m in sample.messages if m.role == "assistant")
        return question, answer
    return sample.question or "", sample.answer or ""


def sample_claims(sample: Sample) -> list[ClaimToCheck]:
    """The generator's claims, then the answer's clauses that none of them covers.

    A clause is covered when every content word of it is in one listed claim: that claim, with
    its citations, already checks it. The answer of an ``unanswerable`` sample written as
    generation writes it states nothing but its quote (:func:`answer_statement`), and so does
    a ``false_premise`` sample's (:func:`~groundset.verify.premise.correction_statement`).
    """
    # A translated answer's sentence cites nothing: it is checked as the answer's clauses are.
    listed = [
        ClaimToCheck(
            c.text,
            c.source_text or c.text,
            tuple(c.citations),
            from_answer=bool(c.source_text) and not c.citations,
        )
        for c in sample.claims
    ]
    listed_stems = [set(claim_stems(c.text)) for c in sample.claims]
    answer = sample_text(sample)[1]
    if sample.task == UNANSWERABLE:
        answer = answer_statement(sample) or ""
    elif sample.task == FALSE_PREMISE:
        answer = correction_statement(sample) or ""
    clauses = []
    for clause in split_claims(answer):
        stems = set(claim_stems(clause))
        if not any(stems <= covered for covered in listed_stems):
            clauses.append(ClaimToCheck(clause, clause, from_answer=True))
    return listed + clauses


def _strings(value: object) -> list[str]:
    """The strings in a record, depth first."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
