"""LLMClient against a scripted OpenAI-compatible server: retries, errors, limits, cache, usage."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from groundset.errors import GenerationError
from groundset.generate import CallCache, GenerateSettings, LLMClient
from groundset.generate.grammar import schema_to_gbnf

from scripted import CACHED_TOKENS, COMPLETION_TOKENS, PROMPT_TOKENS, Reply, ScriptedServer

BODY = {"prompt": "Q: 2+2?\nA:", "max_tokens": 8, "temperature": 0.0}


def client_for(server: ScriptedServer, **settings: Any) -> LLMClient:
    cache = settings.pop("cache", None)
    return LLMClient(
        server.url, "scripted", settings=GenerateSettings(**settings), cache=cache, api_key="k"
    )


def serve(*replies: Reply) -> ScriptedServer:
    """A server answering the given replies in turn, then "4" to every later request."""
    return ScriptedServer(lambda n, body: replies[n - 1] if n <= len(replies) else Reply("4"))


def test_429_waits_as_long_as_retry_after_asks() -> None:
    server = serve(Reply(status=429, headers={"Retry-After": "1"}))
    # A backoff of 8 s would show if the header were ignored; no wait would show too.
    client = client_for(server, backoff_s=8.0, max_backoff_s=8.0)
    started = time.monotonic()
    done = client.call("completions", BODY)
    waited = time.monotonic() - started
    server.close()
    assert done.text == "4"
    assert len(server.requests) == 2
    assert 0.95 <= waited < 2.5


def test_5xx_is_retried_with_backoff() -> None:
    server = serve(Reply(status=500), Reply(status=503))
    client = client_for(server, backoff_s=0.05)
    assert client.call("completions", BODY).text == "4"
    server.close()
    assert len(server.requests) == 3


def test_a_timeout_is_retried() -> None:
    server = serve(Reply("late", delay_s=6.0))
    client = client_for(server, timeout_s=0.5, backoff_s=0.05)
    started = time.monotonic()
    assert client.call("completions", BODY).text == "4"
    assert time.monotonic() - started < 4.0  # the late answer was not waited for
    server.close()
    assert len(server.requests) == 2


def test_retries_run_out_with_one_clear_error() -> None:
    server = ScriptedServer(lambda n, body: Reply(status=502, error="bad gateway"))
    client = client_for(server, retries=2, backoff_s=0.01)
    with pytest.raises(GenerationError) as caught:
        client.call("completions", BODY)
    server.close()
    assert len(server.requests) == 3
    assert "failed 3 times" in str(caught.value) and "502" in str(caught.value)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_stops_at_once(status: int) -> None:
    server = ScriptedServer(lambda n, body: Reply(status=status, error="Incorrect API key"))
    client = client_for(server, retries=3, backoff_s=0.01)
    with pytest.raises(GenerationError) as caught:
        client.call("completions", BODY)
    server.close()
    assert len(server.requests) == 1
    message = str(caught.value)
    assert "refused the API key" in message and "Incorrect API key" in message
    assert "OPENAI_API_KEY" in message and "\n" not in message
    assert caught.value.endpoint == server.url


def test_the_key_is_the_one_given_never_the_environments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-users-own-key")
    server = ScriptedServer(lambda n, body: Reply("{}"))
    LLMClient(server.url, "m").call("completions", BODY)
    LLMClient(server.url, "m", api_key="sk-given").call("completions", BODY)
    server.close()
    assert server.authorizations == ["Bearer none", "Bearer sk-given"]


def test_a_bad_request_is_not_retried() -> None:
    server = ScriptedServer(lambda n, body: Reply(status=400, error="no such model"))
    client = client_for(server, backoff_s=0.01)
    with pytest.raises(GenerationError, match=r"rejected the request \(400\): no such model"):
        client.call("completions", BODY)
    server.close()
    assert len(server.requests) == 1


# What llama-cpp-python's server answers to a request it cannot validate: a 500.
LLAMA_CPP_REFUSAL = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', "
    "'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}\n\n"
    '  File "llama_cpp/server/app.py", line 376, in create_chat_completion'
)
SCHEMA = {"type": "object", "properties": {"a": {"enum": ["x"]}}, "required": ["a"]}
CHAT = {
    "messages": [{"role": "user", "content": "Say x."}],
    "max_tokens": 8,
    "response_format": {"type": "json_schema", "json_schema": {"name": "o", "schema": SCHEMA}},
}


@pytest.mark.parametrize(
    ("status", "error", "fix"),
    [
        (404, "model 'gpt-9' not found", "check the model name ('scripted')"),
        (422, "field required: messages", "check the model name and that the endpoint"),
        (500, "1 validation error: max_tokens is not an integer", "check the model name"),
        (400, "'enum' exceeds the limit of 500 values", "set generate.choose_quotes = false"),
    ],
)
def test_an_error_retrying_cannot_mend_stops_at_once_naming_the_fix(
    status: int, error: str, fix: str
) -> None:
    server = ScriptedServer(lambda n, body: Reply(status=status, error=error))
    client = client_for(server, backoff_s=0.01)
    with pytest.raises(GenerationError, match=rf"rejected the request \({status}\)") as caught:
        client.call("chat", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    server.close()
    assert len(server.requests) == 1
    assert fix in caught.value.fix


def test_a_server_refusing_json_schema_is_asked_again_with_a_grammar_and_from_then_on() -> None:
    def script(n: int, body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            return Reply(status=500, error=LLAMA_CPP_REFUSAL)
        return Reply('{"a": "x"}')

    server = ScriptedServer(script)
    client = client_for(server, retries=0)  # the second ask is no retry: none are left
    assert client.call("chat", CHAT).text == '{"a": "x"}'
    assert client.call("chat", {**CHAT, "max_tokens": 9}).text == '{"a": "x"}'
    server.close()
    bodies = [body for _, body in server.requests]
    assert len(bodies) == 3, "one refusal, then each request once"
    assert bodies[0]["response_format"]["type"] == "json_schema"
    for body in bodies[1:]:
        assert "response_format" not in body
        assert body["grammar"] == schema_to_gbnf(SCHEMA)
    assert client.usage.calls == 2


def test_requests_in_flight_when_json_schema_is_refused_all_go_again_with_the_grammar() -> None:
    # Two workers send json_schema at once; both are refused, the second after the first has
    # already switched the client to the grammar. Neither may fail the run.
    import threading
    from concurrent.futures import ThreadPoolExecutor

    # The first refusal waits until the second json_schema request has arrived, so that it is
    # in flight when the client switches, however the two threads are scheduled.
    second_sent = threading.Event()

    def script(n: int, body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            if n == 1:
                second_sent.wait(timeout=10)
                return Reply(status=500, error=LLAMA_CPP_REFUSAL)
            second_sent.set()
            return Reply(status=500, error=LLAMA_CPP_REFUSAL, delay_s=0.3)
        return Reply('{"a": "x"}')

    server = ScriptedServer(script)
    client = client_for(server, retries=0, concurrency=2)
    with ThreadPoolExecutor(2) as pool:
        texts = list(
            pool.map(lambda t: client.call("chat", {**CHAT, "max_tokens": t}).text, [8, 9])
        )
    server.close()
    assert texts == ['{"a": "x"}', '{"a": "x"}']
    refused = [b for _, b in server.requests if "response_format" in b]
    assert len(refused) == 2, "both first requests carried json_schema"
    assert len(server.requests) == 4


def test_an_explicit_json_schema_is_not_swapped_and_the_error_says_what_to_set() -> None:
    server = ScriptedServer(lambda n, body: Reply(status=500, error=LLAMA_CPP_REFUSAL))
    client = client_for(server, response_format="json_schema", backoff_s=0.01)
    with pytest.raises(
        GenerationError, match=r"rejected the request \(500\): 1 validation"
    ) as caught:
        client.call("chat", CHAT)
    server.close()
    assert len(server.requests) == 1
    assert "set generate.response_format" in caught.value.fix
    assert "File " not in str(caught.value), "no server traceback in the message"


def test_an_unreachable_endpoint_is_a_generation_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    client = LLMClient(
        f"http://127.0.0.1:{port}/v1", "m", settings=GenerateSettings(retries=1, backoff_s=0.01)
    )
    with pytest.raises(GenerationError, match="cannot connect") as caught:
        client.call("completions", BODY)
    assert "failed 2 times" in str(caught.value)


def test_concurrency_limit_is_respected() -> None:
    server = ScriptedServer(lambda n, body: Reply("4", delay_s=0.3))
    client = client_for(server, concurrency=2)
    threads = [
        threading.Thread(target=client.call, args=("completions", {**BODY, "seed": i}))
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.close()
    assert len(server.requests) == 6
    assert server.max_in_flight == 2


def test_cache_answers_a_repeated_call_without_the_server(tmp_path: Path) -> None:
    server = serve()
    cache = CallCache(tmp_path / "calls.sqlite")
    first = client_for(server, cache=cache).call("completions", BODY)
    again = client_for(server, cache=cache)
    second = again.call("completions", BODY)
    other = again.call("completions", {**BODY, "seed": 7})
    server.close()
    assert len(server.requests) == 2  # the first call and the one with another seed
    assert (first.from_cache, second.from_cache, other.from_cache) == (False, True, False)
    assert second.text == first.text == "4"
    assert again.usage.cache_hits == 1 and again.usage.calls == 1


def test_cache_keys_include_the_endpoint(tmp_path: Path) -> None:
    server = serve()
    cache = CallCache(tmp_path / "calls.sqlite")
    client_for(server, cache=cache).call("completions", BODY)
    LLMClient(server.url, "scripted", cache=cache, endpoint_id="another-endpoint").call(
        "completions", BODY
    )
    server.close()
    assert len(server.requests) == 2


def test_usage_counts_tokens_and_prices_them() -> None:
    server = serve()
    client = client_for(server)
    client.call("completions", BODY)
    client.call("chat", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5})
    server.close()
    assert [path for path, _ in server.requests] == ["/v1/completions", "/v1/chat/completions"]
    usage = client.usage
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (
        2, 2 * PROMPT_TOKENS, 2 * COMPLETION_TOKENS, 2 * CACHED_TOKENS,
    )  # fmt: skip
    fresh, cached = 2 * (PROMPT_TOKENS - CACHED_TOKENS), 2 * CACHED_TOKENS
    expected = (fresh * 2.0 + cached * 0.5 + 2 * COMPLETION_TOKENS * 8.0) / 1e6
    assert usage.cost(2.0, 8.0, 0.5) == pytest.approx(expected)
    assert usage.cost(None, 8.0) is None


def test_extra_fields_reach_the_endpoint() -> None:
    server = serve()
    client_for(server).call("completions", {**BODY, "grammar": 'root ::= "4"'})
    server.close()
    assert server.requests[0][1]["grammar"] == 'root ::= "4"'
    assert server.requests[0][1]["model"] == "scripted"


def test_a_recycled_endpoint_is_restarted_every_n_requests_that_reach_it(tmp_path: Path) -> None:
    server = serve()
    restarts: list[int] = []
    client = LLMClient(
        server.url, "m", settings=GenerateSettings(), cache=CallCache(tmp_path / "c.sqlite"),
        recycle=lambda: restarts.append(len(server.requests)), recycle_every=3,
    )  # fmt: skip
    for n in range(7):
        client.call("completions", {**BODY, "max_tokens": n + 1})
    client.call("completions", {**BODY, "max_tokens": 1})  # from the cache: no request
    server.close()
    assert len(server.requests) == 7
    assert restarts == [3, 6], "before the 4th and the 7th request"
