"""How one sample is judged: every check a sample must pass, and the verdict it gets.

For each sample, in order (cheap refusals first, so that expensive checkers see fewer claims):

1. length bounds (``too_short``, ``too_long``) and language (``wrong_language``);
2. duplicates of a sample already kept (``duplicate``), and questions that repeat a kept
   sample's question in other words (``repeated_question``, :mod:`groundset.verify.repeats`):
   the first one stays;
3. sources: a source chunk that is gone (``source_removed``) or changed (``source_changed``);
4. claims: the generator's, plus the answer's clauses none of them covers. Each citation must
   name a known chunk (``unknown_chunk``) and quote it (``quote_not_found``); a listed claim
   must cite something (``no_citation``). The checker then judges each claim against its cited
   chunks (a claim that only restates one of its quotes is supported by the quote itself), and
   each answer clause against all the sample's chunks. In a sample written in another
   language than its sources, each statement in that language is checked as such
   (:mod:`groundset.verify.crosslang`): a claim's rendering against its evidence and its own
   text against the rendering (``translation_mismatch``), an answer clause through its
   back-translation; a language no model here reads is refused ``unreadable_language``. A
   question translated from the sources' language (``source_question``) must say what the
   original says (``translation_mismatch``);
5. the answer as a whole: a verbatim copy of a passage or of its heading
   (``copies_source``), the question against its passages (``unanswerable``), and an answer
   that only restates its question (``restates_question``), and one that announces a list or
   code it does not hold (a colon or an ellipsis at its end, "the following" with nothing after
   it: ``incomplete_answer``); a "why" answered with no cause, purpose or condition
   (``no_reason_given``), a question about "this notebook" or "the above example", which
   only the generator saw (``vague_question``), and a "default", "only" or "always" that no
   passage states (``unstated_qualifier``);
6. for a sample whose question the docs should not answer (task ``unanswerable``), and that
   nothing above refused: the whole corpus is searched for its question, and it is refused
   ``answerable`` when a section found answers it, that section named in the verdict
   (``answered_by``; :mod:`groundset.verify.answerable`). The filters that read a question as
   one its passages answer (``unanswerable``, ``no_reason_given``, a "default" asked about in
   ``unstated_qualifier``) do not apply to it, nor those of an answer's own wording
   (``copies_source``, ``incomplete_answer``): its answer is written by code around a quote;
7. for a sample whose question needs two sections (task ``multihop``), and that nothing above
   refused: refused ``single_hop`` when its claims cite fewer than two sections, or when one
   cited section alone supports every statement of its answer, by the same checker; that
   section is named in the verdict (``answered_by``; :mod:`groundset.verify.multihop`).
8. for a question built on a false premise (task ``false_premise``), and that nothing above
   refused: it is refused ``premise_not_contradicted`` unless the question carries its premise
   and the section its quote cites contradicts it (:mod:`groundset.verify.premise`). Its answer
   is written by code around the quote and names the premise: the filters of an answer's own
   wording (``copies_source``, ``incomplete_answer``, ``no_reason_given``, a qualifier of the
   answer in ``unstated_qualifier``) do not apply to it.

A sample is kept only when nothing refused it and every claim is supported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from groundset.languages import primary_language
from groundset.records import Chunk, ClaimVerdict, Reason, Sample, Source, Verdict
from groundset.verify.answerable import (
    UNANSWERABLE,
    AnsweringSearch,
    AnswerReader,
    CorpusSearch,
)
from groundset.verify.base import Checker, Support
from groundset.verify.claims import ClaimToCheck, sample_claims, sample_text
from groundset.verify.crosslang import CrossClaim, CrossLanguageChecker, Translator
from groundset.verify.evidence import prepare_evidence
from groundset.verify.filters import (
    Deduplicator,
    FilterOptions,
    copies_source,
    gives_no_reason,
    incomplete_answer,
    length_problem,
    restates_question,
    unanswerable,
    unstated_qualifier,
    vague_question,
)
from groundset.verify.language import is_language
from groundset.verify.multihop import MULTIHOP, single_hop
from groundset.verify.premise import FALSE_PREMISE, PremiseCheck, PremiseReader
from groundset.verify.quotes import find_quote
from groundset.verify.repeats import QuestionEmbedder, QuestionRepeats
from groundset.verify.section_reader import SectionReader, StatementReader
from groundset.verify.text import fold

__all__ = ["ChunkLookup", "DictChunkLookup", "SampleVerifier"]


class ChunkLookup(Protocol):
    """Where the verifier finds the chunks that samples cite (the ground stage's index)."""

    def get(self, ids: Iterable[str]) -> dict[str, Chunk]:
        """The chunks of those ``ids`` that exist, by id; unknown ids are left out."""
        ...


class DictChunkLookup:
    """A :class:`ChunkLookup` over chunks held in memory."""

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        self._chunks = {c.id: c for c in chunks}

    def get(self, ids: Iterable[str]) -> dict[str, Chunk]:
        """The known chunks among ``ids``."""
        return {i: self._chunks[i] for i in ids if i in self._chunks}


class SampleVerifier:
    """Verifies samples one at a time, remembering the kept ones to refuse their duplicates.

    Args:
        chunks: where cited chunks are found.
        checker: the support checker.
        language: the language samples must be in; None means each sample's own ``language``.
        options: filter bounds and thresholds.
        translator: the model that reads samples written in another language than their
            sources (see :mod:`groundset.verify.crosslang`); without one, their statements are
            refused ``unreadable_language``.
        question_embedder: the embedder of the index the samples were written from, to find
            questions that repeat a kept one in other words; without one, that check is off.
        corpus: where the question of an ``unanswerable`` sample is looked for: the whole
            corpus; by default ``chunks`` when it searches (an index does), else that check is
            off.
        reader: what decides that a section found answers such a question; by default the
            ``translator`` model (:class:`~groundset.verify.section_reader.SectionReader`),
            and without either that check is off.
        premise_reader: what reads whether the section a ``false_premise`` sample cites
            states its premise after all; by default the ``translator`` model
            (:class:`~groundset.verify.section_reader.StatementReader`); without either, no
            premise is held contradicted.
    """

    def __init__(
        self,
        chunks: ChunkLookup,
        checker: Checker,
        language: str | None = None,
        options: FilterOptions | None = None,
        translator: Translator | None = None,
        question_embedder: QuestionEmbedder | None = None,
        corpus: CorpusSearch | None = None,
        reader: AnswerReader | None = None,
        premise_reader: PremiseReader | None = None,
    ) -> None:
        self.chunks = chunks
        self.checker = checker
        self.cross = CrossLanguageChecker(checker, translator)
        self.language = language
        self.options = options or FilterOptions()
        self.dedup = Deduplicator(self.options.near_duplicate)
        self.repeats = QuestionRepeats(question_embedder, self.options.repeat_cosine)
        if corpus is None and isinstance(chunks, CorpusSearch):
            corpus = chunks
        if reader is None and translator is not None:
            reader = SectionReader(translator)
        self.answers = (
            AnsweringSearch(corpus, reader) if corpus is not None and reader is not None else None
        )
        if premise_reader is None and translator is not None:
            premise_reader = StatementReader(translator)
        self.premises = PremiseCheck(checker, premise_reader)

    def close(self) -> None:
        """Stop what the translator started (a local model server), if anything."""
        if self.cross.translator is not None:
            self.cross.translator.close()

    def remember(self, sample: Sample) -> None:
        """Remember a sample kept before (a project's), so that its repeats are refused."""
        question, answer = sample_text(sample)
        self.dedup.add(sample.id, f"{question}\n{answer}")
        self.repeats.add(sample.id, self.repeats.ask(question, sample.language))

    def verify(self, sample: Sample) -> Verdict:
        """Decide on one sample; a kept sample is remembered for duplicate detection."""
        question, answer = sample_text(sample)
        text = f"{question}\n{answer}"
        reasons = self._text_problems(sample, question, answer)
        duplicate = self.dedup.duplicate_of(text)
        asked = None if duplicate is not None else self.repeats.ask(question, sample.language)
        if duplicate is not None or (asked is not None and asked.repeats is not None):
            # The kept copy stands for it: no need to check its claims again.
            return Verdict(
                sample_id=sample.id,
                accepted=False,
                reasons=[*reasons, "duplicate" if duplicate is not None else "repeated_question"],
                checker=self.checker.name,
            )
        ids = {c.chunk_id for claim in sample.claims for c in claim.citations}
        ids.update(s.chunk_id for s in sample.sources)
        found = self.chunks.get(sorted(ids))
        reasons += self._source_problems(sample, found)
        cross_language = _cross_language(sample, found)
        claims = self._check_claims(sample, found, cross_language)
        reasons += self._answer_problems(sample, question, answer, found, cross_language)
        if cross_language and sample.source_question and question and not reasons:
            problem = self.cross.translates(sample.source_question, question, sample.language)
            if problem is not None:
                reasons.append(problem)
        answered_by = None
        if sample.task == UNANSWERABLE and not reasons and all(c.supported for c in claims):
            answered_by = self._answered_by(sample.source_question or question)
            if answered_by is not None:
                reasons.append("answerable")
        if sample.task == MULTIHOP and not reasons and all(c.supported for c in claims):
            hop = single_hop(sample, found, self.checker)
            if hop is not None:
                reasons.append("single_hop")
                answered_by = hop.section
        if (
            sample.task == FALSE_PREMISE
            and not reasons
            and all(c.supported for c in claims)
            and not self._premise_contradicted(sample, question, found)
        ):
            reasons.append("premise_not_contradicted")

        accepted = not reasons and all(c.supported for c in claims)
        if accepted:
            self.dedup.add(sample.id, text)
            self.repeats.add(sample.id, asked)
        return Verdict(
            sample_id=sample.id,
            accepted=accepted,
            claims=claims,
            reasons=list(dict.fromkeys([*reasons, *(r for c in claims for r in c.reasons)])),
            checker=self.checker.name,
            translated=self.cross.how(sample.language) if cross_language else None,
            answered_by=answered_by,
        )

    def _answered_by(self, question: str) -> Source | None:
        """The section of the corpus that answers ``question``, if the check is on and one does."""
        found = self.answers.find(question) if self.answers is not None else None
        if found is None:
            return None
        chunk = found.chunk
        return Source(chunk_id=chunk.id, content_sha256=chunk.content_sha256,
                      doc_url=chunk.doc_url, heading_path=chunk.heading_path)  # fmt: skip

    def _premise_contradicted(self, sample: Sample, question: str, found: dict[str, Chunk]) -> bool:
        """Whether the question carries the sample's premise and the sections its claims cite
        contradict it."""
        cited = {c.chunk_id for claim in sample.claims for c in claim.citations}
        sections = [found[i] for i in sorted(cited) if i in found]
        return bool(sections) and self.premises.contradicted(
            sample.premise or "", question, _joined(sections)
        )

    def _text_problems(self, sample: Sample, question: str, answer: str) -> list[Reason]:
        reasons: list[Reason] = []
        # A record answers no question: only its text is bounded.
        length = length_problem(question, answer, self.options, asked=sample.record is None)
        if length:
            reasons.append(length)
        if self._wrong_language(sample, f"{question}\n{answer}"):
            reasons.append("wrong_language")
        return reasons

    def _answer_problems(
        self,
        sample: Sample,
        question: str,
        answer: str,
        found: dict[str, Chunk],
        cross_language: bool,
    ) -> list[Reason]:
        reasons: list[Reason] = []
        if not sample.claims:
            reasons.append("no_citation")
        passages = [c.text for c in found.values()]
        headings = {c.heading_path for c in found.values()} | {
            s.heading_path for s in sample.sources
        }
        # A question the docs should not answer is not held to its passages' words; what it asks
        # is looked for in the whole corpus instead (verify()). Its answer is written by code
        # around a verbatim quote: copying and announcing are not its own.
        asks_passages = sample.task != UNANSWERABLE
        # A false premise's answer too is written by code: it names the premise to reject it.
        own_answer = asks_passages and sample.task != FALSE_PREMISE
        if own_answer and (
            copies_source(answer, passages, self.options) or _is_heading(answer, headings)
        ):
            reasons.append("copies_source")
        # A question in another language than its passages shares no words with them.
        if (
            asks_passages
            and passages
            and not cross_language
            and unanswerable(question, passages, self.options)
        ):
            reasons.append("unanswerable")
        if sample.record is None and restates_question(question, answer, self.options):
            reasons.append("restates_question")
        if sample.record is None and own_answer and incomplete_answer(answer):
            reasons.append("incomplete_answer")
        # Question forms are read in English; another language's are left to its reader.
        if sample.record is None and not cross_language:
            if own_answer and gives_no_reason(question, answer):
                reasons.append("no_reason_given")
            if vague_question(question):
                reasons.append("vague_question")
            stated = answer if sample.task != FALSE_PREMISE else ""
            if unstated_qualifier(question if asks_passages else "", stated, passages):
                reasons.append("unstated_qualifier")
        return reasons

    def _wrong_language(self, sample: Sample, text: str) -> bool:
        wanted = self.language or sample.language
        if self.language and primary_language(sample.language) != primary_language(self.language):
            return True
        return is_language(text, wanted) is False

    @staticmethod
    def _source_problems(sample: Sample, found: dict[str, Chunk]) -> list[Reason]:
        reasons: list[Reason] = []
        for source in sample.sources:
            chunk = found.get(source.chunk_id)
            if chunk is None:
                reasons.append("source_removed")
            elif chunk.content_sha256 != source.content_sha256:
                reasons.append("source_changed")
        return list(dict.fromkeys(reasons))

    def _check_claims(
        self, sample: Sample, found: dict[str, Chunk], cross_language: bool
    ) -> list[ClaimVerdict]:
        to_check = sample_claims(sample)
        everything = list(found.values())
        verdicts: list[ClaimVerdict | None] = []
        pending: list[tuple[int, ClaimToCheck, list[Chunk]]] = []
        # Statements in another language than their evidence, checked as such (crosslang.py).
        crossing: list[tuple[int, ClaimToCheck, list[Chunk]]] = []
        for claim in to_check:
            cited, problems = self._citations(claim, found)
            evidence = everything if claim.from_answer else cited
            if problems or not evidence:
                verdicts.append(_refused(claim, problems or ["unsupported_claim"]))
            elif cross_language and fold(claim.text).strip() != fold(claim.checked_text).strip():
                crossing.append((len(verdicts), claim, evidence))
                verdicts.append(None)
            elif _is_own_quote(claim):
                verdicts.append(_quoted_verdict(claim, cited))
            else:
                pending.append((len(verdicts), claim, evidence))
                verdicts.append(None)
        pairs = [(claim.checked_text, _joined(chunks)) for _, claim, chunks in pending]
        for (index, claim, chunks), support in zip(pending, self.checker.check(pairs), strict=True):
            verdicts[index] = _verdict(claim, support, chunks)
        cross_claims = [
            CrossClaim(
                claim.text,
                sample.language,
                _joined(chunks),
                None if claim.checked_text == claim.text else claim.checked_text,
            )
            for _, claim, chunks in crossing
        ]
        supports = self.cross.check(cross_claims)
        for (index, claim, chunks), support in zip(crossing, supports, strict=True):
            verdicts[index] = _verdict(claim, support, chunks)
        return [v for v in verdicts if v is not None]

    @staticmethod
    def _citations(
        claim: ClaimToCheck, found: dict[str, Chunk]
    ) -> tuple[list[Chunk], list[Reason]]:
        cited: list[Chunk] = []
        problems: list[Reason] = []
        for citation in claim.citations:
            chunk = found.get(citation.chunk_id)
            if chunk is None:
                problems.append("unknown_chunk")
                continue
            cited.append(chunk)
            if not find_quote(citation.quote, chunk.text):
                problems.append("quote_not_found")
        if not claim.from_answer and not claim.citations:
            problems.append("no_citation")
        unique = list({c.id: c for c in cited}.values())
        return unique, list(dict.fromkeys(problems))


def _cross_language(sample: Sample, found: dict[str, Chunk]) -> bool:
    """Whether the sample is written in another language than its sources."""
    return any(c.source_text for c in sample.claims) or any(
        c.lang and primary_language(c.lang) != primary_language(sample.language)
        for c in found.values()
    )


def _joined(chunks: Sequence[Chunk]) -> str:
    return "\n\n".join(c.text for c in chunks)


def _chunk_of(span: str, chunks: Sequence[Chunk]) -> str | None:
    """The chunk the deciding span comes from: the one holding its first sentence."""
    if not chunks:
        return None
    head = fold(prepare_evidence(span).sentences[0]).lower() if span else ""
    for chunk in chunks:
        if head and head in fold(chunk.text).lower():
            return chunk.id
    return chunks[0].id


def _verdict(claim: ClaimToCheck, support: Support, chunks: Sequence[Chunk]) -> ClaimVerdict:
    return ClaimVerdict(
        text=claim.text,
        supported=support.supported,
        score=round(support.score, 4),
        evidence=support.evidence,
        chunk_id=_chunk_of(support.evidence, chunks),
        reasons=list(support.reasons),
    )


def _is_heading(answer: str, headings: set[str]) -> bool:
    """Whether the answer is nothing but a passage's heading path, which its chunk text starts
    with: "Django REST framework 3.14 > Minor fixes and improvements" is supported word for word
    and answers nothing."""
    said = " ".join(fold(answer).split()).rstrip(".").lower()
    return any(said == " ".join(fold(h).split()).lower() for h in headings if h)


def _is_own_quote(claim: ClaimToCheck) -> bool:
    """Whether a listed claim states nothing but one of its quotes, already found verbatim.

    Evidence chosen from the passage's own sentences is its own support: checking it against
    the chunk it was copied from could only fail where the checker errs (a quote cut at its
    length bound reads as an unfinished sentence).
    """
    return not claim.from_answer and any(
        fold(c.quote).strip() == fold(claim.checked_text).strip() for c in claim.citations
    )


def _quoted_verdict(claim: ClaimToCheck, chunks: Sequence[Chunk]) -> ClaimVerdict:
    return ClaimVerdict(
        text=claim.text,
        supported=True,
        score=1.0,
        evidence=claim.checked_text,
        chunk_id=chunks[0].id if chunks else None,
    )


def _refused(claim: ClaimToCheck, reasons: list[Reason]) -> ClaimVerdict:
    return ClaimVerdict(text=claim.text, supported=False, score=0.0, reasons=reasons)
