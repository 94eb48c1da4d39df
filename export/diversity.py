"""How varied a dataset is: what it covers, what it asks, and how much was refused as repeats.

A set that asks one question twelve times, or only "what is" questions about three sections,
tests less than its size says. The report and the dataset card show the same figures:

- the sections and pages the kept samples cite, and their share of the corpus's when it is
  known;
- the kept questions by their first word (:data:`QUESTION_TYPES`, read in English: a question
  in another language is counted as ``other``);
- the verified samples refused as repeats of a kept one: nearly word for word (``duplicate``:
  exact or MinHash) and the same question in other words (``repeated_question``), apart.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from groundset.export.sections import CorpusSection
from groundset.records import Sample, Verdict

__all__ = ["QUESTION_TYPES", "Diversity", "diversity", "question_type"]

#: The first words a question is counted under; any other is ``other``.
QUESTION_TYPES = ("what", "how", "why", "when", "where", "which", "can", "does", "other")
_FIRST_WORD = re.compile(r"[^\W\d_]+")


def question_type(question: str) -> str:
    """The question's first word if it is one of :data:`QUESTION_TYPES`, else ``other``."""
    match = _FIRST_WORD.search(question)
    word = match.group().lower() if match else ""
    return word if word in QUESTION_TYPES else "other"


@dataclass(frozen=True)
class Diversity:
    """The diversity figures of one set of kept samples, and of the run that kept them.

    Attributes:
        kept: kept samples.
        sections: sections (page and heading path) the kept samples cite.
        pages: pages they cite.
        corpus_sections: sections of the corpus (the cited ones included); None when unknown.
        corpus_pages: pages of the corpus; None when unknown.
        question_types: kept samples with a question, by :func:`question_type`.
        verified: samples verified (kept and refused); None when the refused are unknown.
        duplicates: samples refused ``duplicate``.
        repeated_questions: samples refused ``repeated_question``.
    """

    kept: int
    sections: int
    pages: int
    corpus_sections: int | None
    corpus_pages: int | None
    question_types: dict[str, int]
    verified: int | None
    duplicates: int
    repeated_questions: int

    def coverage_line(self) -> str:
        """What the kept samples cite, and its share of the corpus when known."""
        if self.corpus_sections is None or self.corpus_pages is None:
            return (
                f"The kept samples cite {self.sections} sections of {self.pages} pages (the "
                "corpus was not given, so their share of it is unknown)."
            )
        return (
            f"The kept samples cite {self.sections} of the corpus's {self.corpus_sections} "
            f"sections ({_share(self.sections, self.corpus_sections)}) and {self.pages} of its "
            f"{self.corpus_pages} pages ({_share(self.pages, self.corpus_pages)})."
        )

    def repeats_line(self) -> str:
        """The share of verified samples refused as repeats, by kind."""
        if self.verified is None:
            return "Samples refused as repeats: unknown (no rejected file was given)."
        return (
            f"Of {self.verified} verified samples, {self.duplicates} "
            f"({_share(self.duplicates, self.verified, 1)}) were refused as near-verbatim "
            f"repeats of a kept sample (duplicate: exact or MinHash) and "
            f"{self.repeated_questions} ({_share(self.repeated_questions, self.verified, 1)}) as "
            "its question asked in other words (repeated_question; checked with the index's "
            "embedder where its threshold was measured, all-MiniLM-L6-v2 on English questions, "
            "or repeat_cosine is set)."
        )

    def type_rows(self) -> list[tuple[str, int, str]]:
        """Each question type with its kept samples and their share of the questions."""
        asked = sum(self.question_types.values())
        return [(t, n, _share(n, asked)) for t, n in self.question_types.items()]


def diversity(
    kept: Sequence[Sample],
    refused: Sequence[Verdict] | None,
    sections: Sequence[CorpusSection] | None = None,
) -> Diversity:
    """The diversity figures of kept samples.

    Args:
        kept: the kept samples.
        refused: the verdicts of the refused ones; None when unknown.
        sections: every section of the corpus; None when unknown.

    Returns:
        The figures.
    """
    cited = {(s.doc_url, s.heading_path) for sample in kept for s in sample.sources}
    known = cited | {(s.doc_url, s.heading_path) for s in sections} if sections else cited
    types = Counter(question_type(q) for q in map(_question, kept) if q.strip())
    reasons = Counter(r for v in refused or () for r in dict.fromkeys(v.reasons))
    return Diversity(
        kept=len(kept),
        sections=len(cited),
        pages=len({url for url, _ in cited}),
        corpus_sections=len(known) if sections is not None else None,
        corpus_pages=len({url for url, _ in known}) if sections is not None else None,
        question_types={t: types[t] for t in QUESTION_TYPES},
        verified=len(kept) + len(refused) if refused is not None else None,
        duplicates=reasons["duplicate"],
        repeated_questions=reasons["repeated_question"],
    )


def _question(sample: Sample) -> str:
    """What the sample asks: its question, or its first user turn; a record asks nothing."""
    if sample.question is not None:
        return sample.question
    return next((m.content for m in sample.messages or [] if m.role == "user"), "")


def _share(part: int, whole: int, digits: int = 0) -> str:
    return f"{part / whole:.{digits}%}" if whole else "–"
