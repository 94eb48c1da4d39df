"""Batch generation: the files and batches protocol against a scripted endpoint, request and
results files, and the whole offline path on the smallest bundled chat model."""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from drf_passages import MemoryPassages

from groundset.cli import main
from groundset.errors import GenerationError, UsageError
from groundset.generate import GenerateSettings, generate_samples
from groundset.generate.batch import parse_result
from groundset.generate.batch_api import BatchState, batch_state_path
from groundset.generate.commands import resolve_settings
from groundset.generate.offline import read_result_file, run_request_file, write_request_file
from groundset.records import Chunk, Sample

from scripted import CACHED_TOKENS, COMPLETION_TOKENS, PROMPT_TOKENS, ScriptedServer, valid_answer

#: ``(line number from 1, request body) -> the result's "response" and "error"``.
Answer = Callable[[int, dict[str, Any]], tuple[dict[str, Any] | None, Any]]


def chat_body(body: dict[str, Any], text: str) -> dict[str, Any]:
    """A chat completion answering ``body`` with ``text``, as a provider writes it."""
    usage = {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        "prompt_tokens_details": {"cached_tokens": CACHED_TOKENS},
    }
    message = {"role": "assistant", "content": text}
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage,
    }  # fmt: skip


def result_line(custom_id: str, response: dict[str, Any] | None, error: Any) -> dict[str, Any]:
    return {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response,
            "error": error}  # fmt: skip


def answered(n: int, body: dict[str, Any]) -> tuple[dict[str, Any] | None, Any]:
    """The default script: every line answered validly."""
    answer = chat_body(body, valid_answer(body))
    return {"status_code": 200, "request_id": f"req_{n}", "body": answer}, None


class BatchServer:
    """An OpenAI-compatible files and batches API on 127.0.0.1, answering each request line of
    a batch with ``answer``.

    A batch is ``in_progress`` for its first ``polls`` looks, then ``final_status``. Each
    answer goes to the output file, but for a line whose ``error`` is a dict (OpenAI's error
    file); ``expire`` lists lines left unanswered, which an expired batch reports as
    ``batch_expired`` in its error file.
    """

    def __init__(
        self,
        answer: Answer = answered,
        *,
        polls: int = 1,
        final_status: str = "completed",
        expire: frozenset[int] = frozenset(),
    ) -> None:
        self.answer = answer
        self.polls = polls
        self.final_status = final_status
        self.expire = expire
        self.files: dict[str, bytes] = {}
        self.uploads: list[tuple[str, list[dict[str, Any]]]] = []  # (purpose, lines)
        self.batches: dict[str, dict[str, Any]] = {}
        self.creations = 0
        self.looks: dict[str, int] = {}
        self.log: list[str] = []  # "METHOD path" of every request
        self.failing = False  # GET of a batch answers 500 while set
        self.no_batch_api = False  # every route answers 404 while set
        self.create_delay_s = 0.0  # the answer to a create comes this late
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _new_file(self, data: bytes, purpose: str) -> dict[str, Any]:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = data
        return {
            "id": file_id, "object": "file", "bytes": len(data), "purpose": purpose,
            "created_at": 1000 + len(self.files), "filename": f"{file_id}.jsonl",
        }  # fmt: skip

    def upload(self, content_type: str, data: bytes) -> dict[str, Any]:
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + data
        )
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            fields[str(part.get_param("name", header="content-disposition"))] = payload
        purpose = fields["purpose"].decode()
        lines = [json.loads(line) for line in fields["file"].splitlines()]
        self.uploads.append((purpose, lines))
        return self._new_file(fields["file"], purpose)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.creations += 1
        batch_id = f"batch_{self.creations}"
        batch = {
            "id": batch_id, "object": "batch", "endpoint": body["endpoint"],
            "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
            "status": "validating", "created_at": 2000 + self.creations,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
        }  # fmt: skip
        self.batches[batch_id] = batch
        return batch

    def look(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        self.looks[batch_id] = self.looks.get(batch_id, 0) + 1
        if batch["status"] in ("validating", "in_progress") and self.looks[batch_id] > self.polls:
            self._run(batch)
        elif batch["status"] == "validating":
            batch["status"] = "in_progress"
        return batch

    def _run(self, batch: dict[str, Any]) -> None:
        lines = [json.loads(x) for x in self.files[batch["input_file_id"]].decode().splitlines()]
        output: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for n, line in enumerate(lines, 1):
            if n in self.expire:
                error = {"code": "batch_expired", "message": "not answered in time"}
                errors.append(result_line(line["custom_id"], None, error))
                continue
            response, error = self.answer(n, line["body"])
            record = result_line(line["custom_id"], response, error)
            (errors if isinstance(error, dict) else output).append(record)
        for key, records in (("output_file_id", output), ("error_file_id", errors)):
            data = "".join(json.dumps(r) + "\n" for r in records).encode()
            batch[key] = self._new_file(data, "batch_output")["id"] if records else None
        failed = sum(1 for r in output + errors if (r["response"] or {}).get("status_code") != 200)
        counts = {"total": len(lines), "completed": len(lines) - failed, "failed": failed}
        batch["status"], batch["request_counts"] = self.final_status, counts

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["Content-Length"]))
                with server._lock:
                    server.log.append(f"POST {self.path}")
                    if server.no_batch_api:
                        self._send({"error": {"message": "Not Found"}}, 404)
                        return
                    if self.path == "/v1/files":
                        self._send(server.upload(self.headers["Content-Type"], data))
                        return
                    batch = server.create(json.loads(data))
                time.sleep(server.create_delay_s)
                self._send(batch)

            def do_GET(self) -> None:
                with server._lock:
                    server.log.append(f"GET {self.path}")
                    path = self.path.split("?")[0]
                    if path == "/v1/batches":
                        listed = sorted(server.batches.values(), key=lambda b: -b["created_at"])
                        self._send({"object": "list", "data": listed, "has_more": False})
                    elif path.startswith("/v1/batches/"):
                        if server.failing:
                            self._send({"error": {"message": "upstream down"}}, 500)
                        else:
                            self._send(server.look(path.rsplit("/", 1)[1]))
                    else:
                        self._send_bytes(server.files[path.split("/")[3]])

            def _send(self, payload: dict[str, Any], status: int = 200) -> None:
                self._send_bytes(json.dumps(payload).encode(), status, "application/json")

            def _send_bytes(
                self, data: bytes, status: int = 200, kind: str = "application/octet-stream"
            ) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the lost create)

        return Handler


@pytest.fixture
def batches() -> Any:
    server = BatchServer()
    yield server
    server.close()


def batch_settings(url: str, tmp_path: Path, **extra: Any) -> GenerateSettings:
    values: dict[str, Any] = {
        "base_url": url, "model": "scripted", "batch": True, "batch_poll_s": 0.01,
        "batch_max_poll_s": 0.02, "cache_path": tmp_path / "calls.sqlite", "backoff_s": 0.01,
        "price_prompt": 1.0, "price_completion": 2.0, "price_cached": 0.5,
    }  # fmt: skip
    return GenerateSettings(**{**values, **extra})


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- the protocol ----------------------------------------------------------------------------


def test_a_batch_is_submitted_polled_and_joined_by_id_into_what_online_would_write(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    def answer(n: int, body: dict[str, Any]) -> tuple[dict[str, Any] | None, Any]:
        if n == 2:  # a malformed answer: rejected as online, without the repair call
            return {"status_code": 200, "request_id": "r", "body": chat_body(body, "{")}, None
        if n == 3:  # a request the endpoint refused: rejected, with its message
            error = {"error": {"message": "context too long", "code": "context_length"}}
            return {"status_code": 400, "request_id": "r", "body": error}, None
        return answered(n, body)

    server = BatchServer(answer, polls=2)
    out = tmp_path / "batch.jsonl"
    summary = generate_samples(
        passages, out, count=5, settings=batch_settings(server.url, tmp_path)
    )
    server.close()
    # The same samples generated online, request by request, for comparison.
    online = ScriptedServer()
    online_out = tmp_path / "online.jsonl"
    generate_samples(
        passages, online_out, count=5, settings=batch_settings(online.url, tmp_path, batch=False,
                                                               cache=False, concurrency=1),
    )  # fmt: skip
    online.close()

    ((purpose, lines),) = server.uploads
    assert purpose == "batch" and server.creations == 1
    assert server.batches["batch_1"]["completion_window"] == "24h"
    assert server.batches["batch_1"]["endpoint"] == "/v1/chat/completions"
    assert server.looks["batch_1"] == 3  # in progress twice, then completed
    assert {(x["method"], x["url"]) for x in lines} == {("POST", "/v1/chat/completions")}
    # Each line is exactly the online first call of its sample, under the sample's id.
    assert [x["body"] for x in lines] == [body for _, body in online.requests]
    online_samples = {r["id"]: r for r in read(online_out)}
    assert [x["custom_id"] for x in lines] == list(online_samples)
    written = read(out)
    assert [r["id"] for r in written] == [lines[i]["custom_id"] for i in (0, 3, 4)]
    assert all(r == online_samples[r["id"]] for r in written)
    malformed, refused = read(tmp_path / "batch.generate-rejected.jsonl")
    assert malformed["id"] == lines[1]["custom_id"] and malformed["raw_output"] == ["{"]
    assert malformed["verdict"]["reasons"] == ["invalid_json"]
    assert "Invalid JSON" in malformed["error"] and "no repair call" in malformed["error"]
    assert refused["id"] == lines[2]["custom_id"] and refused["raw_output"] == []
    assert refused["error"] == (
        "the endpoint refused the request (400): context too long (context_length)"
    )
    assert (summary.written, summary.rejected, summary.unanswered) == (3, {"invalid_json": 2}, 0)
    # Four answers were paid for (the refusal was not), at half the online prices.
    usage = summary.usage
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (4, 400, 80)
    online_cost = 4 * ((PROMPT_TOKENS - CACHED_TOKENS) + CACHED_TOKENS * 0.5 + 40) / 1e6
    assert summary.cost == pytest.approx(online_cost / 2)
    assert not batch_state_path(out).exists()


def test_an_interrupted_run_picks_up_the_same_batch_and_pays_once(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    server = BatchServer(polls=1)
    server.failing = True  # the endpoint goes away while the batch runs
    out = tmp_path / "samples.jsonl"
    settings = batch_settings(server.url, tmp_path, retries=0)
    with pytest.raises(GenerationError, match=r"could not look at the batch batch_1 .*500"):
        generate_samples(passages, out, count=3, settings=settings)
    state = BatchState.load(batch_state_path(out))
    assert state is not None and state.batch_id == "batch_1"
    assert state.input_file_id == "file-1" and len(state.custom_ids) == 3
    assert read(out) == []
    server.failing = False
    summary = generate_samples(passages, out, count=3, settings=settings)
    assert summary.written == 3 and [r["id"] for r in read(out)] == state.custom_ids
    assert (len(server.uploads), server.creations) == (1, 1)
    assert not batch_state_path(out).exists()
    # Run again: everything is there, so nothing is uploaded or submitted.
    again = generate_samples(passages, out, count=3, settings=settings)
    server.close()
    assert (again.written, again.already_done) == (0, 3)
    assert (len(server.uploads), server.creations) == (1, 1) and len(read(out)) == 3


def test_a_create_whose_answer_was_lost_is_found_not_made_twice(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    server = BatchServer()
    server.create_delay_s = 2.0  # the batch is made, but its answer comes after the timeout
    out = tmp_path / "samples.jsonl"
    settings = batch_settings(server.url, tmp_path, timeout_s=0.5)
    summary = generate_samples(passages, out, count=2, settings=settings)
    server.close()
    assert summary.written == 2 and server.creations == 1
    # Listed before creating (none yet), then again once the create's answer was lost.
    assert [x for x in server.log if x.startswith(("POST /v1/batches", "GET /v1/batches?"))] == [
        "GET /v1/batches?limit=100", "POST /v1/batches", "GET /v1/batches?limit=100",
    ]  # fmt: skip


def test_a_state_with_only_the_input_file_adopts_the_batch_made_from_it(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    # A run that stopped after the upload, before it recorded the batch: the next run submits
    # that input file (no second upload), and would adopt a batch already made from it.
    server = BatchServer()
    out = tmp_path / "samples.jsonl"
    settings = batch_settings(server.url, tmp_path)
    server.failing = True
    with pytest.raises(GenerationError):
        generate_samples(
            passages, out, count=2, settings=settings.model_copy(update={"retries": 0})
        )
    state = BatchState.load(batch_state_path(out))
    assert state is not None
    state.batch_id = None  # as if the create's answer had never been recorded
    state.save(batch_state_path(out))
    server.failing = False
    summary = generate_samples(passages, out, count=2, settings=settings)
    server.close()
    assert summary.written == 2 and (len(server.uploads), server.creations) == (1, 1)


def test_lines_a_batch_left_unanswered_are_asked_for_by_the_next_run(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    def overloaded(n: int, body: dict[str, Any]) -> tuple[dict[str, Any] | None, Any]:
        if n == 1:  # a server error on one line: not the request's fault, so asked again
            error = {"error": {"message": "overloaded"}}
            return {"status_code": 503, "request_id": "r", "body": error}, None
        return answered(n, body)

    server = BatchServer(overloaded, final_status="expired", expire=frozenset({4}))
    out = tmp_path / "samples.jsonl"
    settings = batch_settings(server.url, tmp_path)
    first = generate_samples(passages, out, count=4, settings=settings)
    assert (first.written, first.rejected, first.unanswered) == (2, {}, 2)
    ids = [x["custom_id"] for x in server.uploads[0][1]]
    server.answer, server.expire = answered, frozenset()
    second = generate_samples(passages, out, count=4, settings=settings)
    server.close()
    assert [x["custom_id"] for x in server.uploads[1][1]] == [ids[0], ids[3]]
    assert (second.written, second.already_done, second.unanswered) == (2, 2, 0)
    assert sorted(r["id"] for r in read(out)) == sorted(ids)


def test_a_batch_every_line_of_which_was_refused_records_nothing(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    def no_such_model(n: int, body: dict[str, Any]) -> tuple[dict[str, Any] | None, Any]:
        return {"status_code": 404, "request_id": "r"}, "The model `scripted` does not exist."

    server = BatchServer(no_such_model)
    out = tmp_path / "samples.jsonl"
    with pytest.raises(GenerationError, match=r"refused every request .*404.* does not exist"):
        generate_samples(passages, out, count=2, settings=batch_settings(server.url, tmp_path))
    server.close()
    assert read(out) == read(tmp_path / "samples.generate-rejected.jsonl") == []
    assert not batch_state_path(out).exists()  # nothing was paid: the next run asks anew


def test_a_failed_batch_is_one_error_with_its_reasons(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    server = BatchServer(final_status="failed")
    original = server._run

    def fail(batch: dict[str, Any]) -> None:
        original(batch)
        error = {"code": "invalid_model", "message": "no model scripted"}
        batch["errors"] = {"object": "list", "data": [error]}

    server._run = fail  # type: ignore[method-assign]
    out = tmp_path / "samples.jsonl"
    with pytest.raises(GenerationError, match="the batch batch_1 failed: no model scripted"):
        generate_samples(passages, out, count=1, settings=batch_settings(server.url, tmp_path))
    server.close()
    assert not batch_state_path(out).exists()


def test_a_batch_for_other_samples_or_another_endpoint_is_not_picked_up(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    server = BatchServer()
    out = tmp_path / "samples.jsonl"
    path = batch_state_path(out)
    BatchState(server.url, "scripted", "file-9", 0, ["0" * 24], "batch_9").save(path)
    with pytest.raises(UsageError, match="asks for 1 samples that this run does not plan"):
        generate_samples(passages, out, count=2, settings=batch_settings(server.url, tmp_path))
    BatchState("http://elsewhere/v1", "scripted", "file-9", 0, [], "batch_9").save(path)
    with pytest.raises(UsageError, match="was sent to http://elsewhere/v1") as caught:
        generate_samples(passages, out, count=2, settings=batch_settings(server.url, tmp_path))
    server.close()
    assert "--llm-url http://elsewhere/v1" in str(caught.value)
    assert server.log == [] and path.exists()


def test_an_endpoint_without_a_batch_api_is_one_clear_error(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    server = BatchServer()
    server.no_batch_api = True  # as a chat server without files and batches answers
    with pytest.raises(
        GenerationError, match=r"could not upload the request file .*\(404"
    ) as caught:
        generate_samples(
            passages, tmp_path / "s.jsonl", count=1, settings=batch_settings(server.url, tmp_path)
        )
    server.close()
    assert "no batch API" in str(caught.value) and "--write-requests" in str(caught.value)
    assert server.log == ["POST /v1/files"]  # a refusal is not retried


def test_batch_needs_an_endpoint_and_no_translation_calls(
    passages: MemoryPassages, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="needs an endpoint with a batch API"):
        settings = GenerateSettings(batch=True)
        generate_samples(passages, tmp_path / "s.jsonl", count=1, settings=settings)
    server = BatchServer()
    settings = batch_settings(server.url, tmp_path, translate="after")
    with pytest.raises(UsageError, match="translate = after"):
        generate_samples(passages, tmp_path / "s.jsonl", count=1, language="es", settings=settings)
    server.close()
    assert server.log == []


def test_batch_and_its_discount_are_settings_in_layers() -> None:
    assert resolve_settings(None, {}).batch is False
    settings = resolve_settings(
        {"batch_discount": 0.4, "price_prompt": 2.0, "price_completion": 4.0},
        {"GROUNDSET_GENERATE_BATCH": "true"},
    )
    assert settings.batch is True
    prompt, completion, cached = settings.prices(batch=True)
    assert (prompt, completion, cached) == (pytest.approx(0.8), pytest.approx(1.6), None)
    assert settings.prices(batch=False) == (2.0, 4.0, None)
    assert (
        resolve_settings(None, {"GROUNDSET_GENERATE_BATCH": "1"}, {"batch": False}).batch is False
    )
    with pytest.raises(UsageError):
        resolve_settings({"batch_discount": 1.5}, {})


# -- request and results files ----------------------------------------------------------------


def answer_line(request: dict[str, Any]) -> dict[str, Any]:
    """The result line of a request answered validly."""
    body = chat_body(request["body"], valid_answer(request["body"]))
    return result_line(request["custom_id"], {"status_code": 200, "body": body}, None)


def test_result_lines_of_openai_and_vllm_are_read_alike() -> None:
    body = chat_body({"model": "m"}, '{"a": 1}')
    ok = parse_result(result_line("a", {"status_code": 200, "body": body}, None), "chat")
    assert ok.completion is not None and ok.completion.text == '{"a": 1}'
    assert (ok.completion.prompt_tokens, ok.completion.cached_tokens) == (100, 60)
    # vLLM: a failed request is a 400 with the message as a string.
    vllm = parse_result(result_line("b", {"status_code": 400}, "prompt too long"), "chat")
    assert vllm.refused
    assert vllm.reason() == "the endpoint refused the request (400): prompt too long"
    # OpenAI's error file: an expired line has no response, and is asked again.
    error = {"code": "batch_expired", "message": "late"}
    expired = parse_result(result_line("c", None, error), "chat")
    assert expired.completion is None and not expired.refused
    for status in (429, 500):
        assert not parse_result(result_line("d", {"status_code": status}, None), "chat").refused
    with pytest.raises(ValueError, match="no custom_id"):
        parse_result({"response": {}}, "chat")


def test_a_request_file_and_its_results_file_make_the_samples_of_a_batch(
    passages: MemoryPassages, drf_passage_chunks: list[Chunk], tmp_path: Path
) -> None:
    settings = GenerateSettings(model="Qwen/Qwen2.5-7B-Instruct", cache=False)
    out, requests = tmp_path / "samples.jsonl", tmp_path / "requests.jsonl"
    wrote = write_request_file(passages, out, requests, count=3, settings=settings)
    lines = read(requests)
    assert wrote.written == 3 and len(lines) == 3 and "run_batch -i" in str(wrote)
    assert {x["body"]["model"] for x in lines} == {"Qwen/Qwen2.5-7B-Instruct"}
    assert all(x["body"]["response_format"]["type"] == "json_schema" for x in lines)
    # A runner's output, as vLLM writes it: one answer, one failure, one line missing.
    refused_line = result_line(lines[1]["custom_id"], {"status_code": 400}, "bad request")
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps(answer_line(lines[0])) + "\n" + json.dumps(refused_line) + "\n")
    summary = read_result_file(passages, out, results, count=3, settings=settings)
    (sample,) = read(out)
    (refused,) = read(tmp_path / "samples.generate-rejected.jsonl")
    checked = Sample.model_validate(sample)
    assert checked.id == lines[0]["custom_id"] and refused["id"] == lines[1]["custom_id"]
    assert checked.generator.model == "Qwen/Qwen2.5-7B-Instruct"
    assert checked.generator.endpoint_host == "offline"
    chunks = {c.id: c for c in drf_passage_chunks}
    assert all(c.quote in chunks[c.chunk_id].text for x in checked.claims for c in x.citations)
    assert (summary.written, summary.rejected, summary.unanswered) == (1, {"invalid_json": 1}, 1)
    # Read again: the written results are not written twice; the request file now holds only
    # the sample still missing.
    again = read_result_file(passages, out, results, count=3, settings=settings)
    assert (again.written, again.already_done, again.unanswered) == (0, 2, 1)
    assert write_request_file(passages, out, requests, count=3, settings=settings).written == 1
    assert [x["custom_id"] for x in read(requests)] == [lines[2]["custom_id"]]
    # With no model named, the requests are the bundled model's, for `groundset run-batch`.
    local = GenerateSettings(local_model="qwen2.5-coder-0.5b-instruct", cache=False)
    wrote = write_request_file(passages, out, requests, count=3, settings=local)
    (line,) = read(requests)
    assert line["body"]["model"] == "qwen2.5-coder-0.5b-instruct" and "grammar" in line["body"]
    assert "groundset run-batch" in str(wrote) and "vllm" not in str(wrote)


def test_results_of_other_settings_are_refused(passages: MemoryPassages, tmp_path: Path) -> None:
    settings = GenerateSettings(model="m", cache=False)
    out, requests = tmp_path / "samples.jsonl", tmp_path / "requests.jsonl"
    write_request_file(passages, out, requests, count=2, settings=settings)
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(answer_line(x)) + "\n" for x in read(requests)))
    other = settings.model_copy(update={"seed": 7})
    with pytest.raises(UsageError, match=r"none of the 2 results .* answers a sample planned"):
        read_result_file(passages, out, results, count=2, settings=other)
    assert not out.exists()
    with pytest.raises(UsageError, match="is the results file itself"):
        read_result_file(passages, results, results, count=2, settings=settings)


def test_the_command_line_takes_one_batch_mode_and_checks_request_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["generate", "--corpus", str(tmp_path), "--count", "1", "--out", str(tmp_path / "s")]
    assert main([*args, "--batch", "--write-requests", str(tmp_path / "r.jsonl")]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    bad = tmp_path / "requests.jsonl"
    bad.write_text('{"custom_id": "a", "url": "/v1/embeddings", "body": {}}\n')
    assert main(["run-batch", str(bad), "--out", str(tmp_path / "results.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "requests.jsonl:1 is not a batch request to /v1/chat/completions" in err
    assert err.count("\n") == 1


# -- the whole offline path on the local model ------------------------------------------------


SMALL = "qwen2.5-coder-0.5b-instruct"


@pytest.mark.slow
def test_a_request_file_answered_by_the_local_model_reads_back_into_samples(
    passages: MemoryPassages, drf_passage_chunks: list[Chunk], tmp_path: Path
) -> None:
    # The smallest bundled chat model, behind its llama.cpp server, is the batch runner. Two
    # requests are shaped for it (no model named: its name, its temperature, the GBNF
    # grammar); the third as for vLLM (the model named, a JSON schema), which the runner turns
    # into the grammar that llama.cpp takes.
    local = GenerateSettings(local_model=SMALL, max_passages=1, cache=False)
    for_vllm = local.model_copy(update={"model": SMALL, "temperature": 0.3})
    out, results = tmp_path / "samples.jsonl", tmp_path / "results.jsonl"
    requests, vllm_requests = tmp_path / "requests.jsonl", tmp_path / "vllm.jsonl"
    write_request_file(passages, out, requests, count=3, settings=local)
    write_request_file(passages, out, vllm_requests, count=3, settings=for_vllm)
    lines, vllm_lines = read(requests), read(vllm_requests)
    ids = [x["custom_id"] for x in lines]
    assert [x["custom_id"] for x in vllm_lines] == ids  # one plan, whatever the shape
    assert all(x["body"]["model"] == SMALL and x["body"]["temperature"] == 0.3 for x in lines)
    assert all("grammar" in x["body"] and "response_format" not in x["body"] for x in lines)
    assert vllm_lines[2]["body"]["response_format"]["type"] == "json_schema"
    requests.write_text("".join(json.dumps(x) + "\n" for x in [*lines[:2], vllm_lines[2]]))

    ran = run_request_file(requests, results, local)
    outputs = read(results)
    assert ran.answered == 3 and ran.completion_tokens > 0
    assert [x["custom_id"] for x in outputs] == ids
    assert all(x["response"]["status_code"] == 200 for x in outputs)

    summary = read_result_file(passages, out, results, count=3, settings=local)
    rejected = read(tmp_path / "samples.generate-rejected.jsonl")
    samples = [Sample.model_validate(r) for r in read(out)]
    assert summary.unanswered == 0 and len(samples) + len(rejected) == 3
    assert samples, rejected
    assert {s.id for s in samples} | {r["id"] for r in rejected} == set(ids)
    chunks = {c.id: c for c in drf_passage_chunks}
    citations = [c for s in samples for claim in s.claims for c in claim.citations]
    assert citations and all(c.quote in chunks[c.chunk_id].text for c in citations)
    assert all(s.generator.model == SMALL for s in samples)
    assert summary.usage.completion_tokens == ran.completion_tokens
