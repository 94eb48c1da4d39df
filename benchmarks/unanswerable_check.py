"""How the ``unanswerable`` check decides that a section answers a question, measured.

The verifier refuses an ``unanswerable`` sample (``answerable``) when some section of the corpus
answers its question (``verify/answerable.py``). What "answers" means is decided here, on
labelled cases made from real questions:

- **answerable**: every question of the labelled kept set (``benchmarks/data/kept_set.jsonl``)
  whose sample both readers kept: the sections it was written from answer it (the readers said
  its answer is right and answers it). It is looked for in the whole corpus of its site.
- **near miss**: the same question, looked for in the corpus without the sections it was
  written from (nor their copies elsewhere: the same heading and text): the closest sections
  left are about the same subject and mostly do not answer it. This label is by construction and
  is not clean: another page may answer the question too (the API reference and a tutorial, two
  versions of one page). The figures on it bound from above how often a method calls a real
  near miss answered.

For each case the top ``--k`` sections of the hybrid search are scored by each signal: the share
of the question's content words a section holds (``coverage``), the cosine of question and
section (the index's embedder), the default claim checker's score of the question read as a
statement against the section (``claim``: a question has no declarative form without its
answer, so its own words stand for one), and the reader model's probability that the section
answers the question (``reader``, ``verify/section_reader.py``), asked only of sections holding
at least half the question's words, as the verifier does. A case counts as answered at a
threshold when one of its sections reaches it. Printed per threshold: answerable cases found (the
more the better: one missed is an answerable sample kept) and near misses called answered (a
good sample refused, or a near miss that is in fact answered).

    python benchmarks/unanswerable_check.py --work /tmp/groundset-kept-set [--reader MODEL]

``--work`` holds the sites' indexed corpora (``benchmarks/kept_set.py corpora``). Scores are
written to ``--out`` (JSON) and read back by a second run with ``--scores``, so that figures can
be printed again without asking the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from groundset.ground import Index  # noqa: E402
from groundset.records import Chunk, Hit  # noqa: E402
from groundset.verify import make_checker  # noqa: E402
from groundset.verify.answerable import MIN_COVERAGE, question_coverage  # noqa: E402
from groundset.verify.crosslang import make_translator  # noqa: E402
from groundset.verify.section_reader import SectionReader  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "kept_set.jsonl"
SITES = ("drf", "mdbook-guide", "mapclassify", "immer", "secrets-store-csi-azure", "ts-jest")


def body(heading: str, text: str) -> str:
    """A section's text without its heading line, whitespace collapsed: copies compare equal."""
    if heading and text.startswith(heading):
        text = text[len(heading) :]
    return " ".join(text.split())


def cases(work: Path, k: int, data: Path = DATA) -> list[dict[str, Any]]:
    """The answerable and near-miss cases of every site under ``work``, with their sections."""
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    out: list[dict[str, Any]] = []
    for site in SITES:
        if not (work / site).is_dir():
            continue
        with Index.open(work / site) as index:
            for row in rows:
                if row["site"] != site or not row["keep"]:
                    continue
                question = row["sample"]["question"]
                own = {(c["heading_path"], body(c["heading_path"], c["text"]))
                       for c in row["chunks"]}  # fmt: skip
                hits = index.search(question, k + 2 * len(own) + 2)

                def is_own(hit: Hit, own: set[tuple[str, str]] = own) -> bool:
                    c = hit.chunk
                    return (c.heading_path, body(c.heading_path, c.text)) in own

                answerable = [h.chunk for h in hits[:k]]
                near = [h.chunk for h in hits if not is_own(h)][:k]
                texts = sorted({c.text for c in [*answerable, *near]})
                by_text = dict(zip(texts, index.embedder.encode(texts), strict=True))
                asked = np.asarray(index.embedder.encode_query(question), dtype=np.float32)
                for label, chunks in (("answerable", answerable), ("near_miss", near)):
                    out.append({
                        "site": site, "item": row["item"], "label": label, "question": question,
                        "sections": [_section(question, c, by_text[c.text], asked, own)
                                     for c in chunks],
                    })  # fmt: skip
    return out


def _section(
    question: str, chunk: Chunk, vector: np.ndarray, asked: np.ndarray, own: set[tuple[str, str]]
) -> dict[str, Any]:
    v = np.asarray(vector, dtype=np.float32)
    cosine = float(v @ asked / max(float(np.linalg.norm(v) * np.linalg.norm(asked)), 1e-12))
    return {
        "heading": chunk.heading_path,
        "text": chunk.text,
        "own": (chunk.heading_path, body(chunk.heading_path, chunk.text)) in own,
        "coverage": round(question_coverage(question, chunk.text), 4),
        "cosine": round(cosine, 4),
    }


def claim_scores(scored: list[dict[str, Any]]) -> None:
    """The default checker's score of each question, as a statement, against each section."""
    checker = make_checker("calibrated")
    todo = [(case, s) for case in scored for s in case["sections"] if "claim" not in s]
    supports = checker.check([(case["question"], s["text"]) for case, s in todo])
    for (_, section), support in zip(todo, supports, strict=True):
        section["claim"] = round(support.score, 4)


def read(scored: list[dict[str, Any]], reader: SectionReader) -> None:
    """The reader's probability for every section holding enough of its question's words."""
    todo = [
        (case, s)
        for case in scored
        for s in case["sections"]
        if s["coverage"] >= MIN_COVERAGE and "reader" not in s
    ]
    for n, (case, section) in enumerate(todo, start=1):
        section["reader"] = round(reader.answers([(case["question"], section["text"])])[0], 4)
        if n % 25 == 0:
            print(f"read {n}/{len(todo)}", file=sys.stderr, flush=True)


def figures(scored: list[dict[str, Any]], signal: str, thresholds: list[float], k: int) -> None:
    """Answerable cases found and near misses called answered, at each threshold."""
    answerable = [c for c in scored if c["label"] == "answerable"]
    near = [c for c in scored if c["label"] == "near_miss"]

    def best(case: dict[str, Any]) -> float:
        values = [s.get(signal, 0.0) for s in case["sections"][:k]]
        return max(values, default=0.0)

    print(f"{signal} (top {k}): {len(answerable)} answerable, {len(near)} near misses")
    for t in thresholds:
        found = sum(best(c) >= t for c in answerable)
        called = sum(best(c) >= t for c in near)
        print(f"  >= {t:.2f}: answerable found {found}/{len(answerable)}, "
              f"near misses called answered {called}/{len(near)}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/groundset-kept-set"))
    parser.add_argument("--k", type=int, default=5, help="sections searched per question")
    parser.add_argument("--reader", help="a bundled model to read with (default: none)")
    parser.add_argument("--cache", type=Path, help="the reader's call cache (SQLite)")
    parser.add_argument("--scores", type=Path, help="scores written before, to read back")
    parser.add_argument("--out", type=Path, default=Path("/tmp/unanswerable_scores.json"))
    args = parser.parse_args()
    scored = json.loads(args.scores.read_text()) if args.scores else cases(args.work, args.k)
    claim_scores(scored)
    if args.reader:
        translator = make_translator(args.reader, cache_path=args.cache)
        try:
            read(scored, SectionReader(translator))
        finally:
            translator.close()
    args.out.write_text(json.dumps(scored, ensure_ascii=False))
    answerable = [c for c in scored if c["label"] == "answerable"]
    own_found = sum(any(s["own"] for s in c["sections"][: args.k]) for c in answerable)
    print(f"sections a question was written from, in its top {args.k}: "
          f"{own_found}/{len(answerable)}")  # fmt: skip
    steps = [round(0.05 * i, 2) for i in range(4, 21)]
    for k in sorted({1, 3, args.k}):
        figures(scored, "coverage", steps, k)
        figures(scored, "cosine", steps[:14], k)
        figures(scored, "claim", steps, k)
    if any("reader" in s for c in scored for s in c["sections"]):
        figures(scored, "reader", sorted({0.1, 0.2, 0.3, *steps[2:], 0.95, 0.99}), args.k)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
