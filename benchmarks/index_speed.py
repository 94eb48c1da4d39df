"""Index speed against a bare ``SentenceTransformer.encode``, query latency, and index size.

Both sides embed the same chunk texts of the DRF corpus with the same loaded model in the same
process, alternating, so drift in the machine hits both alike:

- bare: ``model.encode(texts, batch_size=32, normalize_embeddings=True)`` over all chunks;
- ours: ``Index.update`` on a fresh copy of the corpus with an empty cache: chunking, the
  embedding cache, batching, and the Chroma writes included.

Then the query latency of each search mode (one query at a time, as generation asks them) and
the size of ``<corpus>/index/`` on disk, the Chroma store and the embedding cache apart.

    python benchmarks/index_speed.py [--corpus DIR] [--rounds 1] [--queries 200]

Without ``--corpus`` the DRF fixture is crawled into a temporary folder first. The target for
our overhead over the bare encode is at most 15%.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from index_common import SEARCH_INDEX, drf_corpus

from groundset.corpus import Corpus
from groundset.ground import (
    SEARCH_MODES,
    Embedder,
    Index,
    SentenceTransformerEmbedder,
    chunk_document,
)
from groundset.ground.evaluate import mkdocs_queries


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of calling ``fn``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def folder_mb(path: Path, *, skip: str = "") -> float:
    files = [p for p in path.rglob("*") if p.is_file() and (not skip or p.name != skip)]
    return sum(p.stat().st_size for p in files) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="a corpus to index (default: crawl DRF)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        corpus = args.corpus or drf_corpus(work / "corpus")
        embedder = SentenceTransformerEmbedder()
        with Corpus(corpus) as pages:
            docs = list(pages.documents())
        texts = [c.text for d in docs for c in chunk_document(d, embedder.count_tokens)]
        print(f"{len(docs)} pages, {len(texts)} chunks; model loaded, timing...", flush=True)
        bare: list[tuple[float, float]] = []
        ours: list[tuple[float, float]] = []
        for n in range(args.rounds):
            bare.append(timed(lambda: embedder.model.encode(texts, normalize_embeddings=True)))
            copy = work / f"round-{n}"
            shutil.copytree(corpus, copy, ignore=shutil.ignore_patterns("index"))
            with Index.open(copy, embedder=embedder) as index, Corpus(copy) as pages:
                ours.append(timed(lambda: index.update(pages)))
                again = timed(lambda: index.update(pages))
            print(f"round {n + 1}: bare {bare[-1][0]:.1f} s, ours {ours[-1][0]:.1f} s", flush=True)
        report_speed(len(texts), bare, ours, again)
        report_queries(work / f"round-{args.rounds - 1}", embedder, args.queries)
    finally:
        shutil.rmtree(work)


def report_speed(
    chunks: int,
    bare: list[tuple[float, float]],
    ours: list[tuple[float, float]],
    again: tuple[float, float],
) -> None:
    print(f"\n{'':<28} {'wall s':>8} {'chunks/s':>9} {'CPU s':>8}")
    for name, runs in (("bare SentenceTransformer", bare), ("Index.update", ours)):
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"{name:<28} {wall:>8.1f} {chunks / wall:>9.1f} {cpu:>8.1f}")
    print(f"{'update, nothing changed':<28} {again[0]:>8.2f} {'':>9} {again[1]:>8.2f}")
    wall_overhead = statistics.median(o[0] / b[0] for o, b in zip(ours, bare, strict=True)) - 1
    cpu_overhead = statistics.median(o[1] / b[1] for o, b in zip(ours, bare, strict=True)) - 1
    print(
        f"our overhead: {100 * wall_overhead:+.1f}% wall, {100 * cpu_overhead:+.1f}% CPU"
        " (target: at most +15%)"
    )


def latency(index: Index, query: str, mode: str) -> float:
    start = time.perf_counter()
    index.search(query, k=5, mode=mode)
    return time.perf_counter() - start


def report_queries(corpus: Path, embedder: Embedder, count: int) -> None:
    with Index.open(corpus, embedder=embedder) as index:
        base = "{0.scheme}://{0.netloc}/".format(urlsplit(next(index.chunks()).doc_url))
        queries = [q.query for q in mkdocs_queries(SEARCH_INDEX, base, source="title")][:count]
        build = timed(lambda: index.search(queries[0], mode="lexical"))[0]
        print(f"\nlexical index built on first use in {build:.2f} s; {len(queries)} queries:")
        print(f"{'mode':<8} {'p50 ms':>8} {'p95 ms':>8}")
        for mode in SEARCH_MODES:
            latencies = sorted(1000 * latency(index, q, mode) for q in queries)
            p50 = statistics.median(latencies)
            p95 = latencies[int(0.95 * (len(latencies) - 1))]
            print(f"{mode:<8} {p50:>8.1f} {p95:>8.1f}")
        count_chunks = index.store.count()
    store_mb = folder_mb(corpus / "index", skip="embeddings.sqlite")
    cache_mb = (corpus / "index" / "embeddings.sqlite").stat().st_size / 2**20
    print(
        f"\nindex on disk: Chroma store {store_mb:.1f} MB, embedding cache {cache_mb:.1f} MB"
        f" for {count_chunks} chunks ({1024 * (store_mb + cache_mb) / count_chunks:.1f} KB each)"
    )


if __name__ == "__main__":
    main()
