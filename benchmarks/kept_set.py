"""The samples a run keeps, as a careful reader sees them: make, label, and measure the kept set.

Claim-level figures (``verify_quality.py``) say how often the checker is right about one sentence;
a user gets whole samples. This script makes the pipeline's own output on the fixture sites and
measures what it keeps against people's labels, in steps (each resumes: what is on disk is not
made again):

1. ``corpora``: crawl and index each fixture site into ``WORK/<site>``;
2. ``generate``: qa samples on each site with a local model, as ``groundset run`` writes them
   (the model's default temperature, the default prompt), then verified by the default verifier;
3. ``items``: every generated sample with the full text of the sections it was written from,
   without groundset's verdict, in a shuffled order, for two readers labelling blind to the brief
   ``benchmarks/data/kept_set_labelling.md``;
4. ``merge``: the two label files into the labelled set (``benchmarks/data/kept_set.jsonl``):
   the samples both readers decided alike (``keep``), each with its chunks, so that the verifier
   can be run on it again offline, and its split: the sites of :data:`HELDOUT_SITES` are never
   tuned on;
5. ``measure``: the current verifier on the labelled set: precision (the share of kept samples a
   reader keeps) and yield (the share of the samples a reader keeps that groundset keeps), per
   split and model, with the refusals by reason.

    python benchmarks/kept_set.py corpora|generate|items --work DIR [--model M --count N]
    python benchmarks/kept_set.py merge --items I --labels A B [--out F]
    python benchmarks/kept_set.py measure [--data F] [--write]

``--write`` also stores the default checker's precision at each threshold in
``verify/calibration/kept_precision.json``, which ``min_precision``, the dataset card and the
report read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import docclaims_make  # noqa: E402
from docclaims_make import SITES as DOCCLAIMS_SITES  # noqa: E402
from docclaims_make import SITES_DIR  # noqa: E402

from groundset.generate import GenerateSettings, LocalModelServer, generate_samples  # noqa: E402
from groundset.ground import Index  # noqa: E402
from groundset.records import Chunk, Sample  # noqa: E402
from groundset.verify import SampleVerifier, make_checker  # noqa: E402
from groundset.verify.claims import sample_text  # noqa: E402
from groundset.verify.verifier import ChunkLookup, DictChunkLookup  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "kept_set.jsonl"
#: Each site: its folder, the start path, URL patterns kept out, and whether it needs ``.html``.
SITES: dict[str, tuple[Path, str, list[str], bool]] = {
    **{site: (*spec, False) for site, spec in DOCCLAIMS_SITES.items()},
    "ts-jest": (SITES_DIR / "ts-jest", "/ts-jest/", [], True),
}
#: Sites whose samples are set aside: never read while tuning, measured as unseen sites.
HELDOUT_SITES = ("secrets-store-csi-azure", "ts-jest")


def split_of(site: str) -> str:
    """``heldout`` for the sites set aside, ``tune`` for the others."""
    return "heldout" if site in HELDOUT_SITES else "tune"


def build_corpora(work: Path) -> None:
    """Crawl and index every site not yet indexed under ``work``."""
    docclaims_make.build_corpora(work, SITES)


def run_file(work: Path, site: str, model: str, task: str = "qa") -> Path:
    """Where one site's samples of one task by one model go."""
    return work / "samples" / f"{site}.{model}.{task}.jsonl"


def default_verifier(chunks: ChunkLookup, threshold: float | None = None) -> SampleVerifier:
    """The verifier ``groundset run`` uses with an empty ``[verify]`` table (or with only
    ``threshold`` set)."""
    return SampleVerifier(chunks, make_checker("calibrated", threshold=threshold), "en")


def generate(
    work: Path,
    model: str,
    count: int,
    task: str = "qa",
    seed: int = 100,
    sites: list[str] | None = None,
) -> None:
    """``count`` samples of ``task`` per site (each of ``sites``, all by default) with ``model``,
    then the default verifier on them. Site n is written with seed ``seed + n``: another base seed
    plans other sections, for more samples of the same sites."""
    chosen = [s for s in SITES if sites is None or s in sites]
    with LocalModelServer(model):
        for n, site in enumerate(SITES):
            if site not in chosen:
                continue
            out = run_file(work, site, model, task)
            started = time.monotonic()
            with Index.open(work / site) as index:
                settings = GenerateSettings(
                    local_model=model, seed=seed + n, cache_path=work / "llm-cache.sqlite"
                )
                summary = generate_samples(index, out, count=count, task=task, settings=settings)
            minutes = (time.monotonic() - started) / 60
            print(f"{site} {model}: {summary} ({minutes:.1f} min)", file=sys.stderr, flush=True)
    for site in chosen:
        verify_run(work, site, model, task)


def verify_run(work: Path, site: str, model: str, task: str = "qa") -> Counter[str]:
    """The default verifier's verdict on every sample of one run, as ``<run>.verdicts.jsonl``."""
    out = run_file(work, site, model, task)
    counts: Counter[str] = Counter()
    with Index.open(work / site) as index:
        verifier = default_verifier(index)
        lines = []
        for line in out.read_text(encoding="utf-8").splitlines():
            verdict = verifier.verify(Sample.model_validate_json(line))
            counts["kept" if verdict.accepted else "rejected"] += 1
            lines.append(verdict.model_dump_json())
    out.with_suffix(".verdicts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{site} {model}: {dict(counts)}", file=sys.stderr)
    return counts


def items(work: Path) -> list[dict[str, Any]]:
    """Every generated sample with the sections it cites, verdicts left out, shuffled by id."""
    rows = []
    for path in sorted((work / "samples").glob("*.jsonl")):
        if path.name.endswith((".verdicts.jsonl", ".generate-rejected.jsonl")):
            continue
        site, model = path.name.split(".", 1)[0], path.name.split(".")[1:-2]
        model_name = ".".join(model)
        with Index.open(work / site) as index:
            for line in path.read_text(encoding="utf-8").splitlines():
                sample = Sample.model_validate_json(line)
                chunks = index.get([s.chunk_id for s in sample.sources])
                item = hashlib.sha256(f"{site}|{model_name}|{sample.id}".encode()).hexdigest()
                rows.append({
                    "item": item[:12],
                    "site": site,
                    "model": model_name,
                    "sample": sample.model_dump(mode="json", exclude_none=True),
                    "chunks": [chunks[s.chunk_id].model_dump(mode="json")
                               for s in sample.sources if s.chunk_id in chunks],
                })  # fmt: skip
    rows.sort(key=lambda r: r["item"])
    return rows


def reading(row: dict[str, Any]) -> dict[str, Any]:
    """What a reader is shown of an item: the exchange and the sections, nothing of the verdict."""
    question, answer = sample_text(Sample.model_validate(row["sample"]))
    return {
        "item": row["item"],
        "question": question,
        "answer": answer,
        "sections": [{"page": c["doc_url"], "text": c["text"]} for c in row["chunks"]],
    }


def merge(items_file: Path, label_files: list[Path], out: Path) -> dict[str, int]:
    """The items both readers decided alike (``keep``), with their labels and split."""
    rows = {r["item"]: r for r in _read(items_file)}
    labels = [{lab["item"]: lab for lab in _read(f)} for f in label_files]
    counts: Counter[str] = Counter(items=len(rows))
    merged = []
    for item, row in rows.items():
        given = [lab.get(item) for lab in labels]
        if any(g is None for g in given):
            counts["missing"] += 1
            continue
        keeps = {int(g["keep"]) for g in given if g is not None}
        if len(keeps) > 1:
            counts["disagreed"] += 1
            continue
        counts["agreed"] += 1
        first = given[0]
        assert first is not None
        merged.append({
            **row,
            "split": split_of(row["site"]),
            "keep": keeps.pop(),
            "correct": int(first["correct"]),
            "useful": int(first["useful"]),
            "reasons": [str(g["reason"]) for g in given if g is not None],
        })  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for row in merged:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return dict(counts)


def load(data: Path = DATA, split: str | None = None) -> list[dict[str, Any]]:
    """The labelled samples of one split (both when None).

    Raises:
        FileNotFoundError: the file is missing; the message names it.
    """
    if not data.is_file():
        raise FileNotFoundError(f"missing labelled kept set: {data} (make it: see {__file__})")
    return [r for r in _read(data) if split is None or r["split"] == split]


def judge(
    rows: list[dict[str, Any]], threshold: float | None = None
) -> list[tuple[dict[str, Any], bool, list[str]]]:
    """The current default verifier's decision on each labelled sample, run by run in order.

    Each run (site and model) gets a verifier of its own, as a run would, so that duplicates are
    found within a run only.
    """
    out = []
    by_run: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_run.setdefault((row["site"], row["model"]), []).append(row)
    for run_rows in by_run.values():
        chunks = DictChunkLookup(Chunk.model_validate(c) for r in run_rows for c in r["chunks"])
        verifier = default_verifier(chunks, threshold)
        for row in sorted(run_rows, key=lambda r: r["sample"]["id"]):
            verdict = verifier.verify(Sample.model_validate(row["sample"]))
            out.append((row, verdict.accepted, list(verdict.reasons)))
    return out


def figures(judged: list[tuple[dict[str, Any], bool, list[str]]]) -> dict[str, Any]:
    """Precision and yield of groundset's decisions against the readers' ``keep``."""
    kept = [row for row, accepted, _ in judged if accepted]
    good = [row for row, _, _ in judged if row["keep"]]
    kept_good = sum(1 for row in kept if row["keep"])
    reasons: Counter[str] = Counter()
    wrongly: Counter[str] = Counter()
    for row, accepted, why in judged:
        if not accepted:
            reasons.update(list(dict.fromkeys(why)))
            if row["keep"]:
                wrongly.update(list(dict.fromkeys(why)))
    return {
        "samples": len(judged),
        "reader_keeps": len(good),
        "kept": len(kept),
        "kept_good": kept_good,
        "precision": kept_good / len(kept) if kept else None,
        "yield": kept_good / len(good) if good else None,
        "refused_by_reason": dict(reasons.most_common()),
        "good_refused_by_reason": dict(wrongly.most_common()),
    }


def measure(data: Path) -> None:
    """Print the figures per split: in all, per model, per model and prompt version (which
    names the task), and per task."""
    judged = judge(load(data))
    groups: dict[tuple[str, str], list[tuple[dict[str, Any], bool, list[str]]]] = {}
    for entry in judged:
        row = entry[0]
        prompt = row["sample"]["generator"].get("prompt_version", "?")
        task = row["sample"].get("task", "qa")
        groups.setdefault((row["split"], row["model"]), []).append(entry)
        groups.setdefault((row["split"], f"{row['model']} {prompt}"), []).append(entry)
        groups.setdefault((row["split"], f"task {task}"), []).append(entry)
        groups.setdefault((row["split"], "all"), []).append(entry)
    for (split, model), part in sorted(groups.items()):
        f = figures(part)
        precision = "-" if f["precision"] is None else f"{f['precision']:.0%}"
        share = "-" if f["yield"] is None else f"{f['yield']:.0%}"
        print(
            f"{split:8} {model:38} samples {f['samples']:3}  reader keeps {f['reader_keeps']:3}"
            f"  kept {f['kept']:3}  precision {precision:>4}  yield {share:>4}"
        )
        print(f"{'':48}refused: {f['refused_by_reason']}")
        print(f"{'':48}good ones refused: {f['good_refused_by_reason']}")


#: The thresholds of the default checker whose precision is stored for ``min_precision``.
THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
#: Where the verifier reads its measured precision from.
PRECISION_FILE = ROOT / "verify" / "calibration" / "kept_precision.json"


def operating_points(data: Path = DATA) -> dict[str, Any]:
    """The default checker at each of :data:`THRESHOLDS`: kept, and kept that readers keep,
    on the tuned sites and on those set aside (``verify/calibration/kept_precision.json``)."""
    rows = load(data)
    points = []
    for threshold in THRESHOLDS:
        point: dict[str, Any] = {"threshold": threshold}
        for split, prefix in (("tune", ""), ("heldout", "heldout_")):
            f = figures(judge([r for r in rows if r["split"] == split], threshold))
            point[f"{prefix}kept"], point[f"{prefix}kept_good"] = f["kept"], f["kept_good"]
        points.append(point)
    sites = sorted({r["site"] for r in rows})
    models = sorted({r["model"] for r in rows})
    tasks = sorted({r["sample"].get("task", "qa") for r in rows})
    return {
        "checker": "calibrated",
        "models": models,
        "measured_on": (
            f"{len(rows)} English {' and '.join(tasks)} samples written by "
            f"{' and '.join(models)} on {len(sites)} docs sites ({', '.join(sites)}), "
            "labelled twice by readers blind to the verdict; "
            f"the sites set aside: {', '.join(HELDOUT_SITES)}"
        ),
        "points": points,
    }


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def main() -> int:
    """Run one step."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["corpora", "generate", "items", "merge", "measure"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/groundset-kept-set"))
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--count", type=int, default=30, help="samples per site")
    parser.add_argument("--task", default="qa", help="generate: the task")
    parser.add_argument("--seed", type=int, default=100, help="generate: the first site's seed")
    parser.add_argument("--sites", nargs="+", choices=list(SITES), help="generate: these only")
    parser.add_argument("--items", type=Path)
    parser.add_argument("--labels", type=Path, nargs=2)
    parser.add_argument("--out", type=Path, default=DATA)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--write", action="store_true", help=f"measure: also write {PRECISION_FILE.name}"
    )
    args = parser.parse_args()
    if args.step == "corpora":
        build_corpora(args.work)
    elif args.step == "generate":
        generate(args.work, args.model, args.count, args.task, args.seed, args.sites)
    elif args.step == "items":
        rows = items(args.work)
        full, shown = args.work / "items.jsonl", args.work / "reading.jsonl"
        full.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        shown.write_text(
            "".join(json.dumps(reading(r), ensure_ascii=False) + "\n" for r in rows),
            encoding="utf-8",
        )
        print(f"wrote {full} and {shown} ({len(rows)} items)", file=sys.stderr)
    elif args.step == "merge":
        print(json.dumps(merge(args.items, args.labels, args.out)))
    else:
        measure(args.data)
        if args.write:
            points = operating_points(args.data)
            PRECISION_FILE.write_text(json.dumps(points, indent=1) + "\n", encoding="utf-8")
            print(f"wrote {PRECISION_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
