"""Retrieval quality: hit@1 and hit@5, by page and by section, per mode.

On the DRF fixture, the same labelled query sets as the retrieval gate
(tests/ground/test_retrieval_quality.py), here in full rather than one section in three:
hand-written questions, section titles, and first sentences of sections, from the site's own
MkDocs search index.

    python benchmarks/retrieval_quality.py [--corpus DIR] [--every 1] [--embedder NAME]

The corpus is indexed first (which embeds everything the first time; an indexed corpus is only
brought up to date). Without ``--corpus`` the DRF fixture is crawled into a temporary folder.

With ``--site immer-zh``, the immer docs in Chinese, with the Chinese questions of
tests/ground/immer_zh_questions.json, indexed once with each embedder to compare: the bundled
all-MiniLM-L6-v2 (English only) and multilingual-e5-small-q4 (the one chosen for them).

    python benchmarks/retrieval_quality.py --site immer-zh
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from index_common import QUESTIONS, ROOT, SEARCH_INDEX, drf_corpus

from groundset.corpus import Corpus
from groundset.ground import DEFAULT_EMBEDDER, MULTILINGUAL_EMBEDDER, SEARCH_MODES, Index
from groundset.ground.evaluate import LabelledQuery, hit_rates, mkdocs_queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="a corpus (default: crawl DRF)")
    parser.add_argument("--every", type=int, default=1, help="keep one section in N")
    parser.add_argument("--site", choices=("drf", "immer-zh"), default="drf")
    parser.add_argument("--embedder", help=f"DRF: the embedder (default {DEFAULT_EMBEDDER})")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    if args.site == "immer-zh":
        try:
            immer_zh(work)
        finally:
            shutil.rmtree(work)
        return
    try:
        corpus = args.corpus or drf_corpus(work / "corpus")
        with Index.open(corpus, embedder=args.embedder) as index, Corpus(corpus) as pages:
            started = time.perf_counter()
            summary = index.update(pages)
            took = time.perf_counter() - started
            print(f"{index.embedder.name}: {summary.added} chunks in {took:.1f} s")
            base = "{0.scheme}://{0.netloc}/".format(urlsplit(next(index.chunks()).doc_url))
            sets = {
                "questions": [
                    LabelledQuery(q["query"], urljoin(base, q["page"]), q["heading"])
                    for q in json.loads(QUESTIONS.read_text())
                ],
                "titles": mkdocs_queries(SEARCH_INDEX, base, source="title", every=args.every),
                "sentences": mkdocs_queries(SEARCH_INDEX, base, source="text", every=args.every),
            }
            print_rates(index, sets)
    finally:
        shutil.rmtree(work)


def print_rates(index: Index, sets: dict[str, list[LabelledQuery]]) -> None:
    columns = ("page@1", "page@5", "sec@1", "sec@5")
    print(f"{'set':<10} {'n':>4} {'mode':<8}" + "".join(f" {c:>7}" for c in columns))
    for name, queries in sets.items():
        for mode in SEARCH_MODES:
            r = hit_rates(
                lambda q, k, mode=mode: [h.chunk for h in index.search(q, k, mode=mode)],
                queries,
            )
            figures = (r.page_at_1, r.page_at_k, r.section_at_1, r.section_at_k)
            print(
                f"{name:<10} {r.queries:>4} {mode:<8}" + "".join(f" {x:>7.3f}" for x in figures),
                flush=True,
            )


def immer_zh(work: Path) -> None:
    """The Chinese immer pages, indexed with each embedder in turn."""
    sys.path.insert(0, str(ROOT / "tests"))
    from groundset.crawl import crawl
    from groundset.crawl.settings import CrawlSettings

    from sitesrv import SiteServer

    server = SiteServer(ROOT / "tests" / "fixtures" / "sites" / "immer")
    try:
        crawl(CrawlSettings(start_urls=[server.url + "immer/zh-CN/"]), work / "crawled")
    finally:
        server.close()
    questions = json.loads((ROOT / "tests" / "ground" / "immer_zh_questions.json").read_text())
    for embedder in (DEFAULT_EMBEDDER, MULTILINGUAL_EMBEDDER):
        corpus = work / embedder
        shutil.copytree(work / "crawled", corpus)
        started = time.perf_counter()
        with Index.open(corpus, embedder=embedder) as index, Corpus(corpus) as pages:
            summary = index.update(pages)
            took = time.perf_counter() - started
            print(f"\n{embedder}: {summary.added} chunks in {took:.1f} s")
            base = next(index.chunks()).doc_url.split("/immer/")[0] + "/immer/"
            queries = [
                LabelledQuery(q["query"], urljoin(base, q["page"]), q["heading"]) for q in questions
            ]
            print_rates(index, {"zh": queries})


if __name__ == "__main__":
    main()
