"""A site that tries to lead the crawl out of its scope, over real HTTP on 127.0.0.1.

Another port stands in for another host, and a bare TCP listener for anything reached by
another scheme (an ``ftp://`` sitemap). Each trap is one a real site can set: a redirect to
another host's ``/robots.txt``, robots.txt ``Sitemap:`` lines naming another host, a local file
and an FTP server, a sitemap index pointing at another host, a gzipped sitemap that unpacks to
far more than the download limit, a redirect to ``javascript:``, a link of 5,000 characters.
The crawl must request nothing outside its scope, store nothing from outside it, and count
what it refused.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundset.corpus import Corpus
from groundset.crawl import crawl
from groundset.crawl.settings import CrawlSettings

from sitesrv import Route, SiteServer

PAGE = (
    "<html lang='en'><head><title>{title}</title></head><body><main><h1>{title}</h1>"
    "<p>{text}</p><p>Serializers allow complex data such as querysets and model instances "
    "to be converted to native Python datatypes that can then be rendered into JSON.</p>"
    "{links}</main></body></html>"
)
HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml"}


def page(title: str, *links: str) -> Route:
    anchors = "".join(f'<p><a href="{link}">{i}</a></p>' for i, link in enumerate(links))
    text = f"The {title} page of the docs."
    return Route(body=PAGE.format(title=title, text=text, links=anchors).encode(), headers=HTML)


def urlset(*urls: str) -> bytes:
    locs = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{locs}</urlset>"
    ).encode()


class Canary:
    """A TCP port that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[SiteServer, SiteServer, Canary]]:
    (tmp_path / "site").mkdir()
    (tmp_path / "other").mkdir()
    site, other, canary = SiteServer(tmp_path / "site"), SiteServer(tmp_path / "other"), Canary()
    yield site, other, canary
    site.close()
    other.close()
    canary.close()


def test_nothing_outside_the_scope_is_requested_or_stored(
    servers: tuple[SiteServer, SiteServer, Canary], tmp_path: Path
) -> None:
    site, other, canary = servers
    there = other.url.rstrip("/")
    here = site.url.rstrip("/")
    # A page listed only in a sitemap on this machine's disk: reading it would be reading a
    # local file on a site's say-so.
    local = tmp_path / "local-sitemap.xml"
    local.write_bytes(urlset(f"{here}/docs/secret/"))
    site.routes["/robots.txt"] = Route(
        body=(
            f"User-agent: *\nAllow: /\nSitemap: {there}/sitemap.xml\n"
            f"Sitemap: file://{local}\nSitemap: ftp://127.0.0.1:{canary.port}/sitemap.xml\n"
        ).encode(),
        headers={"Content-Type": "text/plain"},
    )
    site.routes["/sitemap.xml"] = Route(
        body=(
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
            f'sitemap/0.9"><sitemap><loc>{there}/index-sitemap.xml</loc></sitemap>'
            "</sitemapindex>"
        ).encode(),
        headers=XML,
    )
    # 60 MB of zeros in 60 KB of gzip, served without Content-Encoding (so the download limit,
    # which counts the bytes on the wire, lets it in).
    site.routes["/docs/sitemap.xml"] = Route(
        body=gzip.compress(b"\0" * (60 * 1024 * 1024)), headers=XML
    )
    long_link = "/docs/" + "x" * 5000 + "/"
    site.routes["/docs/"] = page(
        "Home", "/docs/guide/", "/docs/to-robots/", "/docs/to-other/", "/docs/to-js/", long_link
    )
    site.routes["/docs/guide/"] = page("Guide", "/docs/")
    site.routes["/docs/secret/"] = page("Secret")
    site.routes["/docs/to-robots/"] = Route(status=302, headers={"Location": f"{there}/robots.txt"})
    site.routes["/docs/to-other/"] = Route(status=302, headers={"Location": f"{there}/docs/page/"})
    site.routes["/docs/to-js/"] = Route(status=302, headers={"Location": "javascript:alert(1)"})
    other.routes["/robots.txt"] = page("Not robots: another host's page, served as HTML")

    settings = CrawlSettings(
        start_urls=[f"{here}/docs/"], max_download_bytes=10 * 1024 * 1024, retries=0
    )
    report = crawl(settings, tmp_path / "corpus")

    assert other.log == [], [r.path for r in other.log]
    assert canary.connections == 0
    assert not site.requests_for("/docs/secret/")
    assert not [r for r in site.log if len(r.path) > 1000]
    with Corpus(tmp_path / "corpus") as corpus:
        stored = sorted(p.url for p in corpus.pages("active"))
    assert stored == [f"{here}/docs/", f"{here}/docs/guide/"]
    # Refused, and counted: the three redirects and the other host's sitemaps leave the host,
    # the file and FTP sitemaps are not http(s), the gzip bomb is too large, and the long link
    # is too long.
    assert report.skipped.get("url_too_long") == 1
    assert report.skipped.get("too_large") == 1
    assert report.skipped.get("offsite", 0) >= 4
    assert report.skipped.get("bad_url", 0) >= 3
    assert report.failed == {}
