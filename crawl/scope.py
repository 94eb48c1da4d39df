"""Which URLs a crawl may visit, and the one spelling each URL is known by.

Normalisation makes two spellings of one page one URL, so the page is fetched and stored once:
scheme and host lower-cased, default ports dropped, fragments and tracking parameters removed,
the remaining query sorted, ``.``/``..`` and duplicate slashes resolved, a trailing
``index.html`` dropped (``guide/index.html`` and ``guide/`` are the same page on a static site).
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from groundset.errors import UsageError

__all__ = [
    "MAX_URL_LENGTH",
    "NON_HTML_EXTENSIONS",
    "Scope",
    "is_version",
    "normalize_url",
    "validate_start_url",
    "version_segments",
]

#: URLs longer than this are not requested (the limit browsers and Scrapy keep); counted.
MAX_URL_LENGTH = 2083

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|ref_src)$")
_INDEX_FILES = ("index.html", "index.htm")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# What no host name holds (the WHATWG URL standard's forbidden domain code points): a host
# holding one is a spelling the URL parsers disagree on, or one no URL parser reads back.
_FORBIDDEN_IN_HOST = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")

#: Link targets that are not pages; skipped (and counted) without a request.
# fmt: off
NON_HTML_EXTENSIONS = frozenset((
    "7z", "apk", "bin", "bmp", "bz2", "css", "csv", "dmg", "doc", "docx", "eot", "epub", "exe",
    "gif", "gz", "ico", "iso", "jar", "jpeg", "jpg", "js", "json", "m4a", "map", "mov", "mp3",
    "mp4", "mpeg", "odp", "ods", "odt", "ogg", "otf", "pdf", "png", "ppt", "pptx", "ps", "rar",
    "rss", "svg", "tar", "tgz", "tif", "tiff", "ttf", "txt", "wav", "webm", "webp", "woff",
    "woff2", "xls", "xlsx", "xml", "xz", "zip",
))
# fmt: on


# A docs version in a path: "1.3", "v0.11", "29.3", "2.x", "5.1.2". A bare "v2" or "3" is left
# alone: it names an API version as often as a docs version.
_VERSION = re.compile(r"v?\d+(?:\.(?:\d+|x))+", re.IGNORECASE)
# A language segment before a version (Read the Docs' /en/1.2/, Django's /en/5.1/).
_LANGUAGE = re.compile(r"[a-z]{2}(?:[-_][a-z]{2,4})?", re.IGNORECASE)


def is_version(segment: str) -> bool:
    """Whether one path segment spells a docs version ("29.3", "v0.11", "2.x")."""
    return _VERSION.fullmatch(segment) is not None


def version_segments(url: str) -> frozenset[tuple[int, str]]:
    """The docs versions a URL's path is under, as (segment index, version) pairs.

    A version segment is a version tree's when more path follows it (``/docs/29.3/intro``) or a
    language segment precedes it (``/en/1.2/``); a page named by a version
    (``/releases/1.2.3/``) is a page, not a tree.
    """
    segments = urlsplit(url).path.split("/")[1:]
    found = set()
    for i, segment in enumerate(segments):
        if not is_version(segment):
            continue
        deeper = any(segments[i + 1 :])
        after_language = i > 0 and _LANGUAGE.fullmatch(segments[i - 1]) is not None
        if deeper or after_language:
            found.add((i, segment.lower()))
    return frozenset(found)


def normalize_url(url: str) -> str:
    """The canonical spelling of ``url`` (see the module docstring).

    Raises:
        ValueError: ``url`` is not an absolute http(s) URL.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = _host(parts.hostname.lower(), url)
    port = parts.port
    netloc = host if port is None or str(port) == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _normalize_path(parts.path)
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def _host(host: str, url: str) -> str:
    """``host`` as a URL spells it: an IPv6 address in brackets; a name no parser reads back as
    the same host (``]%00``, ``[:%]``: what is left when a host is misread) raises ValueError."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"not an IPv6 address: {host!r} in {url!r}") from None
        return f"[{host}]"
    if _FORBIDDEN_IN_HOST.search(host):
        raise ValueError(f"not a host name: {host!r} in {url!r}")
    return host


def _normalize_path(path: str) -> str:
    if not path:
        return "/"
    trailing = path.endswith("/")
    path = posixpath.normpath(re.sub(r"/{2,}", "/", path))
    path = "/" if path in (".", "/") else path
    head, _, last = path.rpartition("/")
    if last.lower() in _INDEX_FILES:
        return f"{head}/"
    if trailing and not path.endswith("/"):
        path += "/"
    return path if path.startswith("/") else f"/{path}"


def validate_start_url(url: str) -> str:
    """A start URL, normalised, or a :class:`UsageError` that says what is wrong with it."""
    try:
        return normalize_url(url)
    except ValueError:
        raise UsageError(
            f"malformed start URL: {url!r}",
            fix="give an absolute http(s) URL such as https://docs.example.com/guide/",
        ) from None


@dataclass(frozen=True)
class Scope:
    """The hosts, path prefixes and patterns a crawl keeps to.

    By default the hosts and path prefixes are those of the start URLs: starting at
    ``https://host/docs/guide/`` keeps the crawl under ``https://host/docs/guide/``.
    """

    hosts: frozenset[str]
    prefixes: tuple[str, ...]
    allow: tuple[re.Pattern[str], ...] = ()
    deny: tuple[re.Pattern[str], ...] = ()
    max_depth: int | None = None
    extensions: frozenset[str] = field(default=NON_HTML_EXTENSIONS)

    @classmethod
    def from_settings(
        cls,
        start_urls: Iterable[str],
        *,
        allowed_hosts: Iterable[str] = (),
        path_prefixes: Iterable[str] = (),
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        max_depth: int | None = None,
    ) -> Scope:
        """Build a scope; patterns that are not valid regexes raise :class:`UsageError`."""
        starts = [urlsplit(u) for u in start_urls]
        hosts = frozenset(h.lower() for h in allowed_hosts) or frozenset(s.netloc for s in starts)
        prefixes = tuple(path_prefixes) or tuple(
            sorted({s.path[: s.path.rfind("/") + 1] or "/" for s in starts})
        )
        return cls(
            hosts=hosts,
            prefixes=prefixes,
            allow=tuple(_compile(p, "allow") for p in allow),
            deny=tuple(_compile(p, "deny") for p in deny),
            max_depth=max_depth,
        )

    def reason_to_skip(self, url: str, depth: int = 0) -> str | None:
        """Why ``url`` (already normalised) is out of scope, or None when it is in scope."""
        if len(url) > MAX_URL_LENGTH:
            return "url_too_long"
        parts = urlsplit(url)
        if parts.netloc not in self.hosts:
            return "offsite"
        if not any(parts.path.startswith(p) for p in self.prefixes):
            return "out_of_prefix"
        ext = posixpath.splitext(parts.path)[1].lstrip(".").lower()
        if ext in self.extensions:
            return "non_html"
        if self.allow and not any(p.search(url) for p in self.allow):
            return "not_allowed"
        if any(p.search(url) for p in self.deny):
            return "denied"
        if self.max_depth is not None and depth > self.max_depth:
            return "too_deep"
        return None


def _compile(pattern: str, kind: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(
            f"bad {kind} pattern {pattern!r}: {exc}", fix="write it as a Python regex"
        ) from None
