"""The crawl stage: documentation sites into a clean, versioned Markdown corpus.

``crawl(settings, corpus_dir)`` walks a site with Scrapy, extracts each page's main content to
Markdown (:mod:`groundset.crawl.extract`), and records it in the corpus (:mod:`groundset.corpus`)
with what changed since the last crawl.
"""

from __future__ import annotations

from .ledger import CrawlReport
from .runner import crawl
from .scope import Scope, normalize_url

__all__ = ["CrawlReport", "Scope", "crawl", "normalize_url"]
