"""Crawling real deploys of other generators over HTTP: docs versions and index pages.

Print views are stored and left out of the index: ``tests/ground/test_duplicates.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundset.corpus import Corpus
from groundset.crawl import CrawlReport, crawl
from groundset.crawl.settings import CrawlSettings

from fixture_paths import fixture_path
from sitesrv import Route, SiteServer


@pytest.fixture(scope="module")
def ts_jest() -> Iterator[SiteServer]:
    # Docusaurus 3 built with extensionless links: the host answers /a/b with a/b.html.
    server = SiteServer(fixture_path("sites", "ts-jest"), html_suffix=True)
    yield server
    server.close()


def _crawl(url: str, corpus: Path, *more: str, **settings: object) -> tuple[CrawlReport, list[str]]:
    report = crawl(CrawlSettings(start_urls=[url, *more], **settings), corpus)  # type: ignore[arg-type]
    with Corpus(corpus) as opened:
        return report, [page.url for page in opened.pages("active")]


def test_only_the_current_docs_version_is_kept_by_default(
    ts_jest: SiteServer, tmp_path: Path
) -> None:
    report, urls = _crawl(f"{ts_jest.url}ts-jest/", tmp_path / "corpus")
    old = ("/docs/next/", "/docs/29.3/", "/docs/29.2/", "/docs/29.0/", "/docs/28.0/")
    assert [u for u in urls if any(v in u for v in old)] == []
    # The current version (29.4, under /docs/) is there, page by page.
    assert f"{ts_jest.url}ts-jest/docs/babel7-or-ts" in urls
    assert sum("/ts-jest/docs/" in u for u in urls) >= 20
    # Five other versions of about 20 pages each were set aside, and said so.
    assert report.skipped["old_version"] >= 90
    assert "old_version" in "\n".join(report.lines())
    # The page that lists the versions is an index of them, not content.
    assert f"{ts_jest.url}ts-jest/versions" not in urls
    assert report.skipped["site_index"] >= 1


def test_all_versions_when_asked(ts_jest: SiteServer, tmp_path: Path) -> None:
    report, urls = _crawl(f"{ts_jest.url}ts-jest/", tmp_path / "corpus", versions="all")
    assert "old_version" not in report.skipped
    assert f"{ts_jest.url}ts-jest/docs/29.3/babel7-or-ts" in urls
    assert len(urls) >= 140


def test_sphinx_index_and_search_pages_are_not_stored(tmp_path: Path) -> None:
    server = SiteServer(fixture_path("sites", "mapclassify"))
    try:
        # Its pages link them only by <link rel=index|search>: ask for them by name.
        index, search = f"{server.url}genindex.html", f"{server.url}search.html"
        report, urls = _crawl(server.url, tmp_path / "corpus", index, search)
    finally:
        server.close()
    assert index not in urls and search not in urls
    assert report.skipped["site_index"] >= 2
    # The API pages the index links to are reached all the same.
    assert sum("/generated/" in u for u in urls) >= 20


def test_a_meta_refresh_stub_is_followed_as_a_redirect(tmp_path: Path) -> None:
    # Docusaurus 2 leaves /docs/<page>/ as stubs: <meta http-equiv="refresh"> plus a script.
    server = SiteServer(fixture_path("sites", "immer"))
    try:
        stub = f"{server.url}immer/docs/produce/"
        report, urls = _crawl(stub, tmp_path / "corpus", path_prefixes=["/immer/"])
    finally:
        server.close()
    assert stub not in urls and not [u for u in urls if "/immer/docs/" in u]
    assert f"{server.url}immer/produce/" in urls
    with Corpus(tmp_path / "corpus") as corpus:
        assert corpus.aliases("redirect")[stub] == f"{server.url}immer/produce/"
    assert report.stored >= 40


@pytest.fixture
def read_the_docs(tmp_path: Path) -> Iterator[SiteServer]:
    """The Sphinx fixture laid out as Read the Docs serves a project: the root redirects to
    ``/en/stable/``, an old release sits beside it under ``/en/2.4.2/``, and the sitemap lists
    both (as Read the Docs' does), with pages of the old one."""
    root = tmp_path / "rtd"
    for version in ("stable", "2.4.2"):
        shutil.copytree(fixture_path("sites", "mapclassify"), root / "en" / version)
    old = [f"en/2.4.2/{page}" for page in ("", "api.html", "tutorial.html", "installation.html")]
    locs = "".join(f"<url><loc>{{base}}{path}</loc></url>" for path in ["en/stable/", *old])
    server = SiteServer(root)
    sitemap = '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
    sitemap += f'schemas/sitemap/0.9">{locs}</urlset>'
    server.routes["/sitemap.xml"] = Route(
        body=sitemap.replace("{base}", server.url).encode(),
        headers={"Content-Type": "application/xml"},
    )
    server.routes["/"] = Route(status=302, headers={"Location": "/en/stable/"})
    yield server
    server.close()


def test_read_the_docs_paths_keep_the_version_the_root_redirects_to(
    read_the_docs: SiteServer, tmp_path: Path
) -> None:
    report, urls = _crawl(read_the_docs.url, tmp_path / "corpus")
    current = [u for u in urls if u.startswith(f"{read_the_docs.url}en/stable/")]
    assert len(current) == len(urls) >= 30
    assert f"{read_the_docs.url}en/stable/generated/mapclassify.Quantiles.html" in urls
    # What the sitemap listed of the old release is fetched only to be set aside, and its
    # links are not followed.
    assert 1 <= report.skipped["old_version"] <= 4
    fetched_old = {r.path for r in read_the_docs.log if r.path.startswith("/en/2.4.2/")}
    assert fetched_old <= {"/en/2.4.2/", "/en/2.4.2/api.html", "/en/2.4.2/tutorial.html",
                           "/en/2.4.2/installation.html"}  # fmt: skip


def test_a_start_url_under_an_old_version_keeps_that_version(
    read_the_docs: SiteServer, tmp_path: Path
) -> None:
    start = f"{read_the_docs.url}en/2.4.2/"
    report, urls = _crawl(start, tmp_path / "corpus", use_sitemaps=False)
    assert "old_version" not in report.skipped
    assert len(urls) >= 30 and all(u.startswith(start) for u in urls)


def test_every_read_the_docs_version_when_asked(read_the_docs: SiteServer, tmp_path: Path) -> None:
    report, urls = _crawl(read_the_docs.url, tmp_path / "corpus", versions="all")
    assert "old_version" not in report.skipped
    assert f"{read_the_docs.url}en/2.4.2/generated/mapclassify.Quantiles.html" in urls
    # The two releases here are byte for byte the same, and a page whose content another URL
    # already holds is stored once: between them they hold every page, each holds many.
    assert (
        sum("/en/stable/" in u for u in urls) >= 20 and sum("/en/2.4.2/" in u for u in urls) >= 20
    )
