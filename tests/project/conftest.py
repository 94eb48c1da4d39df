"""Project fixtures: the DRF fixture site served on 127.0.0.1 and project files that crawl it.

A project crawls eight real DRF pages, six of them the pages the 2026-08-18 deploy changed, so a
refresh has changed sections to act on; the corpus directory comes with the embedding cache of
the session's indexed DRF corpus, so indexing embeds only what that cache lacks.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixture_paths import copy_site
from sitesrv import SiteServer

#: The pages the new deploy changed (CHANGES.json's visible_text_changed), and two it did not.
CHANGED = (
    "api-guide/fields/",
    "api-guide/filtering/",
    "api-guide/generic-views/",
    "api-guide/renderers/",
    "community/release-notes/",
    "topics/browsable-api/",
)
UNCHANGED = ("api-guide/caching/", "api-guide/throttling/")


@pytest.fixture
def drf_server(tmp_path: Path) -> Iterator[SiteServer]:
    """The old DRF deploy, served; set ``.root`` to ``new_deploy(tmp_path)`` to switch it."""
    server = SiteServer(copy_site("v2026-07-31", tmp_path / "site-old"))
    yield server
    server.close()


def new_deploy(tmp_path: Path) -> Path:
    """A copy of the new DRF deploy, to serve in place of the old one."""
    return copy_site("v2026-08-18", tmp_path / "site-new")


@pytest.fixture
def make_project(indexed_old: Path) -> Callable[..., Path]:
    """Write a project file over the served pages; returns its path.

    Keyword arguments are TOML text of each table (``generate='model = "x"'``) or a quota per
    task (``tasks='qa = 10'``).
    """

    def make(
        folder: Path,
        url: str,
        *,
        tasks: str = "qa = 20",
        generate: str = "",
        budget: str = "",
        export: str = 'formats = ["openai", "parquet"]',
        verify: str = "",
    ) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        urls = ", ".join(f'"{url}{page}"' for page in (*CHANGED, *UNCHANGED))
        project = folder / "drf.toml"
        project.write_text(
            f'name = "drf"\nlanguage = "en"\n\n[sources]\nurls = [{urls}]\n\n'
            "[crawl]\nfollow_links = false\nuse_sitemaps = false\n\n"
            f"[tasks]\n{tasks}\n\n[generate]\n{generate}\n\n[budget]\n{budget}\n\n"
            f"[export]\n{export}\n" + (f"\n[verify]\n{verify}\n" if verify else ""),
            encoding="utf-8",
        )
        index = folder / "drf" / "corpus" / "index"
        index.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(indexed_old / "index" / "embeddings.sqlite", index / "embeddings.sqlite")
        return project

    return make
