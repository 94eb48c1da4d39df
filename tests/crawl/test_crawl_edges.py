"""The crawl stage's limits, politeness, resumption and bad input, over real HTTP."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from groundset.cli import main
from groundset.corpus import Corpus
from groundset.crawl import crawl
from groundset.crawl.settings import CrawlSettings
from groundset.errors import CrawlError

from fixture_paths import fixture_path
from sitesrv import Route, SiteServer

PAGE = (
    "<html lang='en'><head><title>{title}</title></head><body><main><h1>{title}</h1>"
    "<p>{text}</p><p>Serializers allow complex data such as querysets and model instances "
    "to be converted to native Python datatypes that can then be easily rendered into JSON, "
    "XML or other content types.</p></main></body></html>"
)


def api_guide_pages() -> int:
    return len(list(fixture_path("sites", "drf", "v2026-07-31", "api-guide").glob("*/index.html")))


def test_robots_txt_keeps_the_crawl_out_of_a_section(drf_site: SiteServer, tmp_path: Path) -> None:
    drf_site.routes["/robots.txt"] = Route(
        body=b"User-agent: *\nDisallow: /api-guide/\n", headers={"Content-Type": "text/plain"}
    )
    report = crawl(CrawlSettings(start_urls=[drf_site.url]), tmp_path / "corpus")
    with Corpus(tmp_path / "corpus") as corpus:
        urls = [p.url for p in corpus.pages("active")]
    assert urls and not [u for u in urls if "/api-guide/" in u]
    assert not [r for r in drf_site.log if r.path.startswith("/api-guide/")]
    # Every API-guide page, and the two that some pages link to without a trailing slash.
    assert report.skipped["robots"] == api_guide_pages() + 2
    assert report.stored == 70 - api_guide_pages()


def test_max_pages_holds_and_marks_nothing_removed(drf_site: SiteServer, tmp_path: Path) -> None:
    corpus_dir = tmp_path / "corpus"
    crawl(CrawlSettings(start_urls=[drf_site.url]), corpus_dir)
    report = crawl(CrawlSettings(start_urls=[drf_site.url], max_pages=10), corpus_dir)
    assert report.stored == 10
    assert report.skipped["max_pages"] > 0
    assert report.state == "finished" and report.removed == 0
    with Corpus(corpus_dir) as corpus:
        assert len(corpus.pages("active")) == 70


def test_max_depth_holds(drf_site: SiteServer, tmp_path: Path) -> None:
    settings = CrawlSettings(start_urls=[drf_site.url], max_depth=0, use_sitemaps=False)
    report = crawl(settings, tmp_path / "corpus")
    assert report.stored == 1
    assert report.skipped["too_deep"] > 0


def test_a_page_removed_from_the_site_is_marked_removed(
    drf_site: SiteServer, tmp_path: Path
) -> None:
    corpus_dir = tmp_path / "corpus"
    crawl(CrawlSettings(start_urls=[drf_site.url]), corpus_dir)
    drf_site.routes["/api-guide/caching/"] = Route(status=404, body=b"gone")
    report = crawl(CrawlSettings(start_urls=[drf_site.url]), corpus_dir)
    url = drf_site.url + "api-guide/caching/"
    with Corpus(corpus_dir) as corpus:
        row = corpus.page(url)
        assert row is not None and row.status == "removed"
        assert corpus.doc_path(row.slug or "").exists(), "removed, not silently deleted"
    # Gone, as the server says: a removal, not a failure.
    assert report.removed == 1 and report.removed_urls == [url] and report.failed == {}


def test_damaged_doc_file_is_refetched(drf_site: SiteServer, tmp_path: Path) -> None:
    corpus_dir = tmp_path / "corpus"
    crawl(CrawlSettings(start_urls=[drf_site.url]), corpus_dir)
    url = drf_site.url + "api-guide/fields/"
    with Corpus(corpus_dir) as corpus:
        path = corpus.doc_path(corpus.page(url).slug)  # type: ignore[union-attr]
    good = path.read_text()
    path.write_text(good[: len(good) // 2])  # a half-written file
    drf_site.clear_log()
    report = crawl(CrawlSettings(start_urls=[drf_site.url]), corpus_dir)
    (fetch,) = drf_site.requests_for("/api-guide/fields/")
    assert fetch.status == 200 and "if-none-match" not in fetch.headers
    assert report.repaired == 1 and report.unchanged == 70
    assert path.read_text().split("\n---\n", 1)[1] == good.split("\n---\n", 1)[1]


def test_same_content_under_two_urls_is_stored_once(drf_site: SiteServer, tmp_path: Path) -> None:
    fields = (drf_site.root / "api-guide" / "fields" / "index.html").read_bytes()
    drf_site.routes["/api-guide/fields-copy/"] = Route(
        body=fields, headers={"Content-Type": "text/html"}
    )
    drf_site.routes["/old/fields/"] = Route(status=301, headers={"Location": "/api-guide/fields/"})
    starts = [drf_site.url, drf_site.url + "api-guide/fields-copy/", drf_site.url + "old/fields/"]
    report = crawl(CrawlSettings(start_urls=starts), tmp_path / "corpus")
    assert report.stored == 70
    with Corpus(tmp_path / "corpus") as corpus:
        aliases = corpus.aliases()
    assert aliases[drf_site.url + "old/fields/"] == drf_site.url + "api-guide/fields/"
    assert {drf_site.url + "api-guide/fields-copy/", drf_site.url + "api-guide/fields/"} & set(
        aliases
    )


def _crawl_cli(url: str, corpus: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "groundset", "crawl", url, "--corpus", str(corpus)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A run started as a shell's background job inherits Ctrl-C ignored: hear it again.
        preexec_fn=_hear_ctrl_c,
    )


def _hear_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stored(corpus: Path) -> set[str]:
    if not (corpus / "corpus.sqlite").exists():
        return set()
    try:
        with sqlite3.connect(corpus / "corpus.sqlite") as db:
            rows = db.execute("SELECT url FROM pages WHERE status = 'active'").fetchall()
    except sqlite3.OperationalError:
        return set()
    return {r[0] for r in rows}


def _wait_for_pages(corpus: Path, n: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while len(_stored(corpus)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the crawl did not get going"
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_crawl_resumes_without_refetching(tmp_path: Path, sig: signal.Signals) -> None:
    site = fixture_path("sites", "drf", "v2026-07-31")
    server = SiteServer(site, delay_s=0.05)
    corpus = tmp_path / "corpus"
    try:
        proc = _crawl_cli(server.url, corpus)
        _wait_for_pages(corpus, 15, proc)
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
        if sig == signal.SIGINT:
            assert proc.returncode == 130
            assert "interrupted" in err and "Traceback" not in err
        before = _stored(corpus)
        assert 15 <= len(before) < 70
        server.clear_log()
        report = crawl(CrawlSettings(start_urls=[server.url]), corpus)
        refetched = {server.url + r.path.lstrip("/") for r in server.log} & before
        assert not refetched, f"pages fetched again after resuming: {sorted(refetched)[:3]}"
        assert report.run_id == 1, "the interrupted run was resumed, not restarted"
        assert report.new == 70 and report.stored == 70
        assert _stored(corpus) == _stored(corpus) | before and len(_stored(corpus)) == 70
    finally:
        server.close()


# -- bad input: one clear line, the right exit status, never a traceback ----------------------


def _run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_malformed_url_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = _run_cli(capsys, "crawl", "htp:/docs", "--corpus", str(tmp_path / "c"))
    assert code == 2
    assert "malformed start URL" in err and "absolute http(s) URL" in err


def test_unreachable_host(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    server = SiteServer(tmp_path)
    url = server.url
    server.close()  # nothing listens there any more
    code, err = _run_cli(capsys, "crawl", url, "--corpus", str(tmp_path / "c"))
    assert code == 1
    assert "connection_refused" in err and "check the host name" in err


@pytest.fixture
def bare_site(tmp_path: Path) -> SiteServer:
    (tmp_path / "www").mkdir()
    server = SiteServer(tmp_path / "www")
    yield server  # type: ignore[misc]
    server.close()


def test_non_docs_start_page(bare_site: SiteServer, tmp_path: Path) -> None:
    bare_site.routes["/"] = Route(body=b"%PDF-1.4 ...", headers={"Content-Type": "application/pdf"})
    with pytest.raises(CrawlError, match="non_html 1"):
        crawl(CrawlSettings(start_urls=[bare_site.url]), tmp_path / "c")


def test_empty_site(bare_site: SiteServer, tmp_path: Path) -> None:
    bare_site.routes["/"] = Route(
        body=b"<html><body></body></html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(CrawlError, match="no_main_content"):
        crawl(CrawlSettings(start_urls=[bare_site.url]), tmp_path / "c")


def test_non_utf8_page_is_decoded(bare_site: SiteServer, tmp_path: Path) -> None:
    html = PAGE.format(title="Café", text="Le café déjà servi à la française, naïvement.")
    bare_site.routes["/"] = Route(
        body=html.encode("iso-8859-1"), headers={"Content-Type": "text/html; charset=iso-8859-1"}
    )
    report = crawl(CrawlSettings(start_urls=[bare_site.url]), tmp_path / "c")
    assert report.new == 1
    with Corpus(tmp_path / "c") as corpus:
        (doc,) = corpus.documents()
    assert "Le café déjà servi à la française" in doc.markdown


def test_redirect_loop_is_a_counted_failure(bare_site: SiteServer, tmp_path: Path) -> None:
    html = PAGE.format(title="Home", text='See <a href="/loop/">the loop</a>.')
    bare_site.routes["/"] = Route(body=html.encode(), headers={"Content-Type": "text/html"})
    bare_site.routes["/loop/"] = Route(status=302, headers={"Location": "/loop2/"})
    bare_site.routes["/loop2/"] = Route(status=302, headers={"Location": "/loop/"})
    report = crawl(CrawlSettings(start_urls=[bare_site.url]), tmp_path / "c")
    assert report.new == 1
    assert report.failed == {"redirect_loop": 1}


def test_redirect_off_site_is_not_followed(bare_site: SiteServer, tmp_path: Path) -> None:
    html = PAGE.format(title="Home", text='See <a href="/away/">elsewhere</a>.')
    bare_site.routes["/"] = Route(body=html.encode(), headers={"Content-Type": "text/html"})
    bare_site.routes["/away/"] = Route(
        status=301, headers={"Location": "http://127.0.0.2:9/elsewhere/"}
    )
    report = crawl(CrawlSettings(start_urls=[bare_site.url]), tmp_path / "c")
    assert report.skipped.get("offsite") == 1
    assert report.failed == {}


def test_download_size_limit_and_non_html_links(bare_site: SiteServer, tmp_path: Path) -> None:
    html = PAGE.format(title="Home", text='<a href="/big/">big</a> <a href="/manual.pdf">pdf</a>')
    bare_site.routes["/"] = Route(body=html.encode(), headers={"Content-Type": "text/html"})
    bare_site.routes["/big/"] = Route(
        body=b"<html><body><p>" + b"x " * 4000 + b"</p></body></html>",
        headers={"Content-Type": "text/html"},
    )
    settings = CrawlSettings(start_urls=[bare_site.url], max_download_bytes=4096)
    report = crawl(settings, tmp_path / "c")
    assert report.skipped == {"too_large": 1, "non_html": 1}
    assert not bare_site.requests_for("/manual.pdf"), "a PDF link is skipped without a request"


def test_robots_sitemap_lines_discover_unlinked_pages(
    bare_site: SiteServer, tmp_path: Path
) -> None:
    import gzip

    home = PAGE.format(title="Home", text="Nothing links to the hidden page.")
    hidden = PAGE.format(title="Hidden", text="Only the sitemap names this page.")
    sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{bare_site.url}hidden/</loc></url></urlset>"
    )
    html = {"Content-Type": "text/html"}
    bare_site.routes["/"] = Route(body=home.encode(), headers=html)
    bare_site.routes["/hidden/"] = Route(body=hidden.encode(), headers=html)
    bare_site.routes["/robots.txt"] = Route(
        body=f"User-agent: *\nAllow: /\nSitemap: {bare_site.url}maps/pages.xml.gz\n".encode(),
        headers={"Content-Type": "text/plain"},
    )
    bare_site.routes["/maps/pages.xml.gz"] = Route(
        body=gzip.compress(sitemap.encode()), headers={"Content-Type": "application/gzip"}
    )
    report = crawl(CrawlSettings(start_urls=[bare_site.url]), tmp_path / "c")
    assert report.new == 2
    with Corpus(tmp_path / "c") as corpus:
        assert corpus.page(bare_site.url + "hidden/") is not None


def test_server_errors_are_retried_then_counted(bare_site: SiteServer, tmp_path: Path) -> None:
    html = PAGE.format(title="Home", text='See <a href="/flaky/">the flaky page</a>.')
    bare_site.routes["/"] = Route(body=html.encode(), headers={"Content-Type": "text/html"})
    bare_site.routes["/flaky/"] = Route(status=503, body=b"busy")
    report = crawl(CrawlSettings(start_urls=[bare_site.url], retries=2), tmp_path / "c")
    assert report.failed == {"http_503": 1}
    assert len(bare_site.requests_for("/flaky/")) == 3  # the first try and two retries


def test_pages_whose_slugs_collide_each_keep_their_markdown(
    bare_site: SiteServer, tmp_path: Path
) -> None:
    """``/a/b/`` and ``/a--b/`` share a slug; the one crawled later falls back to the slug with
    its URL's hash, which a third page may be named: all three keep their own file."""
    later = f"{bare_site.url}a--b/"
    lookalike = f"a--b-{hashlib.sha256(later.encode()).hexdigest()[:10]}/"

    def publish(paths: list[str]) -> None:
        for path in paths:
            page = PAGE.format(title=f"Page {path}", text=f"This is the page at {path}.")
            (bare_site.root / path).mkdir(parents=True, exist_ok=True)
            (bare_site.root / path / "index.html").write_text(page)
        links = " ".join(f'<a href="/{path}">{path}</a>' for path in paths)
        (bare_site.root / "index.html").write_text(PAGE.format(title="Home", text=links))

    settings = CrawlSettings(start_urls=[bare_site.url])
    publish([lookalike, "a/b/"])
    assert crawl(settings, tmp_path / "c").new == 3
    publish([lookalike, "a/b/", "a--b/"])
    assert crawl(settings, tmp_path / "c").new == 1
    with Corpus(tmp_path / "c") as corpus:
        texts = {doc.url: doc.markdown for doc in corpus.documents()}
    for path in (lookalike, "a/b/", "a--b/"):
        assert f"This is the page at {path}." in texts[bare_site.url + path]
    again = crawl(settings, tmp_path / "c")
    assert (again.new, again.unchanged, again.failed) == (0, 4, {})
