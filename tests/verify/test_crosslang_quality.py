"""The cross-language gate: what the bundled reader keeps of the labelled cross-language dev set.

``tests/fixtures/verification/crosslang_dev.jsonl`` holds, per language, faithful translations
of labelled docs claims, translations whose meaning was changed while their English rendering
stayed right, and translations of unsupported claims, each labelled twice. Every claim goes
through the real check (the bundled reader on 127.0.0.1), and per language and split:

- a language the reader reads keeps at least its floor of faithful translations and lets at
  most its ceiling of meaning-changed and unsupported ones through;
- a language it does not read keeps nothing, every claim refused ``unreadable_language``.

Floors and ceilings are in ``crosslang_baseline.json``, a little on the safe side of what
``benchmarks/crosslang.py`` measured.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from benchmark_modules import load_benchmark

from groundset.verify import CrossClaim, CrossLanguageChecker, make_checker
from groundset.verify.crosslang import LOCAL_READS, Translator, make_translator

BASELINE = Path(__file__).with_name("crosslang_baseline.json")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("crosslang")


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    if not BASELINE.is_file():
        pytest.fail(f"missing cross-language baseline: {BASELINE}")
    return dict(json.loads(BASELINE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def reader() -> Iterator[Translator]:
    translator = make_translator()
    yield translator
    translator.close()


def test_the_bundled_reader_reads_exactly_the_languages_measured(
    reader: Translator, baseline: dict[str, Any]
) -> None:
    assert set(LOCAL_READS) == set(baseline["read"])
    assert not any(reader.reads(tag) for tag in baseline["unread"])
    assert all(reader.reads(tag) for tag in baseline["read"])


@pytest.mark.slow
@pytest.mark.parametrize("split", ["tune", "heldout"])
def test_read_languages_keep_faithful_translations_and_catch_changed_ones(
    bench: ModuleType, reader: Translator, baseline: dict[str, Any], split: str
) -> None:
    rows = bench.load(split, list(baseline["read"]))
    table = bench.figures(rows, bench.kept_by(rows, CrossLanguageChecker(make_checker(), reader)))
    for language, bounds in baseline["read"].items():
        cells = table[language]
        faithful, changed, unsupported = (cells[k] for k in ("faithful", "changed", "unsupported"))
        floor = bounds[split]
        assert faithful[0] >= floor["faithful_kept"], (language, split, cells)
        assert changed[0] <= floor["changed_through"], (language, split, cells)
        assert unsupported[0] <= floor["unsupported_through"], (language, split, cells)


def test_unread_languages_keep_nothing_and_say_why(
    bench: ModuleType, reader: Translator, baseline: dict[str, Any]
) -> None:
    rows = bench.load("all", list(baseline["unread"]))
    assert {r["language"] for r in rows} == set(baseline["unread"])
    checker = CrossLanguageChecker(make_checker(), reader)
    claims = [CrossClaim(r["claim"], r["language"], r["evidence"], r["source_text"]) for r in rows]
    supports = checker.check(claims)
    assert all(s.reasons == ("unreadable_language",) and not s.supported for s in supports)
    assert (
        checker.how("yo") == "not checked: no model here reads Yoruba (refused unreadable_language)"
    )
