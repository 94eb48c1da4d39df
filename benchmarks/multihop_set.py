"""Multi-hop samples as a reader sees them: generate, verify, and write the items to label.

The ``multihop`` task asks a question whose answer needs two sections, preferably of two pages,
each quote citing its own section (``generate/tasks/multihop.py``); the verifier refuses it
``single_hop`` when one cited section supports the whole answer (``verify/multihop.py``).
Whether the kept ones really need both sections, and whether their answers are supported, only
a reader can say. Steps (each resumes):

1. ``generate``: ``--count`` samples per site (``--sites``, two tuned fixture sites by default)
   with a bundled model, on the indexed corpora under ``--work`` (``benchmarks/kept_set.py
   corpora``, or copies of them), then the verifier ``groundset run`` uses (calibrated checker)
   on them: ``<run>.verdicts.jsonl`` beside each run (``verify`` does this step alone again).
   Beside it, ``<run>.reader.jsonl``: for each sample, the bundled reader's P(yes) that each
   cited section alone answers the question (``verify/section_reader.py``), which decides
   nothing yet: set against the labels it says whether that reader could find single hops;
2. ``items``: every generated sample, shuffled by a hash of its id, as ``OUT/reading.jsonl``
   (what readers see: the question, the answer, and the sections it was written from, none of
   groundset's verdicts) and ``OUT/items.jsonl`` (the same with the sample, its verdict and
   the reader's scores, to merge the labels with). The brief:
   ``benchmarks/data/multihop_labelling.md``.

    python benchmarks/multihop_set.py generate|verify --work DIR [--model M --count N ...]
    python benchmarks/multihop_set.py items --work DIR --out DIR
    python benchmarks/multihop_set.py merge --out DIR --labels A B
    python benchmarks/multihop_set.py measure [--write]

``merge`` writes the two readers' agreed labels with the items to
``benchmarks/data/multihop_set.jsonl``; ``measure`` sets the stored verdicts against them
(``--write`` stores what readers kept of the kept samples in
``verify/calibration/task_precision.json``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import task_sets

from groundset.ground import Index
from groundset.records import Chunk, Sample, Verdict
from groundset.verify import SampleVerifier, make_checker
from groundset.verify.crosslang import make_translator
from groundset.verify.multihop import MULTIHOP
from groundset.verify.section_reader import SectionReader

SITES = ("drf", "mdbook-guide")
MODEL = "qwen2.5-coder-1.5b-instruct"


def run_file(work: Path, site: str, model: str) -> Path:
    """Where one site's multihop samples by one model go."""
    return work / "samples" / f"{site}.{model}.{MULTIHOP}.jsonl"


def generate(work: Path, model: str, count: int, sites: list[str], seed: int) -> None:
    """``count`` samples per site, then the verdicts."""
    task_sets.generate(work, model, count, sites, seed, MULTIHOP, run_file)
    for site in sites:
        verify_run(work, site, model)


def verify_run(work: Path, site: str, model: str) -> Counter[str]:
    """The verdict on every sample of one run (``<run>.verdicts.jsonl``), and the reader's
    P(yes) that each cited section answers its question alone (``<run>.reader.jsonl``)."""
    out = run_file(work, site, model)
    counts: Counter[str] = Counter()
    translator = make_translator(cache_path=work / "reader-cache.sqlite")
    reader = SectionReader(translator)
    verdicts, scores = [], []
    with Index.open(work / site) as index:
        verifier = SampleVerifier(index, make_checker("calibrated"), "en")
        try:
            for line in out.read_text(encoding="utf-8").splitlines():
                sample = Sample.model_validate_json(line)
                verdict = verifier.verify(sample)
                counts.update(verdict.reasons or ["kept"])
                verdicts.append(verdict.model_dump_json())
                cited = _cited(sample, index)
                asked = [(sample.question or "", c.text) for c in cited]
                p_yes = reader.answers(asked)
                scores.append(json.dumps({
                    "sample_id": sample.id, "threshold": reader.threshold,
                    "p_yes": {c.id: round(p, 4) for c, p in zip(cited, p_yes, strict=True)},
                }))  # fmt: skip
        finally:
            translator.close()
    out.with_suffix(".verdicts.jsonl").write_text("\n".join(verdicts) + "\n", encoding="utf-8")
    out.with_suffix(".reader.jsonl").write_text("\n".join(scores) + "\n", encoding="utf-8")
    print(f"{site} {model}: {dict(counts)}", file=sys.stderr)
    return counts


def _cited(sample: Sample, index: Index) -> list[Chunk]:
    """The distinct sections a sample's claims cite, in order."""
    ids = list(dict.fromkeys(c.chunk_id for claim in sample.claims for c in claim.citations))
    found = index.get(ids)
    return [found[i] for i in ids if i in found]


def _section(chunk: Chunk) -> dict[str, str]:
    return {"page": chunk.doc_url, "heading": chunk.heading_path, "text": chunk.text}


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def items(work: Path) -> list[dict[str, Any]]:
    """Every generated sample with the sections it was written from."""
    rows = []
    for path in sorted((work / "samples").glob(f"*.{MULTIHOP}.jsonl")):
        site, model = path.name.split(".", 1)[0], ".".join(path.name.split(".")[1:-2])
        judged = _read_lines(path.with_suffix(".verdicts.jsonl"))
        verdicts = [Verdict.model_validate_json(v) for v in judged]
        scores = [json.loads(s) for s in _read_lines(path.with_suffix(".reader.jsonl"))]
        with Index.open(work / site) as index:
            lines = _read_lines(path)
            for line, verdict, score in zip(lines, verdicts, scores, strict=True):
                sample = Sample.model_validate_json(line)
                ids = [s.chunk_id for s in sample.sources]
                found = index.get(ids)
                item = hashlib.sha256(f"{site}|{model}|{sample.id}".encode()).hexdigest()[:12]
                rows.append({
                    "item": item, "site": site, "model": model,
                    "question": sample.question, "answer": sample.answer,
                    "sections": [_section(found[i]) for i in ids if i in found],
                    "sample": sample.model_dump(mode="json", exclude_none=True),
                    "verdict": verdict.model_dump(mode="json", exclude_none=True),
                    "reader": score,
                })  # fmt: skip
    rows.sort(key=lambda r: r["item"])
    return rows


def reading(row: dict[str, Any]) -> dict[str, Any]:
    """What a reader is shown: no verdict, no site, model or reader scores."""
    keys = ("item", "question", "answer", "sections")
    return {k: row[k] for k in keys}


DATA = Path(__file__).resolve().parent / "data" / "multihop_set.jsonl"
LABELS = ("plausible", "multi_hop", "supported", "keep")


def merge(items_file: Path, label_files: list[Path], out: Path) -> dict[str, int]:
    """The items with the labels both readers gave alike (a label they split on left out)."""
    fields = ("item", "site", "model", "question", "answer", "sections")
    merged, agreed = task_sets.agreed(
        items_file, label_files, LABELS, fields,
        lambda row: {"verdict": row["verdict"], "reader": row["reader"]},
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
    single = [r for r in rows if r.get("multi_hop") == 0]
    figures = {
        "samples": len(rows),
        "kept": len(kept),
        "kept_readers_keep": sum(r["keep"] for r in kept),
        "readers_keep": len(good),
        "good_refused_by_reason": dict(refused),
        "single_hop_by_readers": len(single),
        "of_those_refused_single_hop": sum("single_hop" in r["verdict"]["reasons"] for r in single),
        "kept_single_hop_by_readers": sum(r.get("multi_hop") == 0 for r in kept),
    }
    if write:
        task_sets.store(MULTIHOP, rows, len(kept), figures["kept_readers_keep"])
    return figures


def main() -> int:
    parser = task_sets.parser(
        __doc__.splitlines()[0], SITES, MODEL, 400, Path("/tmp/multihop"), DATA
    )
    args = parser.parse_args()
    if args.step == "merge":
        print(merge(args.out / "items.jsonl", args.labels, args.data))
        return 0
    if args.step == "measure":
        for key, value in measure(args.data, args.write).items():
            print(f"{key:28} {value}")
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
