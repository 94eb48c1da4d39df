"""The ``groundset generate`` command, as a function of plain arguments."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from groundset.config import resolve
from groundset.generate.run import GenerateSummary
from groundset.generate.samples import generate_samples
from groundset.generate.settings import GenerateSettings

__all__ = ["generate_command"]


def generate_command(
    corpus: Path,
    out: Path,
    *,
    count: int,
    task: str = "qa",
    language: str = "en",
    llm_url: str | None = None,
    llm_model: str | None = None,
    file_values: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> GenerateSummary:
    """Generate ``count`` samples from the indexed corpus in ``corpus`` into ``out``.

    Settings come in layers: defaults < ``file_values`` (a TOML ``[generate]`` table) <
    ``GROUNDSET_GENERATE_*`` variables < ``llm_url`` and ``llm_model``.

    Args:
        corpus: the corpus directory, indexed by ``groundset index``.
        out: the samples JSONL file; rejected records go beside it.
        count: how many samples the files should hold at the end.
        task: the recipe (``qa`` ...).
        language: the language to write samples in.
        llm_url: an OpenAI-compatible endpoint; the local model when None and
            ``OPENAI_BASE_URL`` is unset.
        llm_model: the model name at that endpoint.
        file_values: settings from a project file.
        env: the environment (``os.environ`` when None).

    Returns:
        The run's summary, for the command line to print.

    Raises:
        UsageError: bad settings or arguments, or no corpus.
        IndexStoreError: the corpus has no usable index.
        GenerationError: the endpoint fails.
    """
    from groundset.ground import Index  # the index loads its embedder: only when needed

    settings = resolve(
        GenerateSettings,
        "generate",
        file_values=file_values,
        env=env,
        flags={"base_url": llm_url, "model": llm_model},
        source="the project file",
    )
    with Index.open(corpus) as index:
        return generate_samples(
            index, out, count=count, task=task, language=language, settings=settings
        )
