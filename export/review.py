"""``groundset review``: the page on which a person reads a random sample of kept and rejected
samples and gives a verdict on each.

The sample is drawn once, seeded, and stratified (:func:`groundset.export.reviews.draw_review`);
every verdict is appended to the reviews file as it is given, so reviewing a sample again (or from
a second tab) replaces, never adds.

The page is served on 127.0.0.1 only, to requests that carry the token printed in its address. Its
script writes every piece of sample and page text with ``textContent``: crawled text is never
markup.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from groundset.errors import UsageError
from groundset.export.judged import read_judged
from groundset.export.reviews import (
    ReviewItem,
    ReviewLog,
    draw_review,
    review_figures,
    reviews_path_for,
)
from groundset.export.sections import corpus_sections, evidence_in_section

__all__ = ["ReviewInputs", "ReviewServer", "ReviewSession", "item_view", "review_inputs"]

#: How long a sample shown to one reviewer is held back from the others.
LEASE_S = 15 * 60


def item_view(item: ReviewItem, texts: dict[str, str]) -> dict[str, Any]:
    """What the page shows of one drawn sample, as plain strings (the page never parses them)."""
    sample = item.judged.sample
    assert sample is not None
    verdict = item.judged.verdict
    sources = {s.chunk_id: s for s in sample.sources}
    turns: list[dict[str, str]] = []
    if sample.question is not None:
        turns.append({"role": "question", "text": sample.question})
    if sample.answer is not None:
        turns.append({"role": "answer", "text": sample.answer})
    for message in sample.messages or []:
        turns.append({"role": message.role, "text": message.content})
    if sample.record is not None:
        turns.append({"role": "record", "text": json.dumps(sample.record, indent=1)})
    claims = []
    for claim in verdict.claims:
        source = sources.get(claim.chunk_id or "")
        claims.append({
            "text": claim.text,
            "supported": claim.supported,
            "score": round(claim.score, 3),
            "reasons": list(claim.reasons),
            "evidence": evidence_in_section(claim.evidence, source.heading_path)
            if source else claim.evidence,
            "where": f"{source.doc_url} · {source.heading_path}" if source else "",
            "passage": texts.get(claim.chunk_id or "", "") if claim.chunk_id else "",
        })  # fmt: skip
    quotes = [cite.quote for claim in sample.claims for cite in claim.citations]
    return {
        "id": item.id,
        "side": item.side,
        "task": sample.task,
        "reasons": list(verdict.reasons),
        "turns": turns,
        "claims": claims,
        "quotes": quotes,
        "sources": [f"{s.doc_url} · {s.heading_path}" for s in sample.sources],
    }


class ReviewSession:
    """The drawn items, the reviews file and the cited texts one server serves."""

    def __init__(
        self, items: Sequence[ReviewItem], log: ReviewLog, texts: dict[str, str] | None = None
    ) -> None:
        self.items = list(items)
        self.by_id = {item.id: item for item in self.items}
        self.log = log
        self.texts = texts or {}
        # Sample id -> (reviewer, when shown): two tabs or two people get different samples.
        self._leases: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def state(self, reviewer: str = "") -> dict[str, Any]:
        """How far the review is, and the next unreviewed item for ``reviewer`` (None when all
        are done).

        The item is held for that reviewer (:data:`LEASE_S`), so that another one is shown
        another sample; a reload shows the same one again. Only when every unreviewed sample is
        held by someone else is the one held longest shown a second time.
        """
        with self._lock:
            verdicts = self.log.latest()
            left = [item for item in self.items if item.id not in verdicts]
            item = self._lease(left, reviewer)
        return {
            "done": len(self.items) - len(left),
            "total": len(self.items),
            "item": item_view(item, self.texts) if item else None,
            "figures": review_figures(self.items, verdicts).lines(),
        }

    def _lease(self, left: list[ReviewItem], reviewer: str) -> ReviewItem | None:
        now = time.monotonic()
        open_ids = {item.id for item in left}
        self._leases = {
            sid: (who, since)
            for sid, (who, since) in self._leases.items()
            if sid in open_ids and now - since < LEASE_S
        }
        mine = [i for i in left if i.id in self._leases and self._leases[i.id][0] == reviewer]
        if mine:
            self._leases[mine[0].id] = (reviewer, now)
            return mine[0]
        free = [item for item in left if item.id not in self._leases]
        if free:
            chosen = free[0]
        elif left:
            chosen = min(left, key=lambda item: self._leases[item.id][1])
        else:
            return None
        self._leases[chosen.id] = (reviewer, now)
        return chosen

    def record(self, payload: Any, reviewer: str = "") -> dict[str, Any]:
        """Record one verdict from the page; ValueError names what is wrong with it."""
        if not isinstance(payload, dict):
            raise ValueError("the verdict is not a JSON object")
        item = self.by_id.get(str(payload.get("sample_id")))
        if item is None:
            raise ValueError("no drawn sample has that id")
        claims = payload.get("claims")
        n = len(item.judged.verdict.claims)
        if (
            not isinstance(claims, list)
            or len(claims) != n
            or not all(c is None or isinstance(c, bool) for c in claims)
        ):
            raise ValueError(f"claims must be a list of {n} true, false or null")
        if not isinstance(payload.get("keep"), bool):
            raise ValueError("keep must be true or false")
        note = payload.get("note", "")
        if not isinstance(note, str):
            raise ValueError("note must be text")
        with self._lock:
            self._leases.pop(item.id, None)
            return self.log.record(item, claims, payload["keep"], note[:2000])


class ReviewServer:
    """The review page on 127.0.0.1, for requests that carry its token.

    It serves three things and nothing else: the page (``/``), the review's state
    (``GET /api/state``) and a verdict (``POST /api/verdict``). No part of a request's path
    reaches the file system.
    """

    def __init__(self, session: ReviewSession, port: int = 0, token: str | None = None) -> None:
        self.session = session
        self.token = token or secrets.token_urlsafe(16)
        handler = _handler(session, self.token)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address, token included."""
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def start(self) -> ReviewServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.httpd.serve_forever()

    def close(self) -> None:
        """Stop serving and free the port."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
        self.httpd.server_close()

    def __enter__(self) -> ReviewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler(session: ReviewSession, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "groundset-review"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _allowed(self) -> str | None:
            parts = urlsplit(self.path)
            given = parse_qs(parts.query).get("token", [""])[0] or self.headers.get(
                "X-Review-Token", ""
            )
            if not secrets.compare_digest(given, token):
                self._send(HTTPStatus.FORBIDDEN, "text/plain", b"a review token is needed\n")
                return None
            return parts.path

        def do_GET(self) -> None:
            path = self._allowed()
            if path is None:
                return
            if path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", PAGE.encode())
            elif path == "/api/state":
                self._json(HTTPStatus.OK, session.state(self._reviewer()))
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

        def do_POST(self) -> None:
            path = self._allowed()
            if path is None:
                return
            if path != "/api/verdict":
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
                return
            length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
            try:
                session.record(json.loads(self.rfile.read(length) or b"null"), self._reviewer())
            except (ValueError, UnicodeDecodeError) as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                return
            self._json(HTTPStatus.OK, session.state(self._reviewer()))

        def _reviewer(self) -> str:
            """The page's own id for itself (one per tab), which leases are held for."""
            return self.headers.get("X-Reviewer", "")[:64]

        def _json(self, status: HTTPStatus, data: Any) -> None:
            body = json.dumps(data, ensure_ascii=False).encode()
            self._send(status, "application/json; charset=utf-8", body)

        def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", _CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

    return Handler


# The page's own inline script and style only; nothing loads from anywhere else.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"
)


# -- entry point -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewInputs:
    """The drawn sample of a kept and a rejected file, with its reviews file and cited texts."""

    items: list[ReviewItem]
    log: ReviewLog
    texts: dict[str, str]


def review_inputs(
    kept: Path,
    rejected: Path,
    *,
    corpus: Path | None = None,
    n_kept: int = 30,
    n_rejected: int = 10,
    seed: int = 0,
    reviews: Path | None = None,
) -> ReviewInputs:
    """Read the files, draw the sample, and find the cited chunks' texts in ``corpus``.

    Raises:
        UsageError: a missing or malformed file, a directory that is not a corpus, or a bad
            sample size.
    """
    if n_kept < 0 or n_rejected < 0 or n_kept + n_rejected == 0:
        raise UsageError(
            "nothing to review: the sample sizes must be at least 0 and not both 0",
            fix="pass --kept-sample N and --rejected-sample N",
        )
    items = draw_review(read_judged(kept), read_judged(rejected), n_kept, n_rejected, seed)
    texts = _cited_texts(corpus, items) if corpus is not None else {}
    return ReviewInputs(items, ReviewLog(reviews or reviews_path_for(kept)), texts)


def _cited_texts(corpus: Path, items: Sequence[ReviewItem]) -> dict[str, str]:
    """The text of each cited chunk, by chunk id: its section as the corpus holds it now."""
    sections = {(s.doc_url, s.heading_path): s.text for s in corpus_sections(corpus)}
    return {
        source.chunk_id: text
        for item in items
        if item.judged.sample is not None
        for source in item.judged.sample.sources
        if (text := sections.get((source.doc_url, source.heading_path)))
    }


PAGE = (Path(__file__).with_name("review_page.html")).read_text(encoding="utf-8")
