"""The docs-claims set: claims small models wrote about docs sections, each labelled twice.

Two sources, one schema (``{id, site, url, question, evidence, claim, label, why}``):

- ``tests/fixtures/verification/docclaims_dev.jsonl``: answers of Qwen2.5-Coder-0.5B-Instruct
  to free-form questions about fixture sections, split into sentences;
- ``benchmarks/data/docclaims_*.jsonl``: the claims and answer clauses that groundset's own task
  prompts drew from the local models, as ``benchmarks/docclaims_make.py`` makes and merges them.

Each pair belongs to a split by its document (:func:`split_of`): ``heldout`` is never tuned on;
``tune`` is what calibrations are fitted and thresholds chosen on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "verification" / "docclaims_dev.jsonl"
DATA = ROOT / "benchmarks" / "data"
#: Share of documents whose pairs are set aside, never tuned on.
HELDOUT_SHARE = 0.3
SPLITS = ("tune", "heldout")


def split_of(site: str, url: str) -> str:
    """``heldout`` or ``tune``, by a hash of the document: a page's pairs stay on one side.

    The URL's host is left out (a fixture site is served on any port), so the same page gets
    the same side in the fixture set and in ours.
    """
    path = url.split("://", 1)[1].split("/", 1)[-1] if "://" in url else url
    digest = hashlib.sha256(f"{site}|{path.strip('/')}".encode()).digest()
    return "heldout" if digest[0] / 256 < HELDOUT_SHARE else "tune"


def load_docclaims(split: str | None = None) -> list[dict[str, Any]]:
    """The labelled pairs of one split (both when None), fixture pairs first.

    Raises:
        FileNotFoundError: the fixture file is missing; the message names its path.
    """
    if not FIXTURE.is_file():
        raise FileNotFoundError(f"missing verification fixture: {FIXTURE}")
    rows = []
    for path in [FIXTURE, *sorted(DATA.glob("docclaims_*.jsonl"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row.setdefault("split", split_of(row["site"], row["url"]))
                row.setdefault("source", path.stem)
                rows.append(row)
    return [r for r in rows if split is None or r["split"] == split]
