"""False-premise samples as a reader sees them: generate, verify, and write the items to label.

The ``false_premise`` task asks a question resting on a premise that a section of the docs
contradicts, and answers by naming the premise as wrong and quoting that section
(``generate/tasks/false_premise.py``); the verifier refuses it ``premise_not_contradicted``
unless the question carries the premise and the cited section contradicts it
(``verify/premise.py``). Whether the kept ones really rest on a false premise, and whether the
correction is right, only a reader can say. Steps (each resumes):

1. ``generate``: ``--count`` samples per site (``--sites``, two tuned fixture sites by default)
   with a bundled model, on the indexed corpora under ``--work`` (``benchmarks/kept_set.py
   corpora``), then the verifier ``groundset run`` uses (calibrated checker, the bundled reader
   for the premise) on them: ``<run>.verdicts.jsonl`` beside each run (``verify`` does this step
   alone again), with what the premise check measured of each (``<run>.premises.jsonl``);
2. ``items``: every generated sample, shuffled by a hash of its id, as ``OUT/reading.jsonl``
   (what readers see: the question, the premise, the answer and the cited section, none of
   groundset's verdicts) and ``OUT/items.jsonl`` (the same with the sample, its verdict and the
   premise scores, to merge the labels with). The brief:
   ``benchmarks/data/false_premise_labelling.md``.

    python benchmarks/false_premise_set.py generate|verify --work DIR [--model M --count N ...]
    python benchmarks/false_premise_set.py items --work DIR --out DIR
    python benchmarks/false_premise_set.py merge --out DIR --labels A B
    python benchmarks/false_premise_set.py measure [--write]

3. ``merge``: the two readers' label files (``OUT/items.jsonl`` beside them) into the labelled
   set ``benchmarks/data/false_premise_set.jsonl``, each label kept where both gave it alike;
4. ``measure``: the stored verdicts against the labels (``--write`` stores what readers kept of
   the kept samples in ``verify/calibration/task_precision.json``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import task_sets

from groundset.ground import Index
from groundset.records import Chunk, Sample, Verdict
from groundset.verify import SampleVerifier, make_checker
from groundset.verify.crosslang import make_translator
from groundset.verify.premise import FALSE_PREMISE

SITES = ("drf", "mdbook-guide")
MODEL = "qwen2.5-coder-1.5b-instruct"


def run_file(work: Path, site: str, model: str) -> Path:
    """Where one site's false_premise samples by one model go."""
    return work / "samples" / f"{site}.{model}.{FALSE_PREMISE}.jsonl"


def generate(work: Path, model: str, count: int, sites: list[str], seed: int) -> None:
    """``count`` samples per site, then the verdicts."""
    task_sets.generate(work, model, count, sites, seed, FALSE_PREMISE, run_file)
    for site in sites:
        verify_run(work, site, model)


def verify_run(work: Path, site: str, model: str) -> Counter[str]:
    """The verdict on every sample of one run, as ``<run>.verdicts.jsonl``, and what the premise
    check measured of each, as ``<run>.premises.jsonl``."""
    out = run_file(work, site, model)
    counts: Counter[str] = Counter()
    translator = make_translator(cache_path=work / "reader-cache.sqlite")
    with Index.open(work / site) as index:
        verifier = SampleVerifier(index, make_checker("calibrated"), "en", translator=translator)
        verdicts, premises = [], []
        try:
            for line in out.read_text(encoding="utf-8").splitlines():
                sample = Sample.model_validate_json(line)
                verdict = verifier.verify(sample)
                counts.update(verdict.reasons or ["kept"])
                verdicts.append(verdict.model_dump_json())
                premises.append(json.dumps(_premise_scores(verifier, index, sample)))
        finally:
            verifier.close()
    out.with_suffix(".verdicts.jsonl").write_text("\n".join(verdicts) + "\n", encoding="utf-8")
    out.with_suffix(".premises.jsonl").write_text("\n".join(premises) + "\n", encoding="utf-8")
    print(f"{site} {model}: {dict(counts)}", file=sys.stderr)
    return counts


def _premise_scores(verifier: SampleVerifier, index: Index, sample: Sample) -> dict[str, Any]:
    """Every measure of the premise check, the reader asked whatever the others say."""
    section = _cited(index, sample)
    check = verifier.premises
    found = check.scores(sample.premise or "", sample.question or "", section.text)
    scores = asdict(found)
    if found.stated is None and check.reader is not None:
        (scores["stated"],) = check.reader.states([(sample.premise or "", section.text)])
    return scores


def _cited(index: Index, sample: Sample) -> Chunk:
    cited = sample.claims[0].citations[0].chunk_id
    return index.get([cited])[cited]


def _section(chunk: Chunk) -> dict[str, str]:
    return {"page": chunk.doc_url, "heading": chunk.heading_path, "text": chunk.text}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def items(work: Path) -> list[dict[str, Any]]:
    """Every generated sample with its cited section, verdict and premise scores."""
    rows = []
    for path in sorted((work / "samples").glob(f"*.{FALSE_PREMISE}.jsonl")):
        site, model = path.name.split(".", 1)[0], ".".join(path.name.split(".")[1:-2])
        verdicts = [
            Verdict.model_validate_json(v) for v in _lines(path.with_suffix(".verdicts.jsonl"))
        ]
        premises = [json.loads(p) for p in _lines(path.with_suffix(".premises.jsonl"))]
        with Index.open(work / site) as index:
            for line, verdict, scores in zip(_lines(path), verdicts, premises, strict=True):
                sample = Sample.model_validate_json(line)
                item = hashlib.sha256(f"{site}|{model}|{sample.id}".encode()).hexdigest()[:12]
                rows.append({
                    "item": item, "site": site, "model": model,
                    "question": sample.question, "premise": sample.premise,
                    "answer": sample.answer, "section": _section(_cited(index, sample)),
                    "sample": sample.model_dump(mode="json", exclude_none=True),
                    "verdict": verdict.model_dump(mode="json", exclude_none=True),
                    "premise_scores": scores,
                })  # fmt: skip
    rows.sort(key=lambda r: r["item"])
    return rows


def reading(row: dict[str, Any]) -> dict[str, Any]:
    """What a reader is shown: no verdict, no scores, no site or model."""
    keys = ("item", "question", "premise", "answer", "section")
    return {k: row[k] for k in keys}


DATA = Path(__file__).resolve().parent / "data" / "false_premise_set.jsonl"
LABELS = ("assumes", "contradicted", "correct", "keep")


def merge(items_file: Path, label_files: list[Path], out: Path) -> dict[str, int]:
    """The items with the labels both readers gave alike (a label they split on left out)."""
    fields = ("item", "site", "model", "question", "premise", "answer")
    merged, agreed = task_sets.agreed(
        items_file, label_files, LABELS, fields,
        lambda row: {"verdict": row["verdict"], "premise_scores": row["premise_scores"]},
    )  # fmt: skip
    task_sets.write(out, merged)
    return {"items": len(merged), **agreed}


def measure(data: Path = DATA, write: bool = False) -> dict[str, Any]:
    """The stored verdicts against the readers' agreed labels."""
    rows = task_sets.read(data)
    kept = [r for r in rows if r["verdict"]["accepted"] and "keep" in r]
    good = [r for r in rows if r.get("keep") == 1]
    refused: Counter[str] = Counter()
    for r in good:
        refused.update(r["verdict"]["reasons"])
    figures = {
        "samples": len(rows),
        "kept": len(kept),
        "kept_readers_keep": sum(r["keep"] for r in kept),
        "readers_keep": len(good),
        "good_refused_by_reason": dict(refused),
    }
    if write:
        task_sets.store(FALSE_PREMISE, rows, len(kept), figures["kept_readers_keep"])
    return figures


def main() -> int:
    parser = task_sets.parser(
        __doc__.splitlines()[0], SITES, MODEL, 400, Path("/tmp/false-premise"), DATA
    )
    args = parser.parse_args()
    if args.step == "merge":
        print(merge(args.out / "items.jsonl", args.labels, args.data))
        return 0
    if args.step == "measure":
        for key, value in measure(args.data, args.write).items():
            print(f"{key:24} {value}")
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
