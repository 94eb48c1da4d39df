"""Reading the kept and rejected files ``groundset verify`` writes: each line with its verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from groundset.errors import UsageError
from groundset.files import JsonlLine, MalformedLine, read_lines
from groundset.records import Sample, Verdict

__all__ = ["JudgedSample", "read_judged"]


@dataclass(frozen=True)
class JudgedSample:
    """One line of a kept or rejected file: the sample (None when it was not one) and its verdict.

    ``raw`` holds the text of a line that was not a valid sample (reason ``invalid_json``).
    """

    sample: Sample | None
    verdict: Verdict
    raw: str | None = None


def read_judged(path: Path) -> list[JudgedSample]:
    """Read a kept or rejected file written by ``groundset verify``.

    Args:
        path: the JSONL file: each line a sample's JSON plus ``verdict``, or
            ``{"raw": ..., "verdict": ...}`` for a line that was not a valid sample.

    Returns:
        The lines in file order.

    Raises:
        UsageError: the file is missing, or a line is malformed (see
            :meth:`~groundset.files.JsonlLine.parse`), has no verdict, or is not a sample.
    """
    if not path.is_file():
        raise UsageError(
            f"no such file: {path}", fix="pass the kept or rejected file of a verify run"
        )
    return [_judged(path, line) for line in read_lines(path)]


def _judged(path: Path, line: JsonlLine) -> JudgedSample:
    where = f"{path}:{line.number}"
    fix = "pass the kept and rejected files that `groundset verify` writes"
    try:
        data = line.parse()
    except MalformedLine as exc:
        raise UsageError(f"{where} is {exc}", fix=fix) from None
    if not isinstance(data, dict) or "verdict" not in data:
        raise UsageError(f"{where} has no verdict", fix=fix)
    try:
        verdict = Verdict.model_validate(data.pop("verdict"))
        if "raw" in data and "id" not in data:
            return JudgedSample(None, verdict, str(data["raw"]))
        return JudgedSample(Sample.model_validate(data), verdict)
    except ValidationError as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"{where} is not a sample with its verdict ({first})", fix=fix) from exc
