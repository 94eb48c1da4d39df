"""The generate stage: an LLM writes samples grounded in retrieved passages, each claim cited.

The other stages use only what is exported here::

    with Index.open(corpus_dir) as index:
        summary = generate_samples(index, Path("samples.jsonl"), count=50,
                                   settings=GenerateSettings())
"""

from __future__ import annotations

from groundset.generate.cache import CallCache
from groundset.generate.client import Completion, LLMClient
from groundset.generate.local_server import LocalModelServer
from groundset.generate.passages import PassagePlan, PassageSource
from groundset.generate.run import GenerateSummary
from groundset.generate.samples import generate_samples
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks import TASKS
from groundset.generate.usage import Usage

__all__ = [
    "TASKS",
    "CallCache",
    "Completion",
    "GenerateSettings",
    "GenerateSummary",
    "LLMClient",
    "LocalModelServer",
    "PassagePlan",
    "PassageSource",
    "Usage",
    "generate_samples",
]
