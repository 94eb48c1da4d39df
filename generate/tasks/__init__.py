"""Task recipes, chosen by name."""

from __future__ import annotations

from collections.abc import Callable

from groundset.errors import UsageError
from groundset.generate.client import Api
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks.base import Task
from groundset.generate.tasks.evol import EvolTask
from groundset.generate.tasks.false_premise import FalsePremiseTask
from groundset.generate.tasks.instruct import InstructTask
from groundset.generate.tasks.multihop import MultihopTask
from groundset.generate.tasks.qa import QaTask
from groundset.generate.tasks.schema import SchemaTask
from groundset.generate.tasks.unanswerable import UnanswerableTask

__all__ = ["TASKS", "Task", "get_task"]

#: The recipes by name.
TASKS: dict[str, Callable[[GenerateSettings, Api], Task]] = {
    "qa": QaTask,
    "instruct": InstructTask,
    "evol": EvolTask,
    "schema": SchemaTask,
    "unanswerable": UnanswerableTask,
    "multihop": MultihopTask,
    "false_premise": FalsePremiseTask,
}


def get_task(name: str, settings: GenerateSettings | None = None, api: Api = "chat") -> Task:
    """The recipe called ``name``, built with the task inputs of ``settings``, for a model
    called through ``api`` (a base model through few-shot completions may need its own prompt).

    Raises:
        UsageError: no recipe has that name, or its inputs are missing or unusable.
    """
    if name not in TASKS:
        raise UsageError(f"unknown task {name!r}", fix=f"use one of: {', '.join(TASKS)}")
    return TASKS[name](settings or GenerateSettings(), api)
