"""Running a crawl in this process.

Scrapy runs on Twisted's reactor, which cannot be restarted once stopped. groundset starts the
reactor once, in a daemon thread, and hands it one crawl at a time; so a program (or a test
session) can crawl as often as it likes, and the calling thread stays free to notice Ctrl-C and
ask the crawl to stop cleanly. A crawl stopped that way, or killed outright, is resumed by the
next crawl of the same corpus (see :class:`~groundset.crawl.ledger.CrawlLedger`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from groundset.corpus import Corpus
from groundset.crawl.settings import CrawlSettings
from groundset.errors import CrawlError, UsageError
from groundset.locks import writer_lock

from .ledger import CrawlLedger, CrawlReport
from .scope import Scope, validate_start_url
from .spider import DocsSpider

__all__ = ["crawl", "scrapy_settings"]

_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
_reactor_lock = threading.Lock()
_reactor_thread: threading.Thread | None = None

ProgressFn = Callable[[str, str], None]


def scrapy_settings(settings: CrawlSettings) -> dict[str, Any]:
    """The Scrapy settings for a crawl with these groundset settings."""
    return {
        "TWISTED_REACTOR": _REACTOR,
        "USER_AGENT": settings.user_agent,
        "ROBOTSTXT_OBEY": settings.obey_robots,
        "ROBOTSTXT_USER_AGENT": settings.user_agent,
        "CONCURRENT_REQUESTS": settings.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrent_requests_per_host,
        "DOWNLOAD_DELAY": settings.download_delay_s,
        "AUTOTHROTTLE_ENABLED": settings.autothrottle,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": settings.autothrottle_target_concurrency,
        "AUTOTHROTTLE_START_DELAY": max(settings.download_delay_s, 0.0),
        "DOWNLOAD_MAXSIZE": settings.max_download_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_TIMEOUT": settings.timeout_s,
        "RETRY_TIMES": settings.retries,
        "REDIRECT_MAX_TIMES": 10,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "ERROR",
        "LOG_ENABLED": True,
        # Depth is enforced by the scope, which counts skipped pages; Scrapy's own depth and
        # offsite checks would drop requests without telling us.
        "DEPTH_LIMIT": 0,
        "SPIDER_MIDDLEWARES": {"scrapy.spidermiddlewares.depth.DepthMiddleware": None},
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
            # First in the request path: before the robots.txt middleware (100), which would
            # otherwise ask an out-of-scope redirect target's host for its robots.txt. A
            # redirect's new request starts the path again, so its target is checked too.
            "groundset.crawl.spider.ScopeMiddleware": 50,
            # Before the redirect middleware (600) in the response path.
            "groundset.crawl.spider.RedirectSchemeMiddleware": 650,
        },
        # The spider keeps its own set of seen URLs (normalised, and resumable); Scrapy's
        # dupefilter would also drop the second hop of a redirect loop without a word.
        "DUPEFILTER_CLASS": "scrapy.dupefilters.BaseDupeFilter",
    }


def crawl(
    settings: CrawlSettings,
    corpus_dir: str | Path,
    *,
    progress: ProgressFn | None = None,
) -> CrawlReport:
    """Crawl ``settings.start_urls`` into the corpus at ``corpus_dir``.

    A second crawl of the same corpus sends conditional requests and reports what changed; a
    crawl that was interrupted is resumed without fetching again what it already stored.

    Args:
        settings: what to crawl and how.
        corpus_dir: the corpus directory (created if needed).
        progress: called with ``(url, outcome)`` for every page as it is handled.

    Returns:
        The run's report: new, changed, unchanged, removed, failed and skipped pages.

    Raises:
        UsageError: no or malformed start URLs, or a bad scope pattern.
        CrawlError: the crawl reached nothing it could store.
        KeyboardInterrupt: the user interrupted; the run is saved as interrupted.
    """
    if not settings.start_urls:
        raise UsageError("nothing to crawl", fix="give start URLs or a recipe with start_urls")
    start_urls = [validate_start_url(u) for u in settings.start_urls]
    scope = Scope.from_settings(
        start_urls,
        allowed_hosts=settings.allowed_hosts,
        path_prefixes=settings.path_prefixes,
        allow=settings.allow,
        deny=settings.deny,
        max_depth=settings.max_depth,
    )
    with (
        writer_lock(Path(corpus_dir), f"the corpus {corpus_dir}"),
        Corpus(corpus_dir, create=True) as corpus,
    ):
        ledger = CrawlLedger(corpus, start_urls)
        spider_kwargs = dict(
            start_urls=start_urls,
            scope=scope,
            ledger=ledger,
            max_pages=settings.max_pages,
            follow_links=settings.follow_links,
            use_sitemaps=settings.use_sitemaps,
            all_versions=settings.versions == "all",
            on_page=progress,
        )
        finished = _run_spider(scrapy_settings(settings), spider_kwargs)
        spider: DocsSpider = finished["spider"]
        failure = spider.storage_failure
        try:
            report = ledger.finish(
                interrupted=failure is not None or finished["reason"] != "finished",
                # A start page that failed hides everything below it: nothing is known removed.
                saw_everything=not spider.limited and not spider.start_failures,
            )
        except (OSError, sqlite3.Error):
            if failure is None:
                raise
            # The disk is still full: the run stays open in the manifest, which the next
            # crawl resumes all the same. The first failure is the one to report.
        if failure is not None:
            raise failure
    if finished["reason"] == "shutdown":
        raise KeyboardInterrupt
    _check_nothing_silent(report, start_urls)
    return report


def _run_spider(settings: dict[str, Any], spider_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Run one spider on the reactor thread; Ctrl-C here stops it cleanly."""
    _ensure_reactor()  # before anything imports twisted.internet.reactor
    from scrapy import signals
    from scrapy.crawler import CrawlerRunner
    from twisted.internet import reactor

    result: dict[str, Any] = {}
    done = threading.Event()
    holder: dict[str, Any] = {}

    def closed(spider: DocsSpider, reason: str) -> None:
        result.update(spider=spider, reason=reason)

    def start() -> None:
        runner = CrawlerRunner(settings)
        crawler = runner.create_crawler(DocsSpider)
        crawler.signals.connect(closed, signal=signals.spider_closed)
        holder["crawler"] = crawler
        deferred = runner.crawl(crawler, **spider_kwargs)
        deferred.addErrback(lambda failure: result.setdefault("error", failure))
        deferred.addBoth(lambda _: done.set())

    reactor.callFromThread(start)
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        crawler = holder.get("crawler")
        if crawler is not None and crawler.engine is not None:
            reactor.callFromThread(crawler.engine.close_spider, crawler.spider, "shutdown")
        done.wait(60)
    if "error" in result:
        result["error"].raiseException()
    return result


def _ensure_reactor() -> None:
    global _reactor_thread
    with _reactor_lock:
        if _reactor_thread is not None:
            return
        from scrapy.utils.reactor import install_reactor

        install_reactor(_REACTOR)
        from twisted.internet import reactor

        # Scrapy logs every failed download with a traceback; the crawl report counts them by
        # reason instead. An exception in a callback (a bug of ours) is still shown.
        logging.getLogger("scrapy").setLevel(logging.CRITICAL)
        logging.getLogger("scrapy.core.scraper").setLevel(logging.ERROR)
        _reactor_thread = threading.Thread(
            target=reactor.run,  # type: ignore[misc]
            kwargs={"installSignalHandlers": False},
            name="groundset-reactor",
            daemon=True,
        )
        _reactor_thread.start()


def _check_nothing_silent(report: CrawlReport, start_urls: list[str]) -> None:
    """A crawl that stored nothing is an error that says why, never a silent empty corpus."""
    if report.stored or report.removed:
        return
    reasons = {**report.failed, **report.skipped}
    if not reasons:
        raise CrawlError(
            f"{', '.join(start_urls)} has no pages with main content",
            url=start_urls[0],
            fix="check that the start URL is a documentation page, not an empty or script-only one",
        )
    why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    unreachable = {"dns_lookup", "connection_refused", "timeout"} & set(report.failed)
    fix = (
        "check the host name and that the site is up"
        if unreachable
        else "check the start URL, the scope patterns and robots.txt"
    )
    raise CrawlError(f"the crawl stored no pages ({why})", url=start_urls[0], fix=fix)
