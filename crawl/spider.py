"""The Scrapy spider that walks a documentation site into the corpus.

Discovery is by links and by sitemaps (``Sitemap:`` lines of robots.txt, and ``sitemap.xml`` at
the site root and under each start prefix). Every URL is normalised and checked against the
:class:`~groundset.crawl.scope.Scope` before it is requested; :class:`ScopeMiddleware` checks
again after redirects, so a redirect cannot lead the crawl off site. Each answer goes to the
:class:`~groundset.crawl.ledger.CrawlLedger`; each URL that is not fetched is counted there by
reason.
"""

from __future__ import annotations

import re
import sqlite3
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    CloseSpider,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import Sitemap
from twisted.internet.defer import CancelledError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from .extract import extract, is_text
from .ledger import CrawlLedger
from .scope import Scope, normalize_url, version_segments

__all__ = ["DocsSpider", "RedirectSchemeMiddleware", "ScopeMiddleware"]

_SITEMAP_LINE = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
# How far a gzipped sitemap may unpack when no download limit is set.
_GUNZIP_LIMIT = 50 * 1024 * 1024


class OutOfScope(IgnoreRequest):
    """A request (usually a redirect target) that left the crawl's scope."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ScopeMiddleware:
    """Downloader middleware: drops requests outside the scope, redirects included."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScopeMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        """One rule for every request, whatever asked for it: only http(s), only the scope.

        Pages (links, redirect targets, sitemap entries) must be in scope. robots.txt and
        sitemaps may be at any path, but only on a host in scope: not on another host that a
        robots.txt, a sitemap index or a redirect names, and never by another scheme (a
        ``file://`` or ``ftp://`` sitemap would read this machine or open a connection).
        """
        try:
            url = normalize_url(request.url)
        except ValueError:
            raise OutOfScope("bad_url") from None
        spider: DocsSpider = self.crawler.spider  # type: ignore[assignment]
        if _is_meta(request):
            if urlsplit(url).netloc not in spider.scope.hosts:
                raise OutOfScope("offsite")
            return
        reason = spider.scope.reason_to_skip(url)
        if reason:
            raise OutOfScope(reason)


class RedirectSchemeMiddleware:
    """Downloader middleware: a redirect to another scheme (``javascript:``, ``file:``) is out of
    scope, counted as ``bad_url``; Scrapy's redirect middleware would fail on some of them."""

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and location:
            target = urljoin(request.url, location.decode("latin-1").strip())
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                raise OutOfScope("bad_url")
        return response


def _is_meta(request: Request) -> bool:
    """Whether a request is for a robots.txt or a sitemap rather than a page.

    Scrapy's robots.txt middleware asks for robots.txt itself, with no mark of ours; a redirect
    to a path ``/robots.txt`` is a page like any other (it carries ``redirect_urls``).
    """
    if request.meta.get("groundset_exempt"):
        return True
    return urlsplit(request.url).path == "/robots.txt" and "redirect_urls" not in request.meta


class DocsSpider(scrapy.Spider):
    """Crawls the pages in scope into the corpus through a ledger.

    Args:
        start_urls: normalised start URLs.
        scope: what the crawl may visit.
        ledger: where the results go.
        max_pages: stop scheduling pages after this many (resumed pages included).
        follow_links: follow ``<a href>`` links.
        use_sitemaps: read robots.txt ``Sitemap:`` lines and ``sitemap.xml``.
        all_versions: store the pages of every docs version, not only the current one.
        on_page: called with ``(url, outcome)`` for every page handled.
    """

    name = "groundset"

    def __init__(
        self,
        *,
        start_urls: list[str],
        scope: Scope,
        ledger: CrawlLedger,
        max_pages: int | None = None,
        follow_links: bool = True,
        use_sitemaps: bool = True,
        all_versions: bool = False,
        on_page: Callable[[str, str], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.all_versions = all_versions
        self.start_urls = start_urls
        self.scope = scope
        self.ledger = ledger
        self.max_pages = max_pages
        self.follow_links = follow_links
        self.use_sitemaps = use_sitemaps
        self.on_page = on_page
        self.limited = False
        self.start_failures: set[str] = set()
        # The first write to the corpus that failed (a full or read-only disk): it stops the
        # crawl, and the runner raises it once the spider has closed.
        self.storage_failure: OSError | sqlite3.Error | None = None
        self._seen: set[str] = set()
        self._scheduled = 0
        # Redirects seen by earlier runs: their targets are asked for directly, with their
        # validators, instead of through a redirect that would drop them.
        self._redirects = ledger.corpus.aliases("redirect")
        # The docs versions the start URLs are under (``/en/5.1/``), and those their redirects
        # lead to (``/`` to ``/en/5.1/``): pages under any other version are old versions.
        self._current_versions = set().union(*(version_segments(u) for u in start_urls))
        for url in start_urls:
            if url in self._redirects:
                self._current_versions |= version_segments(self._redirects[url])
        # Until every start page has answered, a redirect may still name the current version:
        # a page that looks like another version's is fetched, and judged once it answers.
        self._starts_pending = set(start_urls)

    async def start(self) -> AsyncIterator[Request]:
        done = self.ledger.corpus.done_in_run(self.ledger.run.id)
        self._seen.update(done)
        self._starts_pending -= set(done)
        self._scheduled = len(done)
        for request in self._sitemap_requests():
            yield request
        for url in self.start_urls:
            for request in self._page_requests([url], depth=0):
                yield request
        # Resuming: what the interrupted run already stored is not fetched again, but the links
        # it found are followed.
        for depth, links in done.values():
            for request in self._page_requests(links, depth=depth + 1):
                yield request

    # -- scheduling ------------------------------------------------------------------------

    def _page_requests(self, urls: Iterable[str], depth: int) -> Iterable[Request]:
        for url in urls:
            if url in self._redirects:
                self.ledger.record_alias(url, self._redirects[url], "redirect")
                self._seen.add(url)
                self._starts_pending.discard(url)  # its target's version is known already
                url = self._redirects[url]
            if url in self._seen:
                continue
            self._seen.add(url)
            reason = self.scope.reason_to_skip(url, depth)
            if not reason and not self._starts_pending and self._old_version(url):
                reason = "old_version"
            if reason:
                self.ledger.record_skip(url, reason)
                continue
            if self.max_pages is not None and self._scheduled >= self.max_pages:
                self.limited = True
                self.ledger.record_skip(url, "max_pages")
                continue
            self._scheduled += 1
            yield Request(
                url,
                callback=self.parse_page,
                errback=self.page_failed,
                headers=self.ledger.conditional_headers(url),
                meta={"depth": depth, "groundset_url": url, "handle_httpstatus_list": [304]},
            )

    def _sitemap_requests(self) -> Iterable[Request]:
        if not self.use_sitemaps:
            return
        roots = sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.start_urls})
        for root in roots:
            yield self._meta_request(f"{root}/robots.txt", self.parse_robots)
        for url in sorted(
            {urljoin(u, "sitemap.xml") for u in self.start_urls}
            | {f"{r}/sitemap.xml" for r in roots}
        ):
            yield self._meta_request(url, self.parse_sitemap)

    def _meta_request(self, url: str, callback: Any) -> Request:
        # robots.txt and sitemaps are read at any path of a host in scope.
        return Request(
            url,
            callback=callback,
            errback=self.meta_failed,
            meta={"groundset_exempt": True, "dont_obey_robotstxt": True},
            priority=10,
        )

    def meta_failed(self, failure: Failure) -> None:
        """A robots.txt or sitemap not read: counted when it was refused, not when missing."""
        kind, reason = _classify(failure)
        if kind == "skip":
            request: Request = failure.request  # type: ignore[attr-defined]
            self.ledger.record_skip(request.url, reason)

    # -- callbacks -------------------------------------------------------------------------

    def parse_robots(self, response: Response) -> Iterable[Request]:
        if isinstance(response, TextResponse):
            for url in _SITEMAP_LINE.findall(response.text):
                yield self._meta_request(url, self.parse_sitemap)

    def parse_sitemap(self, response: Response) -> Iterable[Request]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            limit = self.crawler.settings.getint("DOWNLOAD_MAXSIZE") or _GUNZIP_LIMIT
            unpacked = _gunzip(body, limit)
            if unpacked is None:
                self.ledger.record_skip(response.url, "too_large")
                return
            body = unpacked
        try:
            sitemap = Sitemap(body)
        except Exception:  # a broken sitemap is only a lost hint, never a failed crawl
            return
        locs = [entry["loc"] for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            for loc in locs:
                yield self._meta_request(loc, self.parse_sitemap)
            return
        locs = _normalized(locs, self.ledger)
        yield from self._page_requests(_rebased(locs, response.url, self.scope), depth=1)

    def parse_page(self, response: Response) -> Iterable[Request]:
        try:
            yield from self._parse_page(response)
        except (OSError, sqlite3.Error) as exc:
            self._stop_on_storage_failure(exc)

    def _parse_page(self, response: Response) -> Iterable[Request]:
        requested: str = response.meta["groundset_url"]
        depth: int = response.meta["depth"]
        if response.status == 304:
            self._starts_pending.discard(requested)
            yield from self._follow(self.ledger.record_not_modified(requested, depth), depth)
            return
        url = self._final_url(response, requested)
        if requested in self._starts_pending:
            self._starts_pending.discard(requested)
            if url is not None:
                self._current_versions |= version_segments(url)
        if url is None:
            return
        if self._old_version(url):
            self.ledger.record_skip(url, "old_version")
            if self.on_page is not None:
                self.on_page(url, "skip")
            return
        if not isinstance(response, TextResponse) or not _is_html(response):
            self.ledger.record_skip(url, "non_html")
            return
        extraction = extract(response.text, url, all_versions=self.all_versions)
        if extraction is None:
            # Binary data served as HTML is no page either: stored, it would be one of
            # replacement characters. Told apart only here, where extraction has failed.
            reason = "no_main_content" if is_text(response.text) else "not_text"
            self.ledger.record_failure(url, reason, depth)
            return
        if extraction.set_aside is not None:
            # Not content, but its links lead to pages that are.
            self.ledger.record_skip(url, extraction.set_aside)
            if self.on_page is not None:
                self.on_page(url, "skip")
            yield from self._follow(self._links(response) if self.follow_links else [], depth)
            return
        canonical = self._canonical(extraction.canonical_url, url)
        if canonical != url:
            self.ledger.record_alias(url, canonical, "canonical")
            url = canonical
        links = self._links(response) if self.follow_links else []
        outcome = self.ledger.record_page(
            url,
            extraction,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            links=links,
            depth=depth,
        )
        if self.on_page is not None:
            self.on_page(url, outcome)
        yield from self._follow(links, depth)

    def page_failed(self, failure: Failure) -> None:
        try:
            self._page_failed(failure)
        except (OSError, sqlite3.Error) as exc:
            self._stop_on_storage_failure(exc)

    def _page_failed(self, failure: Failure) -> None:
        request: Request = failure.request  # type: ignore[attr-defined]
        url = request.meta.get("groundset_url", request.url)
        depth = request.meta.get("depth", 0)
        kind, reason = _classify(failure)
        if url in self.start_urls:
            self.start_failures.add(url)
            self._starts_pending.discard(url)
        if kind == "skip":
            self.ledger.record_skip(url, reason)
        else:
            self.ledger.record_failure(url, reason, depth)
        if self.on_page is not None:
            self.on_page(url, kind)

    def _stop_on_storage_failure(self, exc: OSError | sqlite3.Error) -> None:
        """A page that cannot be stored is not a bad page but a crawl that cannot go on.

        Going on would fetch pages only to lose them, and a crawl that ran to its end would
        mark every page it failed to store as removed from the site.
        """
        if self.storage_failure is None:
            self.storage_failure = exc
        raise CloseSpider("storage_failure")

    # -- helpers ---------------------------------------------------------------------------

    def _old_version(self, url: str) -> bool:
        """Whether ``url`` is under a docs version that none of the start URLs is under."""
        if self.all_versions:
            return False
        versions = version_segments(url)
        return bool(versions) and not versions & self._current_versions

    def _follow(self, links: list[str], depth: int) -> Iterable[Request]:
        if self.follow_links:
            yield from self._page_requests(links, depth + 1)

    def _final_url(self, response: Response, requested: str) -> str | None:
        """The URL a redirected answer is stored under; None when that page was already seen."""
        try:
            final = normalize_url(response.url)
        except ValueError:
            return requested
        if final == requested:
            return requested
        self.ledger.record_alias(requested, final, "redirect")
        if final in self._seen:
            return None
        self._seen.add(final)
        return final

    def _canonical(self, canonical: str | None, url: str) -> str:
        """``rel=canonical`` is honoured when it points inside the scope and was not seen yet.

        A canonical link to another host (a mirror naming the public site, as a docs build
        served locally does) is ignored: following it would file the page under a URL the crawl
        never fetched.
        """
        if not canonical:
            return url
        try:
            target = normalize_url(canonical)
        except ValueError:
            return url
        if target == url or self.scope.reason_to_skip(target) or target in self._seen:
            return url
        self._seen.add(target)
        return target

    def _links(self, response: TextResponse) -> list[str]:
        links: list[str] = []
        for href in response.css("a::attr(href)").getall():
            href = href.strip()
            if not href or href.startswith(("#", "mailto:", "javascript:", "tel:", "data:")):
                continue
            try:
                links.append(normalize_url(response.urljoin(href)))
            except ValueError:
                continue
        return list(dict.fromkeys(links))


def _normalized(urls: Iterable[str], ledger: CrawlLedger) -> list[str]:
    out = []
    for url in urls:
        try:
            out.append(normalize_url(url))
        except ValueError:
            ledger.record_skip(url, "bad_url")
    return out


def _gunzip(body: bytes, limit: int) -> bytes | None:
    """A gzipped body unpacked: empty when it is broken, None when it unpacks to more than
    ``limit``.

    Bounded as it unpacks: a megabyte of gzip can hold a gigabyte of zeros.
    """
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = unpacker.decompress(body, limit + 1)
    except zlib.error:
        return b""
    return None if len(out) > limit else out


def _rebased(locs: list[str], sitemap_url: str, scope: Scope) -> list[str]:
    """Sitemap entries, read on the sitemap's own host when they all name one foreign host.

    A sitemap may list only URLs of its own host (sitemaps.org). A docs build served at another
    address than the one it was built for (a mirror, a preview, a local copy) lists the public
    host in every entry; its paths are the pages of the host that served it.
    """
    hosts = {urlsplit(u).netloc for u in locs}
    here = urlsplit(sitemap_url)
    if len(hosts) != 1 or here.netloc in hosts or here.netloc not in scope.hosts:
        return locs
    out = []
    for url in locs:
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        out.append(f"{here.scheme}://{here.netloc}{parts.path}{query}")
    return out


def _is_html(response: TextResponse) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"text/html").lower()
    return any(t in content_type for t in _HTML_TYPES)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _classify(failure: Failure) -> tuple[str, str]:
    """("skip" or "fail", reason) for a failed request."""
    exc = failure.value
    if isinstance(exc, OutOfScope):
        return "skip", exc.reason
    if isinstance(exc, HttpError):
        return "fail", f"http_{exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        text = str(exc).lower()
        if "robots" in text:
            return "skip", "robots"
        if "redirect" in text:
            return "fail", "redirect_loop"
        return "skip", "ignored"
    if isinstance(exc, (CannotResolveHostError, DNSLookupError)):
        return "fail", "dns_lookup"
    if isinstance(exc, (DownloadConnectionRefusedError, ConnectionRefusedError)):
        return "fail", "connection_refused"
    if isinstance(exc, (DownloadTimeoutError, TimeoutError, TCPTimedOutError)):
        return "fail", "timeout"
    if isinstance(exc, (DownloadCancelledError, CancelledError)):
        return "skip", "too_large"
    return "fail", type(exc).__name__
