"""``generate_samples``: a run on the configured endpoint (online or through its batch API), or
on the local model by default."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from groundset.errors import GroundsetWarning, UsageError
from groundset.generate.batch_api import generate_in_batch
from groundset.generate.cache import CallCache
from groundset.generate.client import Api, LLMClient
from groundset.generate.local_models import LocalModel, resolve_local_model
from groundset.generate.local_server import LocalModelServer
from groundset.generate.passages import PassageSource
from groundset.generate.run import GenerateSummary, Generator
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks import get_task
from groundset.generate.translate import LanguageCheck, SampleTranslator
from groundset.languages import primary_language

__all__ = [
    "LOCAL_TIMEOUT_S",
    "Endpoint",
    "generate_samples",
    "local_limits",
    "open_endpoint",
    "run_generator",
]

#: The least time a local call may take: on 2 busy cores a grammar-constrained sample takes
#: minutes, and a call abandoned by a timeout keeps the server busy for the retry behind it.
LOCAL_TIMEOUT_S = 900.0


def local_limits(settings: GenerateSettings, model: LocalModel | None = None) -> GenerateSettings:
    """Settings for llama-cpp-python's server, which answers one request at a time.

    Requests beyond the first would only queue there and time out waiting, so one at a time;
    output is held to groundset's own GBNF grammar, which its chat API takes as well as its
    completions API (see :mod:`groundset.generate.client` for why not ``json_object``). With
    ``model``, its own temperature unless one was set.
    """
    update: dict[str, object] = {
        "concurrency": 1,
        "timeout_s": max(settings.timeout_s, LOCAL_TIMEOUT_S),
    }
    if settings.response_format == "auto":
        update["response_format"] = "grammar"
    if model is not None and "temperature" not in settings.model_fields_set:
        update["temperature"] = model.temperature
    return settings.model_copy(update=update)


def generate_samples(
    passages: PassageSource,
    out: Path,
    *,
    count: int,
    task: str = "qa",
    language: str = "en",
    settings: GenerateSettings,
    language_check: LanguageCheck | None = None,
) -> GenerateSummary:
    """Generate ``count`` samples of ``task`` from ``passages`` into the JSONL file ``out``.

    The endpoint is ``settings.base_url`` (``generate_command`` fills it from
    ``OPENAI_BASE_URL`` too); without one, a local llama.cpp server with the bundled model is
    started for the run (or a running one reused).
    Samples are appended to ``out`` as they come; outputs that stay invalid after one repair
    go to ``<out stem>.generate-rejected.jsonl`` with reason ``invalid_json``. Rerunning with
    the same arguments asks only for the samples the files do not hold yet. With
    ``settings.batch`` the requests go through the endpoint's batch API
    (:func:`~groundset.generate.batch_api.generate_in_batch`).

    Args:
        passages: the index to draw passages from (``groundset.ground.Index``).
        out: the samples file.
        count: how many samples the files should hold when the run ends.
        task: the recipe (``qa`` ...).
        language: the language to write samples in; sources may be in another.
        settings: endpoint, sampling, limits and diversity.
        language_check: whether a text is in a language, for translations (the verifier's
            ``is_language``); None trusts the model.

    Returns:
        What was written and refused, calls, tokens and cost.

    Raises:
        UsageError: a bad count, task, or an endpoint without a model name.
        GenerationError: the endpoint is unreachable or refuses the key, or the local model
            cannot start.
    """
    if count < 1:
        raise UsageError(f"count must be at least 1, not {count}", fix="pass --count N")
    get_task(task, settings)  # an unknown task or missing task inputs fail before a model starts
    with open_endpoint(settings, out.parent) as endpoint:
        recipe = get_task(task, endpoint.settings, endpoint.api)
        translator = sample_translator(endpoint, language, language_check)
        warn_unwritten(language, endpoint, translator)
        generator = Generator(
            recipe, endpoint.client, endpoint.api, endpoint.settings, language, translator
        )
        return run_generator(generator, passages, out, count)


def run_generator(
    generator: Generator, passages: PassageSource, out: Path, count: int
) -> GenerateSummary:
    """Run ``generator`` online, or through its endpoint's batch API when its settings say
    ``batch``."""
    if generator.settings.batch:
        return generate_in_batch(generator, passages, out, count)
    return generator.run(passages, out, count)


def sample_translator(
    endpoint: Endpoint, language: str, check: LanguageCheck | None
) -> SampleTranslator | None:
    """What translates samples written in their sources' language into ``language``, or None
    when the model writes them in it directly (``translate``: see :class:`GenerateSettings`).

    A sample whose sources are in ``language`` is never translated, whatever this returns.
    """
    mode = endpoint.settings.translate
    if mode == "direct" or (mode == "auto" and not endpoint.local):
        return None
    if endpoint.api != "chat":
        if mode == "auto":
            return None  # a base model through completions: it can only write directly
        raise UsageError(
            "translate = after needs a chat model, and this endpoint is called through the "
            "completions API",
            fix='set [generate] api = "chat" for an instruction-tuned model, or '
            'translate = "direct"',
        )
    return SampleTranslator(endpoint.client, language, check)


def warn_unwritten(language: str, endpoint: Endpoint, translator: SampleTranslator | None) -> None:
    """Say, before the budget is spent, that the bundled model will not write ``language``.

    Asked directly, through the task prompts (English passages, schema and instructions), the
    bundled models write English whatever language is asked: 16 of 16 samples for the 0.5B and
    12 of 12 for the 1.5B in Spanish and Swahili, all refused ``wrong_language``. Asked to
    translate, each writes the languages of its ``writes`` (``benchmarks/target_language.py``).
    """
    if not endpoint.local or primary_language(language) == "en":
        return
    model = resolve_local_model(endpoint.settings.local_model)
    if translator is None:
        problem = f"{model.name} writes English when asked directly for {language!r}"
    elif primary_language(language) not in model.writes:
        measured = ", ".join(model.writes) or "no language"
        problem = (
            f"{model.name} was not measured to write {language!r} (translating, it writes "
            f"{measured})"
        )
    else:
        return
    warnings.warn(
        f"{problem}: expect most samples refused wrong_language; point --llm-url at a model "
        f"that writes {language!r}",
        GroundsetWarning,
        stacklevel=2,
    )


@dataclass(frozen=True)
class Endpoint:
    """An open model endpoint: its client, the API to call, and the settings that apply to it.

    ``settings`` are those given, except for the local server's limits (:func:`local_limits`).
    """

    client: LLMClient
    api: Api
    settings: GenerateSettings
    local: bool


@contextmanager
def open_endpoint(settings: GenerateSettings, cache_dir: Path) -> Iterator[Endpoint]:
    """The configured endpoint, or the bundled model on a local server started for the block.

    Args:
        settings: endpoint and limits; ``base_url`` None means the local model.
        cache_dir: where ``llm-cache.sqlite`` goes unless ``settings.cache_path`` says.

    Raises:
        UsageError: an endpoint without a model name, or batch without an endpoint.
        GenerationError: the local model cannot start.
    """
    base_url = settings.base_url
    if base_url is None and settings.batch:
        raise UsageError(
            "batch generation needs an endpoint with a batch API, and none is set (the local "
            "model answers one request at a time)",
            fix="pass --llm-url and --llm-model; or write the request file (--write-requests), "
            "answer it with `groundset run-batch` or vLLM's run_batch, and read the results "
            "back (--read-results)",
        )
    server: LocalModelServer | None = None
    with ExitStack() as stack:
        if base_url is None:
            server = stack.enter_context(
                LocalModelServer(
                    settings.local_model,
                    cache_dir=settings.local_cache_dir,
                    port=settings.local_port,
                    threads=settings.local_threads,
                    n_ctx=settings.local_ctx,
                    repack=settings.local_repack,
                    start_timeout_s=settings.local_start_timeout_s,
                )
            )
            # The server's port changes from run to run; the model file is what answers.
            base_url, model = server.base_url, server.model
            settings = local_limits(settings, server.spec)
            endpoint_id = f"local:{Path(str(server.model_path)).name}"
            local, chat = True, server.spec.chat
        elif settings.model is None:
            raise UsageError(
                f"no model name for the endpoint {base_url}", fix="pass --llm-model NAME"
            )
        else:
            model, endpoint_id, local, chat = settings.model, base_url, False, True
        cache = None
        if settings.cache:
            cache = CallCache(settings.cache_path or cache_dir / "llm-cache.sqlite")
            stack.callback(cache.close)
        client = LLMClient(
            base_url,
            model,
            api_key=settings.api_key,
            settings=settings,
            cache=cache,
            endpoint_id=endpoint_id,
            recycle=server.restart if server is not None else None,
            recycle_every=settings.local_recycle_requests,
        )
        stack.callback(client.close)
        # A base model follows few-shot completions; instruction-tuned models get chat.
        api: Api = settings.api if settings.api != "auto" else "chat" if chat else "completions"
        yield Endpoint(client, api, settings, local)
