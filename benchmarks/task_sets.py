"""What the benchmarks of the tasks measured on their own share (``unanswerable_set.py``,
``multihop_set.py``, ``false_premise_set.py``): generating their samples, merging two readers'
labels, and storing what readers kept of the samples groundset kept
(``verify/calibration/task_precision.json``, which the dataset card and the report state beside
a run's samples of that task: ``groundset.verify.precision``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from groundset.generate import GenerateSettings, LocalModelServer, generate_samples
from groundset.ground import Index

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


def generate(
    work: Path, model: str, count: int, sites: Sequence[str], seed: int, task: str,
    run_file: Callable[[Path, str, str], Path],
) -> None:  # fmt: skip
    """``count`` samples of ``task`` per site with a bundled ``model``, on the indexed corpora
    under ``work``; site n is written with seed ``seed + n``."""
    with LocalModelServer(model):
        for n, site in enumerate(sites):
            started = time.monotonic()
            with Index.open(work / site) as index:
                settings = GenerateSettings(
                    local_model=model, seed=seed + n, cache_path=work / "llm-cache.sqlite"
                )
                summary = generate_samples(
                    index, run_file(work, site, model), count=count, task=task,
                    settings=settings,
                )  # fmt: skip
            minutes = (time.monotonic() - started) / 60
            print(f"{site} {model}: {summary} ({minutes:.1f} min)", file=sys.stderr, flush=True)


def agreed(
    items_file: Path, label_files: Sequence[Path], labels: Sequence[str], fields: Sequence[str],
    extra: Callable[[dict[str, Any]], dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, int]]:  # fmt: skip
    """Each item's ``fields`` and ``extra(item)`` with the labels both readers gave alike (a
    label they split on left out) and both readers' reasons, in item order; and how many items
    each label was agreed on."""
    rows = {r["item"]: r for r in read(items_file)}
    first, second = ({r["item"]: r for r in read(f)} for f in label_files)
    merged, counts = [], Counter[str]()
    for item, row in sorted(rows.items()):
        a, b = first[item], second[item]
        given = {k: int(a[k]) for k in labels if int(a[k]) == int(b[k])}
        counts.update(given.keys())
        merged.append({**{k: row[k] for k in fields}, **extra(row), **given,
                       "reasons": [a["reason"], b["reason"]]})  # fmt: skip
    return merged, {f"agreed_{k}": counts[k] for k in labels}


def read(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``path``."""
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def write(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` as JSON lines."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def parser(description: str, sites: Sequence[str], model: str, seed: int, out: Path,
           data: Path) -> argparse.ArgumentParser:  # fmt: skip
    """The command line every task-set script takes (steps and their options)."""
    parsed = argparse.ArgumentParser(description=description)
    parsed.add_argument("step", choices=["generate", "verify", "items", "merge", "measure"])
    parsed.add_argument("--work", type=Path, default=Path("/tmp/groundset-kept-set"))
    parsed.add_argument("--model", default=model)
    parsed.add_argument("--count", type=int, default=10, help="samples per site")
    parsed.add_argument("--seed", type=int, default=seed, help="the first site's seed")
    parsed.add_argument("--sites", nargs="+", default=list(sites))
    parsed.add_argument("--out", type=Path, default=out)
    parsed.add_argument("--labels", type=Path, nargs=2, help="the two readers' label files")
    parsed.add_argument("--data", type=Path, default=data)
    parsed.add_argument("--write", action="store_true", help="measure: store the precision")
    return parsed


def write_items(
    out: Path, rows: Sequence[dict[str, Any]], reading: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """``OUT/items.jsonl`` (every item whole, to merge labels with) and ``OUT/reading.jsonl``
    (what readers are shown of each)."""
    out.mkdir(parents=True, exist_ok=True)
    write(out / "items.jsonl", rows)
    write(out / "reading.jsonl", [reading(r) for r in rows])
    print(f"{len(rows)} items in {out / 'reading.jsonl'}", file=sys.stderr)
