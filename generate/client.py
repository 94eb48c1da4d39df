"""The one way groundset talks to a model: the ``openai`` client, with retries and a cache.

Retries follow what the failure says: a timeout, a dropped connection or a 5xx is retried with
exponential backoff; a 429 waits as long as its ``Retry-After`` header asks; a refused key (401,
403), a bad request (400, 404, 422) or a server error that is really a refusal of the request
(llama-cpp-python answers a request it cannot validate with a 500) stops at once with a
:class:`GenerationError` naming the fix, since retrying cannot help.

Endpoints differ in the output constraints they take. With ``response_format`` ``auto``, a chat
request asks for ``json_schema`` (OpenAI, vLLM, llama.cpp's own server); an endpoint that refuses
it (llama-cpp-python's server takes only ``text`` or ``json_object``) is asked again at once with
the same schema as a GBNF ``grammar``, and so for the rest of the run. Not ``json_object`` with
the schema beside it, which that server also takes: its own schema-to-grammar conversion crashed
it (SIGSEGV, the same request every time) on a DRF section that the GBNF grammar got through.
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import openai

from groundset.errors import GenerationError
from groundset.generate.cache import CallCache, call_key
from groundset.generate.grammar import schema_to_gbnf
from groundset.generate.settings import GenerateSettings
from groundset.generate.usage import Usage

__all__ = ["Api", "Completion", "LLMClient", "TokenLogprob"]

Api = Literal["completions", "chat"]

# Request fields the openai client knows by name; any other goes through ``extra_body``.
_COMMON = {"model", "max_tokens", "temperature", "seed", "stop", "top_p"}
_KNOWN = {
    "completions": _COMMON | {"prompt"},
    "chat": _COMMON | {"messages", "response_format", "logprobs", "top_logprobs"},
}

#: One generated token with its log-probability and the most likely alternatives there,
#: ``(token, logprob, {alternative: logprob})``, when the request asked for ``logprobs``.
TokenLogprob = tuple[str, float, dict[str, float]]


@dataclass(frozen=True)
class Completion:
    """The text a model returned for one request, and what it cost."""

    text: str
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    from_cache: bool = False
    logprobs: list[TokenLogprob] | None = None


class LLMClient:
    """An OpenAI-compatible endpoint, called with a concurrency limit, retries and a cache.

    Args:
        base_url: the endpoint (``http://host:port/v1``).
        model: the model name to ask for.
        api_key: the key (``OPENAI_API_KEY`` when None); endpoints without keys accept any.
        settings: timeouts, retries, backoff and the concurrency limit.
        cache: answers of earlier calls; None to always call.
        endpoint_id: what identifies the endpoint in cache keys (``base_url`` when None); a local
            server on a new port is the same model, so it passes the model file instead.
        recycle: called before every ``recycle_every``-th request that reaches the endpoint
            (a local server restarted before it slows down); None never.
        recycle_every: how many requests between two calls of ``recycle``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        settings: GenerateSettings | None = None,
        cache: CallCache | None = None,
        endpoint_id: str | None = None,
        recycle: Callable[[], None] | None = None,
        recycle_every: int = 0,
    ) -> None:
        self.settings = settings or GenerateSettings()
        self.base_url = base_url
        self.model = model
        self.cache = cache
        self.endpoint_id = endpoint_id or base_url
        self.usage = Usage()
        # Retries are ours (Retry-After, error classes), so the openai client makes none. The key
        # is only the one given (settings resolve OPENAI_API_KEY from the caller's environment):
        # the openai client's own fallback would hand a user's key to any endpoint, the local
        # server included.
        self._openai = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "none",
            timeout=self.settings.timeout_s,
            max_retries=0,
        )
        self._slots = threading.BoundedSemaphore(self.settings.concurrency)
        #: Set once the endpoint refused ``json_schema``: later requests send a grammar instead.
        self.json_schema_refused = False
        self._recycle = recycle
        self._recycle_every = recycle_every
        self._sent = 0
        self._recycle_lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._openai.close()

    def call(self, api: Api, body: dict[str, Any]) -> Completion:
        """Send one request (or answer it from the cache).

        Args:
            api: ``completions`` (``/v1/completions``) or ``chat`` (``/v1/chat/completions``).
            body: the request body without ``model``; extra fields such as ``grammar`` are
                passed through to the endpoint.

        Returns:
            The first choice's text and the tokens it took.

        Raises:
            GenerationError: the endpoint is unreachable, refuses the key or the request, or
                keeps failing after the configured retries.
        """
        body = {"model": self.model, **body}
        key = call_key(self.endpoint_id, {"api": api, **body})
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self.usage.add_cache_hit()
            return Completion(**{**hit, "from_cache": True})
        self._maybe_recycle()
        completion = self._with_retries(api, body)
        self.usage.add_call(
            completion.prompt_tokens, completion.completion_tokens, completion.cached_tokens
        )
        if self.cache is not None:
            self.cache.put(key, {**completion.__dict__, "from_cache": False})
        return completion

    def _with_retries(self, api: Api, body: dict[str, Any]) -> Completion:
        last = ""
        for attempt in range(self.settings.retries + 1):
            sent = self._adapted(body)
            try:
                with self._slots:
                    return self._send(api, sent)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise GenerationError(
                    f"the LLM endpoint {self.base_url} refused the API key "
                    f"({exc.status_code}): {_message(exc)}",
                    endpoint=self.base_url,
                    fix="set OPENAI_API_KEY (or the api_key setting) to a valid key",
                ) from None
            except openai.RateLimitError as exc:
                last = f"rate limited (429): {_message(exc)}"
                wait = _retry_after(exc.response.headers)
                wait = self._backoff(attempt) if wait is None else wait
            except openai.APITimeoutError:
                last = f"no answer within {self.settings.timeout_s:g} s"
                wait = self._backoff(attempt)
            except openai.APIConnectionError as exc:
                last = f"cannot connect: {exc.__cause__ or exc}"
                wait = self._backoff(attempt)
            except openai.APIStatusError as exc:
                message = _message(exc)
                if self._refuses_json_schema(sent, message):
                    # Other requests already on their way get the same answer: each goes again.
                    self.json_schema_refused = True
                    return self._with_retries(api, body)
                if exc.status_code < 500 or _VALIDATION.search(message):
                    raise _refusal(self.base_url, self.model, exc.status_code, message) from None
                last = f"server error ({exc.status_code}): {_first_line(message)}"
                wait = _retry_after(exc.response.headers) or self._backoff(attempt)
            if attempt < self.settings.retries:
                time.sleep(wait)
        raise GenerationError(
            f"the LLM endpoint {self.base_url} failed {self.settings.retries + 1} times: {last}",
            endpoint=self.base_url,
            fix="check that the server is running and reachable (--llm-url), or retry later",
        )

    def _maybe_recycle(self) -> None:
        if self._recycle is None or self._recycle_every <= 0:
            return
        with self._recycle_lock:
            if self._sent and self._sent % self._recycle_every == 0:
                self._recycle()
            self._sent += 1

    def _refuses_json_schema(self, sent: dict[str, Any], message: str) -> bool:
        """Whether this is an endpoint's refusal of ``json_schema`` that ``auto`` may get past."""
        fmt = sent.get("response_format")
        return (
            self.settings.response_format == "auto"
            and isinstance(fmt, dict)
            and fmt.get("type") == "json_schema"
            and "response_format" in message
        )

    def _adapted(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body``, its ``json_schema`` turned into a GBNF grammar once the endpoint refused it."""
        fmt = body.get("response_format")
        if not self.json_schema_refused or not isinstance(fmt, dict):
            return body
        if fmt.get("type") != "json_schema":
            return body
        adapted = {k: v for k, v in body.items() if k != "response_format"}
        adapted["grammar"] = schema_to_gbnf(fmt["json_schema"]["schema"])
        return adapted

    def _send(self, api: Api, body: dict[str, Any]) -> Completion:
        known = {k: v for k, v in body.items() if k in _KNOWN[api]}
        extra = {k: v for k, v in body.items() if k not in _KNOWN[api]} or None
        logprobs = None
        if api == "chat":
            chat = self._openai.chat.completions.create(**known, extra_body=extra)
            text = chat.choices[0].message.content or ""
            finish, usage = chat.choices[0].finish_reason, chat.usage
            logprobs = _token_logprobs(chat.choices[0].logprobs)
        else:
            done = self._openai.completions.create(**known, extra_body=extra)
            text, finish, usage = done.choices[0].text, done.choices[0].finish_reason, done.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        return Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            cached_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0,
            logprobs=logprobs,
        )

    def _backoff(self, attempt: int) -> float:
        # Full jitter keeps many workers from retrying in step.
        ceiling = min(self.settings.max_backoff_s, self.settings.backoff_s * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)


def _token_logprobs(choice_logprobs: Any) -> list[TokenLogprob] | None:
    content = getattr(choice_logprobs, "content", None) if choice_logprobs else None
    if not content:
        return None
    return [
        (t.token, float(t.logprob), {a.token: float(a.logprob) for a in t.top_logprobs or []})
        for t in content
    ]


# How a server says that it could not validate the request, whatever its status code.
_VALIDATION = re.compile(r"\bvalidation errors?\b|\binvalid request\b", re.I)


def _first_line(message: str) -> str:
    """An error message's first paragraph on one line, short: no traceback a server appends."""
    head = message.strip().split("\n\n", 1)[0]
    return " ".join(head.split())[:300]


def _refusal(base_url: str, model: str, status: int, message: str) -> GenerationError:
    """The error for a request the endpoint refused, with the fix its status points to."""
    if status == 404:
        fix = (
            f"check the model name ({model!r}) and that --llm-url ends in the API root, "
            "such as http://host:port/v1"
        )
    elif "response_format" in message:
        fix = (
            "set generate.response_format to what the endpoint takes (json_object for "
            "llama-cpp-python's server, json_schema for OpenAI and vLLM), or leave it auto"
        )
    elif "enum" in message or "schema" in message:
        fix = "the endpoint refuses the output schema: set generate.choose_quotes = false"
    else:
        fix = "check the model name and that the endpoint is OpenAI-compatible"
    return GenerationError(
        f"the LLM endpoint {base_url} rejected the request ({status}): {_first_line(message)}",
        endpoint=base_url,
        fix=fix,
    )


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return exc.message


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
