"""The corpus record: Markdown documents with front matter, and the SQLite manifest beside them.

Layout of a corpus directory (DESIGN.md)::

    docs/<slug>.md     one page: YAML front matter, then the Markdown body
    corpus.sqlite      the manifest: one row per URL, one row per crawl run
    index/             the Chroma store (written by the ground stage)

The crawl stage writes a corpus through :class:`Corpus`; every other stage only reads it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from groundset.errors import UsageError
from groundset.statefile import open_state

__all__ = [
    "Corpus",
    "CrawlRun",
    "Document",
    "PageRow",
    "content_sha256",
    "slug_for_url",
    "utc_now",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url            TEXT PRIMARY KEY,
    slug           TEXT UNIQUE,
    status         TEXT NOT NULL CHECK (status IN ('active', 'removed', 'failed')),
    title          TEXT,
    lang           TEXT,
    content_sha256 TEXT,
    html_sha256    TEXT,
    etag           TEXT,
    last_modified  TEXT,
    extractor      TEXT,
    links          TEXT NOT NULL DEFAULT '[]',
    depth          INTEGER NOT NULL DEFAULT 0,
    last_outcome   TEXT,
    first_seen     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,
    last_changed   TEXT,
    last_error     TEXT,
    last_run       INTEGER
);
CREATE TABLE IF NOT EXISTS aliases (
    url        TEXT PRIMARY KEY,
    target_url TEXT NOT NULL,
    reason     TEXT NOT NULL,
    last_run   INTEGER
);
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    state       TEXT NOT NULL CHECK (state IN ('running', 'finished', 'interrupted')),
    start_urls  TEXT NOT NULL,
    new         INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    fallbacks   INTEGER NOT NULL DEFAULT 0,
    details     TEXT NOT NULL DEFAULT '{}'
);
"""

_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(10)
}
_MAX_SLUG = 120


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def content_sha256(text: str) -> str:
    """The hash that identifies a document's (or chunk's) content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slug_for_url(url: str) -> str:
    """A file name stem for a URL: readable, safe on every filesystem, never a path.

    ``https://host/api-guide/fields/`` becomes ``api-guide--fields``; the site root is ``index``.
    Anything that had to be dropped or shortened (a query string, odd characters, great length)
    is replaced by a short hash of the whole URL. Two URLs may still share a slug (``/a/b/`` and
    ``/a--b/``): :meth:`Corpus.claim_slug` gives each page one of its own.
    """
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s and s not in (".", "..")]
    if segments and segments[-1].lower() in ("index.html", "index.htm"):
        segments.pop()
    cleaned = [re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-.") for s in segments]
    slug = "--".join(s for s in cleaned if s) or "index"
    lossy = (
        bool(parts.query)
        or any(c != s for c, s in zip(cleaned, segments, strict=True))
        or len(slug) > _MAX_SLUG
        or slug.split(".")[0].lower() in _WINDOWS_RESERVED
    )
    if lossy:
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
        slug = f"{slug[:_MAX_SLUG]}-{digest}"
    return slug


@dataclass(frozen=True)
class Document:
    """One page of the corpus as Markdown, with the metadata of its front matter."""

    url: str
    title: str
    lang: str
    markdown: str
    fetched_at: str
    etag: str | None = None
    last_modified: str | None = None
    extractor: str = "trafilatura"
    content_sha256: str = ""

    def __post_init__(self) -> None:
        if not self.content_sha256:
            object.__setattr__(self, "content_sha256", content_sha256(self.markdown))

    def to_text(self) -> str:
        """The document file: YAML front matter, a blank line, the Markdown body."""
        meta = {
            "url": self.url,
            "title": self.title,
            "lang": self.lang,
            "fetched_at": self.fetched_at,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "extractor": self.extractor,
            "content_sha256": self.content_sha256,
        }
        front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10_000)
        return f"---\n{front}---\n\n{self.markdown}"

    @classmethod
    def from_text(cls, text: str) -> Document:
        """Parse a document file; raises ``ValueError`` when it is not one."""
        if not text.startswith("---\n"):
            raise ValueError("no front matter")
        end = text.find("\n---\n", 4)
        if end < 0:
            raise ValueError("unterminated front matter")
        meta = yaml.safe_load(text[4:end])
        if not isinstance(meta, dict) or "url" not in meta:
            raise ValueError("front matter without url")
        body = text[end + 5 :]
        body = body[1:] if body.startswith("\n") else body
        return cls(
            url=str(meta["url"]),
            title=str(meta.get("title") or ""),
            lang=str(meta.get("lang") or ""),
            markdown=body,
            fetched_at=str(meta.get("fetched_at") or ""),
            etag=meta.get("etag"),
            last_modified=meta.get("last_modified"),
            extractor=str(meta.get("extractor") or "trafilatura"),
            content_sha256=str(meta.get("content_sha256") or ""),
        )


@dataclass(frozen=True)
class PageRow:
    """One manifest row: what the corpus knows about a URL."""

    url: str
    slug: str | None
    status: str
    title: str | None
    lang: str | None
    content_sha256: str | None
    html_sha256: str | None
    etag: str | None
    last_modified: str | None
    extractor: str | None
    links: list[str]
    depth: int
    last_outcome: str | None
    first_seen: str
    last_seen: str
    last_changed: str | None
    last_error: str | None
    last_run: int | None


@dataclass
class CrawlRun:
    """One crawl of a corpus and its counts."""

    id: int
    started_at: str
    state: str
    start_urls: list[str]
    finished_at: str | None = None
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    skipped: int = 0
    fallbacks: int = 0
    details: dict[str, object] = field(default_factory=dict)


class Corpus:
    """A corpus directory: its documents and its manifest.

    Args:
        root: the corpus directory; created when ``create`` is true.
        create: make the directory and an empty manifest if they do not exist.

    Raises:
        UsageError: the directory is not a corpus and ``create`` is false.
    """

    def __init__(self, root: str | Path, *, create: bool = False) -> None:
        self.root = Path(root)
        self.docs_dir = self.root / "docs"
        self.manifest_path = self.root / "corpus.sqlite"
        if not self.manifest_path.exists() and not create:
            raise UsageError(
                f"no corpus at {self.root}",
                fix="run `groundset crawl URL --corpus DIR` first, or pass the right --corpus",
            )
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        # The crawl writes from Scrapy's reactor thread; one writer at a time is guaranteed by
        # the caller, so the connection may cross threads.
        self._db = open_state(
            self.manifest_path,
            what="the corpus manifest",
            schema=_SCHEMA,
            version=1,
            wal=True,
            check_same_thread=False,
            fix=f"move {self.manifest_path.name} away and crawl again into {self.root}; the"
            " crawl then rebuilds it",
        )
        self._db.row_factory = sqlite3.Row
        #: Active pages whose doc file the last :meth:`documents` could not read.
        self.unreadable: list[str] = []

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- documents -------------------------------------------------------------------------

    def doc_path(self, slug: str) -> Path:
        return self.docs_dir / f"{slug}.md"

    def write_document(self, slug: str, doc: Document) -> None:
        """Write a document file atomically: a crash leaves the old file or the new, never half."""
        path = self.doc_path(slug)
        tmp = path.with_suffix(".md.tmp")
        try:
            tmp.write_text(doc.to_text(), encoding="utf-8")
        except OSError as exc:
            tmp.unlink(missing_ok=True)  # a full disk leaves no half file behind
            if exc.filename is None:  # a failed write names no file; the error should
                raise OSError(exc.errno, exc.strerror, str(path)) from exc
            raise
        os.replace(tmp, path)

    def read_document(self, slug: str, url: str | None = None) -> Document | None:
        """The document stored under ``slug``, or None if it is missing or damaged.

        Damaged means unreadable, without front matter, with a body whose hash is not the one
        in its front matter (a half-written or hand-edited file), or the document of another URL
        than the page stored under ``slug`` (as slugs that collided once left it). ``url`` is
        that page's, when the caller has its row; else the manifest is asked.
        """
        try:
            doc = Document.from_text(self.doc_path(slug).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
            return None
        if content_sha256(doc.markdown) != doc.content_sha256:
            return None
        if (url if url is not None else self._owner(slug)) not in (None, doc.url):
            return None
        return doc

    def documents(self) -> Iterator[Document]:
        """Every active document, in URL order.

        Missing or damaged files are skipped; the URLs of their pages are in
        :attr:`unreadable` once the iteration is done (a crawl refetches them).
        """
        unreadable: list[str] = []
        for row in self._db.execute(
            "SELECT url, slug FROM pages WHERE status = 'active' AND slug IS NOT NULL ORDER BY url"
        ).fetchall():
            doc = self.read_document(row["slug"], row["url"])
            if doc is None:
                unreadable.append(row["url"])
            else:
                yield doc
        self.unreadable = unreadable

    def orphan_files(self) -> list[Path]:
        """Doc files that no page of the manifest names (left by a replaced or damaged
        manifest): never indexed; a crawl rewrites the ones its pages still need."""
        named = {
            row["slug"] for row in self._db.execute("SELECT slug FROM pages WHERE slug IS NOT NULL")
        }
        return sorted(p for p in self.docs_dir.glob("*.md") if p.stem not in named)

    # -- manifest: pages -------------------------------------------------------------------

    def page(self, url: str) -> PageRow | None:
        row = self._db.execute("SELECT * FROM pages WHERE url = ?", (url,)).fetchone()
        return _page_row(row) if row else None

    def pages(self, status: str | None = None) -> list[PageRow]:
        if status is None:
            rows = self._db.execute("SELECT * FROM pages ORDER BY url")
        else:
            rows = self._db.execute("SELECT * FROM pages WHERE status = ? ORDER BY url", (status,))
        return [_page_row(r) for r in rows]

    def url_with_content(self, sha: str, *, exclude: str) -> str | None:
        """An active URL other than ``exclude`` whose document has this content hash."""
        row = self._db.execute(
            "SELECT url FROM pages WHERE status = 'active' AND content_sha256 = ? AND url != ?"
            " ORDER BY first_seen, url LIMIT 1",
            (sha, exclude),
        ).fetchone()
        return row["url"] if row else None

    def claim_slug(self, url: str) -> str:
        """The slug of ``url``: its stored one, or a new one no other URL holds.

        A new slug is the URL's own (:func:`slug_for_url`), else that with a hash of the URL,
        else that with a count. Each is checked, for another page may hold any of them: ``/a/b/``
        and ``/a--b/`` share a slug, and a page may be named like another's slug with its hash.
        """
        row = self._db.execute("SELECT slug FROM pages WHERE url = ?", (url,)).fetchone()
        if row and row["slug"]:
            return str(row["slug"])
        own = slug_for_url(url)
        hashed = f"{own}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"
        counted = (f"{hashed}-{n}" for n in itertools.count(2))
        return next(
            slug for slug in itertools.chain([own, hashed], counted) if not self._owner(slug)
        )

    def _owner(self, slug: str) -> str | None:
        """The URL of the page stored under ``slug``, if any."""
        row = self._db.execute("SELECT url FROM pages WHERE slug = ?", (slug,)).fetchone()
        return str(row["url"]) if row else None

    def upsert_page(self, url: str, **values: object) -> None:
        """Insert or update the row of ``url`` with the given columns."""
        if "links" in values:
            values["links"] = json.dumps(values["links"])
        now = utc_now()
        existing = self._db.execute("SELECT 1 FROM pages WHERE url = ?", (url,)).fetchone()
        if existing:
            values.setdefault("last_seen", now)
            cols = ", ".join(f"{k} = ?" for k in values)
            self._db.execute(f"UPDATE pages SET {cols} WHERE url = ?", (*values.values(), url))
        else:
            values.setdefault("first_seen", now)
            values.setdefault("last_seen", now)
            cols = ", ".join(["url", *values])
            marks = ", ".join("?" * (len(values) + 1))
            self._db.execute(
                f"INSERT INTO pages ({cols}) VALUES ({marks})", (url, *values.values())
            )

    def mark_removed(self, run_id: int) -> list[str]:
        """Mark active pages not seen by run ``run_id`` as removed; their files stay on disk."""
        rows = self._db.execute(
            "SELECT url FROM pages WHERE status = 'active' AND (last_run IS NULL OR last_run != ?)",
            (run_id,),
        ).fetchall()
        urls = [r["url"] for r in rows]
        now = utc_now()
        for url in urls:
            self._db.execute(
                "UPDATE pages SET status = 'removed', last_changed = ?, last_outcome = 'removed',"
                " last_run = ? WHERE url = ?",
                (now, run_id, url),
            )
        return urls

    def add_alias(self, url: str, target_url: str, reason: str, run_id: int) -> None:
        self._db.execute(
            "INSERT INTO aliases (url, target_url, reason, last_run) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(url) DO UPDATE SET target_url = excluded.target_url,"
            " reason = excluded.reason, last_run = excluded.last_run",
            (url, target_url, reason, run_id),
        )

    def aliases(self, reason: str | None = None) -> dict[str, str]:
        """Known other names of stored pages: ``{alias: target}``, optionally of one reason."""
        rows = self._db.execute("SELECT * FROM aliases")
        return {r["url"]: r["target_url"] for r in rows if reason in (None, r["reason"])}

    def done_in_run(self, run_id: int) -> dict[str, tuple[int, list[str]]]:
        """URLs already handled by run ``run_id``: their depth and links (for resuming)."""
        done: dict[str, tuple[int, list[str]]] = {}
        for row in self._db.execute(
            "SELECT url, depth, links FROM pages WHERE last_run = ?", (run_id,)
        ):
            done[row["url"]] = (row["depth"], json.loads(row["links"]))
        for row in self._db.execute("SELECT url FROM aliases WHERE last_run = ?", (run_id,)):
            done.setdefault(row["url"], (0, []))
        return done

    def outcomes(self, run_id: int) -> dict[str, int]:
        """How many pages run ``run_id`` found new, changed, unchanged, failed, removed."""
        rows = self._db.execute(
            "SELECT last_outcome, COUNT(*) AS n FROM pages WHERE last_run = ? GROUP BY 1",
            (run_id,),
        )
        return {r["last_outcome"]: r["n"] for r in rows if r["last_outcome"]}

    def failures(self, run_id: int) -> dict[str, int]:
        """Failed pages of run ``run_id`` by reason."""
        rows = self._db.execute(
            "SELECT last_error, COUNT(*) AS n FROM pages"
            " WHERE last_run = ? AND last_outcome = 'failed' GROUP BY 1",
            (run_id,),
        )
        return {r["last_error"] or "unknown": r["n"] for r in rows}

    def fallbacks(self, run_id: int) -> int:
        """Active pages of run ``run_id`` whose Markdown came from the fallback extractor."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM pages WHERE last_run = ? AND status = 'active'"
            " AND extractor = 'fallback'",
            (run_id,),
        ).fetchone()
        return int(row[0])

    def alias_count(self, run_id: int) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM aliases WHERE last_run = ?", (run_id,)
        ).fetchone()
        return int(row[0])

    # -- manifest: runs --------------------------------------------------------------------

    def start_run(self, start_urls: list[str]) -> CrawlRun:
        """Resume the last run if it was interrupted, else begin a new one."""
        row = self._db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        if row and row["state"] in ("running", "interrupted"):
            self._db.execute("UPDATE runs SET state = 'running' WHERE id = ?", (row["id"],))
            return self.run(row["id"])
        cur = self._db.execute(
            "INSERT INTO runs (started_at, state, start_urls) VALUES (?, 'running', ?)",
            (utc_now(), json.dumps(start_urls)),
        )
        run_id = cur.lastrowid
        assert run_id is not None
        return self.run(run_id)

    def run(self, run_id: int) -> CrawlRun:
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        return _run(row)

    def runs(self) -> list[CrawlRun]:
        return [_run(r) for r in self._db.execute("SELECT * FROM runs ORDER BY id")]

    def save_run(self, run: CrawlRun) -> None:
        self._db.execute(
            "UPDATE runs SET finished_at = ?, state = ?, new = ?, changed = ?, unchanged = ?,"
            " removed = ?, failed = ?, skipped = ?, fallbacks = ?, details = ? WHERE id = ?",
            (
                run.finished_at,
                run.state,
                run.new,
                run.changed,
                run.unchanged,
                run.removed,
                run.failed,
                run.skipped,
                run.fallbacks,
                json.dumps(run.details, sort_keys=True),
                run.id,
            ),
        )


def _page_row(row: sqlite3.Row) -> PageRow:
    values = dict(row)
    values["links"] = json.loads(values["links"] or "[]")
    return PageRow(**values)


def _run(row: sqlite3.Row) -> CrawlRun:
    values = dict(row)
    values["start_urls"] = json.loads(values["start_urls"])
    values["details"] = json.loads(values["details"])
    return CrawlRun(**values)
