"""A scripted OpenAI-compatible server on 127.0.0.1, for testing the client's wiring.

Each request to ``/v1/completions`` or ``/v1/chat/completions`` is answered by the script: a
function of the request number and body that returns a :class:`Reply`. By default the "model"
answers valid JSON whose claim quotes the first sentence of passage 1 word for word, so runs
against it can check citations exactly.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROMPT_TOKENS = 100
COMPLETION_TOKENS = 20
CACHED_TOKENS = 60


@dataclass
class Reply:
    """What the server answers: a model text, or an error status, after an optional delay."""

    text: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    error: str = "scripted error"


def prompt_of(body: dict[str, Any]) -> str:
    """The prompt text of a completions or chat request."""
    if "prompt" in body:
        return str(body["prompt"])
    return "\n".join(m["content"] for m in body["messages"])


def valid_answer(body: dict[str, Any]) -> str:
    """A valid qa or instruct output quoting the first sentence of passage 1 of the prompt."""
    prompt = prompt_of(body)
    passage = prompt.rsplit("<<<PASSAGE 1 |", 1)[1].split("\n", 1)[1].split("\nPASSAGE 1>>>")[0]
    quote = re.split(r"(?<=[.!?])\s", passage.strip(), maxsplit=1)[0][:100]
    citations = [{"passage": 1, "quote": quote}]
    evidence: dict[str, Any] = {"evidence": citations}
    if "source_text" in json.dumps(body.get("grammar") or body.get("response_format") or ""):
        claim = {"citations": citations, "text": "Inasema hivyo.", "source_text": "It says so."}
        evidence = {"claims": [claim]}
    if "instruction-and-response pairs" in prompt:
        return json.dumps(
            {"instruction": "Do what this section says.", **evidence, "response": "It says so."}
        )
    return json.dumps(
        {"question": "What does this section say?", **evidence, "answer": "It says so."}
    )


def passage_of(body: dict[str, Any], n: int = 1) -> tuple[str, str]:
    """The heading line and the text of passage ``n`` of the (last) prompt's passages."""
    prompt = prompt_of(body)
    block = prompt.rsplit(f"<<<PASSAGE {n} |", 1)[1].split(f"\nPASSAGE {n}>>>")[0]
    where, text = block.split("\n", 1)
    return where.strip(), text


def extractive_answer(body: dict[str, Any]) -> str:
    """A qa output a careful model could write: it asks about passage 1's section and answers
    with one of its sentences, quoted; a section with no plain sentence gets a ``quote`` that
    the passage does not hold, as a careless model writes."""
    where, text = passage_of(body)
    topic = where.split(" > ")[-1]
    sentence = next(
        (
            s.strip()
            for s in re.split(r"(?<=[.!?])\s+", text)
            if 6 <= len(s.split()) <= 14
            and len(s.strip()) <= 110
            and not re.search(r"[#|<>{}]|\n", s.strip())
            and s.strip()[:1].isupper()
        ),
        None,
    )
    quote = sentence or f"{topic} is configured in settings.py."
    evidence = [{"passage": 1, "quote": quote}]
    return json.dumps({"question": f"What is {topic}?", "evidence": evidence, "answer": quote})


def answer_validly(n: int, body: dict[str, Any]) -> Reply:
    """The default script: every request gets a valid answer."""
    return Reply(valid_answer(body))


class ScriptedServer:
    """The server, in a thread; ``requests`` logs ``(path, body)`` of every request.

    Args:
        script: ``(request number from 1, body) -> Reply``.
    """

    def __init__(self, script: Callable[[int, dict[str, Any]], Reply] = answer_validly) -> None:
        self.script = script
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.authorizations: list[str] = []  # the Authorization header of each request
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.authorizations.append(self.headers.get("Authorization", ""))
                    server.requests.append((self.path, body))
                    n = len(server.requests)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    reply = server.script(n, body)
                    time.sleep(reply.delay_s)
                    self._send(reply, body)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, reply: Reply, body: dict[str, Any]) -> None:
                if reply.status != 200:
                    payload: dict[str, Any] = {"error": {"message": reply.error, "type": "x"}}
                else:
                    payload = _completion(self.path, body, reply.text or "")
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

        return Handler


def _completion(path: str, body: dict[str, Any], text: str) -> dict[str, Any]:
    usage = {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        "prompt_tokens_details": {"cached_tokens": CACHED_TOKENS},
    }
    common = {"id": "cmpl-1", "created": 0, "model": body["model"], "usage": usage}
    if path.endswith("/chat/completions"):
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return {**common, "object": "chat.completion", "choices": [choice]}
    choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
    return {**common, "object": "text_completion", "choices": [choice]}
