"""A generation run: plan passages, ask the model, validate, write samples and rejections.

Each planned sample has a stable id (task, prompt version, language, seed, plan position,
passages, persona, style), so a rerun skips what the output files already hold and asks only for
the missing samples; the call cache makes even those free when they were answered before.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from groundset.generate.choices import quote_choices
from groundset.generate.client import Api, Completion, LLMClient
from groundset.generate.grammar import schema_to_gbnf
from groundset.generate.output import JsonlAppender, done_ids, rejected_path_for
from groundset.generate.passages import PassagePlan, PassageSource
from groundset.generate.prompts import (
    Prompt,
    compact_schema,
    fence_passages,
    passage_text,
)
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks import Task
from groundset.generate.tasks.base import TaskOutput, to_claims
from groundset.generate.translate import TRANSLATE_VERSION, SampleTranslator
from groundset.generate.usage import Usage
from groundset.languages import language_name
from groundset.progress import Progress
from groundset.records import GeneratorInfo, Reason, Sample, Source, Verdict

__all__ = ["GenerateSummary", "Generator"]


@dataclass
class GenerateSummary:
    """What a run did: samples written and refused (by reason), calls, tokens and cost."""

    out: Path
    rejected_path: Path
    requested: int
    written: int = 0
    already_done: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    elapsed_s: float = 0.0

    def __str__(self) -> str:
        refused = ", ".join(f"{n} {reason}" for reason, n in sorted(self.rejected.items()))
        u = self.usage
        cost = "" if self.cost is None else f", cost {self.cost:.4f}"
        return (
            f"generated {self.written} of {self.requested} samples into {self.out}"
            f" ({self.already_done} already there; rejected: {refused or 'none'})"
            f" in {self.elapsed_s:.1f} s; {u.calls} calls, {u.cache_hits} from cache,"
            f" {u.prompt_tokens} prompt + {u.completion_tokens} completion tokens"
            f" ({u.cached_tokens} cached){cost}"
        )


@dataclass(frozen=True)
class _Outcome:
    sample: Sample | None = None
    rejected: dict[str, Any] | None = None


class Generator:
    """Writes samples of one task with one client.

    Args:
        task: the recipe.
        client: the model endpoint.
        api: which endpoint API to call.
        settings: sampling, diversity and limits.
        language: the language to write samples in.
        translator: for samples in another language than their sources, what translates
            them once written in the sources' language; None to have the model write them in
            ``language`` directly.
    """

    def __init__(
        self,
        task: Task,
        client: LLMClient,
        api: Api,
        settings: GenerateSettings,
        language: str,
        translator: SampleTranslator | None = None,
    ) -> None:
        self.task = task
        self.client = client
        self.api = api
        self.settings = settings
        self.language = language
        self.translator = translator

    def run(self, passages: PassageSource, out: Path, count: int) -> GenerateSummary:
        """Generate until ``out`` and its rejected file hold the ``count`` planned samples.

        Raises:
            GenerationError: the endpoint fails; what was written so far stays, for a rerun.
        """
        started = time.monotonic()
        s = self.settings
        plans = self.task.plan(passages, count)
        rejected_path = rejected_path_for(out)
        done = done_ids(out) | done_ids(rejected_path)
        todo = [p for p in plans if self.sample_id(p) not in done]
        summary = GenerateSummary(out, rejected_path, count, already_done=count - len(todo))
        summary.usage = self.client.usage
        kept, refused = JsonlAppender(out), JsonlAppender(rejected_path)
        progress = Progress(f"generate {self.task.name}")
        pool = ThreadPoolExecutor(max_workers=s.concurrency)
        pending: set[Future[_Outcome]] = {pool.submit(self.one, p) for p in todo}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                errors = [e for f in finished if (e := f.exception()) is not None]
                for future in finished:
                    if future.exception() is None:
                        self._record(future.result(), summary, kept, refused)
                progress.update(f"{summary.written + sum(summary.rejected.values())}/{len(todo)}")
                if errors:
                    raise errors[0]
        finally:
            # Samples already being written when a call failed are kept, for the rerun.
            pool.shutdown(wait=True, cancel_futures=True)
            for future in pending:
                if not future.cancelled() and future.exception() is None:
                    self._record(future.result(), summary, kept, refused)
            kept.close()
            refused.close()
            progress.close()
        summary.cost = summary.usage.cost(s.price_prompt, s.price_completion, s.price_cached)
        summary.elapsed_s = time.monotonic() - started
        return summary

    @staticmethod
    def _record(
        outcome: _Outcome, summary: GenerateSummary, kept: JsonlAppender, refused: JsonlAppender
    ) -> None:
        if outcome.sample is not None:
            kept.write(outcome.sample)
            summary.written += 1
        elif outcome.rejected is not None:
            refused.write(outcome.rejected)
            for reason in outcome.rejected["verdict"]["reasons"]:
                summary.rejected[reason] = summary.rejected.get(reason, 0) + 1

    def sample_id(self, plan: PassagePlan) -> str:
        """The stable id of a planned sample."""
        key = [
            self.task.name, self.task.template.version, self.language, self.settings.seed,
            plan.index, [c.id for c in plan.passages], plan.persona, plan.style,
            plan.origin.id if plan.origin else None,
        ]  # fmt: skip
        if self.translator is not None and self._translated(plan):
            key.append(TRANSLATE_VERSION)
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:24]

    def prompt(self, plan: PassagePlan) -> Prompt:
        """The prompt of one planned sample."""
        translated = self._writes_translated(plan)
        # The schema in the prompt is the widest one, so the prefix is the same for every sample.
        schema = self.task.output_model(3, translated).model_json_schema()
        source = language_name(self._source_language(plan))
        rule = (
            f"- Write all text but the quotes in {language_name(self.language)}. Quotes stay "
            f"word for word in {source}, as in the passages. In place of the evidence, give "
            f"claims: each cites its sentence, then states what it says in "
            f"{language_name(self.language)} (text) and in {source} (source_text).\n"
            if translated
            else ""
        )
        return self.task.template.render(
            {"schema": compact_schema(schema), "language_rule": rule},
            {
                **self.task.variables(plan),
                "passages": fence_passages(plan.passages, self.settings.max_passage_chars),
            },
        )

    def one(self, plan: PassagePlan) -> _Outcome:
        """Write one sample: one call, and one repair call if the output is invalid or cut off."""
        sample_id = self.sample_id(plan)
        seed = int(sample_id[:8], 16)
        prompt = self.prompt(plan)
        model = self.task.output_model(len(plan.passages), self._writes_translated(plan))
        constraint = self._constraint(plan) or model
        first = self.client.call(self.api, self._body(prompt, constraint, seed))
        output, error = _validate(model, first)
        raw = [first.text]
        # Text that ran into its length bound was stopped mid-sentence, not finished: asked
        # once more, with the bound named, a model mostly writes it shorter.
        cut = None if output is None else _cut_off(model, output)
        if error is not None or cut is not None:
            problem = error or f"{cut}; write it shorter"
            repair = self._repair_body(prompt, constraint, seed, first.text, problem)
            second = self.client.call(self.api, repair)
            raw.append(second.text)
            output, error = _validate(model, second)
            cut = None if output is None else _cut_off(model, output)
        generator = GeneratorInfo(
            model=self.client.model,
            endpoint_host=urlsplit(self.client.base_url).hostname or self.client.base_url,
            prompt_version=prompt.version,
            temperature=self.settings.temperature,
            seed=seed,
        )
        sources = [
            Source(chunk_id=c.id, content_sha256=c.content_sha256, doc_url=c.doc_url,
                   heading_path=c.heading_path)
            for c in plan.passages
        ]  # fmt: skip
        if output is None:
            return _Outcome(rejected=self._rejected(sample_id, error, raw, sources, generator))
        if cut is not None:
            return _Outcome(
                rejected=self._rejected(sample_id, cut, raw, sources, generator, "too_long")
            )
        sample = Sample(
            id=sample_id,
            task=self.task.name,
            language=self.language,
            claims=to_claims(output, plan.passages),
            sources=sources,
            generator=generator,
            **self.task.sample_fields(output),
        )
        if self.translator is not None and self._translated(plan):
            translation = self.translator.translate(sample, self._source_language(plan), seed)
            if translation.sample is None:
                raw += translation.raw
                return _Outcome(
                    rejected=self._rejected(
                        sample_id, translation.error, raw, sources, generator, "wrong_language"
                    )
                )
            sample = translation.sample
        return _Outcome(sample=sample)

    def _constraint(self, plan: PassagePlan) -> type[TaskOutput] | None:
        """The output shape with each quote chosen from its passage's spans; None when off or
        when no passage has a span to choose."""
        if not self.settings.choose_quotes:
            return None
        choices = tuple(
            tuple(
                quote_choices(
                    passage_text(c.text, self.settings.max_passage_chars),
                    heading_path=c.heading_path,
                )
            )
            for c in plan.passages
        )
        if not any(choices):
            return None
        return self.task.output_model(len(plan.passages), self._writes_translated(plan), choices)

    def _rejected(
        self,
        sample_id: str,
        error: str | None,
        raw: list[str],
        sources: list[Source],
        generator: GeneratorInfo,
        reason: Reason = "invalid_json",
    ) -> dict[str, Any]:
        """The rejected record of an output that stayed invalid: what was asked and answered."""
        reasons: list[Reason] = [reason]
        return {
            "id": sample_id,
            "task": self.task.name,
            "language": self.language,
            "error": error,
            "raw_output": raw,
            "sources": [x.model_dump() for x in sources],
            "generator": generator.model_dump(),
            "verdict": Verdict(sample_id=sample_id, accepted=False, reasons=reasons).model_dump(),
        }

    def _body(self, prompt: Prompt, model: type[TaskOutput], seed: int) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {"max_tokens": s.max_tokens, "temperature": s.temperature}
        body["seed"] = seed
        schema = model.model_json_schema()
        if self.api == "completions":
            return {**body, "prompt": prompt.text, "grammar": schema_to_gbnf(schema)}
        if s.response_format == "grammar":
            return {**body, "messages": prompt.messages(), "grammar": schema_to_gbnf(schema)}
        if s.response_format in ("auto", "json_schema"):
            spec = {"name": f"{self.task.name}_output", "schema": schema, "strict": False}
            fmt: dict[str, Any] = {"type": "json_schema", "json_schema": spec}
        else:
            fmt = {"type": "json_object", "schema": schema}
        return {**body, "messages": prompt.messages(), "response_format": fmt}

    def _repair_body(
        self, prompt: Prompt, model: type[TaskOutput], seed: int, raw: str, error: str
    ) -> dict[str, Any]:
        body = self._body(prompt, model, seed)
        if self.api == "completions":
            body["prompt"] = (
                f"{prompt.text} {raw.strip()}\n"
                f"That JSON is invalid: {error}\nWrite it again, corrected.\nJSON:"
            )
        else:
            body["messages"] = [
                *prompt.messages(),
                {"role": "assistant", "content": raw},
                {
                    "role": "user",
                    "content": f"That output is invalid: {error}\n"
                    "Reply with the corrected JSON object only.",
                },
            ]
        return body

    def _source_language(self, plan: PassagePlan) -> str:
        return plan.passages[0].lang or "en"

    def _translated(self, plan: PassagePlan) -> bool:
        base = self.language.split("-")[0].lower()
        return base != self._source_language(plan).split("-")[0].lower()

    def _writes_translated(self, plan: PassagePlan) -> bool:
        """Whether the model itself writes the sample in another language than the passages'
        (without a translator); with one, it writes in theirs and the translator translates."""
        return self.translator is None and self._translated(plan)


def _validate(
    model: type[TaskOutput], completion: Completion
) -> tuple[dict[str, Any] | None, str | None]:
    """The output as a dict, or None and what is wrong with it, in words the model can act on."""
    text = completion.text.strip()
    # Chat models often wrap JSON in a Markdown fence despite the instructions.
    start, end = text.find("{"), text.rfind("}")
    candidate = text[start : end + 1] if start != -1 and end > start else text
    try:
        return model.model_validate_json(candidate).model_dump(), None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or 'output'}: {e['msg']}"
            for e in exc.errors()[:3]
        )
        if completion.finish_reason == "length":
            problems += " (the output was cut off: write less)"
        return None, problems


def _cut_off(model: type[TaskOutput], output: dict[str, Any]) -> str | None:
    """What of the output ran into its length bound, or None: the bound stops the text where
    it is, mid-word as often as not."""
    for name, info in model.model_fields.items():
        value = output.get(name)
        bound = next((m.max_length for m in info.metadata if hasattr(m, "max_length")), None)
        if isinstance(value, str) and bound is not None and len(value) >= bound:
            return f"the {name} reached its bound of {bound} characters and was cut off"
    return None
