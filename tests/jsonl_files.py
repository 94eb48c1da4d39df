"""Reading the JSON-lines files a run writes, in tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every non-empty line of ``path``, parsed."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
