"""``evol``: rework existing samples into deeper or more constrained ones, from their passages.

The samples to rework come from ``settings.seed_samples`` (a samples JSONL, typically the kept
file of an earlier run); each is taken in turn, with the passages it was written from as they are
in the index now. Samples whose passages are all gone are left out.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from groundset.errors import UsageError
from groundset.generate.client import Api
from groundset.generate.passages import PassagePlan, PassageSource
from groundset.generate.prompts import PromptTemplate, escape_fence
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks.base import Choices, TaskOutput
from groundset.generate.tasks.qa import qa_output_model
from groundset.records import Chunk, Sample

__all__ = ["EVOLUTIONS", "EvolTask"]

#: How a sample is made harder; one is drawn per sample.
EVOLUTIONS = (
    "add a constraint the answer must respect",
    "ask why, not only how",
    "ask about an edge case or a failure",
    "combine two facts that the answer must connect",
    "turn it into a task of several steps",
)


class EvolTask:
    """Deeper or more constrained questions, answered from the original sample's passages.

    Raises:
        UsageError: no seed samples are configured, or the file is unreadable or empty.
    """

    name = "evol"

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        del api  # one prompt serves both APIs
        self.settings = settings
        self.template = PromptTemplate.load("evol.v3")
        self.seeds = _load_samples(settings.seed_samples)

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """The seed samples in turn, each with its passages and an evolution."""
        rng = random.Random(self.settings.seed)
        usable = []
        for seed in self.seeds:
            found = source.get([s.chunk_id for s in seed.sources])
            passages = tuple(found[s.chunk_id] for s in seed.sources if s.chunk_id in found)
            if passages:
                usable.append((seed, passages[:3]))
        if not usable:
            raise UsageError(
                "none of the seed samples' passages is in the index",
                fix="evolve samples generated from this corpus",
            )
        plans = []
        for i in range(count):
            seed, passages = usable[i % len(usable)]
            persona = rng.choice(self.settings.personas)
            plans.append(PassagePlan(i, passages, persona, rng.choice(EVOLUTIONS), origin=seed))
        return plans

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{question, evidence, answer}``, as for ``qa``."""
        return qa_output_model(n_passages, translated, choices, question_first=True)

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """The evolution and the original sample, fenced as untrusted text."""
        return {"style": plan.style, "origin": _original(plan.origin)}

    def sample_fields(self, output: dict[str, Any], passages: tuple[Chunk, ...]) -> dict[str, Any]:
        """``question`` and ``answer``."""
        return {"question": output["question"], "answer": output["answer"]}


def _original(sample: Sample | None) -> str:
    if sample is None:
        return ""
    if sample.messages:
        text = "\n".join(f"{m.role.capitalize()}: {m.content}" for m in sample.messages)
    else:
        text = f"Question: {sample.question or ''}\nAnswer: {sample.answer or ''}"
    return f"<<<ORIGINAL\n{escape_fence(text)}\nORIGINAL>>>"


def _load_samples(path: Path | None) -> list[Sample]:
    fix = "set generate.seed_samples to a samples JSONL file"
    if path is None:
        raise UsageError("the evol task needs samples to evolve", fix=fix)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        samples = [Sample.model_validate_json(line) for line in lines if line.strip()]
    except OSError as exc:
        raise UsageError(f"cannot read the seed samples {path}: {exc}", fix=fix) from None
    except ValidationError as exc:
        raise UsageError(f"{path} holds something that is not a sample: {exc}", fix=fix) from None
    if not samples:
        raise UsageError(f"no samples in {path}", fix=fix)
    return samples
