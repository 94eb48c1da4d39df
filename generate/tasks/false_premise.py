"""``false_premise``: a question that takes for granted something a section of the docs
contradicts (a wrong value, a wrong name, a wrong yes or no), and the answer that corrects it.

Three hands write a sample, each doing what it does reliably:

1. the model picks one sentence of its passages, verbatim, that states a checkable fact (a
   value, a number, a code name, True or False, "does" or "does not"); where quotes are chosen
   (``choose_quotes``), it chooses among the sentences that hold such a fact
   (:func:`~groundset.generate.falsify.falsifiable`);
2. code changes one fact of that sentence into the premise
   (:func:`~groundset.generate.falsify.falsify`, drawn with the sample's seed; a code name is
   changed to another of its page's or of the other passages'): a sentence with nothing to
   change makes no sample (``nothing_to_falsify``, a generation refusal);
3. a second call shows the model the premise, never the section, and asks for the question a
   user holding it would ask ("Since <premise>, how do I ...?").

The answer is written by code (:func:`~groundset.verify.premise.corrected_answer`): the premise
named as wrong, then the cited section's heading and URL and the quoted sentence. Asked to write
the false premise itself, the bundled 1.5B wrote nonsense, true statements or premises its
question did not carry: 6 of 6 refused in two smoke runs. The premise is kept in the sample
(``premise``), and the verifier checks that the question carries it and the section contradicts
it (:mod:`groundset.verify.premise`).

The prompts have no worked example: an example from one site's docs leaks its subject into the
samples of others (``generate/tasks/qa.py``), and the schema, or its grammar, holds the format.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, create_model

from groundset.errors import UsageError
from groundset.generate.client import Api
from groundset.generate.falsify import code_names, falsifiable, falsify
from groundset.generate.passages import PassagePlan, PassageSource, even_plan
from groundset.generate.prompts import PromptTemplate, compact_schema, escape_fence
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks.base import (
    Choices,
    FollowUp,
    NoSample,
    TaskOutput,
    evidence_list,
)
from groundset.records import Chunk
from groundset.verify.premise import FALSE_PREMISE, corrected_answer

__all__ = ["FalsePremiseTask", "QuestionOutput"]


class QuestionOutput(TaskOutput):
    """The second answer: the question resting on the premise."""

    question: Annotated[str, Field(min_length=8, max_length=240)]


class FalsePremiseTask:
    """A question resting on a premise its section contradicts, and the answer correcting it."""

    name = FALSE_PREMISE

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        del api  # one prompt serves both APIs
        self.settings = settings
        self.template = PromptTemplate.load("false_premise.v2")
        self.question_template = PromptTemplate.load("false_premise_question.v1")
        self.follow_up_version = self.question_template.version
        #: The code names of each page the plans' passages come from, by URL.
        self.page_names: dict[str, list[str]] = {}

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """Passages covering the corpus evenly, each with related ones; the code names of
        their pages are kept, for a name in a premise to be changed to."""
        plans = even_plan(source, count, self.settings)
        for url in {c.doc_url for p in plans for c in p.passages} - self.page_names.keys():
            self.page_names[url] = code_names(c.text for c in source.chunks(doc_url=url))
        return plans

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{evidence}``: one quote, the sentence whose fact the premise changes; with
        ``choices``, chosen among the sentences that hold a fact to change (among all, when
        no passage has one).

        Raises:
            UsageError: asked for a sample the model writes in another language than its
                passages: the premise is changed, and the answer written, in English.
        """
        if translated:
            raise UsageError(
                "the false_premise task writes samples in their sources' language",
                fix="generate false_premise samples in the language of the docs",
            )
        if choices is not None:
            facts = tuple(tuple(s for s in spans if falsifiable(s)) for spans in choices)
            choices = facts if any(facts) else choices
        return _output_model(n_passages, choices)

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """None: the first call only picks a sentence."""
        del plan
        return {}

    def follow_up(
        self, output: dict[str, Any], plan: PassagePlan, seed: int
    ) -> FollowUp | NoSample:
        """The premise, the quoted sentence with one fact changed, and the call asking the
        question that rests on it; or ``nothing_to_falsify``."""
        (evidence,) = output["evidence"]
        section = plan.passages[evidence["passage"] - 1]
        others = [
            *self.page_names.get(section.doc_url, []),
            *code_names(c.text for c in plan.passages if c.id != section.id),
        ]
        falsified = falsify(evidence["quote"], section.text, others, random.Random(seed))
        if falsified is None:
            return NoSample(
                "nothing_to_falsify",
                f"the quoted sentence holds no value, name or yes or no to change: "
                f"{evidence['quote']!r}",
            )
        topic = " > ".join(x for x in (section.title, section.heading_path) if x)
        prompt = self.question_template.render(
            {"schema": compact_schema(QuestionOutput.model_json_schema())},
            {
                "persona": plan.persona,
                "topic": escape_fence(" ".join(topic.split())),
                "premise": escape_fence(falsified.premise),
            },
        )
        return FollowUp(prompt, QuestionOutput, {"premise": falsified.premise})

    def sample_fields(self, output: dict[str, Any], passages: tuple[Chunk, ...]) -> dict[str, Any]:
        """``question``, ``premise``, and the answer correcting it with the cited quote."""
        (evidence,) = output["evidence"]
        section = passages[evidence["passage"] - 1]
        return {
            "question": " ".join(output["question"].split()),
            "premise": output["premise"],
            "answer": corrected_answer(section, output["premise"], evidence["quote"]),
        }


@lru_cache(maxsize=64)
def _output_model(n_passages: int, choices: Choices) -> type[TaskOutput]:
    return create_model(
        f"FalsePremiseOutput{n_passages}",
        __base__=TaskOutput,
        evidence=(evidence_list(n_passages, choices, most=1), ...),
    )
