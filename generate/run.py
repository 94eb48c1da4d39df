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
from groundset.generate.tasks.base import AsksTwice, NoSample, TaskOutput, to_claims
from groundset.generate.translate import TRANSLATE_VERSION, SampleTranslator
from groundset.generate.usage import Usage
from groundset.languages import language_name
from groundset.progress import Progress
from groundset.records import GeneratorInfo, Reason, Sample, Source, Verdict

__all__ = ["GenerateSummary", "Generator", "Outcome", "OutcomeWriter", "Request"]


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
    #: Planned samples a batch left unanswered (expired, cancelled, failed by the server, or
    #: missing from a results file): none is recorded, so a rerun asks for them again.
    unanswered: int = 0

    def __str__(self) -> str:
        refused = ", ".join(f"{n} {reason}" for reason, n in sorted(self.rejected.items()))
        u = self.usage
        cost = "" if self.cost is None else f", cost {self.cost:.4f}"
        left = f"; {self.unanswered} unanswered" if self.unanswered else ""
        return (
            f"generated {self.written} of {self.requested} samples into {self.out}"
            f" ({self.already_done} already there; rejected: {refused or 'none'}{left})"
            f" in {self.elapsed_s:.1f} s; {u.calls} calls, {u.cache_hits} from cache,"
            f" {u.prompt_tokens} prompt + {u.completion_tokens} completion tokens"
            f" ({u.cached_tokens} cached){cost}"
        )


@dataclass(frozen=True)
class Outcome:
    """What became of one planned sample: the sample, or the record of its rejection."""

    sample: Sample | None = None
    rejected: dict[str, Any] | None = None


@dataclass(frozen=True)
class Request:
    """The first request for one planned sample, and what its answer is validated against.

    ``body`` is the request body without ``model`` (:meth:`LLMClient.call` adds it).
    """

    plan: PassagePlan
    sample_id: str
    seed: int
    prompt: Prompt
    output: type[TaskOutput]
    constraint: type[TaskOutput]
    body: dict[str, Any]


class OutcomeWriter:
    """Appends outcomes to a summary's samples file and rejected file, and counts them there.

    Each record is flushed as it is written, so an interrupted run loses none.
    """

    def __init__(self, summary: GenerateSummary) -> None:
        self.summary = summary
        self._kept = JsonlAppender(summary.out)
        self._refused = JsonlAppender(summary.rejected_path)

    def write(self, outcome: Outcome) -> None:
        """Append the sample or the rejected record, and count it."""
        if outcome.sample is not None:
            self._kept.write(outcome.sample)
            self.summary.written += 1
        elif outcome.rejected is not None:
            self._refused.write(outcome.rejected)
            for reason in outcome.rejected["verdict"]["reasons"]:
                self.summary.rejected[reason] = self.summary.rejected.get(reason, 0) + 1

    def close(self) -> None:
        """Close both files."""
        self._kept.close()
        self._refused.close()


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
        todo, summary = self.missing(passages, out, count)
        writer = OutcomeWriter(summary)
        progress = Progress(f"generate {self.task.name}")
        pool = ThreadPoolExecutor(max_workers=self.settings.concurrency)
        pending: set[Future[Outcome]] = {pool.submit(self.one, p) for p in todo}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                errors = [e for f in finished if (e := f.exception()) is not None]
                for future in finished:
                    if future.exception() is None:
                        writer.write(future.result())
                progress.update(f"{summary.written + sum(summary.rejected.values())}/{len(todo)}")
                if errors:
                    raise errors[0]
        finally:
            # Samples already being written when a call failed are kept, for the rerun.
            pool.shutdown(wait=True, cancel_futures=True)
            for future in pending:
                if not future.cancelled() and future.exception() is None:
                    writer.write(future.result())
            writer.close()
            progress.close()
        summary.cost = summary.usage.cost(*self.settings.prices(batch=False))
        summary.elapsed_s = time.monotonic() - started
        return summary

    def missing(
        self, passages: PassageSource, out: Path, count: int
    ) -> tuple[list[PassagePlan], GenerateSummary]:
        """The planned samples that ``out`` and its rejected file do not hold yet, and the
        summary of a run that asks for them (its usage the client's)."""
        plans = self.task.plan(passages, count)
        rejected_path = rejected_path_for(out)
        done = done_ids(out) | done_ids(rejected_path)
        todo = [p for p in plans if self.sample_id(p) not in done]
        summary = GenerateSummary(out, rejected_path, count, already_done=count - len(todo))
        summary.usage = self.client.usage
        return todo, summary

    def sample_id(self, plan: PassagePlan) -> str:
        """The stable id of a planned sample."""
        key = [
            self.task.name, self.task.template.version, self.language, self.settings.seed,
            plan.index, [c.id for c in plan.passages], plan.persona, plan.style,
            plan.origin.id if plan.origin else None,
        ]  # fmt: skip
        if self.translator is not None and self._translated(plan):
            key.append(TRANSLATE_VERSION)
        if isinstance(self.task, AsksTwice):
            key.append(self.task.follow_up_version)
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

    def request(self, plan: PassagePlan) -> Request:
        """The first request for one planned sample."""
        sample_id = self.sample_id(plan)
        seed = int(sample_id[:8], 16)
        prompt = self.prompt(plan)
        output = self.task.output_model(len(plan.passages), self._writes_translated(plan))
        constraint = self._constraint(plan) or output
        body = self._body(prompt, constraint, seed)
        return Request(plan, sample_id, seed, prompt, output, constraint, body)

    def one(self, plan: PassagePlan) -> Outcome:
        """Write one sample: one call, and one repair call if the output is invalid or cut off."""
        request = self.request(plan)
        return self.outcome(request, self.client.call(self.api, request.body))

    def outcome(self, request: Request, first: Completion, *, repair: bool = True) -> Outcome:
        """The sample the answer ``first`` to ``request`` makes, or its rejection.

        Args:
            request: what was asked.
            first: the model's answer.
            repair: ask once more, showing the problem, when the answer is invalid or cut off;
                without it (a batch answer) such an answer is rejected at once.
        """
        output, error = _validate(request.output, first)
        raw = [first.text]
        # Text that ran into its length bound was stopped mid-sentence, not finished: asked
        # once more, with the bound named, a model mostly writes it shorter.
        cut = None if output is None else _cut_off(request.output, output)
        if (error is not None or cut is not None) and repair:
            problem = error or f"{cut}; write it shorter"
            body = self._repair_body(
                request.prompt, request.constraint, request.seed, first.text, problem
            )
            second = self.client.call(self.api, body)
            raw.append(second.text)
            output, error = _validate(request.output, second)
            cut = None if output is None else _cut_off(request.output, output)
        elif error is not None or cut is not None:
            unrepaired = "; not asked again: a batch answer gets no repair call"
            error, cut = error and error + unrepaired, cut and cut + unrepaired
        sample_id, plan = request.sample_id, request.plan
        sources, generator = self._provenance(request)
        if output is None:
            return Outcome(rejected=self._rejected(sample_id, error, raw, sources, generator))
        if cut is not None:
            return Outcome(
                rejected=self._rejected(sample_id, cut, raw, sources, generator, "too_long")
            )
        if isinstance(self.task, AsksTwice):
            output, error, reason = self._ask_again(self.task, request, output, raw, repair)
            if output is None:
                return Outcome(
                    rejected=self._rejected(sample_id, error, raw, sources, generator, reason)
                )
        fields = self.task.sample_fields(output, plan.passages)
        claims = fields.pop("claims", None) or to_claims(output, plan.passages)
        sample = Sample(
            id=sample_id,
            task=self.task.name,
            language=self.language,
            claims=claims,
            sources=sources,
            generator=generator,
            **fields,
        )
        if self.translator is not None and self._translated(plan):
            source_language = self._source_language(plan)
            translation = self.translator.translate(sample, source_language, request.seed)
            if translation.sample is None:
                raw += translation.raw
                return Outcome(
                    rejected=self._rejected(
                        sample_id, translation.error, raw, sources, generator, "wrong_language"
                    )
                )
            sample = translation.sample
        return Outcome(sample=sample)

    def _ask_again(
        self,
        task: AsksTwice,
        request: Request,
        output: dict[str, Any],
        raw: list[str],
        repair: bool,
    ) -> tuple[dict[str, Any] | None, str | None, Reason]:
        """The output of a task that asks twice, its second answer merged in (``raw`` gets
        what the model wrote), or None, what is wrong and the reason to refuse it for.

        A batch answer's second call is made online, as a translation is, and is not repaired.
        """
        step = task.follow_up(output, request.plan, request.seed)
        if isinstance(step, NoSample):
            return None, step.error, step.reason
        body = self._body(step.prompt, step.output, request.seed)
        answer = self.client.call(self.api, body)
        raw.append(answer.text)
        more, error = _validate(step.output, answer)
        cut = None if more is None else _cut_off(step.output, more)
        if (error is not None or cut is not None) and repair:
            problem = error or f"{cut}; write it shorter"
            body = self._repair_body(step.prompt, step.output, request.seed, answer.text, problem)
            answer = self.client.call(self.api, body)
            raw.append(answer.text)
            more, error = _validate(step.output, answer)
            cut = None if more is None else _cut_off(step.output, more)
        if more is None:
            return None, error, "invalid_json"
        if cut is not None:
            return None, cut, "too_long"
        return {**output, **step.carried, **more}, None, "invalid_json"

    def refused(self, request: Request, error: str) -> Outcome:
        """The rejection of a request the endpoint refused to answer (a batch line's 4xx)."""
        sources, generator = self._provenance(request)
        return Outcome(rejected=self._rejected(request.sample_id, error, [], sources, generator))

    def _provenance(self, request: Request) -> tuple[list[Source], GeneratorInfo]:
        """The sources of a planned sample, and what wrote it."""
        generator = GeneratorInfo(
            model=self.client.model,
            endpoint_host=urlsplit(self.client.base_url).hostname or self.client.base_url,
            prompt_version=request.prompt.version,
            temperature=self.settings.temperature,
            seed=request.seed,
        )
        sources = [
            Source(chunk_id=c.id, content_sha256=c.content_sha256, doc_url=c.doc_url,
                   heading_path=c.heading_path)
            for c in request.plan.passages
        ]  # fmt: skip
        return sources, generator

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
