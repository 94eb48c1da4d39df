"""Cross-language claims: is the target-language text itself checked? Figures per language.

The dev set (``tests/fixtures/verification/crosslang_dev.jsonl``) holds, for each of six
languages, faithful translations of labelled docs claims, translations whose meaning was changed
while their English rendering stayed right, and translations of unsupported claims. Each goes
through the verifier's cross-language check (:mod:`groundset.verify.crosslang`) as a claim with
its rendering, and the figures a user needs are printed per language and split:

- faithful kept: faithful translations of supported claims that are kept;
- changed let through: meaning-changed translations that are kept (the rendering is right, the
  text is not);
- unsupported let through: translations of unsupported claims that are kept;
- claims per second;

and, for comparison, the same with the old check (the rendering alone, the text unread).

    python benchmarks/crosslang.py [--split tune|heldout|all] [--languages es,ja] [--cache F]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "tests" / "fixtures" / "verification" / "crosslang_dev.jsonl"

from groundset.verify import CrossClaim, CrossLanguageChecker, make_checker  # noqa: E402
from groundset.verify.crosslang import make_translator  # noqa: E402

KINDS = ("faithful", "changed", "unsupported")


def load(split: str = "all", languages: list[str] | None = None) -> list[dict[str, Any]]:
    """The dev set's rows of one split (``all`` for both) and the languages asked for."""
    if not DEV.is_file():
        raise FileNotFoundError(f"missing cross-language dev set: {DEV}")
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    return [
        r
        for r in rows
        if (split == "all" or r["split"] == split)
        and (languages is None or r["language"] in languages)
    ]


def kept_by(rows: list[dict[str, Any]], checker: CrossLanguageChecker) -> list[bool]:
    """Whether each row's claim is kept by the cross-language check."""
    claims = [CrossClaim(r["claim"], r["language"], r["evidence"], r["source_text"]) for r in rows]
    return [s.supported for s in checker.check(claims)]


def figures(rows: list[dict[str, Any]], kept: list[bool]) -> dict[str, dict[str, list[int]]]:
    """Per language and kind: [kept, total]."""
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: {k: [0, 0] for k in KINDS})
    for row, k in zip(rows, kept, strict=True):
        cell = out[row["language"]][row["kind"]]
        cell[0] += int(k)
        cell[1] += 1
    return dict(out)


def _share(cell: list[int]) -> str:
    return f"{cell[0]:2}/{cell[1]:2} ({cell[0] / cell[1]:4.0%})" if cell[1] else "-"


def report(name: str, table: dict[str, dict[str, list[int]]], seconds: float, n: int) -> None:
    """Print one checker's figures."""
    print(f"\n{name}: {n} claims in {seconds:.0f} s ({n / max(seconds, 1e-9):.1f} claims/s)")
    header = ("faithful kept", "changed let through", "unsupp. through")
    print(f"{'language':8} {header[0]:>16} {header[1]:>20} {header[2]:>16}")
    total = {k: [0, 0] for k in KINDS}
    for language, cells in sorted(table.items()):
        for kind in KINDS:
            total[kind][0] += cells[kind][0]
            total[kind][1] += cells[kind][1]
        print(
            f"{language:8} {_share(cells['faithful']):>16} {_share(cells['changed']):>20}"
            f" {_share(cells['unsupported']):>16}"
        )
    print(
        f"{'all':8} {_share(total['faithful']):>16} {_share(total['changed']):>20}"
        f" {_share(total['unsupported']):>16}"
    )


def main() -> int:
    """Measure the default cross-language check against the rendering-only check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="all", choices=["tune", "heldout", "all"])
    parser.add_argument("--languages", type=lambda v: v.split(","))
    parser.add_argument("--cache", type=Path, help="SQLite cache of the translator's answers")
    parser.add_argument("--translator-model", help="a bundled model's name (default: the default)")
    args = parser.parse_args()
    rows = load(args.split, args.languages)
    checker = make_checker("calibrated")

    started = time.perf_counter()
    plain = checker.check([(r["source_text"], r["evidence"]) for r in rows])
    report(
        "the rendering alone (before)",
        figures(rows, [s.supported for s in plain]),
        time.perf_counter() - started,
        len(rows),
    )

    translator = make_translator(args.translator_model, cache_path=args.cache)
    try:
        cross = CrossLanguageChecker(checker, translator)
        started = time.perf_counter()
        kept = kept_by(rows, cross)
        seconds = time.perf_counter() - started
    finally:
        translator.close()
    report(f"the text itself, read by {translator.name}", figures(rows, kept), seconds, len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
