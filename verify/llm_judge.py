"""The LLM judge: an OpenAI-compatible chat model asked which claims the evidence supports.

Any endpoint the ``openai`` client speaks to works: OpenAI, vLLM, Ollama, a llama.cpp server. It
is reached through generation's :class:`~groundset.generate.client.LLMClient`, so it has the same
retries, the same refusal handling (a server that takes no ``json_schema`` gets a grammar) and,
given a cache file, the same cache by content: a rerun asks nothing twice.

How the claims are asked:

- the claims that share their evidence (the claims of one sample against its chunks) go in one
  request, at most :data:`CLAIMS_PER_CALL` at a time, and requests run concurrently;
- the judge sees the evidence windows that cover the claims best, not a whole web page;
- it answers one JSON object, ``{"claim_1": true, "claim_2": false, ...}``, held to that shape
  by a JSON schema;
- the score is graded: where the endpoint returns token log-probabilities, the probability the
  judge gave ``true`` against ``false`` at each claim's answer, so that it can be thresholded and
  cascaded; where it does not, 1.0 or 0.0.

A judge that is the model which wrote the samples grades its own work: the pipeline warns when it
is (see :func:`groundset.verify.judge_models`).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from groundset.errors import GenerationError, UsageError, VerificationError
from groundset.verify.base import Pair, Support
from groundset.verify.evidence import candidate_windows

__all__ = ["CLAIMS_PER_CALL", "JUDGE_PROMPT", "LLMJudgeChecker", "parse_judgement"]

log = logging.getLogger(__name__)

#: Most claims asked in one request.
CLAIMS_PER_CALL = 8
#: Evidence windows per claim shown to the judge, and the most characters they may fill.
LLM_WINDOWS = 3
LLM_EVIDENCE_CHARS = 6000
#: Alternatives asked for at each answer token, to grade the score.
TOP_LOGPROBS = 5

JUDGE_PROMPT = (
    "You check claims against evidence. A claim is supported only if everything it states is "
    "stated in, or directly follows from, the evidence; a claim that adds, changes or "
    "contradicts any detail is not supported: an invented purpose or benefit, a value, name or "
    "option the evidence does not give, a fact about the wrong thing, a wider scope than the "
    "evidence's. Judge from the evidence alone. Reply with one JSON object and nothing else, "
    'one key per claim: {"claim_1": true or false, "claim_2": true or false, ...}'
)

_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def parse_judgement(reply: str, count: int) -> list[bool | None]:
    """The verdict on each of ``count`` claims in a judge's reply; None where it gave none.

    Accepts the JSON object asked for, even wrapped in prose or a code fence.
    """
    start, end = reply.find("{"), reply.rfind("}")
    try:
        data = json.loads(reply[start : end + 1]) if start != -1 and end > start else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return [None] * count
    out: list[bool | None] = []
    for n in range(1, count + 1):
        value = data.get(f"claim_{n}")
        out.append(value if isinstance(value, bool) else None)
    return out


def _schema(count: int) -> dict[str, Any]:
    keys = [f"claim_{n}" for n in range(1, count + 1)]
    return {
        "type": "object",
        "properties": {key: {"type": "boolean"} for key in keys},
        "required": keys,
        "additionalProperties": False,
    }


def _graded(logprobs: Sequence[Sequence[Any]] | None, count: int) -> list[float | None]:
    """P(true) / (P(true) + P(false)) at each claim's answer token, from the log-probabilities.

    The answer to claim n is the first token after the text ``"claim_n":`` that starts a
    boolean; its alternatives give both probabilities.
    """
    if not logprobs:
        return [None] * count
    out: list[float | None] = [None] * count
    text = ""
    waiting: int | None = None
    for token, logprob, alternatives in logprobs:
        if waiting is not None and token.strip()[:1] in ("t", "f"):
            options = {**alternatives, token: logprob}
            yes = sum(math.exp(lp) for t, lp in options.items() if t.strip().startswith("t"))
            no = sum(math.exp(lp) for t, lp in options.items() if t.strip().startswith("f"))
            if yes + no > 0:
                out[waiting] = yes / (yes + no)
            waiting = None
        text += token
        for n in range(count):
            if out[n] is None and text.rstrip().endswith(f'"claim_{n + 1}":'):
                waiting = n
    return out


class LLMJudgeChecker:
    """Asks a chat model about all the claims that share their evidence at once.

    Args:
        model: the judge model's name at the endpoint.
        base_url: the OpenAI-compatible endpoint; default ``$OPENAI_BASE_URL``, else OpenAI's.
        api_key: default ``$OPENAI_API_KEY``; local servers accept any.
        threshold: the graded score at and above which a claim is supported.
        timeout_s: per request.
        concurrency: requests in flight at once.
        cache_path: a SQLite file for the judge's answers (none when None).

    Raises:
        UsageError: no model named.
    """

    name = "llm"

    def __init__(
        self,
        model: str | None,
        base_url: str | None = None,
        api_key: str | None = None,
        threshold: float = 0.5,
        timeout_s: float = 120.0,
        concurrency: int = 4,
        cache_path: Path | None = None,
    ) -> None:
        from groundset.generate import CallCache, GenerateSettings, LLMClient

        if not model:
            raise UsageError("the llm checker needs a judge model", fix="pass --llm-model NAME")
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or _DEFAULT_BASE_URL
        self.threshold = threshold
        self.concurrency = concurrency
        settings = GenerateSettings(timeout_s=timeout_s, retries=2, concurrency=concurrency)
        self.client = LLMClient(
            self.base_url,
            model,
            api_key=api_key or os.environ.get("OPENAI_API_KEY"),
            settings=settings,
            cache=CallCache(cache_path) if cache_path else None,
        )

    def check(self, pairs: Sequence[Pair]) -> list[Support]:
        """Check each (claim, evidence) pair; one request per evidence and batch of claims."""
        groups: dict[str, list[int]] = {}
        for i, (_, evidence) in enumerate(pairs):
            groups.setdefault(evidence, []).append(i)
        batches = [
            indices[start : start + CLAIMS_PER_CALL]
            for indices in groups.values()
            for start in range(0, len(indices), CLAIMS_PER_CALL)
        ]
        results: list[Support | None] = [None] * len(pairs)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for batch, supports in zip(
                batches, pool.map(lambda b: self._judge(pairs, b), batches), strict=True
            ):
                for i, support in zip(batch, supports, strict=True):
                    results[i] = support
        return [r for r in results if r is not None]

    def _messages(self, claims: list[str], evidence: str) -> list[dict[str, str]]:
        windows = {
            w.first: w for claim in claims for w in candidate_windows(claim, evidence, LLM_WINDOWS)
        }
        shown = "\n...\n".join(w.text for _, w in sorted(windows.items()))[:LLM_EVIDENCE_CHARS]
        listed = "\n".join(f"claim_{n}: {claim}" for n, claim in enumerate(claims, start=1))
        return [
            {"role": "system", "content": JUDGE_PROMPT},
            {"role": "user", "content": f"Evidence:\n{shown}\n\nClaims:\n{listed}"},
        ]

    def _judge(self, pairs: Sequence[Pair], batch: list[int]) -> list[Support]:
        claims = [pairs[i][0] for i in batch]
        body = {
            "messages": self._messages(claims, pairs[batch[0]][1]),
            "temperature": 0,
            "max_tokens": 16 + 12 * len(claims),
            "logprobs": True,
            "top_logprobs": TOP_LOGPROBS,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "verdicts", "schema": _schema(len(claims))},
            },
        }
        try:
            completion = self.client.call("chat", body)
        except GenerationError as exc:
            raise VerificationError(
                f"the LLM judge at {self.base_url} cannot be used: {exc.args[0]}",
                fix=exc.fix or "check --llm-base-url, the server, and OPENAI_API_KEY",
            ) from None
        verdicts = parse_judgement(completion.text, len(claims))
        grades = _graded(completion.logprobs, len(claims))
        if any(v is None for v in verdicts):
            log.warning("the judge left claims unanswered, taken as no: %.200r", completion.text)
        out = []
        for verdict, grade in zip(verdicts, grades, strict=True):
            # The graded score decides, so that thresholds and cascades move the decision.
            if verdict is None:
                score = 0.0
            else:
                score = grade if grade is not None else 1.0 if verdict else 0.0
            supported = score >= self.threshold
            out.append(Support(supported, score, "", () if supported else ("unsupported_claim",)))
        return out
