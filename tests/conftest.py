"""Shared fixtures: the real material of ../shared/fixtures, served and crawled once a session.

A fixture that cannot be found fails the test with the missing path; it is never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Nothing may download model weights or data at run time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

sys.path.insert(0, str(Path(__file__).parent))

from groundset.config import CrawlSettings
from groundset.crawl import crawl

from fixture_paths import DrfCrawls, copy_site, fixture_path
from sitesrv import SiteServer


@pytest.fixture(scope="session")
def drf_changes() -> dict:
    return json.loads(fixture_path("sites", "drf", "CHANGES.json").read_text())


@pytest.fixture(scope="session")
def drf_crawls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrfCrawls]:
    base = tmp_path_factory.mktemp("drf")
    server = SiteServer(copy_site("v2026-07-31", base / "site-old"))
    settings = CrawlSettings(start_urls=[server.url])
    old_corpus = base / "corpus-old"
    old_report = crawl(settings, old_corpus)
    new_corpus = base / "corpus-new"
    shutil.copytree(old_corpus, new_corpus)
    server.root = copy_site("v2026-08-18", base / "site-new")
    server.clear_log()
    new_report = crawl(settings, new_corpus)
    yield DrfCrawls(server, old_corpus, new_corpus, old_report, new_report, list(server.log))
    server.close()


@pytest.fixture(scope="session")
def drf_corpus_old(drf_crawls: DrfCrawls) -> Path:
    """A corpus crawled from the 2026-07-31 deploy (read-only: copy it before changing it)."""
    return drf_crawls.old_corpus


@pytest.fixture(scope="session")
def drf_corpus_new(drf_crawls: DrfCrawls) -> Path:
    """The same corpus after a recrawl of the 2026-08-18 deploy on the same address."""
    return drf_crawls.new_corpus


@pytest.fixture
def drf_site(tmp_path: Path) -> Iterator[SiteServer]:
    """A private server of the old DRF deploy, for tests that change what it serves."""
    server = SiteServer(copy_site("v2026-07-31", tmp_path / "site"))
    yield server
    server.close()
