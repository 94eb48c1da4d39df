"""Samples in another language than their sources, made as ``translate = "after"`` makes them:
how often each bundled model writes the language asked for, and what the verifier then keeps.

The inputs are English samples a careful reader keeps: those of the labelled kept set
(``benchmarks/data/kept_set.jsonl``) labelled ``keep``, written by the bundled models on the
fixture sites. Each is translated into every language by each model through
:class:`~groundset.generate.translate.SampleTranslator`, exactly as a run translates a sample it
has written, with the verifier's language check and its one retry. Per model and language:

- **wrong language**: the share refused ``wrong_language`` after the retry (and how many needed
  the retry), then the share of the rest the verifier's own language check still refuses;
- **seconds** per sample, translation only;
- with ``--verify``: the share the default verifier keeps, with the bundled reader checking
  the translations (a language it does not read is refused ``unreadable_language``), and the
  refusals by reason.

Every translated sample and its verdict go to ``--out`` (JSONL), to be read.

``--measure`` instead re-verifies the labelled translations
(``benchmarks/data/translated_samples.jsonl``: the Spanish, Japanese and Chinese translations of
one such run, each labelled twice blind to the brief beside it, ``faithful`` or not, kept where
the readers agreed) and prints, per model and language, the faithful translations kept and the
meaning-changed ones let through.

    python benchmarks/target_language.py [--models M,M] [--languages es,ja] [--n 10] \\
        [--verify] [--out FILE]
    python benchmarks/target_language.py --measure
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

from groundset.generate import LLMClient, LocalModelServer  # noqa: E402
from groundset.generate.settings import GenerateSettings  # noqa: E402
from groundset.generate.translate import SampleTranslator  # noqa: E402
from groundset.records import Chunk, Sample  # noqa: E402
from groundset.verify import SampleVerifier, make_checker  # noqa: E402
from groundset.verify.crosslang import make_translator  # noqa: E402
from groundset.verify.language import is_language  # noqa: E402
from groundset.verify.verifier import DictChunkLookup  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "kept_set.jsonl"
LABELLED = ROOT / "benchmarks" / "data" / "translated_samples.jsonl"
MODELS = ("qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct")
LANGUAGES = ("es", "ja", "zh", "hi", "sw")


def good_samples(n: int) -> list[dict[str, Any]]:
    """``n`` samples a reader keeps, spread over the sites, in a fixed order."""
    rows = [json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines() if x.strip()]
    good = sorted((r for r in rows if r["keep"]), key=lambda r: r["item"])
    by_site: dict[str, list[dict[str, Any]]] = {}
    for row in good:
        by_site.setdefault(row["site"], []).append(row)
    picked: list[dict[str, Any]] = []
    while len(picked) < n and any(by_site.values()):
        for site in sorted(by_site):
            if by_site[site] and len(picked) < n:
                picked.append(by_site[site].pop(0))
    return picked


def translate_all(
    model: str, languages: list[str], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every row translated into every language by ``model``, each with what it took."""
    out = []
    settings = GenerateSettings(concurrency=1, timeout_s=900)
    with LocalModelServer(model) as server:
        client = LLMClient(server.base_url, server.model, settings=settings, endpoint_id=model)
        try:
            for language in languages:
                translator = SampleTranslator(client, language, is_language)
                for row in rows:
                    sample = Sample.model_validate(row["sample"])
                    started = time.monotonic()
                    calls = client.usage.calls
                    result = translator.translate(sample, "en", seed=0)
                    out.append(
                        {
                            "model": model,
                            "language": language,
                            "item": row["item"],
                            "site": row["site"],
                            "english": {"question": sample.question, "answer": sample.answer},
                            "sample": None if result.sample is None else result.sample.model_dump(),
                            "error": result.error,
                            "calls": client.usage.calls - calls,
                            "retried": len(result.raw) > 1 + len(_sentences(sample)),
                            "seconds": time.monotonic() - started,
                        }
                    )
                    print(f"{model} {language} {row['item']}: {result.error or 'ok'}", flush=True)
        finally:
            client.close()
    return out


def _sentences(sample: Sample) -> list[str]:
    from groundset.generate.translate import split_source_sentences

    return split_source_sentences(sample.answer or "")


def verify_all(results: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """The default verifier's verdict on each translated sample, with the bundled reader."""
    chunks = {row["item"]: [Chunk.model_validate(c) for c in row["chunks"]] for row in rows}
    checker = make_checker("calibrated")
    english = {}
    for row in rows:
        verifier = SampleVerifier(DictChunkLookup(chunks[row["item"]]), checker, "en")
        english[row["item"]] = verifier.verify(Sample.model_validate(row["sample"])).accepted
    translator = make_translator()
    try:
        for result in results:
            result["kept_in_english"] = english[result["item"]]
            if result["sample"] is None:
                continue
            lookup = DictChunkLookup(chunks[result["item"]])
            verifier = SampleVerifier(lookup, checker, result["language"], translator=translator)
            verdict = verifier.verify(Sample.model_validate(result["sample"]))
            result["verdict"] = verdict.model_dump()
            print(f"verify {result['model']} {result['language']} {result['item']}: "
                  f"{'kept' if verdict.accepted else verdict.reasons}", flush=True)  # fmt: skip
    finally:
        translator.close()


def report(results: list[dict[str, Any]]) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["model"], r["language"]), []).append(r)
    print(
        f"\n{'model':30} lang  n  refused (retried)  verifier: wrong language  s/sample"
        "  kept (of those kept in English)"
    )
    for (model, language), part in sorted(groups.items()):
        n = len(part)
        refused = sum(r["sample"] is None for r in part)
        retried = sum(r["retried"] for r in part)
        written = [r for r in part if r["sample"] is not None]
        still_wrong = sum(
            "wrong_language" in r.get("verdict", {}).get("reasons", []) for r in written
        )
        seconds = sum(r["seconds"] for r in part) / n
        verified = [r for r in written if "verdict" in r]
        kept = sum(r["verdict"]["accepted"] for r in verified)
        reasons: Counter[str] = Counter()
        for r in verified:
            reasons.update(list(dict.fromkeys(r["verdict"]["reasons"])))
        english = sum(r.get("kept_in_english", False) for r in part)
        kept_text = f"{kept}/{n} ({english})" if verified else "-"
        print(
            f"{model:30} {language:4} {n:2}  {refused:2}/{n} ({retried:2}){'':8}"
            f"{still_wrong:2}/{len(verified) or '-'}{'':21}{seconds:5.1f}  {kept_text}"
        )
        errors = Counter(r["error"].split(", ", 1)[1] for r in part if r["error"])
        if errors:
            print(f"{'':36}not translated: {dict(errors.most_common())}")
        if reasons:
            print(f"{'':36}refused by the verifier: {dict(reasons.most_common())}")


def measure() -> None:
    """Faithful translations kept and meaning-changed ones let through, on the labelled set."""
    rows = [json.loads(x) for x in LABELLED.read_text(encoding="utf-8").splitlines() if x]
    checker = make_checker("calibrated")
    translator = make_translator()
    table: dict[tuple[str, str], list[int]] = {}
    try:
        for row in rows:
            lookup = DictChunkLookup(Chunk.model_validate(c) for c in row["chunks"])
            verifier = SampleVerifier(lookup, checker, row["language"], translator=translator)
            kept = verifier.verify(Sample.model_validate(row["sample"])).accepted
            for key in ((row["model"], row["language"]), (row["model"], "all"), ("all", "all"),
                        (f"all ({row['split']})", "all")):  # fmt: skip
                cell = table.setdefault(key, [0, 0, 0, 0])
                cell[0 if row["faithful"] else 2] += 1
                cell[1 if row["faithful"] else 3] += kept
    finally:
        translator.close()
    print(f"{'model':30} lang  faithful kept  meaning changed, let through")
    for (model, language), (n, k, m, let) in sorted(table.items()):
        print(f"{model:30} {language:4}  {k:3}/{n:<3}         {let:3}/{m}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--n", type=int, default=10, help="English samples per language")
    parser.add_argument("--verify", action="store_true", help="run the verifier on them too")
    parser.add_argument("--out", type=Path, help="every translated sample, as JSONL")
    parser.add_argument("--measure", action="store_true", help="the labelled translations")
    args = parser.parse_args()
    if args.measure:
        measure()
        return 0
    rows = good_samples(args.n)
    languages = args.languages.split(",")
    results = []
    for model in args.models.split(","):
        results += translate_all(model, languages, rows)
    if args.verify:
        verify_all(results, rows)
    if args.out:
        args.out.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results), encoding="utf-8"
        )
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
