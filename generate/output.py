"""The output files: samples and rejected records appended as they come, and read back to resume."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from groundset.errors import UsageError
from groundset.files import MalformedLine, read_lines
from groundset.statefile import drop_partial_line

__all__ = ["JsonlAppender", "done_ids", "drop_partial_line", "rejected_path_for"]


def rejected_path_for(out: Path) -> Path:
    """Where generation's rejections of ``out`` go: ``s.jsonl`` -> ``s.generate-rejected.jsonl``.

    Not ``s.rejected.jsonl``: that is where ``groundset verify`` puts the samples it refuses.
    """
    return out.with_name(f"{out.stem}.generate-rejected{out.suffix or '.jsonl'}")


def done_ids(path: Path, key: str = "id") -> set[str]:
    """The ``key`` of every complete record in ``path`` (none when it does not exist).

    Raises:
        UsageError: a complete line is not a record, so the file is not one of ours.
    """
    if not path.exists():
        return set()
    ids = set()
    for line in read_lines(path):
        if not line.ended:
            continue  # cut short by an interruption: that record is written again
        try:
            ids.add(str(line.parse()[key]))
        except (MalformedLine, KeyError, TypeError, IndexError):
            raise UsageError(
                f"{path}:{line.number} is not a generated record",
                fix="write the samples to a new file, or repair that line",
            ) from None
    return ids


class JsonlAppender:
    """Appends one JSON object per line, flushed at once, so an interrupted run loses no record.

    A last line cut short by an earlier interruption is removed first, so that it neither hides
    a record that is still to be written nor glues itself to the next one.

    Args:
        path: the JSONL file; created with its folder when missing.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        drop_partial_line(path)
        self.path = path
        self._lock = threading.Lock()
        self._fh = path.open("a", encoding="utf-8")

    def write(self, record: BaseModel | dict[str, Any]) -> None:
        """Append ``record`` as one line."""
        if isinstance(record, BaseModel):
            line = record.model_dump_json(exclude_none=True)
        else:
            line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        self._fh.close()
