"""Question pairs labelled as one question or two, and the cosine threshold measured on them.

Two generated questions can ask the same thing in other words; a dataset holding both holds a
repeat that the exact and MinHash duplicate checks do not see. The verifier refuses such a
question (``repeated_question``, ``verify/repeats.py``) when the cosine of its vector with a
kept question's reaches a threshold; people labelled pairs to set it (brief:
``benchmarks/data/question_pairs_labelling.md``). Three steps:

    python benchmarks/question_pairs.py pairs --out /tmp/semdup [--samples GLOB ...] [--seed 13]
    python benchmarks/question_pairs.py merge --pairs P --labels A B [--samples GLOB ...] [--out F]
    python benchmarks/question_pairs.py measure [--data F] [--embedder NAME]

``pairs`` makes the pairs to label:

1. read every qa sample of the sample files given (``<site>.<model>.qa.jsonl``; the verdicts and
   rejected files are skipped), the site being the file name up to its first dot;
2. within each site, keep one question of each exact duplicate (the same once lowercased, with
   punctuation and extra spaces taken out): exact copies are refused by another check already,
   while near-exact ones are kept;
3. embed every question with groundset's default embedder (``open_embedder()``, the bundled
   all-MiniLM-L6-v2) through ``Embedder.encode``: unit vectors, so a dot product is a cosine
   (for this model ``encode_query`` gives the same vectors: it has no query prefix);
4. score every pair of questions of the same site (duplicates only matter within a site);
5. choose pairs in three strata, dense where a threshold will fall:
   - ``--top`` pairs (60) from the top of the cosine ranking, at most ``--site-cap`` of them
     from one site so that every site is represented;
   - ``--mid`` pairs (70) spread evenly over cosine 0.6-0.9 in bins 0.05 wide;
   - ``--low`` pairs (30) spread evenly over cosine 0.4-0.6 in bins 0.05 wide;
   within a bin the sites take turns (in a random order) and each site's candidates are drawn at
   random; bins are filled from the top down and a bin short of candidates passes its quota to
   the next one down. No question appears in more than ``--question-cap`` chosen pairs, so that
   one cluster does not fill a stratum;
6. put each pair's two questions in a random order, shuffle the pairs, and write:
   ``OUT/pairs.jsonl`` (``pair``, ``site``, ``a``, ``b``, ``a_id``, ``b_id``, ``a_file``,
   ``b_file``, ``cosine``, ``stratum``, ``embedder``) and ``OUT/pairs_reading.jsonl`` (``pair``,
   ``a``, ``b``: what readers see). Sample ids are not unique across files (two models' samples
   of one run can share one), so ``a_file``/``b_file`` name the file (run folder and file stem).

Everything random comes from ``--seed``, so the same inputs give the same pairs.

``merge`` keeps the pairs both readers labelled alike and writes them to
``benchmarks/data/question_pairs.jsonl``: ``pair``, ``site``, ``a``, ``b``, ``same`` (1: one
question), ``reasons`` (the two readers'), with each question's answer (``a_answer``,
``b_answer``, read from the sample files by file and id) and where it came from (``a_id``,
``b_id``, ``a_file``, ``b_file``). The first labelling: 157 of 160 pairs agreed, 16 of them one
question.

``measure`` embeds the questions as the verifier does (``Embedder.encode_query``; for
question and answer together, ``encode``), and prints, at each threshold from 0.80 to 0.99, how
many pairs at or above it are one question (precision) and how many of the pairs that are one
question it reaches (recall), then the threshold it chooses: the lowest at which precision, at
it and at every threshold above, is at least ``--min-precision`` (default 1: refusing a distinct
question loses a good sample, and the MinHash check already finds the near-verbatim repeats),
and the figures of the threshold the verifier ships (``MEASURED_REPEAT_COSINE``). With
all-MiniLM-L6-v2: 0.91, precision 10 of 10, recall 10 of 16 (at 0.90, 11 of 16 found with 5
distinct pairs). Question and answer together do worse (at 0.91, 6 of 16 found, precision 6 of
6), so the verifier compares questions alone. ``--embedder multilingual-e5-small-q4``: 0.98, 8 of
8 and 8 of 16, with distinct pairs up to 0.97 (no threshold is shipped for it).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import itertools
import json
import os
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "question_pairs.jsonl"
DEFAULT_SAMPLES = [
    "/tmp/groundset-kept-set/samples/*.qa.jsonl",
    "/tmp/ks2/samples/*.qa.jsonl",
]
_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Question:
    site: str
    text: str
    sample_id: str
    file: str  # run folder and file stem, e.g. ``ks2/drf.qwen2.5-coder-1.5b-instruct.qa``


@dataclass(frozen=True)
class Pair:
    site: str
    a: Question
    b: Question
    cosine: float


def normalise(text: str) -> str:
    """The question as the exact-duplicate check compares it: lowercase, no punctuation."""
    return _SPACE.sub(" ", _PUNCT.sub("", text.lower())).strip()


def file_tag(path: Path) -> str:
    """The run folder and file stem of a sample file: sample ids are unique only within one."""
    return f"{path.parent.parent.name}/{path.name.removesuffix('.jsonl')}"


def load_questions(patterns: list[str]) -> dict[str, list[Question]]:
    """Each site's questions, one per exact duplicate (the first met, files in sorted order)."""
    files = sorted({f for p in patterns for f in glob.glob(p)})
    files = [f for f in files if f.endswith(".qa.jsonl")]
    if not files:
        sys.exit(f"no .qa.jsonl files match {patterns}")
    sites: dict[str, list[Question]] = defaultdict(list)
    seen: dict[str, set[str]] = defaultdict(set)
    for name in files:
        path = Path(name)
        site = path.name.split(".")[0]
        tag = file_tag(path)
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                sample = json.loads(line)
                text = " ".join(sample["question"].split())
                key = normalise(text)
                if not key or key in seen[site]:
                    continue
                seen[site].add(key)
                sites[site].append(Question(site, text, sample["id"], tag))
    return dict(sorted(sites.items()))


def score_pairs(sites: dict[str, list[Question]]) -> tuple[list[Pair], str]:
    """Every same-site pair with its cosine, and the embedder's name."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from groundset.ground.embed import open_embedder

    torch.set_num_threads(1)
    embedder = open_embedder()
    pairs: list[Pair] = []
    for site, questions in sites.items():
        vectors = embedder.encode([q.text for q in questions])
        cosines = vectors @ vectors.T
        for i, j in itertools.combinations(range(len(questions)), 2):
            pairs.append(Pair(site, questions[i], questions[j], float(cosines[i, j])))
    return pairs, embedder.name


class Chooser:
    """Chosen pairs, with how often each question and site has been used."""

    def __init__(self, question_cap: int) -> None:
        self.question_cap = question_cap
        self.chosen: list[tuple[Pair, str]] = []
        self.taken: set[tuple[str, str, str]] = set()
        self.uses: Counter[Question] = Counter()

    def fits(self, pair: Pair) -> bool:
        key = (pair.site, pair.a.text, pair.b.text)
        return (
            key not in self.taken
            and self.uses[pair.a] < self.question_cap
            and self.uses[pair.b] < self.question_cap
        )

    def take(self, pair: Pair, stratum: str) -> None:
        self.taken.add((pair.site, pair.a.text, pair.b.text))
        self.uses[pair.a] += 1
        self.uses[pair.b] += 1
        self.chosen.append((pair, stratum))

    def top(self, pairs: list[Pair], count: int, site_cap: int) -> None:
        """The most similar pairs, at most ``site_cap`` from one site."""
        per_site: Counter[str] = Counter()
        for pair in sorted(pairs, key=lambda p: -p.cosine):
            if count == 0:
                break
            if per_site[pair.site] < site_cap and self.fits(pair):
                self.take(pair, "top")
                per_site[pair.site] += 1
                count -= 1

    def spread(
        self, pairs: list[Pair], lo: float, hi: float, count: int, rng: random.Random, name: str
    ) -> None:
        """``count`` pairs spread evenly over bins 0.05 wide from ``lo`` to ``hi``.

        Bins are filled from the top down; what a bin lacks passes to the next one down, and
        what the lowest still lacks goes to any bin with candidates left.
        """
        edges = np.round(np.arange(lo, hi + 1e-9, 0.05), 2)
        bins = list(itertools.pairwise(edges))[::-1]
        quota = [count // len(bins) + (k < count % len(bins)) for k in range(len(bins))]
        pools: list[dict[str, list[Pair]]] = []
        for left, right in bins:
            by_site: dict[str, list[Pair]] = defaultdict(list)
            for pair in pairs:
                if left <= pair.cosine < right:
                    by_site[pair.site].append(pair)
            for candidates in by_site.values():
                rng.shuffle(candidates)
            pools.append(by_site)
        carry = 0
        for by_site, want in zip(pools, quota, strict=True):
            carry = self._draw(by_site, want + carry, rng, name)
        for by_site in pools:
            carry = self._draw(by_site, carry, rng, name)

    def _draw(
        self, by_site: dict[str, list[Pair]], want: int, rng: random.Random, name: str
    ) -> int:
        """Up to ``want`` pairs from one bin, the sites taking turns; how many it fell short."""
        order = sorted(by_site)
        rng.shuffle(order)
        while want > 0 and any(by_site.values()):
            for site in order:
                while by_site[site] and want > 0:
                    pair = by_site[site].pop()
                    if self.fits(pair):
                        self.take(pair, name)
                        want -= 1
                        break
        return want


def pair_id(pair: Pair) -> str:
    key = "\x1f".join([pair.site, *sorted([pair.a.text, pair.b.text])])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def make_pairs(args: argparse.Namespace) -> None:
    """The ``pairs`` step: choose pairs to label and write them under ``args.out``."""
    rng = random.Random(args.seed)
    sites = load_questions(args.samples)
    pairs, embedder = score_pairs(sites)
    chooser = Chooser(args.question_cap)
    chooser.top(pairs, args.top, args.site_cap)
    chooser.spread(pairs, 0.6, 0.9, args.mid, rng, "mid")
    chooser.spread(pairs, 0.4, 0.6, args.low, rng, "low")
    chosen = chooser.chosen
    rng.shuffle(chosen)

    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for pair, stratum in chosen:
        a, b = (pair.a, pair.b) if rng.random() < 0.5 else (pair.b, pair.a)
        rows.append(
            {
                "pair": pair_id(pair),
                "site": pair.site,
                "a": a.text,
                "b": b.text,
                "a_id": a.sample_id,
                "b_id": b.sample_id,
                "a_file": a.file,
                "b_file": b.file,
                "cosine": round(pair.cosine, 4),
                "stratum": stratum,
                "embedder": embedder,
            }
        )
    with (args.out / "pairs.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    with (args.out / "pairs_reading.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            line = {"pair": row["pair"], "a": row["a"], "b": row["b"]}
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")

    counts = {site: len(questions) for site, questions in sites.items()}
    print(f"questions per site: {counts}")
    print(f"same-site pairs scored: {len(pairs)}; written: {len(rows)} to {args.out}")
    print(f"per stratum: {dict(Counter(s for _, s in chosen))}")
    print(f"per site: {dict(sorted(Counter(p.site for p, _ in chosen).items()))}")
    hist = Counter(min(int(p.cosine * 20), 19) / 20 for p, _ in chosen)
    print("cosine bins: " + ", ".join(f"{k:.2f}:{v}" for k, v in sorted(hist.items())))


# -- merge -----------------------------------------------------------------------------------


def answers(patterns: list[str]) -> dict[tuple[str, str], str]:
    """Each sample's answer, by (file tag, sample id)."""
    found: dict[tuple[str, str], str] = {}
    for name in sorted({f for p in patterns for f in glob.glob(p)}):
        if not name.endswith(".qa.jsonl"):
            continue
        path = Path(name)
        for row in _read(path):
            found.setdefault((file_tag(path), row["id"]), row.get("answer") or "")
    return found


def merge(
    pairs_file: Path, label_files: list[Path], patterns: list[str], out: Path
) -> dict[str, int]:
    """The pairs both readers labelled alike, with their label, reasons and answers."""
    rows = _read(pairs_file)
    labels = [{lab["pair"]: lab for lab in _read(f)} for f in label_files]
    answer_of = answers(patterns)
    counts: Counter[str] = Counter(pairs=len(rows))
    merged = []
    for row in rows:
        given = [lab.get(row["pair"]) for lab in labels]
        if any(g is None for g in given):
            counts["missing"] += 1
            continue
        same = {int(g["same"]) for g in given if g is not None}
        if len(same) > 1:
            counts["disagreed"] += 1
            continue
        counts["agreed"] += 1
        label = same.pop()
        counts["same"] += label
        merged.append({
            "pair": row["pair"],
            "site": row["site"],
            "a": row["a"],
            "b": row["b"],
            "same": label,
            "reasons": [str(g["reason"]) for g in given if g is not None],
            "a_answer": answer_of[(row["a_file"], row["a_id"])],
            "b_answer": answer_of[(row["b_file"], row["b_id"])],
            **{k: row[k] for k in ("a_id", "b_id", "a_file", "b_file")},
        })  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in merged)
    return dict(counts)


# -- measure ---------------------------------------------------------------------------------

#: The thresholds ``measure`` prints, and chooses from.
THRESHOLDS = tuple(round(0.80 + 0.01 * k, 2) for k in range(20))


def load(data: Path = DATA) -> list[dict[str, Any]]:
    """The labelled pairs.

    Raises:
        FileNotFoundError: the file is missing; the message names it.
    """
    if not data.is_file():
        raise FileNotFoundError(f"missing labelled question pairs: {data} (see {__file__})")
    return _read(data)


def question_cosines(rows: list[dict[str, Any]], embedder: Any) -> np.ndarray:
    """The cosine of each pair's two questions, embedded as the verifier embeds a question."""
    a = np.stack([embedder.encode_query(r["a"]) for r in rows])
    b = np.stack([embedder.encode_query(r["b"]) for r in rows])
    return np.asarray((a * b).sum(axis=1))


def exchange_cosines(rows: list[dict[str, Any]], embedder: Any) -> np.ndarray:
    """The cosine of each pair's two questions, each followed by its answer."""
    a = embedder.encode([f"{r['a']}\n{r['a_answer']}" for r in rows])
    b = embedder.encode([f"{r['b']}\n{r['b_answer']}" for r in rows])
    return np.asarray((a * b).sum(axis=1))


@dataclass(frozen=True)
class Point:
    """What one threshold finds: pairs at or above it, and those the readers call one question."""

    threshold: float
    found: int
    found_same: int
    same: int

    @property
    def precision(self) -> float | None:
        return self.found_same / self.found if self.found else None

    @property
    def recall(self) -> float:
        return self.found_same / self.same if self.same else 0.0


def point(rows: list[dict[str, Any]], cosines: np.ndarray, threshold: float) -> Point:
    """Precision and recall of "one question" at ``threshold``."""
    found = cosines >= threshold
    same = np.array([bool(r["same"]) for r in rows])
    return Point(threshold, int(found.sum()), int((found & same).sum()), int(same.sum()))


def choose(points: list[Point], min_precision: float) -> Point | None:
    """The lowest threshold at which precision, there and at every threshold above, reaches
    ``min_precision`` (a threshold that finds nothing counts as precise)."""
    chosen = None
    for p in sorted(points, key=lambda p: -p.threshold):
        if p.precision is not None and p.precision < min_precision:
            break
        chosen = p
    return chosen


def _line(p: Point) -> str:
    precision = "-" if p.precision is None else f"{p.precision:.0%}"
    return (
        f"{p.threshold:.2f}  precision {precision:>4} ({p.found_same:2} of {p.found:3})"
        f"  recall {p.recall:>4.0%} ({p.found_same:2} of {p.same})"
    )


def measure(data: Path, embedder_name: str | None, min_precision: float) -> None:
    """Print precision and recall per threshold, the threshold chosen and the one shipped."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from groundset.ground.embed import open_embedder
    from groundset.verify.precision import wilson_interval
    from groundset.verify.repeats import MEASURED_REPEAT_COSINE

    torch.set_num_threads(1)
    rows = load(data)
    embedder = open_embedder(embedder_name)
    same = sum(r["same"] for r in rows)
    print(f"{len(rows)} labelled pairs, {same} of them one question; embedder {embedder.name}")
    for what, cosines in (
        ("question", question_cosines(rows, embedder)),
        ("question and answer", exchange_cosines(rows, embedder)),
    ):
        points = [point(rows, cosines, t) for t in THRESHOLDS]
        print(f"\n{what}:")
        for p in points:
            print("  " + _line(p))
        chosen = choose(points, min_precision)
        print(f"  chosen (precision at least {min_precision:.0%}): "
              + (_line(chosen) if chosen else "none"))  # fmt: skip
        shipped = MEASURED_REPEAT_COSINE.get(embedder.name)
        if what == "question" and shipped is not None:
            p = point(rows, cosines, shipped)
            low, high = wilson_interval(p.found_same, p.found)
            print(f"  shipped: {_line(p)}; precision 95% interval {low:.0%}-{high:.0%}")


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["pairs", "merge", "measure"])
    parser.add_argument("--out", type=Path, help="pairs: folder for the two files; merge: file")
    parser.add_argument("--samples", nargs="+", default=DEFAULT_SAMPLES, help="sample globs")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--mid", type=int, default=70, help="pairs over cosine 0.6-0.9")
    parser.add_argument("--low", type=int, default=30, help="pairs over cosine 0.4-0.6")
    parser.add_argument("--site-cap", type=int, default=15, help="top pairs from one site")
    parser.add_argument("--question-cap", type=int, default=3, help="pairs one question is in")
    parser.add_argument("--pairs", type=Path, help="merge: the pairs file of the pairs step")
    parser.add_argument("--labels", type=Path, nargs=2, help="merge: the two label files")
    parser.add_argument("--data", type=Path, default=DATA, help="measure: the labelled pairs")
    parser.add_argument("--embedder", help="measure: default all-MiniLM-L6-v2")
    parser.add_argument("--min-precision", type=float, default=1.0)
    args = parser.parse_args()
    if args.step == "pairs":
        if args.out is None:
            parser.error("pairs needs --out")
        make_pairs(args)
    elif args.step == "merge":
        if args.pairs is None or args.labels is None:
            parser.error("merge needs --pairs and --labels")
        print(json.dumps(merge(args.pairs, args.labels, args.samples, args.out or DATA)))
    else:
        measure(args.data, args.embedder, args.min_precision)


if __name__ == "__main__":
    main()
