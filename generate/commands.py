"""The ``groundset generate`` command, as a function of plain arguments."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from groundset.config import resolve
from groundset.generate.run import GenerateSummary
from groundset.generate.samples import generate_samples
from groundset.generate.settings import GenerateSettings
from groundset.generate.translate import LanguageCheck

__all__ = ["generate_command", "resolve_settings"]


def resolve_settings(
    file_values: Mapping[str, Any] | None,
    env: Mapping[str, str] | None,
    flags: Mapping[str, Any] | None = None,
    source: str = "the project file",
) -> GenerateSettings:
    """Generate settings in layers: defaults < ``file_values`` (a ``[generate]`` table) <
    ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` < ``GROUNDSET_GENERATE_*`` < ``flags``.

    The variables are read from ``env`` (``os.environ`` when None), never from the process
    environment behind the caller's back, so a caller (the offline demo) decides.

    Raises:
        UsageError: an unknown setting or a bad value.
    """
    env = os.environ if env is None else env
    layered = dict(file_values or {})
    for key, var in (("base_url", "OPENAI_BASE_URL"), ("api_key", "OPENAI_API_KEY")):
        if env.get(var):
            layered[key] = env[var]
    return resolve(
        GenerateSettings, "generate", file_values=layered, env=env, flags=flags, source=source
    )


def generate_command(
    corpus: Path,
    out: Path,
    *,
    count: int,
    task: str = "qa",
    language: str = "en",
    llm_url: str | None = None,
    llm_model: str | None = None,
    local_model: str | None = None,
    file_values: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    language_check: LanguageCheck | None = None,
) -> GenerateSummary:
    """Generate ``count`` samples from the indexed corpus in ``corpus`` into ``out``.

    Settings come in layers: defaults < ``file_values`` (a TOML ``[generate]`` table) <
    ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` < ``GROUNDSET_GENERATE_*`` variables <
    ``llm_url``, ``llm_model`` and ``local_model``, the variables read from ``env``.

    Args:
        corpus: the corpus directory, indexed by ``groundset index``.
        out: the samples JSONL file; rejected records go beside it.
        count: how many samples the files should hold at the end.
        task: the recipe (``qa`` ...).
        language: the language to write samples in.
        llm_url: an OpenAI-compatible endpoint; the local model when None and
            ``OPENAI_BASE_URL`` is unset.
        llm_model: the model name at that endpoint.
        local_model: the local model when no endpoint is set: a bundled model's name or the
            path of a GGUF file.
        file_values: settings from a project file.
        env: the environment (``os.environ`` when None).
        language_check: whether a text is in a language, for translations (the verifier's
            ``is_language``); None trusts the model.

    Returns:
        The run's summary, for the command line to print.

    Raises:
        UsageError: bad settings or arguments, or no corpus.
        IndexStoreError: the corpus has no usable index.
        GenerationError: the endpoint fails.
    """
    from groundset.ground import Index  # the index loads its embedder: only when needed

    settings = resolve_settings(
        file_values,
        env,
        flags={"base_url": llm_url, "model": llm_model, "local_model": local_model},
    )
    with Index.open(corpus) as index:
        return generate_samples(
            index,
            out,
            count=count,
            task=task,
            language=language,
            settings=settings,
            language_check=language_check,
        )
