"""Samples as a project stores them: JSON records, each with its verdict, one a line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from groundset.files import MalformedLine, read_lines
from groundset.statefile import StateWarning

__all__ = ["read_records", "without_verdict", "write_records"]


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of ``path`` (none when it does not exist), in file order.

    A last line without its line break (an append cut short) is left for the next append to
    replace; a line that is no JSON object is skipped with a :class:`StateWarning`.
    """
    if not path.exists():
        return []
    records = []
    for line in read_lines(path):
        if not line.ended:
            continue
        try:
            record = line.parse()
        except MalformedLine as exc:
            _skip(path, line.number, str(exc))
            continue
        if not isinstance(record, dict):
            _skip(path, line.number, "not a JSON object")
            continue
        records.append(record)
    return records


def _skip(path: Path, number: int, problem: str) -> None:
    warnings.warn(f"{path}:{number} is {problem}: skipped", StateWarning, stacklevel=3)


def without_verdict(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "verdict"}


def write_records(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
