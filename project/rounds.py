"""Generate and verify in rounds until every task has its quota of kept samples or the budget is
spent.

Each round is sized from the acceptance rate so far and what the budget has left
(:func:`round_size`), and recorded in the state before any of it is asked for, so a resumed phase
first finishes its last round exactly as it would have. Samples land in one stream per phase and
task (``work/p<phase>-<task>.jsonl``); :class:`StreamVerifier` judges what the streams hold that
the state does not.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundset.progress import Say
from groundset.project.project_file import BudgetSettings, Project
from groundset.project.state import (
    Phase,
    ProjectState,
    RecordedUsage,
    SampleRow,
    Spend,
    Status,
)
from groundset.project.stored import read_records, without_verdict
from groundset.project.summary import Timer
from groundset.records import Chunk, Hit, Sample

if TYPE_CHECKING:
    from groundset.generate.samples import Endpoint
    from groundset.generate.settings import GenerateSettings
    from groundset.ground import Index
    from groundset.verify import SampleVerifier
    from groundset.verify.answerable import CorpusSearch

__all__ = ["Sections", "StreamVerifier", "budget_left", "fill", "round_size", "sample_verifier"]


def budget_left(budget: BudgetSettings, samples: int, tokens: int, money: float) -> str | None:
    """Which limit is spent, or None while every limit has room."""
    if budget.samples is not None and samples >= budget.samples:
        return f"the sample budget ({budget.samples}) is spent"
    if budget.tokens is not None and tokens >= budget.tokens:
        return f"the token budget ({budget.tokens}) is spent"
    if budget.money is not None and money >= budget.money:
        return f"the money budget ({budget.money:g}) is spent"
    return None


def round_size(
    deficit: int, kept: int, judged: int, room: float, *, most_per_round: int = 10
) -> int:
    """How many samples to ask for to fill a ``deficit`` of kept samples.

    The acceptance rate so far (with one kept and one refused sample added, so that a first
    round asks for twice the deficit) says how many are needed; ``room`` is how many more
    samples the budget allows; a round asks for at most ``most_per_round`` times the deficit.
    """
    rate = (kept + 1) / (judged + 2)
    wanted = min(math.ceil(deficit / rate), most_per_round * deficit)
    return max(1, min(wanted, int(room)))


class Sections:
    """A passage source whose samples are about some sections only (the new and changed ones);
    related passages still come from the whole index."""

    def __init__(self, index: Index, ids: set[str]) -> None:
        self.index = index
        self.ids = ids

    def chunks(self, *, doc_url: str | None = None) -> Iterator[Chunk]:
        return (c for c in self.index.chunks(doc_url=doc_url) if c.id in self.ids)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.index.search(query, k)

    def get(self, ids: list[str]) -> dict[str, Chunk]:
        return self.index.get(ids)


def warn_unread(project: Project) -> None:
    """Say, before the budget is spent, that no model the verifier has reads the project's
    language: every sample translated into it would be refused ``unreadable_language``."""
    from groundset.errors import GroundsetWarning
    from groundset.languages import language_name, primary_language
    from groundset.verify import split_options, translator_for

    if primary_language(project.language) == "en":
        return
    options, _ = split_options(project.verify.options)
    reader = translator_for(options)  # starts nothing
    if not reader.reads(project.language):
        name = language_name(project.language)
        warnings.warn(
            f"no model here reads {name}: samples in {name} from sources in another language "
            "will all be refused unreadable_language; name a reader that does ([verify] "
            "translator_base_url and translator_model)",
            GroundsetWarning,
            stacklevel=2,
        )


def _stream(project: Project, phase: int, task: str) -> Path:
    return project.dir / "work" / f"p{phase}-{task}.jsonl"


def fill(
    project: Project,
    state: ProjectState,
    phase: Phase,
    index: Index,
    source: Index | Sections,
    budget_phases: list[int],
    timer: Timer,
    say: Say,
    env: Mapping[str, str] | None,
) -> str:
    """Generate and verify in rounds until the quotas are met or the budget is spent.

    A round is recorded (the count each task's stream must reach) before any of it is asked
    for, so a resumed phase first finishes its last round, exactly as it would have.
    """
    settings = _generate_settings(project, phase.id, env)
    warn_unread(project)
    with ExitStack() as stack:
        endpoint: Endpoint | None = None

        def open_endpoint() -> Endpoint:
            nonlocal endpoint
            if endpoint is None:
                from groundset.generate.samples import open_endpoint as open_it
                from groundset.generate.samples import sample_translator, warn_unwritten
                from groundset.verify.language import is_language

                endpoint = stack.enter_context(open_it(settings, project.dir / "work"))
                endpoint.client.usage = RecordedUsage(state, phase.id)
                translator = sample_translator(endpoint, project.language, is_language)
                warn_unwritten(project.language, endpoint, translator)
            return endpoint

        verifier = StreamVerifier(project, index)
        stack.callback(verifier.close)
        number, counts = state.last_round(phase.id)
        # A round the last process left half done is finished first, as it would have been.
        for task, count in counts.items():
            _generate(project, phase, task, count, source, open_endpoint, timer)
        with timer("verify"):
            verifier.judge_streams(state, phase.id, project.tasks)

        sections: int | None = None
        while True:
            totals = state.counts()
            deficits = {
                t: q - totals.get(t, {}).get("kept", 0)
                for t, q in project.tasks.items()
                if totals.get(t, {}).get("kept", 0) < q
            }
            if not deficits:
                return "every quota is met"
            if sections is None:
                sections = sum(
                    1 for c in source.chunks() if len(c.text) >= settings.min_passage_chars
                )
            if not sections:
                if isinstance(source, Sections):
                    return "quotas not met: no new or changed section to write from"
                return "quotas not met: the index has no passage to write from"
            most = sections * project.budget.samples_per_section
            deficits = {t: d for t, d in deficits.items() if state.stream_count(phase.id, t) < most}
            if not deficits:
                return (
                    f"quotas not met: {most} samples asked of {sections} sections"
                    " (budget.samples_per_section) is all they give"
                )
            spend = _spend(project, state, budget_phases)
            usage = spend.usage
            money = usage.cost(*settings.prices(batch=settings.batch)) or 0.0
            spent = budget_left(project.budget, spend.samples,
                                usage.prompt_tokens + usage.completion_tokens, money)  # fmt: skip
            if spent:
                return f"stopped: {spent}"
            if number >= project.budget.max_rounds:
                return f"stopped: {project.budget.max_rounds} rounds (budget.max_rounds) done"
            share = max(1.0, _room(project, spend, money) / len(deficits))
            asked: dict[str, int] = {}
            for task, deficit in deficits.items():
                stats = totals.get(task, {})
                judged = stats.get("kept", 0) + stats.get("rejected", 0)
                asked[task] = round_size(deficit, stats.get("kept", 0), judged, share)
            plan = {t: min(most, state.stream_count(phase.id, t) + n) for t, n in asked.items()}
            asked = {t: plan[t] - state.stream_count(phase.id, t) for t in plan}
            number += 1
            state.add_round(phase.id, number, plan)
            say(f"round {number}: asking for " + ", ".join(f"{n} {t}" for t, n in asked.items()))
            for task, count in plan.items():
                _generate(project, phase, task, count, source, open_endpoint, timer)
            with timer("verify"):
                verifier.judge_streams(state, phase.id, project.tasks)


def _generate_settings(
    project: Project, phase: int, env: Mapping[str, str] | None
) -> GenerateSettings:
    from groundset.generate.commands import resolve_settings

    settings = resolve_settings(project.generate, env, source=str(project.path))
    # Each phase plans its own samples (a later phase sees another corpus), from its own seed.
    return settings.model_copy(update={"seed": settings.seed + phase - 1})


def _spend(project: Project, state: ProjectState, phases: list[int]) -> Spend:
    from groundset.generate.output import done_ids, rejected_path_for

    samples = 0
    for phase in phases:
        for task in project.tasks:
            out = _stream(project, phase, task)
            samples += len(done_ids(out)) + len(done_ids(rejected_path_for(out)))
    return Spend(samples, state.usage(phases))


def _room(project: Project, spend: Spend, money: float) -> float:
    """How many more samples the budget allows, from what a sample has cost so far."""
    budget, usage = project.budget, spend.usage
    room = float("inf")
    if budget.samples is not None:
        room = min(room, budget.samples - spend.samples)
    if spend.samples and usage.calls:
        tokens = (usage.prompt_tokens + usage.completion_tokens) / spend.samples
        if budget.tokens is not None and tokens:
            room = min(
                room, (budget.tokens - usage.prompt_tokens - usage.completion_tokens) / tokens
            )
        if budget.money is not None and money:
            room = min(room, (budget.money - money) / (money / spend.samples))
    return max(room, 1.0)


def _generate(
    project: Project,
    phase: Phase,
    task: str,
    count: int,
    source: Index | Sections,
    open_endpoint: Callable[[], Endpoint],
    timer: Timer,
) -> None:
    from groundset.generate.output import done_ids, rejected_path_for
    from groundset.generate.run import Generator
    from groundset.generate.samples import run_generator, sample_translator
    from groundset.generate.tasks import get_task
    from groundset.verify.language import is_language

    out = _stream(project, phase.id, task)
    if len(done_ids(out) | done_ids(rejected_path_for(out))) >= count:
        return
    with timer("generate"):
        endpoint = open_endpoint()
        recipe = get_task(task, endpoint.settings, endpoint.api)
        translator = sample_translator(endpoint, project.language, is_language)
        generator = Generator(recipe, endpoint.client, endpoint.api, endpoint.settings,
                              project.language, translator)  # fmt: skip
        run_generator(generator, source, out, count)  # online, or in a batch


def sample_verifier(
    project: Project,
    index: Index,
    state: ProjectState,
    exclude: frozenset[str] = frozenset(),
    corpus: CorpusSearch | None = None,
) -> SampleVerifier:
    """The project's verifier, knowing every kept sample but ``exclude`` as a possible duplicate
    or repeated question; ``corpus`` is where it looks for an answer to an ``unanswerable``
    sample's question (by default the index).

    Raises:
        UsageError: the checker cannot be built with the project's options.
    """
    from groundset.verify import SampleVerifier, make_checker, split_options, translator_for

    options, filters = split_options(project.verify.options)
    checker = make_checker(project.verify.checker, options)
    translator = translator_for(options)
    verifier = SampleVerifier(
        index, checker, project.language, filters, translator, index.embedder, corpus
    )
    for record in state.records("kept"):
        if record["id"] not in exclude:
            verifier.remember(Sample.model_validate(without_verdict(record)))
    return verifier


class StreamVerifier:
    """Judges the samples the streams hold that the state does not, in a fixed order (by id),
    so that which of two duplicates stays does not depend on the order the model answered in."""

    def __init__(self, project: Project, index: Index) -> None:
        self.project = project
        self.index = index
        self._verifier: SampleVerifier | None = None

    def close(self) -> None:
        """Stop what the verifier started, if anything (a local model that reads a language)."""
        if self._verifier is not None:
            self._verifier.close()

    def judge_streams(self, state: ProjectState, phase: int, tasks: Mapping[str, int]) -> None:
        from groundset.generate.output import rejected_path_for

        judged = state.judged_ids()
        for task in tasks:
            out = _stream(self.project, phase, task)
            refused = [r for r in read_records(rejected_path_for(out)) if r["id"] not in judged]
            state.add_samples(
                (r["id"], task, phase, "rejected", list(r["verdict"]["reasons"]), _failed(r))
                for r in refused
            )
            new = sorted(
                (r for r in read_records(out) if r["id"] not in judged), key=lambda r: r["id"]
            )
            if not new:
                continue
            if self._verifier is None:
                self._verifier = sample_verifier(self.project, self.index, state)
            verifier = self._verifier
            rows: list[SampleRow] = []
            for data in new:
                sample = Sample.model_validate(data)
                verdict = verifier.verify(sample)
                status: Status = "kept" if verdict.accepted else "rejected"
                record = {**data, "verdict": verdict.model_dump(mode="json")}
                rows.append((sample.id, task, phase, status, list(verdict.reasons), record))
            state.add_samples(rows)


def _failed(record: dict[str, Any]) -> dict[str, Any]:
    """A generation failure as a line of a rejected file: the raw output with its verdict."""
    return {
        "raw": "\n".join(record.get("raw_output") or []),
        "error": record.get("error"),
        "task": record.get("task"),
        "sources": record.get("sources"),
        "verdict": record["verdict"],
    }
