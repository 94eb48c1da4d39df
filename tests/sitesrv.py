"""A static site server on 127.0.0.1 for tests: a real HTTP server in a thread.

It serves a directory as a static host does (``dir/`` is ``dir/index.html``), with the
validators real hosts send: ``ETag`` (a hash of the bytes) and ``Last-Modified``, answering
``304`` to a matching ``If-None-Match`` / ``If-Modified-Since``. The served directory can be
switched (a new deploy on the same address), single paths can be overridden (a robots.txt, a
redirect loop, a slow page), and every request is logged with its headers.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.server
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class Route:
    """A fixed answer for one path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Logged:
    path: str
    status: int
    headers: dict[str, str]


class SiteServer:
    """Serve ``root`` on a free port of 127.0.0.1 until :meth:`close`.

    Args:
        root: the directory to serve.
        delay_s: a pause before every answer (to make a crawl slow enough to interrupt).
        html_suffix: answer ``/a/b`` with ``a/b.html`` when that file exists, as GitHub Pages
            does for sites built with extensionless links (Docusaurus ``trailingSlash: false``).
    """

    def __init__(self, root: Path, *, delay_s: float = 0.0, html_suffix: bool = False) -> None:
        self.root = Path(root)
        self.delay_s = delay_s
        self.html_suffix = html_suffix
        self.routes: dict[str, Route] = {}
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def requests_for(self, path: str) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if r.path == path]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def _answer(self, h: http.server.BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(h.path).path)
        headers = {k.lower(): v for k, v in h.headers.items()}
        route = self.routes.get(path)
        if route is not None:
            status, body, extra = route.status, route.body, route.headers
            time.sleep(route.delay_s)
        else:
            status, body, extra = self._file(path, headers)
        time.sleep(self.delay_s)
        with self._lock:
            self.log.append(Logged(path, status, headers))
        h.send_response(status)
        for key, value in extra.items():
            h.send_header(key, value)
        if status != 304:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if status != 304:
            h.wfile.write(body)

    def _file(self, path: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        target = (self.root / path.lstrip("/")).resolve()
        if not str(target).startswith(str(self.root.resolve())):
            return 404, b"not found", {"Content-Type": "text/plain"}
        suffixed = target.with_name(target.name + ".html")
        if self.html_suffix and not path.endswith("/") and suffixed.is_file():
            target = suffixed
        elif target.is_dir():
            if not path.endswith("/"):
                return 301, b"", {"Location": path + "/"}
            target = target / "index.html"
        if not target.is_file():
            return 404, b"<h1>404</h1>", {"Content-Type": "text/html"}
        body = target.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        mtime = int(target.stat().st_mtime)
        validators = {
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(mtime, usegmt=True),
            "Content-Type": _content_type(target),
        }
        if headers.get("if-none-match") == etag:
            return 304, b"", validators
        since = headers.get("if-modified-since")
        if since and "if-none-match" not in headers:
            parsed = email.utils.parsedate_to_datetime(since).timestamp()
            if mtime <= parsed:
                return 304, b"", validators
        return 200, body, validators


def _content_type(path: Path) -> str:
    return {
        ".html": "text/html; charset=utf-8",
        ".xml": "application/xml",
        ".json": "application/json",
        ".gz": "application/gzip",
        ".txt": "text/plain",
        ".pdf": "application/pdf",
    }.get(path.suffix, "application/octet-stream")
