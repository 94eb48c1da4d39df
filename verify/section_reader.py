"""Whether a section answers a question, as a model that reads the docs judges it: the
:class:`~groundset.verify.answerable.AnswerReader` of the ``unanswerable`` check; and whether a
section states a premise: the :class:`~groundset.verify.premise.PremiseReader` of the
``false_premise`` check (:class:`StatementReader`).

The model is the verifier's reader (:class:`~groundset.verify.crosslang.Translator`: the bundled
Qwen2.5-Coder-1.5B unless an endpoint is named), asked one yes-or-no question per section, and
the probability it gives "yes" is compared with the threshold measured for that model on labelled
questions (:data:`MEASURED_ANSWERS_THRESHOLD`, ``benchmarks/unanswerable_check.py``); a model
never measured (an endpoint's) is held to
:data:`~groundset.verify.crosslang.SAME_MEANING_THRESHOLD`.
"""

from __future__ import annotations

from collections.abc import Sequence

from groundset.verify.crosslang import LOCAL_READER, SAME_MEANING_THRESHOLD, Translator

__all__ = [
    "ANSWERS_PROMPT",
    "ANSWERS_SYSTEM",
    "MEASURED_ANSWERS_THRESHOLD",
    "MEASURED_STATES_THRESHOLD",
    "STATES_PROMPT",
    "STATES_SYSTEM",
    "SectionReader",
    "StatementReader",
]

#: The system message. The section comes first and the question after it, asked again at the
#: end: with the question first and the rules in the system message, the bundled 1.5B gave every
#: section of a search 0.5-0.7 whether it answered or not; asked this way, 0.7-0.85 to the
#: sections that answer a page-size question and 0.05-0.18 to every section found for two
#: questions no section answers (15 sections of the DRF docs).
ANSWERS_SYSTEM = (
    "You check whether a section of software documentation answers a user's question. "
    "Reply with yes or no."
)
ANSWERS_PROMPT = (
    "Section:\n<<<\n{section}\n>>>\n\nQuestion: {question}\n\nDoes the section state the answer "
    "to this exact question? A section that only mentions the subject does not. Reply yes or no."
)
#: The probability of "yes" at and above which a section answers the question, by the name of the
#: reader it was measured for.
MEASURED_ANSWERS_THRESHOLD: dict[str, float] = {f"{LOCAL_READER} (bundled)": 0.45}


#: The question whether a section states a premise (task ``false_premise``): section first and
#: statement after, as for an answer.
STATES_SYSTEM = (
    "You check statements about software against its documentation. Reply with yes or no."
)
STATES_PROMPT = (
    "Documentation section:\n<<<\n{section}\n>>>\n\nStatement: {premise}\n\nDoes the section "
    "state that this statement is true? A section that only mentions the subject does not. "
    "Reply yes or no."
)
#: The probability of "yes" below which the reader does not find the premise stated, by the
#: name of the reader it was measured for.
#: Measured on 19 labelled premises (``benchmarks/false_premise_check.py``): the contradicted
#: ones the checker names a conflict for got 0.05-0.29, the true ones 0.30-0.94; 0.3 keeps 6 of
#: 8 contradicted premises and no true or unrelated one. The gap is that narrow (0.293 against
#: 0.302): the labelled samples of ``benchmarks/false_premise_set.py`` should move it.
MEASURED_STATES_THRESHOLD: dict[str, float] = {f"{LOCAL_READER} (bundled)": 0.3}


class SectionReader:
    """Asks the reader model whether each section answers its question.

    Args:
        translator: the verifier's reader model (started on first use).
        threshold: the probability of "yes" at and above which a section answers; default
            the one measured for the model, else
            :data:`~groundset.verify.crosslang.SAME_MEANING_THRESHOLD`.
    """

    def __init__(self, translator: Translator, threshold: float | None = None) -> None:
        self.translator = translator
        self.name = translator.name
        measured = MEASURED_ANSWERS_THRESHOLD.get(translator.name, SAME_MEANING_THRESHOLD)
        self.threshold = measured if threshold is None else threshold

    def answers(self, items: Sequence[tuple[str, str]]) -> list[float]:
        """For each (question, section text), the probability that the section answers it."""
        return [
            self.translator.yes_probability(
                ANSWERS_SYSTEM, ANSWERS_PROMPT.format(section=text, question=question)
            )
            for question, text in items
        ]


class StatementReader:
    """Asks the reader model whether each section states its premise (a ``false_premise``
    sample's: see :mod:`groundset.verify.premise`).

    Args:
        translator: the verifier's reader model (started on first use).
        threshold: the probability of "yes" at and above which a section states the premise;
            default the one measured for the model, else
            :data:`~groundset.verify.crosslang.SAME_MEANING_THRESHOLD`.
    """

    def __init__(self, translator: Translator, threshold: float | None = None) -> None:
        self.translator = translator
        self.name = translator.name
        measured = MEASURED_STATES_THRESHOLD.get(translator.name, SAME_MEANING_THRESHOLD)
        self.threshold = measured if threshold is None else threshold

    def states(self, items: Sequence[tuple[str, str]]) -> list[float]:
        """For each (statement, section text), the probability that the section states it."""
        return [
            self.translator.yes_probability(
                STATES_SYSTEM, STATES_PROMPT.format(section=text, premise=premise)
            )
            for premise, text in items
        ]
