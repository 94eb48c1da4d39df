"""Binary data that a server calls HTML is a failed page (``not_text``), never a stored one.

Over real HTTP on 127.0.0.1, beside real pages in legacy encodings that must still be stored.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundset.corpus import Corpus
from groundset.crawl import crawl
from groundset.crawl.settings import CrawlSettings

from fixture_paths import fixture_path
from sitesrv import Route, SiteServer

JUNK = random.Random(0).randbytes(300_000)
HOME = (
    "<html lang='en'><head><title>Home</title></head><body><main><h1>Home</h1>"
    "<p>Serializers allow complex data such as querysets and model instances to be converted "
    "to native Python datatypes.</p><p><a href='/junk/'>junk</a> <a href='/fr/'>fr</a> "
    "<a href='/zh/'>zh</a></p></main></body></html>"
)
FRENCH = (
    "<html lang='fr'><head><title>Café</title></head><body><main><h1>Café</h1>"
    "<p>Le café déjà servi à la française, naïvement, dans un château où l'on s'écrie « "
    "Qu'importe ! ».</p></main></body></html>"
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SiteServer]:
    (tmp_path / "www").mkdir()
    server = SiteServer(tmp_path / "www")
    chinese = fixture_path("sites", "immer", "immer", "zh-CN", "faq", "index.html").read_text()
    server.routes["/"] = Route(body=HOME.encode(), headers={"Content-Type": "text/html"})
    server.routes["/fr/"] = Route(
        body=FRENCH.encode("windows-1252"),
        headers={"Content-Type": "text/html; charset=windows-1252"},
    )
    server.routes["/zh/"] = Route(
        body=chinese.replace('charset="UTF-8"', 'charset="gb18030"').encode("gb18030"),
        headers={"Content-Type": "text/html; charset=gb18030"},
    )
    yield server
    server.close()


# No charset (Scrapy falls back to ASCII), and the two where random bytes hold the fewest
# unreadable characters: KOI8-R (every byte a character, 11% controls) and UTF-16.
@pytest.mark.parametrize("charset", ["", "; charset=koi8-r", "; charset=utf-16"])
def test_random_bytes_served_as_html_fail_as_not_text(
    site: SiteServer, tmp_path: Path, charset: str
) -> None:
    site.routes["/junk/"] = Route(body=JUNK, headers={"Content-Type": f"text/html{charset}"})
    settings = CrawlSettings(start_urls=[site.url], max_depth=1, use_sitemaps=False)
    report = crawl(settings, tmp_path / "c")
    assert report.failed == {"not_text": 1}
    assert report.new == 3
    with Corpus(tmp_path / "c") as corpus:
        junk = corpus.page(site.url + "junk/")
        texts = {doc.url: doc.markdown for doc in corpus.documents()}
    assert junk is not None and junk.status == "failed" and junk.last_error == "not_text"
    assert set(texts) == {site.url, site.url + "fr/", site.url + "zh/"}
    assert not any("\ufffd" in text for text in texts.values())
    assert "Le café déjà servi à la française" in texts[site.url + "fr/"]
    assert "## Q: Immer 是否使用结构共享？" in texts[site.url + "zh/"]
