"""Questions built on a false premise (task ``false_premise``): their answer, and the check that
the docs really contradict the premise.

A ``false_premise`` sample asks a question that takes for granted something a section of the
docs contradicts (a wrong default, a wrong name, a wrong yes or no), and answers by naming the
premise as wrong and quoting the sentence of the section that says otherwise. The model picks
the quote and asks the question; the premise is the quote with one fact changed by code
(``generate/falsify.py``), and the answer around them is written here
(:func:`corrected_answer`), so that it states nothing but the quote and the premise it rejects.
The premise is kept in the sample (``Sample.premise``) so that the verifier can check it.

What such a sample teaches is that the premise is false, which no check of the quote alone can
tell: a premise the section supports, or one the section says nothing about, is not false by
these docs. So a premise is held contradicted (:class:`PremiseCheck`) only when

1. the question carries it (:func:`carries`): every number and code name of the premise, and
   at least :data:`MIN_QUESTION_COVERAGE` of its content words, are in the question, and so is
   a negation when the premise has one (a question that does not assume the premise, its wrong
   value or its "not" above all, teaches no correction: asked "Since the `COMPACT_JSON` setting
   has been added, how can I revert this behaviour?" from the premise that it "cannot be used to
   revert" it, the bundled 1.5B dropped the one word that was false);
2. it is about the cited section's subject: at least :data:`MIN_SECTION_COVERAGE` of its content
   words are in the section (a premise on another subject is not contradicted, only unrelated);
3. the support checker finds it unsupported for a reason that names a conflict
   (:data:`CONFLICTS`: a number, a negation or a name of the premise that the section's closest
   sentence does not have): a wrong value, yes or no, or name, the three kinds of premise the
   task asks for. A premise merely unsupported may be one the section says nothing about;
4. the reader model does not find the premise stated in the section: its probability of "yes"
   to "does the section state this?" is below its measured threshold
   (:class:`~groundset.verify.section_reader.StatementReader`), which catches a true premise
   worded so that the checker's hard checks misfire ("mdBook's default 404 output file is
   `404.html`").

Asked directly whether the section contradicts a premise, the bundled 1.5B answered how much the
premise agrees with it: yes at 0.54-0.87 to the true premises of the measured set, 0.21-0.56 to
the contradicted ones. So it is asked the question it answers well, and the conflict is the
checker's to show. Thresholds and figures: ``benchmarks/false_premise_check.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from groundset.records import Chunk, Reason, Sample
from groundset.verify.answerable import question_coverage
from groundset.verify.base import Checker
from groundset.verify.text import code_identifiers, fold, negated_stems, numbers

__all__ = [
    "CONFLICTS",
    "FALSE_PREMISE",
    "MIN_QUESTION_COVERAGE",
    "MIN_SECTION_COVERAGE",
    "PremiseCheck",
    "PremiseReader",
    "PremiseScores",
    "carries",
    "corrected_answer",
    "correction_statement",
]

#: The task whose samples are checked this way.
FALSE_PREMISE = "false_premise"
#: Share of the premise's content words the question must hold: it must ask with the premise
#: taken for granted, not merely about its subject.
MIN_QUESTION_COVERAGE = 0.5
#: Share of the premise's content words the cited section must hold. Each contradicted premise of
#: the measured set held 0.75 or more (a wrong value changes one word of four or five); three of
#: the four it says nothing about held 0.29-0.33 (the fourth, on the section's own setting, 0.67,
#: is refused for naming no conflict).
MIN_SECTION_COVERAGE = 0.5

#: The checker's reasons that name a conflict between the premise and the section.
CONFLICTS: frozenset[Reason] = frozenset({"number_mismatch", "negation_mismatch", "term_missing"})

_ANSWER = re.compile(
    r'The question assumes that "(?P<premise>.*?)", which the documentation contradicts\.'
    r' The section(?: "(?P<heading>.*?)")? \((?P<url>\S+)\) says: "(?P<quote>.*)"\Z',
    re.DOTALL,
)


def corrected_answer(section: Chunk, premise: str, quote: str) -> str:
    """The answer of a ``false_premise`` sample: the premise named as wrong, then the sentence of
    the section (its heading and URL) that says otherwise."""
    heading = f' "{section.heading_path}"' if section.heading_path else ""
    return (
        f'The question assumes that "{premise}", which the documentation contradicts. '
        f'The section{heading} ({section.doc_url}) says: "{quote}"'
    )


def correction_statement(sample: Sample) -> str | None:
    """What of a ``false_premise`` sample's answer is a statement to check: None when the answer
    is exactly :func:`corrected_answer` of the sample's premise and a section it cites with one
    of its quotes (that quote is its claim; the premise is checked by :class:`PremiseCheck`);
    otherwise the whole answer, every sentence of which is then checked."""
    answer = sample.answer or ""
    match = _ANSWER.match(answer)
    if match is None or match["premise"] != sample.premise:
        return answer
    sources = {s.chunk_id: s for s in sample.sources}
    for claim in sample.claims:
        for citation in claim.citations:
            source = sources.get(citation.chunk_id)
            if source is None or citation.quote != match["quote"]:
                continue
            if (match["heading"] or "", match["url"]) == (source.heading_path, source.doc_url):
                return None
    return answer


def carries(premise: str, question: str) -> bool:
    """Whether ``question`` takes ``premise`` for granted: it holds every number and code name of
    the premise, at least :data:`MIN_QUESTION_COVERAGE` of its content words, and a negation
    when the premise has one."""
    asked = fold(question).lower().replace("`", "")
    return (
        question_coverage(premise, question) >= MIN_QUESTION_COVERAGE
        and numbers(premise) <= numbers(question)
        and all(name in asked for name in code_identifiers(premise))
        and (negated_stems(premise) is None or negated_stems(question) is not None)
    )


class PremiseReader(Protocol):
    """Reads a section and says whether it states a statement.

    Attributes:
        name: what verdicts and reports call it.
        threshold: the probability at and above which the section states the statement.
    """

    name: str
    threshold: float

    def states(self, items: Sequence[tuple[str, str]]) -> list[float]:
        """For each (statement, section text), the probability that the section states it."""
        ...


@dataclass(frozen=True)
class PremiseScores:
    """What the check measured of one premise: whether the question carries it, the share of its
    words in the section, the checker's support score and reasons, and the reader's probability
    that the section states it (None when an earlier measure already refused it, or no reader was
    asked)."""

    carried: bool
    in_section: float
    support: float
    reasons: tuple[Reason, ...]
    stated: float | None

    @property
    def conflict(self) -> bool:
        """Whether the checker names a conflict between the premise and the section."""
        return bool(CONFLICTS.intersection(self.reasons))

    @property
    def on_subject(self) -> bool:
        """Whether the question carries the premise and the section is about it."""
        return self.carried and self.in_section >= MIN_SECTION_COVERAGE


class PremiseCheck:
    """Decides whether a section contradicts a question's premise (see the module's doc).

    Args:
        checker: the support checker; it must name a conflict.
        reader: what decides that the section states the premise after all; without one,
            nothing is held contradicted (a premise no model read is not shown false).
    """

    def __init__(self, checker: Checker, reader: PremiseReader | None) -> None:
        self.checker = checker
        self.reader = reader

    def scores(self, premise: str, question: str, section: str) -> PremiseScores:
        """Every measure of the premise, the reader asked only when the others pass."""
        (support,) = self.checker.check([(premise, section)])
        found = PremiseScores(
            carries(premise, question),
            question_coverage(premise, section),
            support.score,
            () if support.supported else support.reasons,
            None,
        )
        if self.reader is None or not (found.on_subject and found.conflict):
            return found
        (stated,) = self.reader.states([(premise, section)])
        return replace(found, stated=stated)

    def contradicted(self, premise: str, question: str, section: str) -> bool:
        """Whether ``question`` takes ``premise`` for granted and ``section`` contradicts it."""
        if not premise.strip() or self.reader is None:
            return False
        found = self.scores(premise, question, section)
        return found.stated is not None and found.stated < self.reader.threshold
