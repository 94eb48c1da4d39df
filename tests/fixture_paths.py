"""Paths to the real material of tests/fixtures, for tests and their fixtures.

Kept out of ``conftest.py`` so tests can import it by a name no other folder's conftest shares.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from groundset.crawl import CrawlReport

from sitesrv import SiteServer

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DRF = FIXTURES / "sites" / "drf"


def fixture_path(*parts: str) -> Path:
    """A path under tests/fixtures; fails the test, naming the path, if it is missing."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"missing test fixture: {path} (restore it: git checkout tests/fixtures)")
    return path


def copy_site(deploy: str, dest: Path) -> Path:
    """Copy a DRF deploy so its files get fresh mtimes, as a new deploy on a real host does."""
    shutil.copytree(fixture_path("sites", "drf", deploy), dest, copy_function=shutil.copy)
    return dest


@dataclass
class DrfCrawls:
    """The DRF fixture crawled twice on one address: the old deploy, then the new one."""

    server: SiteServer
    old_corpus: Path
    new_corpus: Path
    old_report: CrawlReport
    new_report: CrawlReport
    new_requests: list  # the server log of the second crawl
