"""Crawl speed and peak memory: groundset's crawl against a bare Scrapy spider, in one run.

Both crawl the DRF fixture (70 pages) served on 127.0.0.1, with the same Scrapy settings
(concurrency, AutoThrottle, robots.txt), each in a fresh process so its peak RSS is its own.
The bare spider follows links on the host and calls ``trafilatura.extract`` on each page, which
is the least a crawler to Markdown does; groundset adds sitemaps, scope checks, docs-faithful
extraction, change detection and the corpus manifest.

    python benchmarks/crawl_speed.py [--rounds 5]

Prints pages/s and peak RSS for each, and our overhead in time (the target is at most 25%).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "tests" / "fixtures" / "sites" / "drf" / "v2026-07-31"


def bare_spider(url: str) -> dict[str, float]:
    """The baseline: a plain Scrapy spider calling trafilatura.extract on every page."""
    from urllib.parse import urlsplit

    import scrapy
    import trafilatura
    from scrapy.crawler import CrawlerProcess

    from groundset.crawl.runner import scrapy_settings
    from groundset.crawl.settings import CrawlSettings

    host = urlsplit(url).netloc
    pages = []

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self):  # type: ignore[no-untyped-def]
            yield scrapy.Request(url, callback=self.parse)

        def parse(self, response):  # type: ignore[no-untyped-def]
            md = trafilatura.extract(response.text, output_format="markdown", include_tables=True)
            pages.append(len(md or ""))
            for href in response.css("a::attr(href)").getall():
                target = response.urljoin(href).split("#")[0]
                if urlsplit(target).netloc == host and not target.endswith((".png", ".ico")):
                    yield scrapy.Request(target, callback=self.parse)

    settings = {
        k: v
        for k, v in scrapy_settings(CrawlSettings(start_urls=[url])).items()
        if k not in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "DUPEFILTER_CLASS")
    }
    start = time.perf_counter()
    process = CrawlerProcess(settings)
    process.crawl(Bare)
    process.start()
    return {"seconds": time.perf_counter() - start, "pages": len(pages)}


def groundset_crawl(url: str) -> dict[str, float]:
    """groundset's crawl into a fresh corpus."""
    from groundset.crawl import crawl
    from groundset.crawl.settings import CrawlSettings

    corpus = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    try:
        start = time.perf_counter()
        report = crawl(CrawlSettings(start_urls=[url]), corpus)
        return {"seconds": time.perf_counter() - start, "pages": report.stored}
    finally:
        shutil.rmtree(corpus)


def _child(kind: str, url: str) -> None:
    result = bare_spider(url) if kind == "bare" else groundset_crawl(url)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _measure(kind: str, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if not SITE.is_dir():
        sys.exit(f"missing fixture: {SITE}")
    sys.path.insert(0, str(ROOT / "tests"))
    from sitesrv import SiteServer

    server = SiteServer(SITE)
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "groundset": []}
    try:
        for _ in range(args.rounds):  # alternate, so drift in the machine hits both alike
            for kind in runs:
                runs[kind].append(_measure(kind, server.url))
    finally:
        server.close()
    rows = {}
    for kind, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        pages = results[0]["pages"]
        rows[kind] = {
            "pages": pages,
            "median_s": seconds,
            "pages_per_s": pages / seconds,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        }
    print(f"{'crawler':<10} {'pages':>5} {'median s':>9} {'pages/s':>8} {'peak RSS MB':>12}")
    for kind, row in rows.items():
        print(
            f"{kind:<10} {row['pages']:>5} {row['median_s']:>9.2f} {row['pages_per_s']:>8.1f}"
            f" {row['peak_rss_mb']:>12.0f}"
        )
    # Per page, since the bare spider may store a different number of pages.
    ours = rows["groundset"]["median_s"] / rows["groundset"]["pages"]
    bare = rows["bare"]["median_s"] / rows["bare"]["pages"]
    print(f"overhead per page: {100 * (ours / bare - 1):+.1f}% (target: at most +25%)")


if __name__ == "__main__":
    main()
