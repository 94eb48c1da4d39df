"""The verify stage over files: samples in, kept and rejected samples out; claims files.

Each input line is judged on its own (see :mod:`groundset.verify.verifier` for how a sample is),
and a line that cannot be read is counted and reported, never fatal.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from groundset.errors import UsageError
from groundset.files import JsonlLine, MalformedLine, read_lines, refuse_overwriting
from groundset.records import Sample, Verdict
from groundset.verify.base import Checker, Support
from groundset.verify.crosslang import CrossClaim, CrossLanguageChecker
from groundset.verify.filters import FilterOptions
from groundset.verify.language import is_language
from groundset.verify.registry import (
    DEFAULT_CHECKER,
    CheckerOptions,
    judge_models,
    make_checker,
    translator_for,
)
from groundset.verify.repeats import QuestionEmbedder
from groundset.verify.verifier import ChunkLookup, SampleVerifier

__all__ = ["VerifySummary", "split_options", "verify_claims_file", "verify_samples_file"]

log = logging.getLogger(__name__)

#: Claims sent to the checker at once by :func:`verify_claims_file`.
CLAIMS_BATCH = 64
#: Samples between two progress lines in the log.
PROGRESS_EVERY = 100


@dataclass
class VerifySummary:
    """What a verify run did: samples seen, kept and rejected, and rejections by reason.

    A rejected sample counts once under each of its reasons.
    """

    checker: str
    total: int = 0
    kept: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, verdict: Verdict) -> None:
        """Count one sample's verdict."""
        self.total += 1
        if verdict.accepted:
            self.kept += 1
        else:
            self.rejected += 1
            self.reasons.update(verdict.reasons)

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready data."""
        return {
            "checker": self.checker,
            "total": self.total,
            "kept": self.kept,
            "rejected": self.rejected,
            "reasons": dict(self.reasons.most_common()),
        }

    def __str__(self) -> str:
        refused = ", ".join(f"{r} {n}" for r, n in self.reasons.most_common())
        line = f"verified {self.total} samples with {self.checker}: kept {self.kept}"
        return f"{line}, rejected {self.rejected}" + (f" ({refused})" if refused else "")


def split_options(options: Mapping[str, Any]) -> tuple[CheckerOptions, FilterOptions]:
    """Checker options and filter bounds from one flat mapping (a ``[verify]`` table, flags).

    Raises:
        UsageError: an unknown option, or a bad value.
    """
    checker_keys = set(CheckerOptions.model_fields)
    filter_keys = set(FilterOptions.model_fields)
    unknown = sorted(set(options) - checker_keys - filter_keys)
    if unknown:
        raise UsageError(
            f"unknown verify option(s): {', '.join(unknown)}",
            fix=f"use {', '.join(sorted(checker_keys | filter_keys))}",
        )
    try:
        checker_options = CheckerOptions(**{k: v for k, v in options.items() if k in checker_keys})
        filter_options = FilterOptions(**{k: v for k, v in options.items() if k in filter_keys})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = error["loc"][0]
        raise UsageError(
            f"bad verify option {name}: {error['msg']}",
            fix=f"give {name} a value of the kind `groundset verify --help` describes",
        ) from None
    return checker_options, filter_options


def _resolve_checker(checker: str | Checker, options: CheckerOptions) -> Checker:
    return make_checker(checker, options) if isinstance(checker, str) else checker


@contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        yield fh


def _require_file(path: Path) -> Path:
    # Not is_file(): a pipe such as /dev/stdin is a fine input.
    if not path.exists() or path.is_dir():
        raise UsageError(f"no such file: {path}", fix="check the path")
    return path


def _lines(path: Path) -> Iterator[JsonlLine]:
    return read_lines(_require_file(path), errors="replace")


def verify_samples_file(
    samples: Path,
    chunks: ChunkLookup,
    kept: Path,
    rejected: Path,
    checker: str | Checker = DEFAULT_CHECKER,
    language: str | None = None,
    question_embedder: QuestionEmbedder | None = None,
    **options: Any,
) -> VerifySummary:
    """Verify a JSONL file of samples into a kept and a rejected file.

    Each output line is the sample's JSON plus a ``verdict`` key. A line that is not a valid
    sample goes to the rejected file as ``{"line", "raw", "error", "verdict"}`` with the reason
    ``invalid_json``.

    Args:
        samples: the samples, one JSON object per line.
        chunks: where the cited chunks are found.
        kept: where accepted samples are written.
        rejected: where refused samples are written, with their reasons.
        checker: a checker name (see :func:`groundset.verify.available_checkers`) or instance.
        language: the language samples must be in; default each sample's own ``language``.
        question_embedder: the embedder of the index that ``chunks`` is, to refuse questions
            that repeat a kept one in other words (``repeated_question``); None: not checked.
        **options: fields of :class:`CheckerOptions` and :class:`FilterOptions`.

    Returns:
        Counts of samples kept and rejected, by reason.

    Raises:
        UsageError: a missing input file, an output that is the input or the other output, an
            unknown checker or option.
    """
    checker_options, filter_options = split_options(options)
    lines = _lines(samples)
    refuse_overwriting({"the samples file": samples}, {"--kept": kept, "--rejected": rejected})
    the_checker = _resolve_checker(checker, checker_options)
    translator = translator_for(checker_options)
    verifier = SampleVerifier(
        chunks, the_checker, language, filter_options, translator, question_embedder
    )
    summary = VerifySummary(the_checker.name)
    judges = judge_models(the_checker)
    warned: set[str] = set()
    with _output(kept) as kept_fh, _output(rejected) as rejected_fh, closing(translator):
        for line in lines:
            data: Any = None
            try:
                data = line.parse()
                sample = Sample.model_validate(data)
            except (MalformedLine, ValidationError) as exc:
                verdict = _invalid(line.number, data, exc)
                summary.add(verdict)
                record = {"line": line.number, "raw": line.text, "error": _first_line(exc)}
                record["verdict"] = verdict.model_dump(mode="json")
                rejected_fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                continue
            model = sample.generator.model
            if model in judges and model not in warned:
                warned.add(model)
                warnings.warn(
                    f"the LLM judge {model!r} is the model that wrote the samples: it grades its"
                    " own work; prefer a different judge",
                    stacklevel=2,
                )
            verdict = verifier.verify(sample)
            summary.add(verdict)
            if summary.total % PROGRESS_EVERY == 0:
                log.info("%s so far", summary)
            out = kept_fh if verdict.accepted else rejected_fh
            record = {**data, "verdict": verdict.model_dump(mode="json")}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    log.info("%s", summary)
    return summary


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _invalid(number: int, data: Any, exc: Exception) -> Verdict:
    """The verdict on a line that is no sample: named by its ``id`` when it has one."""
    sample_id = f"line-{number}"
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        sample_id = data["id"]
    log.warning("line %d is not a valid sample: %s", number, _first_line(exc))
    return Verdict(sample_id=sample_id, accepted=False, reasons=["invalid_json"])


def verify_claims_file(
    pairs: Path,
    out: Path | None = None,
    checker: str | Checker = DEFAULT_CHECKER,
    **options: Any,
) -> dict[str, Any]:
    """Check ``{"id", "evidence", "claim"}`` lines; write each with its verdict added.

    Each written line keeps every key of its input and adds ``supported`` (bool), ``score``
    (float, higher is better supported) and ``reasons`` (list). Evidence may be a whole web
    page: the checker looks for the windows of it that support the claim best.

    A claim in another language than its evidence names its ``language`` (a BCP 47 tag) and may
    give ``source_text``, its rendering in the evidence's language: it is checked as a sample's
    cross-language claim is (:mod:`groundset.verify.crosslang`).

    Args:
        pairs: the JSONL input.
        out: where to write; None for standard output.
        checker: a checker name or instance.
        **options: fields of :class:`CheckerOptions`.

    Returns:
        ``checker``, ``total`` (lines read), ``supported``, ``unsupported``, ``malformed``,
        ``malformed_lines`` (``{"line", "error"}`` each) and ``reasons`` (counts).

    Raises:
        UsageError: the input is missing, ``out`` is the input, or the checker or an option is
            unknown.
    """
    lines = _lines(pairs)
    refuse_overwriting({"the claims file": pairs}, {"--out": out})
    checker_options, filter_options = split_options(options)
    if filter_options.model_fields_set:
        given = ", ".join(sorted(filter_options.model_fields_set))
        raise UsageError(
            f"verify-claims takes no sample filter options: {given}", fix="pass checker options"
        )
    the_checker = _resolve_checker(checker, checker_options)
    translator = translator_for(checker_options)
    cross = CrossLanguageChecker(the_checker, translator)
    summary: dict[str, Any] = {
        "checker": the_checker.name,
        "total": 0,
        "supported": 0,
        "unsupported": 0,
        "malformed": 0,
        "malformed_lines": [],
        "reasons": Counter(),
    }
    batch: list[dict[str, Any]] = []

    def flush(fh: IO[str]) -> None:
        crossing = [i for i, row in enumerate(batch) if _crosses(row)]
        plain = [i for i in range(len(batch)) if i not in set(crossing)]
        results: list[Support | None] = [None] * len(batch)
        pairs = [(batch[i]["claim"], batch[i]["evidence"]) for i in plain]
        for i, support in zip(plain, the_checker.check(pairs), strict=True):
            results[i] = support
        claims = [
            CrossClaim(r["claim"], r["language"], r["evidence"], r.get("source_text"))
            for r in (batch[i] for i in crossing)
        ]
        for i, support in zip(crossing, cross.check(claims), strict=True):
            results[i] = support
        for row, support in zip(batch, results, strict=True):
            assert support is not None
            row.update(
                supported=support.supported,
                score=round(support.score, 4),
                reasons=list(support.reasons),
            )
            summary["supported" if support.supported else "unsupported"] += 1
            summary["reasons"].update(support.reasons)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        batch.clear()

    with _output(out) as fh, closing(translator):
        for line in lines:
            row, error = _claim_row(line)
            summary["total"] += 1
            if error:
                summary["malformed"] += 1
                summary["malformed_lines"].append({"line": line.number, "error": error})
                log.warning("line %d of %s skipped: %s", line.number, pairs, error)
                continue
            batch.append(row)
            if len(batch) >= CLAIMS_BATCH:
                flush(fh)
        if batch:
            flush(fh)
    summary["reasons"] = dict(summary["reasons"].most_common())
    return summary


def _claim_row(line: JsonlLine) -> tuple[dict[str, Any], str | None]:
    try:
        row = line.parse()
    except MalformedLine as exc:
        return {}, str(exc)
    if not isinstance(row, dict):
        return {}, "not a JSON object"
    for key in ("claim", "evidence"):
        if not isinstance(row.get(key), str):
            return {}, f"no {key!r} string"
    for key in ("source_text", "language"):
        if key in row and not isinstance(row[key], str):
            return {}, f"{key!r} is not a string"
    if "source_text" in row and "language" not in row:
        return {}, "a 'source_text' needs the claim's 'language' (a BCP 47 tag such as 'sw')"
    return row, None


def _crosses(row: dict[str, Any]) -> bool:
    """Whether a claims line is in another language than its evidence: it names a language and
    gives a rendering, or its evidence is not in the language it names."""
    language = row.get("language")
    if not language:
        return False
    return "source_text" in row or is_language(row["evidence"], language) is False
