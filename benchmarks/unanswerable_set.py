"""Unanswerable samples as a reader sees them: generate, verify, and write the items to label.

The ``unanswerable`` task asks a question the docs do not answer and points at the nearest
section (``generate/tasks/unanswerable.py``); the verifier refuses it ``answerable`` when a
section of the corpus answers it (``verify/answerable.py``). Whether the kept ones are really
unanswerable, and whether the pointer is right, only a reader can say. Steps (each resumes):

1. ``generate``: ``--count`` samples per site (``--sites``, two tuned fixture sites by default)
   with a bundled model, on the indexed corpora under ``--work`` (``benchmarks/kept_set.py
   corpora``), then the verifier ``groundset run`` uses (calibrated checker, the bundled reader
   for the corpus search) on them: ``<run>.verdicts.jsonl`` beside each run (``verify`` does
   this step alone again);
2. ``items``: every generated sample, shuffled by a hash of its id, as ``OUT/reading.jsonl``
   (what readers see: the question, the answer, the nearest section the answer points at, and
   the top sections a search of the whole corpus returns for the question, none of groundset's
   verdicts) and ``OUT/items.jsonl`` (the same with the sample and its verdict, to merge the
   labels with). The brief: ``benchmarks/data/unanswerable_labelling.md``.

    python benchmarks/unanswerable_set.py generate|verify --work DIR [--model M --count N ...]
    python benchmarks/unanswerable_set.py items --work DIR --out DIR
    python benchmarks/unanswerable_set.py merge --out DIR --labels A B
    python benchmarks/unanswerable_set.py measure [--write]

3. ``merge``: the two readers' label files (``OUT/items.jsonl`` beside them) into the labelled set
   (``benchmarks/data/unanswerable_set.jsonl``): every item with each label both readers gave
   alike, and ``keep`` only where they agreed on it;
4. ``measure``: what the verifier decided (the verdicts stored with the items: the reader model
   is slow to run again) against the labels: the share of kept samples readers keep, the share of
   answered questions refused ``answerable``, and of unanswered ones refused all the same.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import task_sets

from groundset.ground import Index
from groundset.records import Chunk, Sample, Verdict
from groundset.verify import SampleVerifier, make_checker
from groundset.verify.answerable import SEARCHED, UNANSWERABLE
from groundset.verify.crosslang import make_translator

SITES = ("drf", "mdbook-guide")
MODEL = "qwen2.5-coder-1.5b-instruct"
DATA = Path(__file__).resolve().parent / "data" / "unanswerable_set.jsonl"
LABELS = ("plausible", "unanswered", "pointer", "keep")


def run_file(work: Path, site: str, model: str) -> Path:
    """Where one site's unanswerable samples by one model go."""
    return work / "samples" / f"{site}.{model}.{UNANSWERABLE}.jsonl"


def generate(work: Path, model: str, count: int, sites: list[str], seed: int) -> None:
    """``count`` samples per site, then the verdicts."""
    task_sets.generate(work, model, count, sites, seed, UNANSWERABLE, run_file)
    for site in sites:
        verify_run(work, site, model)


def verify_run(work: Path, site: str, model: str) -> Counter[str]:
    """The verdict on every sample of one run, as ``<run>.verdicts.jsonl``."""
    out = run_file(work, site, model)
    counts: Counter[str] = Counter()
    translator = make_translator(cache_path=work / "reader-cache.sqlite")
    with Index.open(work / site) as index:
        verifier = SampleVerifier(index, make_checker("calibrated"), "en", translator=translator)
        lines = []
        try:
            for line in out.read_text(encoding="utf-8").splitlines():
                verdict = verifier.verify(Sample.model_validate_json(line))
                counts.update(verdict.reasons or ["kept"])
                lines.append(verdict.model_dump_json())
        finally:
            verifier.close()
    out.with_suffix(".verdicts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{site} {model}: {dict(counts)}", file=sys.stderr)
    return counts


def _section(chunk: Chunk) -> dict[str, str]:
    return {"page": chunk.doc_url, "heading": chunk.heading_path, "text": chunk.text}


def items(work: Path) -> list[dict[str, Any]]:
    """Every generated sample with its nearest section and the sections the search found."""
    rows = []
    for path in sorted((work / "samples").glob(f"*.{UNANSWERABLE}.jsonl")):
        site, model = path.name.split(".", 1)[0], ".".join(path.name.split(".")[1:-2])
        verdicts_file = path.with_suffix(".verdicts.jsonl")
        verdicts = [
            Verdict.model_validate_json(line)
            for line in verdicts_file.read_text(encoding="utf-8").splitlines()
        ]
        with Index.open(work / site) as index:
            lines = path.read_text(encoding="utf-8").splitlines()
            for line, verdict in zip(lines, verdicts, strict=True):
                sample = Sample.model_validate_json(line)
                cited = sample.claims[0].citations[0].chunk_id
                nearest = index.get([cited])[cited]
                found = [h.chunk for h in index.search(sample.question or "", SEARCHED)]
                item = hashlib.sha256(f"{site}|{model}|{sample.id}".encode()).hexdigest()[:12]
                rows.append({
                    "item": item, "site": site, "model": model,
                    "question": sample.question, "answer": sample.answer,
                    "nearest": _section(nearest),
                    "searched": [_section(c) for c in found],
                    "sample": sample.model_dump(mode="json", exclude_none=True),
                    "verdict": verdict.model_dump(mode="json", exclude_none=True),
                })  # fmt: skip
    rows.sort(key=lambda r: r["item"])
    return rows


def reading(row: dict[str, Any]) -> dict[str, Any]:
    """What a reader is shown: no verdict, no site or model."""
    keys = ("item", "question", "answer", "nearest", "searched")
    return {k: row[k] for k in keys}


def merge(items_file: Path, label_files: list[Path], out: Path, variant: str) -> dict[str, int]:
    """The items with the labels both readers gave alike (a label they split on left out), as
    ``variant`` (what was generated how), added to those of other variants already in ``out``."""
    fields = ("item", "site", "model", "question", "answer", "nearest")
    merged, agreed = task_sets.agreed(
        items_file, label_files, LABELS, fields,
        lambda row: {"prompt": row["sample"]["generator"]["prompt_version"],
                     "variant": variant, "verdict": row["verdict"]},
    )  # fmt: skip
    added = {r["item"] for r in merged}
    before = task_sets.read(out) if out.is_file() else []
    task_sets.write(out, [r for r in before if r["item"] not in added] + merged)
    return {"items": len(merged), **agreed}


def measure(data: Path = DATA) -> dict[str, dict[str, Any]]:
    """The stored verdicts against the readers' agreed labels, per variant."""
    rows = task_sets.read(data)
    return {v: _figures([r for r in rows if r["variant"] == v]) for v in _variants(rows)}


def _variants(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["variant"] for r in rows))


def _figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    kept = [r for r in rows if r["verdict"]["accepted"] and "keep" in r]
    answered = [r for r in rows if r.get("unanswered") == 0]
    unanswered = [r for r in rows if r.get("unanswered") == 1]

    def refused(part: list[dict[str, Any]]) -> int:
        return sum("answerable" in r["verdict"]["reasons"] for r in part)

    return {
        "samples": len(rows),
        "kept": len(kept),
        "kept_readers_keep": sum(r["keep"] for r in kept),
        "readers_keep": sum(r.get("keep", 0) for r in rows),
        "answered": len(answered),
        "answered_refused_answerable": refused(answered),
        "unanswered": len(unanswered),
        "unanswered_refused_answerable": refused(unanswered),
        "kept_implausible": sum(r.get("plausible") == 0 for r in kept),
    }


def write_precision(data: Path = DATA, variant: str | None = None) -> dict[str, Any]:
    """Store the kept samples of ``variant`` (the last merged when None) and those readers keep
    in ``task_precision.json``: the dataset card and the report state it for a run's
    unanswerable samples."""
    rows = task_sets.read(data)
    variant = variant or rows[-1]["variant"]
    part = [r for r in rows if r["variant"] == variant]
    kept = [r for r in part if r["verdict"]["accepted"] and "keep" in r]
    return task_sets.store(UNANSWERABLE, part, len(kept), sum(r["keep"] for r in kept))


def main() -> int:
    parser = task_sets.parser(__doc__.splitlines()[0], SITES, MODEL, 300, Path("/tmp/unans"), DATA)
    parser.add_argument("--variant", default="", help="merge: what was generated how")
    args = parser.parse_args()
    if args.step == "merge":
        print(merge(args.out / "items.jsonl", args.labels, args.data, args.variant))
        return 0
    if args.step == "measure":
        for variant, figures in measure(args.data).items():
            print(variant)
            for key, value in figures.items():
                print(f"  {key:32} {value}")
        if args.write:
            print(write_precision(args.data, args.variant or None))
        return 0
    if args.step == "generate":
        generate(args.work, args.model, args.count, args.sites, args.seed)
        return 0
    if args.step == "verify":
        for site in args.sites:
            verify_run(args.work, site, args.model)
        return 0
    task_sets.write_items(args.out, items(args.work), reading)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
