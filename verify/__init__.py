"""The verify stage: keep only the samples whose every claim their cited passages support.

Entry points::

    verify_samples_file(samples, chunks, kept, rejected, checker="calibrated", language=None)
    verify_claims_file(pairs, out=None, checker="calibrated")

Support checkers share one protocol (:class:`Checker`) and are chosen by name through
:func:`make_checker`: ``calibrated`` (the default, no model), ``lexical``, ``overlap`` (the
word-overlap baseline), ``embedding``, ``nli``, ``llm`` and ``cascade``. Their measured quality
is in ``benchmarks/verify_quality.py``.
"""

from __future__ import annotations

from groundset.verify.base import Checker, Pair, Support
from groundset.verify.calibrated import CalibratedChecker
from groundset.verify.cascade import CASCADE_BAND, CascadeChecker
from groundset.verify.claims import ClaimToCheck, sample_claims, sample_text, split_claims
from groundset.verify.crosslang import CrossClaim, CrossLanguageChecker, Translator
from groundset.verify.embedding import DEFAULT_EMBEDDING_THRESHOLD, EmbeddingChecker, load_embedder
from groundset.verify.filters import (
    Deduplicator,
    FilterOptions,
    copies_source,
    length_problem,
    unanswerable,
)
from groundset.verify.language import detect_language, is_language
from groundset.verify.lexical import (
    DEFAULT_LEXICAL_THRESHOLD,
    DEFAULT_OVERLAP_THRESHOLD,
    LexicalChecker,
    WordOverlapChecker,
)
from groundset.verify.llm_judge import LLMJudgeChecker, parse_judgement
from groundset.verify.nli import DEFAULT_NLI_THRESHOLD, NLIChecker
from groundset.verify.pipeline import (
    VerifySummary,
    split_options,
    verify_claims_file,
    verify_samples_file,
)
from groundset.verify.quotes import QUOTE_TOLERANCE, find_quote, normalise_quote
from groundset.verify.registry import (
    CheckerOptions,
    available_checkers,
    judge_models,
    make_checker,
    register_checker,
    translator_for,
)
from groundset.verify.repeats import MEASURED_REPEAT_COSINE, QuestionEmbedder, QuestionRepeats
from groundset.verify.verifier import ChunkLookup, DictChunkLookup, SampleVerifier

__all__ = [
    "CASCADE_BAND",
    "DEFAULT_EMBEDDING_THRESHOLD",
    "DEFAULT_LEXICAL_THRESHOLD",
    "DEFAULT_NLI_THRESHOLD",
    "DEFAULT_OVERLAP_THRESHOLD",
    "MEASURED_REPEAT_COSINE",
    "QUOTE_TOLERANCE",
    "CalibratedChecker",
    "CascadeChecker",
    "Checker",
    "CheckerOptions",
    "ChunkLookup",
    "ClaimToCheck",
    "CrossClaim",
    "CrossLanguageChecker",
    "Deduplicator",
    "DictChunkLookup",
    "EmbeddingChecker",
    "FilterOptions",
    "LLMJudgeChecker",
    "LexicalChecker",
    "NLIChecker",
    "Pair",
    "QuestionEmbedder",
    "QuestionRepeats",
    "SampleVerifier",
    "Support",
    "Translator",
    "VerifySummary",
    "WordOverlapChecker",
    "available_checkers",
    "copies_source",
    "detect_language",
    "find_quote",
    "is_language",
    "judge_models",
    "length_problem",
    "load_embedder",
    "make_checker",
    "normalise_quote",
    "parse_judgement",
    "register_checker",
    "sample_claims",
    "sample_text",
    "split_claims",
    "split_options",
    "translator_for",
    "unanswerable",
    "verify_claims_file",
    "verify_samples_file",
]
