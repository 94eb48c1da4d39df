"""The LLM judge: an OpenAI-compatible chat model asked whether the evidence supports a claim.

Any endpoint the ``openai`` client speaks to works: OpenAI, vLLM, Ollama, a llama.cpp server.
The judge sees the claim's best evidence windows, not the whole page, and answers with one JSON
object. A judge that is the model which wrote the samples grades its own work: the pipeline warns
when it is (see :func:`groundset.verify.judge_models`).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from groundset.errors import UsageError, VerificationError
from groundset.verify.base import Pair, Support
from groundset.verify.evidence import candidate_windows

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

__all__ = ["JUDGE_PROMPT", "LLMJudgeChecker", "parse_judgement"]

log = logging.getLogger(__name__)

#: Evidence windows shown to the judge per claim, and the most characters they may fill.
LLM_WINDOWS = 4
LLM_EVIDENCE_CHARS = 6000

JUDGE_PROMPT = (
    "You check claims against evidence. A claim is supported only if everything it states is "
    "stated in, or directly follows from, the evidence; a claim that adds, changes or contradicts "
    "any detail is not supported. Reply with one JSON object and nothing else: "
    '{"supported": true or false, "evidence": "the evidence sentence that decides"}'
)

_JSON_OBJECT = re.compile(r"\{.*\}", re.S)
_BARE_VERDICT = re.compile(r"^\W*(yes|no|true|false|supported|unsupported|not supported)\b", re.I)


def parse_judgement(reply: str) -> tuple[bool, str] | None:
    """The verdict and quoted evidence of a judge's reply; None if it says neither yes nor no.

    Accepts the JSON object asked for, even wrapped in prose or a code fence, and falls back to
    a reply that starts with yes/no or supported/unsupported.
    """
    match = _JSON_OBJECT.search(reply)
    if match:
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("supported"), bool):
            return data["supported"], str(data.get("evidence") or "")
    bare = _BARE_VERDICT.match(reply)
    if bare:
        return bare.group(1).lower() in {"yes", "true", "supported"}, ""
    return None


class LLMJudgeChecker:
    """Asks a chat model, claim by claim; the score is 1.0 when it says supported, else 0.0.

    Args:
        model: the judge model's name at the endpoint.
        base_url: the OpenAI-compatible endpoint; default ``$OPENAI_BASE_URL``, else OpenAI's.
        api_key: default ``$OPENAI_API_KEY``; local servers accept any.
        threshold: 0.5, between the two scores the judge can give.
        timeout_s: per request.

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
        timeout_s: float = 60.0,
    ) -> None:
        from openai import OpenAI

        if not model:
            raise UsageError("the llm checker needs a judge model", fix="pass --llm-model NAME")
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self.threshold = threshold
        self.client = OpenAI(
            base_url=self.base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "no-key",
            timeout=timeout_s,
            max_retries=1,
        )

    def check(self, pairs: Sequence[Pair]) -> list[Support]:
        """Check each (claim, evidence) pair with one request each."""
        return [self._judge(claim, evidence) for claim, evidence in pairs]

    def _messages(self, claim: str, evidence: str) -> list[ChatCompletionMessageParam]:
        windows = sorted(candidate_windows(claim, evidence, LLM_WINDOWS), key=lambda w: w.first)
        shown = "\n...\n".join(w.text for w in windows)[:LLM_EVIDENCE_CHARS]
        return [
            {"role": "system", "content": JUDGE_PROMPT},
            {"role": "user", "content": f"Evidence:\n{shown}\n\nClaim: {claim}"},
        ]

    def _judge(self, claim: str, evidence: str) -> Support:
        import openai

        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=self._messages(claim, evidence),
                temperature=0,
                max_tokens=200,
            )
        except (openai.APIConnectionError, openai.AuthenticationError) as exc:
            raise VerificationError(
                f"the LLM judge at {self.base_url or 'api.openai.com'} cannot be used: {exc}",
                fix="check --llm-base-url, the server, and OPENAI_API_KEY",
            ) from None
        reply = response.choices[0].message.content or ""
        judgement = parse_judgement(reply)
        if judgement is None:
            log.warning("the judge's reply is neither yes nor no, taken as no: %.200r", reply)
            return Support(False, 0.0, reasons=("unsupported_claim",))
        supported, quoted = judgement
        if supported:
            return Support(True, 1.0, quoted)
        return Support(False, 0.0, quoted, ("unsupported_claim",))
