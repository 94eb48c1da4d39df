"""Batch generation's files: requests in the OpenAI Batch format, and results joined back by id.

A request line is ``{"custom_id", "method": "POST", "url", "body"}``: the custom id is the
planned sample's stable id, and the body exactly what the online generator sends for its first
call, model included. A result line is what OpenAI's batch output and error files and vLLM's
``run_batch`` write: ``{"id", "custom_id", "response": {"status_code", "body"}, "error"}``.

A result becomes a sample through the online generator's own validation
(:meth:`Generator.outcome`), with one difference: an answer that is invalid or cut off gets no
repair call. A repair needs the first answer in its prompt, so it would be a second batch and a
second wait of up to a day, for the few answers that fail under the output constraint; such an
answer is rejected with its reason (``invalid_json``, ``too_long``), as online when the repair
fails too, and its error says it was not repaired. The rounds of a project ask for more.

What a result line means follows the online client (:mod:`groundset.generate.client`):

- answered (status 200): validated into a sample or a rejection, its tokens counted;
- refused (a 4xx other than 429: asking again would be refused again): rejected
  ``invalid_json``, with the endpoint's message and no output;
- unanswered (no response, as for an expired or cancelled batch; a 429 or 5xx; no line for the
  id): nothing is recorded, so the next run asks again.

A batch whose every line was refused is a configuration problem (a model name the endpoint does
not serve), not a sample's: :func:`join` then records nothing and raises.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from groundset.errors import GenerationError, UsageError
from groundset.files import MalformedLine, read_lines
from groundset.generate.client import Api, Completion
from groundset.generate.run import Generator, OutcomeWriter, Request

__all__ = [
    "API_OF_URL",
    "URLS",
    "BatchUrl",
    "LineResult",
    "completion_body",
    "join",
    "parse_result",
    "request_line",
    "results_in_file",
    "results_in_text",
]

BatchUrl = Literal["/v1/chat/completions", "/v1/completions"]
#: The batch ``url`` of each API, and back.
URLS: dict[Api, BatchUrl] = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}
API_OF_URL: dict[str, Api] = {url: api for api, url in URLS.items()}


def request_line(generator: Generator, request: Request) -> dict[str, Any]:
    """The batch line of ``request``: what :meth:`LLMClient.call` would send, under its id."""
    return {
        "custom_id": request.sample_id,
        "method": "POST",
        "url": URLS[generator.api],
        "body": {"model": generator.client.model, **request.body},
    }


@dataclass(frozen=True)
class LineResult:
    """What one result line says about its request.

    ``completion`` is the answer when the request was answered; otherwise ``status`` (None when
    the line has no response) and ``error`` say why not.
    """

    custom_id: str
    completion: Completion | None
    status: int | None = None
    error: str = ""

    @property
    def refused(self) -> bool:
        """Whether the endpoint refused the request itself, so that asking again cannot help."""
        return self.completion is None and self.status is not None and _refusal(self.status)

    def reason(self) -> str:
        """The refusal or failure in words, for a rejected record."""
        return f"the endpoint refused the request ({self.status}): {self.error or 'no message'}"


def _refusal(status: int) -> bool:
    return 400 <= status < 500 and status != 429


def parse_result(record: Any, api: Api) -> LineResult:
    """One result line, as OpenAI's batch files and vLLM's ``run_batch`` write it.

    Raises:
        ValueError: the record is not a result line.
    """
    if not isinstance(record, dict) or not isinstance(record.get("custom_id"), str):
        raise ValueError("it has no custom_id")
    response = record.get("response")
    if response is not None and not isinstance(response, dict):
        raise ValueError("its response is not an object")
    status = response.get("status_code") if response else None
    body = response.get("body") if response else None
    if status == 200 and isinstance(body, dict):
        return LineResult(record["custom_id"], _completion(body, api), 200)
    return LineResult(
        record["custom_id"],
        None,
        status if isinstance(status, int) else None,
        _error_text(record.get("error"), body),
    )


def _completion(body: dict[str, Any], api: Api) -> Completion:
    """The first choice of a chat or text completion body, as the online client reads it."""
    try:
        choice = body["choices"][0]
        text = choice["message"]["content"] if api == "chat" else choice["text"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("its body holds no completion") from None
    usage = body.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    return Completion(
        text=text or "",
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
    )


def _error_text(error: Any, body: Any) -> str:
    """The message of a failed line: its ``error`` (a string for vLLM, an object for OpenAI),
    or the error its response body holds."""
    for holder in (error, body):
        if isinstance(holder, str) and holder:
            return holder
        if isinstance(holder, dict):
            inner = holder.get("error", holder)
            if isinstance(inner, dict) and inner.get("message"):
                code = inner.get("code")
                return f"{inner['message']}" + (f" ({code})" if isinstance(code, str) else "")
            if isinstance(inner, str) and inner:
                return inner
    return ""


def results_in_text(text: str, api: Api, where: str) -> dict[str, LineResult]:
    """The results of a downloaded output or error file, by custom id.

    Raises:
        GenerationError: a line is not a result line.
    """
    records: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append((number, json.loads(line)))
            except ValueError as exc:
                raise GenerationError(
                    f"line {number} of {where} is not JSON: {exc}",
                    fix="run again to download it again",
                ) from None
    try:
        return _by_id(_parsed(records, api))
    except _BadLine as exc:
        raise GenerationError(f"line {exc.number} of {where} is not a result line: {exc}") from None


def results_in_file(path: Path, api: Api) -> dict[str, LineResult]:
    """The results a batch output file holds, by custom id.

    Raises:
        UsageError: the file is missing, or a line is not a result line.
    """
    if not path.is_file():
        raise UsageError(f"no such file: {path}", fix="give the output file of the batch runner")
    records: list[tuple[int, Any]] = []
    for line in read_lines(path):
        if not line.text.strip():
            continue
        try:
            records.append((line.number, line.parse()))
        except MalformedLine as exc:
            if not line.ended:
                continue  # the last line of a runner that was interrupted: asked again
            raise UsageError(
                f"{path}:{line.number} is {exc}", fix="give the batch runner's output file"
            ) from None
    try:
        return _by_id(_parsed(records, api))
    except _BadLine as exc:
        raise UsageError(
            f"{path}:{exc.number} is not a batch result line: {exc}",
            fix="give the batch runner's output file (custom_id, response, error per line)",
        ) from None


class _BadLine(ValueError):
    def __init__(self, number: int, problem: str) -> None:
        super().__init__(problem)
        self.number = number


def _parsed(records: Iterable[tuple[int, Any]], api: Api) -> Iterator[LineResult]:
    for number, record in records:
        try:
            yield parse_result(record, api)
        except ValueError as exc:
            raise _BadLine(number, str(exc)) from None


def _by_id(results: Iterable[LineResult]) -> dict[str, LineResult]:
    """Results by custom id; an answer wins over a failure of the same request."""
    by_id: dict[str, LineResult] = {}
    for result in results:
        held = by_id.get(result.custom_id)
        if held is None or held.completion is None:
            by_id[result.custom_id] = result
    return by_id


def join(
    generator: Generator,
    requests: Iterable[Request],
    results: Mapping[str, LineResult],
    writer: OutcomeWriter,
) -> list[str]:
    """Write the outcome of every request the results answer or refuse, counting the tokens of
    the answers in the generator's client; return the ids left unanswered.

    Raises:
        GenerationError: every result is a refusal, so nothing is recorded.
    """
    if results and all(r.refused for r in results.values()):
        first = next(iter(results.values()))
        raise GenerationError(
            f"the endpoint refused every request of the batch; the first: {first.reason()}",
            endpoint=generator.client.base_url,
            fix=f"check the model name ({generator.client.model!r}) and that the endpoint "
            "takes the requests' output constraint (generate.response_format)",
        )
    unanswered = []
    for request in requests:
        result = results.get(request.sample_id)
        if result is not None and result.completion is not None:
            answer = result.completion
            generator.client.usage.add_call(
                answer.prompt_tokens, answer.completion_tokens, answer.cached_tokens
            )
            writer.write(generator.outcome(request, answer, repair=False))
        elif result is not None and result.refused:
            writer.write(generator.refused(request, result.reason()))
        else:
            unanswered.append(request.sample_id)
    return unanswered


def completion_body(completion: Completion, model: str, api: Api) -> dict[str, Any]:
    """A chat or text completion body holding ``completion``, as an endpoint answers it."""
    usage = {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": completion.cached_tokens},
    }
    if api == "chat":
        message = {"role": "assistant", "content": completion.text}
        choice: dict[str, Any] = {"index": 0, "message": message}
        kind = "chat.completion"
    else:
        choice, kind = {"index": 0, "text": completion.text, "logprobs": None}, "text_completion"
    choice["finish_reason"] = completion.finish_reason
    return {"object": kind, "model": model, "choices": [choice], "usage": usage}
