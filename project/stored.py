"""Samples as a project stores them: JSON records, each with its verdict, one a line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["read_records", "without_verdict", "write_records"]


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.endswith("\n") and line.strip():
                records.append(json.loads(line))
    return records


def without_verdict(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "verdict"}


def write_records(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
