"""Batch generation without a batch API: a request file out, a results file back in.

``groundset generate --write-requests REQUESTS.jsonl`` writes the requests of the samples still
missing, in the OpenAI Batch format, and calls nothing. Any batch runner answers them: vLLM's
(``python -m vllm.entrypoints.openai.run_batch -i REQUESTS.jsonl -o RESULTS.jsonl --model M``,
chat requests only), a provider's batch page, or groundset's own ``run-batch``
(:func:`run_request_file`), which sends them one by one to an endpoint or to the bundled local
model. ``groundset generate --read-results RESULTS.jsonl`` then joins the answers to the same
planned samples by id (:mod:`groundset.generate.batch`).

Both ends plan the samples alike from the same corpus, count, task, language and settings, so
they must be given the same ones. The requests name ``settings.model`` (what the runner
serves); with no model named they are shaped for the bundled local model (its name, its
temperature, the GBNF grammar that llama.cpp takes), as ``run-batch`` answers them by default.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groundset.errors import GroundsetWarning, UsageError
from groundset.files import MalformedLine, read_lines, refuse_overwriting
from groundset.generate.batch import (
    API_OF_URL,
    completion_body,
    join,
    request_line,
    results_in_file,
)
from groundset.generate.client import Api, LLMClient
from groundset.generate.local_models import resolve_local_model
from groundset.generate.output import JsonlAppender, done_ids, rejected_path_for
from groundset.generate.passages import PassageSource
from groundset.generate.run import GenerateSummary, Generator, OutcomeWriter
from groundset.generate.samples import Endpoint, local_limits, open_endpoint, warn_unwritten
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks import get_task
from groundset.progress import Progress

__all__ = [
    "OFFLINE_URL",
    "RequestsAnswered",
    "RequestsWritten",
    "offline_endpoint",
    "read_result_file",
    "run_request_file",
    "write_request_file",
]

#: Where samples read from a results file say they were written: their ``endpoint_host`` is
#: ``offline``. Nothing is ever sent there.
OFFLINE_URL = "http://offline/v1"


@dataclass(frozen=True)
class RequestsWritten:
    """A request file written: how many requests, for which model, and how to go on."""

    path: Path
    written: int
    already_done: int
    model: str
    #: Shaped for the bundled local model, which ``run-batch`` answers.
    local: bool

    def __str__(self) -> str:
        run_batch = f"`groundset run-batch {self.path} --out RESULTS.jsonl`"
        vllm = (
            f"python -m vllm.entrypoints.openai.run_batch -i {self.path} -o RESULTS.jsonl"
            f" --model {self.model}"
        )
        runner = run_batch if self.local else f"{vllm}, or {run_batch} --llm-url URL"
        return (
            f"wrote {self.written} requests for {self.model} into {self.path}"
            f" ({self.already_done} samples already there); answer them ({runner}), then run"
            " this command again with --read-results RESULTS.jsonl"
        )


@dataclass(frozen=True)
class RequestsAnswered:
    """What ``run-batch`` did: requests answered and already answered, tokens, time."""

    path: Path
    answered: int
    already_done: int
    prompt_tokens: int
    completion_tokens: int
    elapsed_s: float

    def __str__(self) -> str:
        return (
            f"answered {self.answered} requests into {self.path} ({self.already_done} already"
            f" there) in {self.elapsed_s:.1f} s; {self.prompt_tokens} prompt +"
            f" {self.completion_tokens} completion tokens"
        )


def offline_endpoint(settings: GenerateSettings) -> Endpoint:
    """The endpoint request files are written for and results files read from, started
    nowhere: ``settings.model`` by name, or the bundled local model's shape when none is named.
    """
    if settings.model is None:
        spec = resolve_local_model(settings.local_model)
        settings = local_limits(settings, spec)
        model, chat, local = spec.name, spec.chat, True
    else:
        model, chat, local = settings.model, True, False
    client = LLMClient(OFFLINE_URL, model, settings=settings)
    api: Api = settings.api if settings.api != "auto" else "chat" if chat else "completions"
    return Endpoint(client, api, settings, local)


def _generator(settings: GenerateSettings, task: str, language: str) -> tuple[Generator, bool]:
    """The offline endpoint's generator: samples written in ``language`` directly, since the
    translations of ``translate = after`` are calls of their own that no request file holds;
    and whether it is the local model's shape."""
    if settings.translate == "after":
        raise UsageError(
            "translate = after asks for each translation in a call of its own, which a request "
            "file cannot hold",
            fix='set [generate] translate = "direct", or generate online',
        )
    endpoint = offline_endpoint(settings)
    warn_unwritten(language, endpoint, None)
    recipe = get_task(task, endpoint.settings, endpoint.api)
    generator = Generator(recipe, endpoint.client, endpoint.api, endpoint.settings, language)
    return generator, endpoint.local


def write_request_file(
    passages: PassageSource,
    out: Path,
    requests: Path,
    *,
    count: int,
    task: str = "qa",
    language: str = "en",
    settings: GenerateSettings,
) -> RequestsWritten:
    """Write the requests of the planned samples that ``out`` and its rejected file do not
    hold yet into ``requests`` (replaced whole), one OpenAI Batch line each.

    Raises:
        UsageError: bad arguments, or ``requests`` is one of the samples files.
    """
    refuse_overwriting(
        {"the samples file": out, "its rejected file": rejected_path_for(out)},
        {"the request file": requests},
    )
    generator, local = _generator(settings, task, language)
    todo, _ = generator.missing(passages, out, count)
    requests.parent.mkdir(parents=True, exist_ok=True)
    part = requests.with_name(requests.name + ".part")
    with part.open("w", encoding="utf-8") as fh:
        for plan in todo:
            line = request_line(generator, generator.request(plan))
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(part, requests)
    return RequestsWritten(requests, len(todo), count - len(todo), generator.client.model, local)


def read_result_file(
    passages: PassageSource,
    out: Path,
    results: Path,
    *,
    count: int,
    task: str = "qa",
    language: str = "en",
    settings: GenerateSettings,
) -> GenerateSummary:
    """Join a batch output file to the planned samples that ``out`` does not hold yet, and
    write their samples and rejections as :func:`generate_samples` does; tokens are counted,
    and priced at the batch discount.

    Raises:
        UsageError: bad arguments, a file that is not a batch output, or one that answers
            none of the planned samples (written with other arguments or settings).
        GenerationError: every result is a refusal.
    """
    started = time.monotonic()
    rejected = rejected_path_for(out)
    refuse_overwriting(
        {"the results file": results}, {"the samples file": out, "its rejected file": rejected}
    )
    generator, _ = _generator(settings, task, language)
    answers = results_in_file(results, generator.api)
    todo, summary = generator.missing(passages, out, count)
    planned = [generator.request(p) for p in todo]
    known = {r.sample_id for r in planned} | done_ids(out) | done_ids(rejected)
    stray = len(set(answers) - known)
    if answers and stray == len(answers):
        raise UsageError(
            f"none of the {len(answers)} results in {results} answers a sample planned here",
            fix="read it with the corpus, count, task, language and settings that wrote the "
            "request file",
        )
    if stray:
        warnings.warn(
            f"{stray} results in {results} answer no sample planned here (left aside)",
            GroundsetWarning,
            stacklevel=2,
        )
    writer = OutcomeWriter(summary)
    try:
        summary.unanswered = len(join(generator, planned, answers, writer))
    finally:
        writer.close()
    summary.cost = summary.usage.cost(*generator.settings.prices(batch=True))
    summary.elapsed_s = time.monotonic() - started
    return summary


def run_request_file(requests: Path, results: Path, settings: GenerateSettings) -> RequestsAnswered:
    """Answer a request file line by line, appending each answer to ``results`` in the batch
    output format: a batch runner on the configured endpoint, or on the bundled local model.

    Each request is sent as written, its model included; a line ``results`` already answers is
    skipped, so an interrupted run resumes. A request the endpoint refuses stops the run, as
    online.

    Raises:
        UsageError: ``requests`` is not a request file, or ``results`` is it.
        GenerationError: the endpoint fails or refuses a request.
    """
    started = time.monotonic()
    refuse_overwriting({"the request file": requests}, {"the results file": results})
    lines = _request_lines(requests)
    done = done_ids(results, key="custom_id")
    todo = [line for line in lines if line["custom_id"] not in done]
    if settings.base_url is not None and settings.model is None and lines:
        settings = settings.model_copy(update={"model": lines[0]["body"].get("model")})
    progress = Progress("run-batch")
    with open_endpoint(settings, results.parent) as endpoint:
        # llama-cpp-python's server takes the schema as a grammar only: ask it so at once.
        endpoint.client.json_schema_refused = endpoint.local
        appender = JsonlAppender(results)
        try:
            for n, line in enumerate(todo, 1):
                api = API_OF_URL[line["url"]]
                completion = endpoint.client.call(api, line["body"])
                model = line["body"].get("model") or endpoint.client.model
                response = {
                    "status_code": 200,
                    "request_id": f"groundset-{line['custom_id']}",
                    "body": completion_body(completion, model, api),
                }
                appender.write(
                    {"id": f"batch_req_{line['custom_id']}", "custom_id": line["custom_id"],
                     "response": response, "error": None}
                )  # fmt: skip
                progress.update(f"{n}/{len(todo)}")
        finally:
            appender.close()
            progress.close()
        usage = endpoint.client.usage
    return RequestsAnswered(
        results, len(todo), len(lines) - len(todo), usage.prompt_tokens,
        usage.completion_tokens, time.monotonic() - started,
    )  # fmt: skip


def _request_lines(path: Path) -> list[dict[str, Any]]:
    """The lines of a request file, each checked to be a request groundset can send.

    Raises:
        UsageError: the file is missing, or a line is not such a request.
    """
    if not path.is_file():
        raise UsageError(f"no such file: {path}", fix="give the file --write-requests wrote")
    lines = []
    for line in read_lines(path):
        if not line.text.strip():
            continue
        try:
            record = line.parse()
        except MalformedLine as exc:
            raise UsageError(f"{path}:{line.number} is {exc}", fix="write it again") from None
        if not (
            isinstance(record, dict)
            and isinstance(record.get("custom_id"), str)
            and record.get("url") in API_OF_URL
            and isinstance(record.get("body"), dict)
        ):
            raise UsageError(
                f"{path}:{line.number} is not a batch request to "
                f"{' or '.join(API_OF_URL)} (custom_id, url, body)",
                fix="give the file --write-requests wrote",
            )
        lines.append(record)
    return lines
