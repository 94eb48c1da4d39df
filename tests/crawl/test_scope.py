"""URL normalisation, scope rules and slugs."""

from __future__ import annotations

import pytest

from groundset.corpus import slug_for_url
from groundset.crawl.scope import Scope, normalize_url
from groundset.errors import UsageError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://Docs.Example.com:443/a/b/#frag", "https://docs.example.com/a/b/"),
        ("http://h/a/index.html", "http://h/a/"),
        ("http://h/a/./b/../c", "http://h/a/c"),
        ("http://h//a//b/", "http://h/a/b/"),
        ("http://h", "http://h/"),
        ("http://h:8000/x?utm_source=t&b=2&a=1&fbclid=z", "http://h:8000/x?a=1&b=2"),
        ("http://h/index.htm", "http://h/"),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize("bad", ["htp:/x", "/relative/path", "mailto:a@b.c", "http://"])
def test_normalize_url_refuses_non_urls(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_url(bad)


def test_scope_defaults_to_the_start_urls_host_and_prefix() -> None:
    scope = Scope.from_settings(["https://h/docs/guide/"], deny=[r"/private/"], max_depth=2)
    assert scope.reason_to_skip("https://h/docs/guide/intro/") is None
    assert scope.reason_to_skip("https://h/blog/") == "out_of_prefix"
    assert scope.reason_to_skip("https://other/docs/guide/") == "offsite"
    assert scope.reason_to_skip("https://h/docs/guide/manual.pdf") == "non_html"
    assert scope.reason_to_skip("https://h/docs/guide/private/x") == "denied"
    assert scope.reason_to_skip("https://h/docs/guide/a/", depth=3) == "too_deep"


def test_bad_pattern_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="bad allow pattern"):
        Scope.from_settings(["https://h/"], allow=["(unclosed"])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/", "index"),
        ("https://h/api-guide/fields/", "api-guide--fields"),
        ("https://h/a/index.html", "a"),
    ],
)
def test_slug_is_readable(url: str, expected: str) -> None:
    assert slug_for_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://h/../../etc/passwd",
        "https://h/con",
        "https://h/a?b=c",
        "https://h/" + "x" * 400,
        "https://h/%2e%2e/%2fetc",
        "https://h/a:b*c",
    ],
)
def test_slug_is_safe_and_never_a_path(url: str) -> None:
    slug = slug_for_url(url)
    assert "/" not in slug and "\\" not in slug and ".." not in slug
    assert len(slug) <= 140
    assert slug.lower() != "con"
    assert all(c.isalnum() or c in "._-" for c in slug)
