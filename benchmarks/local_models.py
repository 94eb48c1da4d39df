"""The local models side by side: what each writes about the DRF fixture, how fast, what is kept.

Crawls the DRF fixture deploy into ``--work`` (once), indexes it, then for each model and task
generates ``--count`` samples with groundset's real prompts on the local llama.cpp server, verifies
them with the default checker and prints, per model and task:

- samples per minute (generation time only; answers from the call cache are not counted, so run
  on an empty ``--work/<model>`` to time it) and the seconds of each request, first and last
  quarter apart (a server that slows down over a long run shows here);
- the kept share, and kept samples per minute;
- the share of quotes found verbatim (an exact substring) in the chunk they cite;
- tokens per sample, prompt and completion;
- the local server's resident memory, sampled every 2 s: its peak, and the peaks of the first
  and last quarter of the run (a server that grows over a long run shows here).

The samples, kept and rejected files land in ``--work/<model>/<task>...`` to be read: a kept
sample is worth something only if a person reading its section agrees with it.

    python benchmarks/local_models.py [--models qwen2.5-coder-0.5b-instruct,gemma-3-270m]
        [--tasks qa,instruct,evol,schema] [--count 10] [--language en] [--variant answer-first]
        [--work /tmp/groundset-local-models]

``--variant claims`` asks for a claim restating each quote before the answer (prompt v2), and
``--variant answer-first`` for the answer first, then its claims and their quotes (prompt v1):
the shapes the default (evidence, then the answer) is measured against.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, create_model

from groundset.corpus import Corpus
from groundset.crawl import crawl
from groundset.crawl.settings import CrawlSettings
from groundset.demo import serve
from groundset.generate import GenerateSettings, LLMClient, generate_samples
from groundset.generate.client import Api
from groundset.generate.prompts import Prompt, PromptTemplate
from groundset.generate.tasks import TASKS
from groundset.generate.tasks.base import Choices, TaskOutput, claim_list
from groundset.generate.tasks.qa import QaTask, qa_output_model
from groundset.ground import Index
from groundset.verify import verify_samples_file

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
DRF = FIXTURES / "sites" / "drf" / "v2026-07-31"
#: The record schema of the ``schema`` task here: what an API reference entry holds.
RECORD_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 80},
        "kind": {"enum": ["setting", "class", "function", "command", "option", "concept"]},
        "summary": {"type": "string", "maxLength": 240},
    },
    "required": ["name", "kind", "summary"],
}


class ClaimsQa(QaTask):
    """``qa`` as prompt v2 had it: each claim restated after its quote, then the answer."""

    prompt_version = "qa.v2"

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        super().__init__(settings, api)
        self.template = PromptTemplate.load(self.prompt_version)

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{question, claims, answer}``, each claim ``{citations, text}``."""
        return create_model(
            "ClaimsQaOutput",
            __base__=TaskOutput,
            question=(Annotated[str, Field(min_length=8, max_length=150)], ...),
            claims=(claim_list(n_passages, translated, choices), ...),
            answer=(Annotated[str, Field(min_length=1, max_length=300)], ...),
        )


class AnswerFirstQa(ClaimsQa):
    """``qa`` as prompt v1 had it: the answer first, then claims, each before its quote."""

    prompt_version = "qa.v1"

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """The v2 model with its fields reordered: the grammar follows this order."""
        return _reordered(super().output_model(n_passages, translated, choices))


def _reordered(model: type[TaskOutput]) -> type[TaskOutput]:
    """``model`` whose schema asks for the answer first, and in each claim the text first."""
    schema = model.model_json_schema()

    class Reordered(model):  # type: ignore[misc, valid-type]
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            out = json.loads(json.dumps(schema))
            props = out["properties"]
            out["properties"] = {k: props[k] for k in ("question", "answer", "claims")}
            for definition in out.get("$defs", {}).values():
                inner = definition.get("properties", {})
                if set(inner) >= {"citations", "text"}:
                    definition["properties"] = {
                        "text": inner["text"],
                        **{k: v for k, v in inner.items() if k not in ("text", "citations")},
                        "citations": inner["citations"],
                    }
            return out

    return Reordered


class QuestionFirstQa(QaTask):
    """``qa`` as prompt v3 had it: the question, then the evidence, then the answer."""

    prompt_version = "qa.v3"

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        super().__init__(settings, api)
        self.template = PromptTemplate.load(self.prompt_version)

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{question, evidence, answer}``."""
        return qa_output_model(n_passages, translated, choices, question_first=True)


#: The earlier shapes of ``qa``, to measure what the evidence-question-answer shape changes.
VARIANTS: dict[str, type[QaTask]] = {
    "question-first": QuestionFirstQa,
    "claims": ClaimsQa,
    "answer-first": AnswerFirstQa,
}


@dataclass
class Timed:
    """Seconds of each request that reached the model."""

    seconds: list[float] = field(default_factory=list)


class ServerMemory:
    """Samples the resident memory of the local llama.cpp server processes every 2 s."""

    def __init__(self) -> None:
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            rss = 0
            for proc in Path("/proc").iterdir():
                try:
                    cmdline = (proc / "cmdline").read_bytes()
                    if b"llama_launcher" not in cmdline and b"llama_cpp.server" not in cmdline:
                        continue
                    status = (proc / "status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1]) * 1024
            if rss:
                self.samples.append(rss)

    def figures(self) -> str:
        if len(self.samples) < 4:
            return "not sampled"
        q = len(self.samples) // 4
        mb = 1024 * 1024
        return (
            f"peak {max(self.samples) / mb:.0f} MB; first quarter {max(self.samples[:q]) / mb:.0f},"
            f" last {max(self.samples[-q:]) / mb:.0f}"
        )


def corpus(work: Path) -> Path:
    """The DRF fixture deploy, crawled and indexed into ``work/drf`` once."""
    if not DRF.is_dir():
        raise SystemExit(f"missing fixture: {DRF}")
    root = work / "drf"
    if not (root / "index").is_dir():
        with serve(DRF, port=0) as url:
            crawl(CrawlSettings(start_urls=[url]), root)
        with Index.open(root) as index, Corpus(root) as documents:
            print(index.update(documents), file=sys.stderr)
    return root


def verbatim_share(samples: Path, index: Index) -> tuple[int, int]:
    """(quotes found as exact substrings of their chunk, quotes)."""
    rows = [json.loads(line) for line in samples.read_text().splitlines() if line.strip()]
    ids = [q["chunk_id"] for r in rows for c in r["claims"] for q in c["citations"]]
    chunks = index.get(ids)
    found = sum(
        q["quote"] in chunks[q["chunk_id"]].text
        for r in rows
        for c in r["claims"]
        for q in c["citations"]
        if q["chunk_id"] in chunks
    )
    return found, len(ids)


def run_one(
    model: str, task: str, args: argparse.Namespace, root: Path, timed: Timed
) -> dict[str, Any]:
    """Generate and verify one model's samples of one task; returns the figures."""
    label = args.variant or "default"
    values: dict[str, Any] = {"local_model": model}
    if args.temperature is not None:
        label += f"-t{args.temperature:g}"
        values["temperature"] = args.temperature
    if args.max_passages is not None:
        label += f"-p{args.max_passages}"
        values["max_passages"] = args.max_passages
    if args.recycle is not None:
        label += f"-recycle{args.recycle}"
        values["local_recycle_requests"] = args.recycle
    out_dir = args.work / model / label
    out = out_dir / f"{task}.{args.language}.jsonl"
    values["cache_path"] = out_dir / "llm-cache.sqlite"
    if task == "schema":
        schema_file = args.work / "record.schema.json"
        schema_file.write_text(json.dumps(RECORD_SCHEMA))
        values["record_schema"] = schema_file
    if task == "evol":
        values["seed_samples"] = out_dir / f"qa.{args.language}.jsonl"
    settings = GenerateSettings(**values)
    if args.variant in VARIANTS:
        TASKS["qa"] = VARIANTS[args.variant]
    if args.variant == "zero-shot":
        messages = Prompt.messages
        Prompt.messages = lambda self: [messages(self)[0], messages(self)[-1]]  # type: ignore
    with Index.open(root) as index, ServerMemory() as memory:
        started = time.monotonic()
        summary = generate_samples(
            index, out, count=args.count, task=task, language=args.language, settings=settings
        )
        elapsed = time.monotonic() - started
        kept, rejected = out.with_suffix(".kept.jsonl"), out.with_suffix(".rejected.jsonl")
        verdicts = verify_samples_file(out, index, kept, rejected, question_embedder=index.embedder)
        found, quotes = verbatim_share(out, index)
    done = summary.written + sum(summary.rejected.values())
    usage = summary.usage
    return {
        "model": model,
        "task": task,
        "samples": done,
        "calls": usage.calls,
        "seconds": round(elapsed, 1),
        "samples_per_min": round(60 * done / elapsed, 2) if usage.calls else None,
        "kept": verdicts.kept,
        "kept_per_min": round(60 * verdicts.kept / elapsed, 2) if usage.calls else None,
        "rejected_by_reason": dict(verdicts.reasons),
        "invalid_json": summary.rejected.get("invalid_json", 0),
        "quotes_verbatim": f"{found}/{quotes}",
        "prompt_tokens_per_sample": round(usage.prompt_tokens / max(1, usage.calls)),
        "completion_tokens_per_sample": round(usage.completion_tokens / max(1, usage.calls)),
        "request_s": _quarters(timed.seconds),
        "server_rss": memory.figures(),
    }


def _quarters(seconds: list[float]) -> str:
    if len(seconds) < 4:
        return " ".join(f"{s:.1f}" for s in seconds)
    q = len(seconds) // 4
    first, last = statistics.median(seconds[:q]), statistics.median(seconds[-q:])
    return f"median {statistics.median(seconds):.1f}; first quarter {first:.1f}, last {last:.1f}"


def main() -> int:
    """Print the figures of every model and task asked for, one JSON object a line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="qwen2.5-coder-0.5b-instruct,gemma-3-270m")
    parser.add_argument("--tasks", default="qa,instruct,evol,schema")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--language", default="en")
    parser.add_argument("--variant", choices=[*VARIANTS, "zero-shot"], default=None)
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--max-passages", type=int, default=None)
    parser.add_argument(
        "--recycle", type=int, default=None, help="local_recycle_requests (default: the setting's)"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/groundset-local-models"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    root = corpus(args.work)
    timed = Timed()
    call = LLMClient.call

    def timed_call(self: LLMClient, api: Any, body: dict[str, Any]) -> Any:
        started = time.monotonic()
        completion = call(self, api, body)
        if not completion.from_cache:
            timed.seconds.append(time.monotonic() - started)
        return completion

    LLMClient.call = timed_call  # type: ignore[method-assign]
    for model in args.models.split(","):
        # Each run starts its own server, as `groundset generate` does, recycling it as it goes.
        for task in args.tasks.split(","):
            timed.seconds.clear()
            print(json.dumps(run_one(model, task, args, root, timed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
