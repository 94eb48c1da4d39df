"""What readers kept of the samples groundset kept, for a task measured on its own.

Each task's benchmark (``unanswerable_set.py``, ``false_premise_set.py``) stores its figure here
with ``measure --write``: ``verify/calibration/task_precision.json``, which the dataset card and
the report state beside a run's samples of that task (``groundset.verify.precision``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Where the verifier reads the measured precision of tasks other than qa from.
TASK_PRECISION = Path(__file__).resolve().parents[1] / "verify" / "calibration"
TASK_PRECISION /= "task_precision.json"


def store(task: str, rows: list[dict[str, Any]], kept: int, kept_good: int) -> dict[str, Any]:
    """Store ``task``'s figure, measured on the labelled ``rows`` (each with its site and model),
    in place of what was stored for it."""
    sites = sorted({r["site"] for r in rows})
    models = sorted({r["model"] for r in rows})
    entry = {
        "kept": kept,
        "kept_good": kept_good,
        "models": models,
        "measured_on": (
            f"{len(rows)} samples the bundled {' and '.join(models)} wrote on {len(sites)} "
            f"fixture docs sites ({', '.join(sites)}), labelled twice by readers blind to the "
            "verdict"
        ),
    }
    stored = json.loads(TASK_PRECISION.read_text(encoding="utf-8"))
    stored[task] = entry
    TASK_PRECISION.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n", "utf-8")
    return entry
