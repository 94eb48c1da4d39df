"""Make docs-claims pairs as groundset meets them: its own prompts, the local models, real sites.

The verifier's quality is measured on claims that models write about docs sections. This script
makes more of them, from the fixture sites of ``docclaims_dev.jsonl`` and with the task prompts
groundset really uses, in four steps (each resumes: what is on disk is not made again):

1. ``corpora``: crawl and index each fixture site into ``WORK/<site>``;
2. ``generate``: samples of every task with each local model, at several temperatures;
3. ``pairs``: every statement the verifier checks, paired with the evidence it is checked
   against: each listed claim with the chunks it cites, each answer clause no listed claim
   covers with all the sample's chunks (``groundset.verify.claims.sample_claims``), as
   ``{id, site, url, task, model, kind, question, evidence, claim}`` for labelling;
4. ``merge``: two independent label files (the brief is
   ``tests/fixtures/verification/docclaims_labelling.md``) into the labelled set, keeping
   only the pairs both labels agree on, each with its split: ``heldout`` for the documents that
   :func:`docclaims.split_of` sets aside, ``tune`` for the rest.

    python benchmarks/docclaims_make.py corpora|generate|pairs --work DIR
    python benchmarks/docclaims_make.py merge --pairs P --labels A B --out benchmarks/data/X.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from docclaims import split_of  # noqa: E402
from local_models import RECORD_SCHEMA  # noqa: E402

from groundset.corpus import Corpus  # noqa: E402
from groundset.crawl import crawl  # noqa: E402
from groundset.crawl.settings import CrawlSettings  # noqa: E402
from groundset.generate import GenerateSettings, LocalModelServer, generate_samples  # noqa: E402
from groundset.ground import Index  # noqa: E402
from groundset.records import Sample  # noqa: E402
from groundset.verify.claims import sample_claims  # noqa: E402

from sitesrv import SiteServer  # noqa: E402

SITES_DIR = ROOT / "tests" / "fixtures" / "sites"
#: Each site: its folder, the start path, and URL patterns kept out of the corpus.
SITES: dict[str, tuple[Path, str, list[str]]] = {
    "drf": (SITES_DIR / "drf" / "v2026-07-31", "/", []),
    "immer": (SITES_DIR / "immer", "/immer/", [r"/zh-CN/"]),
    "mapclassify": (SITES_DIR / "mapclassify", "/", [r"/_modules/", r"genindex", r"search\.html"]),
    "mdbook-guide": (SITES_DIR / "mdbook-guide", "/", [r"print\.html", r"toc\.html"]),
    "secrets-store-csi-azure": (
        SITES_DIR / "secrets-store-csi-azure",
        "/secrets-store-csi-driver-provider-azure/docs/",
        [],
    ),
}
#: What is generated per site: (model, task, temperature, samples).
RUNS: list[tuple[str, str, float, int]] = [
    ("qwen2.5-coder-0.5b-instruct", "qa", 0.3, 6),
    ("qwen2.5-coder-0.5b-instruct", "qa", 0.7, 4),
    ("qwen2.5-coder-0.5b-instruct", "qa", 1.0, 3),
    ("qwen2.5-coder-0.5b-instruct", "instruct", 0.3, 5),
    ("qwen2.5-coder-0.5b-instruct", "evol", 0.3, 3),
    ("qwen2.5-coder-0.5b-instruct", "schema", 0.3, 3),
    ("gemma-3-270m", "qa", 0.7, 4),
    ("gemma-3-270m", "instruct", 0.7, 2),
]


def build_corpora(
    work: Path, sites: dict[str, tuple[Path, str, list[str], bool]] | None = None
) -> None:
    """Crawl and index every site not yet indexed under ``work``.

    ``sites``: folder, start path, URL patterns kept out and whether links need ``.html``, by
    site; default :data:`SITES`, none of which needs ``.html``.
    """
    if sites is None:
        sites = {site: (*spec, False) for site, spec in SITES.items()}
    for site, (folder, start, deny, html_suffix) in sites.items():
        root = work / site
        if (root / "index").is_dir():
            continue
        server = SiteServer(folder, html_suffix=html_suffix)
        try:
            settings = CrawlSettings(start_urls=[server.url.rstrip("/") + start], deny=deny)
            print(crawl(settings, root), file=sys.stderr)
        finally:
            server.close()
        with Index.open(root) as index, Corpus(root) as corpus:
            print(site, index.update(corpus), file=sys.stderr)


def run_file(work: Path, site: str, model: str, task: str, temperature: float) -> Path:
    """Where one run's samples go."""
    return work / "samples" / f"{site}.{model}.{task}.t{temperature:g}.jsonl"


def generate(work: Path) -> None:
    """Every run of :data:`RUNS` on every site, one server per model."""
    schema_file = work / "record.schema.json"
    schema_file.write_text(json.dumps(RECORD_SCHEMA))
    for model in dict.fromkeys(m for m, *_ in RUNS):
        with LocalModelServer(model):
            for site in SITES:
                for run_model, task, temperature, count in RUNS:
                    if run_model != model:
                        continue
                    out = run_file(work, site, model, task, temperature)
                    values: dict[str, Any] = {
                        "local_model": model,
                        "temperature": temperature,
                        "seed": 7,
                        "cache_path": work / "llm-cache.sqlite",
                        "record_schema": schema_file,
                        "seed_samples": run_file(work, site, model, "qa", RUNS[0][2]),
                    }
                    with Index.open(work / site) as index:
                        summary = generate_samples(
                            index, out, count=count, task=task,
                            settings=GenerateSettings(**values),
                        )  # fmt: skip
                    print(site, summary, file=sys.stderr, flush=True)


def pairs(work: Path) -> Iterator[dict[str, Any]]:
    """Every checked statement of every generated sample, with its evidence."""
    seen: set[tuple[str, str]] = set()
    for path in sorted((work / "samples").glob("*.jsonl")):
        if ".generate-rejected" in path.name:
            continue
        site, model, task = _run_of(path.name)
        # Runs of one plan share sample ids: the run's file names the pair too.
        run = hashlib.sha256(path.name.encode()).hexdigest()[:6]
        with Index.open(work / site) as index:
            for line in path.read_text(encoding="utf-8").splitlines():
                sample = Sample.model_validate_json(line)
                yield from _sample_pairs(sample, index, site, model, task, run, seen)


def _run_of(name: str) -> tuple[str, str, str]:
    site, rest = name.split(".", 1)
    model = next(m for m, *_ in RUNS if rest.startswith(m + "."))
    task = rest[len(model) + 1 :].split(".", 1)[0]
    return site, model, task


def _sample_pairs(
    sample: Sample,
    index: Index,
    site: str,
    model: str,
    task: str,
    run: str,
    seen: set[tuple[str, str]],
) -> Iterator[dict[str, Any]]:
    chunks = index.get([s.chunk_id for s in sample.sources])
    everything = "\n\n".join(
        chunks[s.chunk_id].text for s in sample.sources if s.chunk_id in chunks
    )
    question = sample.question or (sample.messages[0].content if sample.messages else "")
    primary = sample.sources[0].doc_url if sample.sources else ""
    for n, claim in enumerate(sample_claims(sample)):
        if claim.from_answer:
            evidence, kind = everything, "answer"
        else:
            cited = dict.fromkeys(c.chunk_id for c in claim.citations if c.chunk_id in chunks)
            evidence, kind = "\n\n".join(chunks[i].text for i in cited), "listed"
        if not evidence or (claim.checked_text, evidence) in seen:
            continue
        seen.add((claim.checked_text, evidence))
        yield {
            "id": f"{run}-{sample.id[:10]}-{n}",
            "site": site,
            "url": primary,
            "task": task,
            "model": model,
            "kind": kind,
            "question": question,
            "evidence": evidence,
            "claim": claim.checked_text,
        }


def merge(pairs_file: Path, label_files: list[Path], out: Path) -> dict[str, int]:
    """The pairs both labellers gave the same label (1 or 0), with that label and a split.

    Label files answer the pairs line by line, in order; a line whose id is not its pair's
    counts as missing.
    """
    rows = _read(pairs_file)
    labels = [_read(f) for f in label_files]
    counts = {"pairs": len(rows), "agreed": 0, "disagreed": 0, "no_claim": 0, "missing": 0}
    kept = []
    for n, row in enumerate(rows):
        given = [lab[n] if n < len(lab) and lab[n]["id"] == row["id"] else None for lab in labels]
        if any(g is None for g in given):
            counts["missing"] += 1
            continue
        values = {int(g["label"]) for g in given if g is not None}
        if len(values) > 1:
            counts["disagreed"] += 1
        elif values == {-1}:
            counts["no_claim"] += 1
        else:
            counts["agreed"] += 1
            why = given[0]["why"] if given[0] is not None else ""
            split = split_of(row["site"], row["url"])
            kept.append({**row, "label": values.pop(), "why": why, "split": split})
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for row in kept:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return counts


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def main() -> int:
    """Run one step."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["corpora", "generate", "pairs", "merge"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/groundset-docclaims"))
    parser.add_argument("--pairs", type=Path)
    parser.add_argument("--labels", type=Path, nargs=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.step == "corpora":
        build_corpora(args.work)
    elif args.step == "generate":
        generate(args.work)
    elif args.step == "pairs":
        out = args.out or args.work / "pairs.jsonl"
        with out.open("w", encoding="utf-8") as fh:
            for row in pairs(args.work):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"wrote {out}", file=sys.stderr)
    else:
        print(json.dumps(merge(args.pairs, args.labels, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
