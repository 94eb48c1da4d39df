"""Verification speed: claims per second and peak memory of each checker on the WiCE claims.

Each checker runs in a fresh interpreter, so that its peak resident memory (``getrusage``) is
its own and not the high-water mark of the checkers before it. Model loading is timed apart from
checking. WiCE evidence is whole web pages (median about 1,000 words): these are claims checked
against a web page each, not against one chunk.

Run as a script to print the table::

    python benchmarks/verify_speed.py [--checkers overlap,lexical,embedding,cascade]
        [--limit N] [--nli-model PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

WICE = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "fixtures"
    / "verification"
    / "wice_claim_dev.jsonl"
)


def measure(name: str, limit: int | None, options: dict[str, str]) -> dict[str, float]:
    """Load one checker, check the WiCE claims, and report speed and memory (this process)."""
    from groundset.verify import make_checker

    if not WICE.is_file():
        raise FileNotFoundError(f"missing verification fixture: {WICE}")
    rows = [json.loads(line) for line in WICE.read_text(encoding="utf-8").splitlines() if line]
    pairs = [(r["claim"], r["evidence"]) for r in rows[:limit]]
    start = time.perf_counter()
    checker = make_checker(name, **options)
    loaded = time.perf_counter()
    checker.check(pairs)
    done = time.perf_counter()
    # ru_maxrss is in kilobytes on Linux.
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "claims": len(pairs),
        "load_s": loaded - start,
        "claims_per_s": len(pairs) / (done - loaded),
        "peak_rss_mib": rss_peak,
    }


def run_isolated(name: str, limit: int | None, options: dict[str, str]) -> dict[str, float]:
    """Run :func:`measure` for one checker in a child interpreter."""
    command = [sys.executable, __file__, "--one", name, "--options", json.dumps(options)]
    if limit:
        command += ["--limit", str(limit)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: Sequence[str] | None = None) -> int:
    """Print claims per second and peak memory for each checker."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--checkers", default="overlap,lexical,embedding,cascade")
    parser.add_argument("--limit", type=int, help="check only the first N claims")
    parser.add_argument("--nli-model", help="a CrossEncoder for the nli checker")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.limit, json.loads(args.options))))
        return 0
    options = {"nli_model": args.nli_model} if args.nli_model else {}
    header = f"{'checker':10s} {'claims':>6s} {'load s':>7s} {'claims/s':>9s} {'peak RSS MiB':>13s}"
    print(header)
    for name in args.checkers.split(","):
        r = run_isolated(name, args.limit, options if name in {"nli", "cascade"} else {})
        print(
            f"{name:10s} {r['claims']:6.0f} {r['load_s']:7.2f} {r['claims_per_s']:9.1f}"
            f" {r['peak_rss_mib']:13.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
