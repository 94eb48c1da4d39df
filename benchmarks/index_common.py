"""What the index benchmarks share: a DRF corpus to index, crawled once into a folder."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "tests" / "fixtures" / "sites" / "drf" / "v2026-07-31"
SEARCH_INDEX = SITE / "search" / "search_index.json"
QUESTIONS = ROOT / "tests" / "ground" / "drf_questions.json"


def drf_corpus(dest: Path) -> Path:
    """Crawl the DRF fixture (served on 127.0.0.1) into a new corpus at ``dest``."""
    from groundset.crawl import crawl
    from groundset.crawl.settings import CrawlSettings

    if not SITE.is_dir():
        sys.exit(f"missing fixture: {SITE}")
    sys.path.insert(0, str(ROOT / "tests"))
    from sitesrv import SiteServer

    server = SiteServer(SITE)
    try:
        crawl(CrawlSettings(start_urls=[server.url]), dest)
    finally:
        server.close()
    return dest
