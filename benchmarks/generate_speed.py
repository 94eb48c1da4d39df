"""Generation speed on the bundled local model (Gemma 3 270M on llama.cpp, 2 threads).

Generates ``--count`` qa samples from real DRF passages (sections of the fixture site's API
guide, or an indexed corpus with ``--corpus``), then the same run again into a new file, which
the call cache answers.

    python benchmarks/generate_speed.py [--count 4] [--corpus DIR] [--passages 1]

Prints samples per minute, tokens per sample (prompt and completion), the share of each prompt
that is its stable prefix (in tokens, as the server counts them), and the time of the rerun.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "generate"))

from groundset.generate import GenerateSettings, LocalModelServer, generate_samples  # noqa: E402
from groundset.generate.client import LLMClient  # noqa: E402
from groundset.generate.passages import PassageSource, plan_passages  # noqa: E402
from groundset.generate.run import Generator  # noqa: E402
from groundset.generate.tasks import get_task  # noqa: E402


def token_count(server: LocalModelServer, text: str) -> int:
    """Tokens of ``text`` as the server's tokenizer counts them."""
    request = urllib.request.Request(
        server.base_url.removesuffix("/v1") + "/extras/tokenize",
        data=json.dumps({"input": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(json.load(response)["tokens"])


def prefix_share(server: LocalModelServer, source: PassageSource, settings: GenerateSettings,
                 count: int) -> float:  # fmt: skip
    """The mean share of a prompt's tokens that are its stable prefix."""
    client = LLMClient(server.base_url, server.model, settings=settings)
    generator = Generator(get_task("qa", api="completions"), client, "completions", settings, "en")
    plans = plan_passages(
        source, count, seed=settings.seed, personas=settings.personas, styles=settings.styles,
        max_passages=settings.max_passages, min_chars=settings.min_passage_chars,
    )  # fmt: skip
    prompts = [generator.prompt(p) for p in plans]
    prefix = token_count(server, prompts[0].prefix)
    return statistics.mean(prefix / token_count(server, p.text) for p in prompts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--corpus", type=Path, help="an indexed corpus (default: DRF fixture)")
    parser.add_argument("--passages", type=int, default=1, help="most passages per sample")
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if args.corpus:
            from groundset.ground import Index

            source: PassageSource = stack.enter_context(Index.open(args.corpus))
        else:
            from drf_passages import MemoryPassages, drf_chunks

            source = MemoryPassages(drf_chunks())
        started = time.monotonic()
        server = stack.enter_context(LocalModelServer())
        print(f"server ready in {time.monotonic() - started:.1f} s"
              f" ({'started' if server.started_here else 'reused'})")  # fmt: skip
        settings = GenerateSettings(
            base_url=server.base_url, model=server.model, api="completions",
            max_passages=args.passages, cache_path=Path(tmp) / "calls.sqlite",
        )  # fmt: skip
        first = generate_samples(source, Path(tmp) / "a.jsonl", count=args.count, settings=settings)
        again = generate_samples(source, Path(tmp) / "b.jsonl", count=args.count, settings=settings)
        done = first.written + sum(first.rejected.values())
        share = prefix_share(server, source, settings, args.count)
    u = first.usage
    print(
        f"samples: {first.written} kept, {first.rejected or 'none'} rejected, in "
        f"{first.elapsed_s:.1f} s = {60 * done / first.elapsed_s:.2f} samples/min"
    )
    print(f"calls: {u.calls} ({u.calls - done} repairs)")
    print(
        f"tokens per sample: {u.prompt_tokens / done:.0f} prompt, "
        f"{u.completion_tokens / done:.0f} completion"
    )
    print(f"stable prefix: {100 * share:.0f}% of prompt tokens")
    print(f"rerun from cache: {again.elapsed_s:.2f} s, {again.usage.calls} calls, "
          f"{again.usage.cache_hits} cache hits")  # fmt: skip


if __name__ == "__main__":
    main()
