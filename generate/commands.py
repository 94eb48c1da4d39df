"""The ``groundset generate`` and ``groundset run-batch`` commands, as functions of plain
arguments."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from groundset.config import resolve
from groundset.generate.offline import (
    RequestsAnswered,
    RequestsWritten,
    read_result_file,
    run_request_file,
    write_request_file,
)
from groundset.generate.run import GenerateSummary
from groundset.generate.samples import generate_samples
from groundset.generate.settings import GenerateSettings
from groundset.generate.translate import LanguageCheck

__all__ = ["generate_command", "resolve_settings", "run_batch_command"]


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
    batch: bool | None = None,
    write_requests: Path | None = None,
    read_results: Path | None = None,
    file_values: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    language_check: LanguageCheck | None = None,
) -> GenerateSummary | RequestsWritten:
    """Generate ``count`` samples from the indexed corpus in ``corpus`` into ``out``; or
    write their requests into a file, or read a batch runner's answers to them back.

    Settings come in layers: defaults < ``file_values`` (a TOML ``[generate]`` table) <
    ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` < ``GROUNDSET_GENERATE_*`` variables <
    ``llm_url``, ``llm_model``, ``local_model`` and ``batch``, the variables read from ``env``.

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
        batch: send the requests through the endpoint's batch API (None: as settings say).
        write_requests: write the requests of the missing samples into this file (OpenAI
            Batch format) and call nothing.
        read_results: read the answers to those requests from this batch output file.
        file_values: settings from a project file.
        env: the environment (``os.environ`` when None).
        language_check: whether a text is in a language, for translations (the verifier's
            ``is_language``); None trusts the model.

    Returns:
        The run's summary (or the request file's), for the command line to print.

    Raises:
        UsageError: bad settings or arguments, or no corpus.
        IndexStoreError: the corpus has no usable index.
        GenerationError: the endpoint fails.
    """
    from groundset.ground import Index  # the index loads its embedder: only when needed

    settings = resolve_settings(
        file_values,
        env,
        flags={
            "base_url": llm_url,
            "model": llm_model,
            "local_model": local_model,
            "batch": batch,
        },
    )
    with Index.open(corpus) as index:
        common: dict[str, Any] = {
            "count": count,
            "task": task,
            "language": language,
            "settings": settings,
        }
        if write_requests is not None:
            return write_request_file(index, out, write_requests, **common)
        if read_results is not None:
            return read_result_file(index, out, read_results, **common)
        return generate_samples(
            index,
            out,
            count=count,
            task=task,
            language=language,
            settings=settings,
            language_check=language_check,
        )


def run_batch_command(
    requests: Path,
    results: Path,
    *,
    llm_url: str | None = None,
    local_model: str | None = None,
    env: Mapping[str, str] | None = None,
) -> RequestsAnswered:
    """Answer a request file line by line into ``results``: on ``llm_url`` (or
    ``OPENAI_BASE_URL``), else on the local model, each request naming its own model.

    Raises:
        UsageError: bad settings, or a file that is not a request file.
        GenerationError: the endpoint fails or refuses a request.
    """
    settings = resolve_settings(
        None, env, flags={"base_url": llm_url, "local_model": local_model, "batch": False}
    )
    return run_request_file(requests, results, settings)
