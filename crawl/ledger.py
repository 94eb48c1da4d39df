"""The crawl's bookkeeping: what each fetch means for the corpus, and the run's counts.

A page is *changed* only when its extracted Markdown changed: a byte-level HTML change that
leaves the text alone (re-encoded entities, a new build date in a script) is *unchanged*. A page
answered ``304 Not Modified`` is unchanged without being downloaded. Pages the run did not see are
marked removed when, and only when, the run finished without a limit cutting it short.

Every page outcome is written to the manifest as it happens, so a killed crawl loses at most the
pages in flight, and the counts of a run are read back from the manifest rather than kept twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from groundset.corpus import Corpus, CrawlRun, Document, utc_now

from .extract import Extraction

__all__ = ["CrawlLedger", "CrawlReport", "PageOutcome"]

PageOutcome = str  # "new" | "changed" | "unchanged" | "failed" | "duplicate"


@dataclass
class CrawlReport:
    """What a crawl did: the counts every crawl ends with."""

    run_id: int
    state: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0
    aliases: int = 0
    repaired: int = 0
    changed_urls: list[str] = field(default_factory=list)
    removed_urls: list[str] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Pages the corpus holds from this run (new, changed or unchanged)."""
        return self.new + self.changed + self.unchanged

    def lines(self) -> list[str]:
        """The human summary, one fact a line."""
        out = [
            f"crawl run {self.run_id} {self.state}: {self.stored} pages "
            f"({self.new} new, {self.changed} changed, {self.unchanged} unchanged), "
            f"{self.removed} removed, {sum(self.failed.values())} failed, "
            f"{sum(self.skipped.values())} skipped, {self.fallbacks} fallbacks",
        ]
        if self.failed:
            out.append("  failed: " + _by_reason(self.failed))
        if self.skipped:
            out.append("  skipped: " + _by_reason(self.skipped))
        if self.aliases:
            out.append(
                f"  other URLs of stored pages (redirects, canonical links, same content): "
                f"{self.aliases}"
            )
        if self.repaired:
            out.append(f"  damaged doc files refetched: {self.repaired}")
        return out


def _by_reason(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


class CrawlLedger:
    """Applies fetch results to a :class:`Corpus` for one crawl run.

    Args:
        corpus: the corpus being crawled into.
        start_urls: the run's start URLs (recorded with the run).
    """

    def __init__(self, corpus: Corpus, start_urls: list[str]) -> None:
        self.corpus = corpus
        self.run: CrawlRun = corpus.start_run(start_urls)
        self.resumed = bool(corpus.done_in_run(self.run.id))
        self.skipped: Counter[str] = Counter()
        self.repaired = 0
        self._skipped_urls: set[str] = set()

    def conditional_headers(self, url: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for ``url``, when its stored copy is intact.

        A damaged or missing doc file gets no validators, so the page is downloaded again.
        """
        row = self.corpus.page(url)
        if row is None or row.status != "active" or not row.slug:
            return {}
        if self.corpus.read_document(row.slug, url) is None:
            self.repaired += 1
            return {}
        headers = {}
        if row.etag:
            headers["If-None-Match"] = row.etag
        if row.last_modified:
            headers["If-Modified-Since"] = row.last_modified
        return headers

    def record_page(
        self,
        url: str,
        extraction: Extraction,
        *,
        etag: str | None,
        last_modified: str | None,
        links: list[str],
        depth: int,
    ) -> PageOutcome:
        """Store a downloaded page; says whether it was new, changed, unchanged or a duplicate."""
        doc = Document(
            url=url,
            title=extraction.title,
            lang=extraction.lang,
            markdown=extraction.markdown,
            fetched_at=utc_now(),
            etag=etag,
            last_modified=last_modified,
            extractor=extraction.extractor,
        )
        original = self.corpus.url_with_content(doc.content_sha256, exclude=url)
        if original is not None:
            self.corpus.add_alias(url, original, "same_content", self.run.id)
            return "duplicate"
        row = self.corpus.page(url)
        if row is None or row.status != "active":
            outcome = "new" if row is None or row.content_sha256 is None else "changed"
        else:
            outcome = "unchanged" if row.content_sha256 == doc.content_sha256 else "changed"
        slug = self.corpus.claim_slug(url)
        if outcome != "unchanged" or self.corpus.read_document(slug, url) is None:
            self.corpus.write_document(slug, doc)
        values: dict[str, object] = dict(
            slug=slug,
            status="active",
            title=doc.title,
            lang=doc.lang,
            content_sha256=doc.content_sha256,
            etag=etag,
            last_modified=last_modified,
            extractor=doc.extractor,
            links=links,
            depth=depth,
            last_outcome=outcome,
            last_error=None,
            last_run=self.run.id,
        )
        if outcome != "unchanged":
            values["last_changed"] = doc.fetched_at
        self.corpus.upsert_page(url, **values)
        return outcome

    def record_not_modified(self, url: str, depth: int) -> list[str]:
        """A 304 answer: the page is unchanged. Returns the links stored with it."""
        self.corpus.upsert_page(
            url, last_outcome="unchanged", last_run=self.run.id, depth=depth, last_error=None
        )
        row = self.corpus.page(url)
        return row.links if row else []

    def record_failure(self, url: str, reason: str, depth: int) -> None:
        """A page that could not be fetched or read.

        A page that was stored before keeps its document unless the server says it is gone
        (404/410), in which case it is marked removed: a passing 5xx should not churn the index.
        """
        row = self.corpus.page(url)
        gone = reason in ("http_404", "http_410")
        if row is not None and row.status == "active" and not gone:
            self.corpus.upsert_page(
                url, last_error=reason, last_outcome="failed", last_run=self.run.id, depth=depth
            )
            return
        # A stored page the server says is gone is a removal, counted as one; else a failure.
        removed = row is not None and row.status == "active"
        if removed:
            self.corpus.upsert_page(url, last_changed=utc_now())
        self.corpus.upsert_page(
            url,
            status="removed" if removed else "failed",
            last_error=reason,
            last_outcome="removed" if removed else "failed",
            last_run=self.run.id,
            depth=depth,
        )

    def record_alias(self, url: str, target: str, reason: str) -> None:
        """``url`` is another name for ``target`` (a redirect, or rel=canonical)."""
        self.corpus.add_alias(url, target, reason, self.run.id)

    def record_skip(self, url: str, reason: str) -> None:
        """A URL not fetched (out of scope, robots.txt, not HTML...), counted once per URL."""
        if url not in self._skipped_urls:
            self._skipped_urls.add(url)
            self.skipped[reason] += 1

    def finish(self, *, interrupted: bool, saw_everything: bool) -> CrawlReport:
        """Close the run and count everything.

        Args:
            interrupted: the crawl was stopped before its end; the next crawl resumes it.
            saw_everything: the crawl visited the whole site (no limit cut it short), so pages
                it did not see are gone from the site and are marked removed.
        """
        outcomes = self.corpus.outcomes(self.run.id)
        # A run that reached no page at all (the site is down) says nothing about removals.
        reached = any(outcomes.get(k) for k in ("new", "changed", "unchanged"))
        complete = saw_everything and not interrupted and reached
        gone = [
            p.url
            for p in self.corpus.pages()
            if p.last_run == self.run.id and p.last_outcome == "removed"
        ]
        removed_urls = gone + (self.corpus.mark_removed(self.run.id) if complete else [])
        run = self.run
        run.state = "interrupted" if interrupted else "finished"
        run.finished_at = utc_now()
        run.new = outcomes.get("new", 0)
        run.changed = outcomes.get("changed", 0)
        run.unchanged = outcomes.get("unchanged", 0)
        run.removed = len(removed_urls)
        failures = self.corpus.failures(self.run.id)
        run.failed = sum(failures.values())
        run.skipped = sum(self.skipped.values())
        run.fallbacks = self.corpus.fallbacks(self.run.id)
        report = CrawlReport(
            run_id=run.id,
            state=run.state,
            new=run.new,
            changed=run.changed,
            unchanged=run.unchanged,
            removed=run.removed,
            failed=failures,
            skipped=dict(self.skipped),
            fallbacks=run.fallbacks,
            aliases=self.corpus.alias_count(self.run.id),
            repaired=self.repaired,
            changed_urls=sorted(
                p.url
                for p in self.corpus.pages()
                if p.last_run == run.id and p.last_outcome == "changed"
            ),
            removed_urls=sorted(removed_urls),
        )
        run.details = {
            "failed": report.failed,
            "skipped": report.skipped,
            "aliases": report.aliases,
            "repaired": report.repaired,
        }
        self.corpus.save_run(run)
        return report
