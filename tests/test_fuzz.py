"""Random input from fixed seeds: what a careless file or a hostile site hands groundset.

The JSONL readers (:func:`read_lines`, :meth:`JsonlLine.parse`, and :func:`verify_claims_file`
through them) and the crawl's scope rule (:func:`normalize_url`, :meth:`Scope.reason_to_skip`)
each get at least 10,000 random cases. Each test asserts what its module documents and that
nothing else escapes; a failure names the case, so that it can become a test of its own (as the
regressions at the end did).
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from groundset.crawl.scope import Scope, normalize_url
from groundset.errors import UsageError
from groundset.files import MAX_DEPTH, MAX_LINE_BYTES, MalformedLine, read_lines
from groundset.verify import verify_claims_file

SEED = 20_260_901
CASES = 10_000
EVIDENCE = "Pagination can be turned off by setting the pagination class to None."

# -- random JSONL lines ------------------------------------------------------------------------

_TEXT = (
    string.printable
    + "éßøДж中文日本語한국어ไทย\u202e\u200b\u2028\u00a0\ufeff\ufffd"
    + "".join(map(chr, range(0x00, 0x20)))
)


def _text(rng: random.Random, most: int = 40) -> str:
    return "".join(rng.choice(_TEXT) for _ in range(rng.randint(0, most)))


def _value(rng: random.Random, depth: int) -> Any:
    """A random JSON value nested at most ``depth`` levels, that survives a round trip."""
    kind = rng.randrange(8 if depth > 0 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randint(-(2**70), 2**70)
    if kind == 3:
        return rng.uniform(-1e12, 1e12)
    if kind in (4, 5):
        return _text(rng)
    if kind == 6:
        return [_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    keys = ["id", "claim", "evidence", "source_text", "supported", _text(rng, 8)]
    return {rng.choice(keys): _value(rng, depth - 1) for _ in range(rng.randint(0, 5))}


def _claim_row(rng: random.Random) -> dict[str, Any]:
    """A row with the claims file's keys, of random types and texts. Its ``language`` is never a
    tag: a claim in another language than its evidence is read by the bundled model, which a
    unit test does not start."""
    row: dict[str, Any] = {"claim": _text(rng, 200), "evidence": _text(rng, 400)}
    for key in ("id", "claim", "evidence", "source_text", "language"):
        if rng.random() < 0.25:
            row[key] = _value(rng, 2) if key != "language" else rng.choice([None, 3, [], ""])
    return row


def _nested(rng: random.Random) -> str:
    depth = rng.choice([rng.randint(1, 2 * MAX_DEPTH), MAX_DEPTH, MAX_DEPTH + 1, 5_000])
    opener, inner, closer = rng.choice([("[", "1", "]"), ('{"a":', "1", "}")])
    closed = closer * depth if rng.random() < 0.8 else closer * rng.randint(0, depth)
    return opener * depth + inner + closed


def _mutated(rng: random.Random, line: bytes) -> bytes:
    data = bytearray(line)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(data) + 1)
        action = rng.randrange(3)
        if action == 0 and at < len(data):
            del data[at]
        elif action == 1 and at < len(data):
            data[at] = rng.randrange(256)
        else:
            data[at:at] = bytes([rng.randrange(256)])
    return bytes(data)


def _bad_line(rng: random.Random) -> bytes:
    """One line that may or may not be a record: random bytes, invalid UTF-8, random or broken
    JSON, deep nesting, escapes of half a surrogate pair, huge numbers, long lines."""
    kind = rng.randrange(11)
    if kind == 0:
        return rng.randbytes(rng.randint(0, 300))
    if kind == 1:
        return _text(rng, 200).encode("utf-8", "surrogatepass")
    if kind == 2:
        return json.dumps(_value(rng, 6), ensure_ascii=rng.random() < 0.5).encode()
    if kind == 3:
        return _nested(rng).encode()
    if kind == 4:
        row = json.dumps(_claim_row(rng)).encode()
        return _mutated(rng, row)
    if kind == 5:
        lone = rng.choice(["\\ud800", "\\udfff", "\\udc00\\ud800", "\\ud83d"])
        return f'{{"claim": "a{lone}", "evidence": "b"}}'.encode()
    if kind == 6:
        return rng.choice([b"NaN", b"-Infinity", b'{"claim": 1e999}', b"1" * 5_000, b"-" * 9])
    if kind == 7:  # long; few of them whole claims, which take the checker a while
        claim = b'{"claim": "' + b"x " * rng.randint(1_000, 20_000)
        return claim + rng.choice([b'", "evidence": "x"}'] + [b"", b'"', b"\xff"] * 10)
    if kind == 8:
        return rng.choice([b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"\xc3\x28", b"\xed\xa0\x80"])
    if kind == 9:
        return json.dumps(_claim_row(rng), ensure_ascii=False).encode("utf-8", "surrogatepass")
    return rng.choice([b"", b"   ", b"\r", b"\t\x0b\x0c", b"{}", b"[]", b"null", b'"x"'])


def _good_row(tag: str) -> dict[str, Any]:
    return {"id": f"good-{tag}", "claim": EVIDENCE, "evidence": EVIDENCE}


#: What a random line is expected to be: anything, as long as nothing but MalformedLine escapes.
ANYTHING = object()


def _write_lines(
    rng: random.Random, path: Path, size: int, good: list[tuple[bytes, Any]]
) -> list[Any]:
    """Write ``size`` random lines with the ``good`` ones among them; what each line holds."""
    rows = [(_bad_line(rng), ANYTHING) for _ in range(size)]
    for row in good:
        rows.insert(rng.randrange(len(rows) + 1), row)
    path.write_bytes(b"".join(line.replace(b"\n", b" ") + b"\n" for line, _ in rows))
    return [expected for _, expected in rows]


# -- the JSONL readers -------------------------------------------------------------------------


def test_every_jsonl_line_is_a_value_or_one_malformed_line(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    seen = 0
    for file in range(10):
        values = [_value(rng, 6) for _ in range(20)]
        good = [(json.dumps(v, ensure_ascii=rng.random() < 0.5).encode(), v) for v in values]
        if file == 0:  # a line over the limit, never held whole
            good.append((b'"' + b"x" * MAX_LINE_BYTES + b'"', MalformedLine))
        path = tmp_path / f"{file}.jsonl"
        expected = _write_lines(rng, path, CASES // 9, good)  # some are blank, and skipped
        parsed: dict[int, Any] = {}
        for line in read_lines(path, errors="strict" if file % 2 else "replace"):
            seen += 1
            assert 1 <= line.number <= len(expected) and line.ended
            try:
                parsed[line.number] = line.parse()
            except MalformedLine as exc:
                assert str(exc), f"{path} line {line.number}: the reason is given"
                parsed[line.number] = MalformedLine
        for number, value in enumerate(expected, start=1):
            if value is not ANYTHING:
                assert parsed.get(number, "skipped") == value, f"{path} line {number}"
    assert seen >= CASES


def test_verify_claims_reads_past_every_bad_line(tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    lines = 0
    for n in range(200):
        path = tmp_path / f"claims{n}.jsonl"
        rows = [_good_row(f"{n}-{i}") for i in range(rng.randint(1, 3))]
        expected = _write_lines(
            rng, path, CASES // 180, [(json.dumps(r).encode(), r) for r in rows]
        )
        good = [row["id"] for row in expected if row is not ANYTHING]
        out = tmp_path / f"checked{n}.jsonl"
        summary = verify_claims_file(path, out)
        lines += summary["total"]
        assert summary["total"] == sum(1 for _ in read_lines(path, errors="replace"))
        judged = summary["supported"] + summary["unsupported"]
        assert judged + summary["malformed"] == summary["total"], path
        assert len(summary["malformed_lines"]) == summary["malformed"], path
        # Split at line breaks only: str.splitlines also splits at U+2028, which JSON leaves be.
        written = [json.loads(x) for x in out.read_text(encoding="utf-8").split("\n")[:-1]]
        assert len(written) == judged, path
        checked = [w for w in written if w.get("id") in good]
        assert [w["id"] for w in checked] == good, f"{path}: every good line is checked, in order"
        assert all(w["supported"] for w in checked), path
    assert lines >= CASES


@pytest.mark.parametrize(
    "call",
    [
        lambda tmp: verify_claims_file(tmp / "missing.jsonl", tmp / "out.jsonl"),
        lambda tmp: verify_claims_file(tmp, tmp / "out.jsonl"),
        lambda tmp: verify_claims_file(tmp / "x.jsonl", tmp / "x.jsonl"),
    ],
    ids=["no such file", "a folder", "out is the input"],
)
def test_verify_claims_refuses_what_it_cannot_read_as_documented(
    tmp_path: Path, call: Callable[[Path], object]
) -> None:
    (tmp_path / "x.jsonl").write_text(json.dumps(_good_row("x")) + "\n")
    with pytest.raises(UsageError):
        call(tmp_path)


# -- the crawl's scope -------------------------------------------------------------------------

_SCHEMES = ["http", "https", "HTTPS", "hTtP", "file", "ftp", "javascript", "data", "mailto", ""]
_HOSTS = [
    "docs.example.com", "DOCS.Example.COM", "docs.example.com.", "docs.example.com.evil.org",
    "evil.org", "127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "[fe80::1%25eth0]", "[v1.x]", "[::1",
    "::1]", "bücher.de", "xn--bcher-kva.de", "ДОКС.рф", "%64ocs.example.com", "a b", "",
    "docs.example.com@evil.org", "evil.org@docs.example.com", "u:p@docs.example.com",
    "docs.example.com:80@evil.org", "evil.org\\@docs.example.com", "localhost",
]  # fmt: skip
_PORTS = ["", ":", ":80", ":443", ":8000", ":0", ":65535", ":65536", ":-1", ":x", ":٣", ": 8"]
_PIECES = [
    "/", "//", ".", "..", "%2e%2e", "%2F", "index.html", "guide", "docs.example.com", "é", "%",
    "%ZZ", "%00", "\x00", "\n", "\t", " ", "?", "#", "&", "=", "@", ":", "\\", "[", "]", ";",
    "utm_source=x", "a.pdf", "\u202e", "\ud800",
]  # fmt: skip

SCOPES = [
    Scope.from_settings([normalize_url("https://docs.example.com/guide/")]),
    Scope.from_settings([normalize_url("http://127.0.0.1:8000/")], max_depth=2),
    Scope.from_settings([normalize_url("http://[::1]/docs/")], deny=[r"\?"]),
    Scope.from_settings(
        [normalize_url("https://bücher.de/")], allowed_hosts=["docs.example.com"], allow=["guide"]
    ),
]


def _random_url(rng: random.Random) -> str:
    """A URL a page might link to, well or badly formed; most are http(s) with a host."""
    if rng.random() < 0.05:
        return "".join(rng.choice(_TEXT) for _ in range(rng.randint(0, 60)))

    def mostly(common: list[str], rare: list[str]) -> str:
        return rng.choice(common) if rng.random() < 0.8 else rng.choice(rare)

    scheme = mostly(["http", "https", "HTTPS", "hTtP"], _SCHEMES)
    separator = mostly(["://"], [":", ":/", ":///", "//", ""])
    host = rng.choice(_HOSTS)
    if rng.random() < 0.2:
        host = "".join(rng.choice(string.ascii_letters + "0123456789.-_~%") for _ in range(12))
    port = mostly(["", ":80", ":443", ":8000"], _PORTS)
    path = mostly(["/", "/guide/", "/docs/", "/guide/api/"], ["", "?", "#", "\\"])
    path += "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 10)))
    if rng.random() < 0.02:
        path += "/a" * rng.randint(1_000, 3_000)
    return f"{scheme}{separator}{host}{port}{path}"


def test_normalize_url_gives_an_http_url_or_a_value_error() -> None:
    rng = random.Random(SEED + 2)
    normalized = 0
    for _ in range(2 * CASES):
        url = _random_url(rng)
        try:
            canonical = normalize_url(url)
        except ValueError:
            continue
        parts = urlsplit(canonical)
        assert parts.scheme in ("http", "https") and parts.hostname, (url, canonical)
        assert parts.hostname == urlsplit(url.strip()).hostname, f"{url!r}: the host moved"
        normalized += 1
    assert normalized > CASES // 2, "most random URLs get past the parser, to the rule"


def test_no_url_off_the_scopes_hosts_is_in_scope() -> None:
    rng = random.Random(SEED + 3)
    in_scope = 0
    for _ in range(2 * CASES):
        url = _random_url(rng)
        try:
            canonical = normalize_url(url)
        except ValueError:
            continue
        netloc = urlsplit(canonical).netloc
        for scope in SCOPES:
            reason = scope.reason_to_skip(canonical, depth=rng.randint(0, 4))
            if netloc not in scope.hosts:
                assert reason is not None, (url, canonical, scope.hosts)
            in_scope += reason is None
    assert in_scope > CASES // 20, "many random URLs are in scope"


# -- what the fuzzing found --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://[v1.x]:x@]%00/",  # urlsplit read the host "]%00", which no parser reads back
        "https://[v1.x]@[:%/",  # and the host ":%", which was bracketed as an IPv6 address
        "http://%64ocs.example.com/",
        "http://a b/",
    ],
)
def test_a_host_no_parser_reads_back_is_no_url(url: str) -> None:
    with pytest.raises(ValueError):
        normalize_url(url)


def test_half_a_surrogate_pair_is_one_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "claims.jsonl"
    good = [_good_row("1"), _good_row("2")]
    lone = r'{"id": "x", "claim": "\ud800 pagination", "evidence": "\udfff"}'
    pair = r'{"id": "y", "claim": "\ud83d\ude00 pagination", "evidence": "pagination"}'
    path.write_text("\n".join([json.dumps(good[0]), lone, pair, json.dumps(good[1])]) + "\n")
    summary = verify_claims_file(path, tmp_path / "out.jsonl")
    assert summary["malformed_lines"] == [
        {"line": 2, "error": "not Unicode (a \\uD800-\\uDFFF escape outside a surrogate pair)"}
    ]
    written = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in written] == ["good-1", "y", "good-2"]


def test_a_nul_in_a_claim_is_no_code_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "claims.jsonl"
    rows = [
        {"id": "a", "claim": "Set it \x001\x00 to None.", "evidence": EVIDENCE},
        {"id": "b", "claim": "Set `pagination_class` \x000\x00 to None.", "evidence": EVIDENCE},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    summary = verify_claims_file(path, tmp_path / "out.jsonl")
    assert summary["total"] == 2 and summary["malformed"] == 0
