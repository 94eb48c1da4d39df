"""Settings of the generate stage: which model to ask, how hard to push it, what to write."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from groundset.generate.local_models import DEFAULT_LOCAL_MODEL, LOCAL_MODELS

__all__ = ["DEFAULT_PERSONAS", "DEFAULT_STYLES", "GenerateSettings"]

DEFAULT_PERSONAS = [
    "a developer new to the framework",
    "an experienced backend engineer",
    "a maintainer debugging a production issue",
    "a technical writer checking the docs",
]

DEFAULT_STYLES = [
    "a how-to question",
    "a why question",
    "a question about a specific setting or default",
    "a troubleshooting question",
]


class GenerateSettings(BaseModel):
    """How to generate samples: the endpoint, the local fallback model, limits and diversity.

    With no ``base_url`` (resolution fills it from ``OPENAI_BASE_URL`` when that is set) a local
    llama.cpp server with ``local_model`` is started for the run.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # The endpoint. None means: the local model.
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    api: Literal["auto", "chat", "completions"] = Field(
        default="auto",
        description="auto: completions for a local base model, chat for everything else",
    )
    response_format: Literal["auto", "json_schema", "json_object", "grammar"] = Field(
        default="auto",
        description="chat output constraint: json_schema (OpenAI, vLLM), json_object with the "
        "schema beside it (llama-cpp-python's server), grammar (groundset's own GBNF grammar, "
        "for llama.cpp servers), or auto: json_schema, and the grammar from the first "
        "refusal of it on (the grammar from the start for the local model)",
    )
    translate: Literal["auto", "after", "direct"] = Field(
        default="auto",
        description="how a sample gets into another language than its sources: after (written "
        "in the sources' language, then translated sentence by sentence in calls of their own), "
        "direct (written in that language), or auto: after for the bundled models, which write "
        "English when asked directly, direct for an endpoint",
    )
    choose_quotes: bool = Field(
        default=True,
        description="constrain each quote to one of its passage's sentences (JSON schema enum, "
        "or grammar alternatives); off for an endpoint that refuses large schemas",
    )
    # Sampling.
    temperature: float = Field(default=0.7, ge=0, le=2)
    # Room for the largest output the grammar allows, so a bounded output is never cut off.
    max_tokens: int = Field(default=700, ge=16)
    seed: int = 0
    # Calls.
    concurrency: int = Field(default=2, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=1.0, ge=0)
    max_backoff_s: float = Field(default=60.0, ge=0)
    cache: bool = True
    cache_path: Path | None = Field(default=None, description="default: beside the output file")
    # Cost, in currency units per million tokens; no estimate when unset.
    price_prompt: float | None = Field(default=None, ge=0)
    price_completion: float | None = Field(default=None, ge=0)
    price_cached: float | None = Field(default=None, ge=0)
    # Batch generation (generate/batch.py, generate/batch_api.py).
    batch: bool = Field(
        default=False,
        description="send the requests through the endpoint's batch API (files and batches): "
        "answered within 24 hours, at batch_discount of the prices",
    )
    batch_discount: float = Field(
        default=0.5, gt=0, le=1, description="what a batch costs, as a share of the prices"
    )
    batch_poll_s: float = Field(
        default=10.0, gt=0, description="the first wait between two looks at a batch, doubled "
        "after each look up to batch_max_poll_s",
    )  # fmt: skip
    batch_max_poll_s: float = Field(default=300.0, gt=0)
    # Diversity.
    personas: list[str] = Field(default_factory=lambda: list(DEFAULT_PERSONAS), min_length=1)
    styles: list[str] = Field(default_factory=lambda: list(DEFAULT_STYLES), min_length=1)
    max_passages: int = Field(default=3, ge=1, le=3)
    min_passage_chars: int = Field(default=200, ge=0)
    max_passage_chars: int = Field(default=1200, ge=100, description="longer passages are cut")
    # Task inputs.
    record_schema: Path | None = Field(default=None, description="JSON schema of `schema` records")
    seed_samples: Path | None = Field(default=None, description="samples JSONL that `evol` deepens")
    # The local model server.
    local_model: str = Field(
        default=DEFAULT_LOCAL_MODEL,
        description=f"a bundled model ({', '.join(LOCAL_MODELS)}) or the path of a GGUF file",
    )
    local_cache_dir: Path | None = Field(default=None, description="default: ~/.cache/groundset")
    local_threads: int = Field(default=2, ge=1)
    local_ctx: int = Field(default=4096, ge=512)
    local_port: int | None = Field(default=None, ge=1, le=65535)
    # Weight repacking speeds up some CPUs, but its AMX kernels crash on virtual machines that do
    # not grant AMX tile state (seen on Firecracker), so it is off unless asked for.
    local_repack: bool = False
    local_start_timeout_s: float = Field(default=120.0, gt=0)
    local_recycle_requests: int = Field(
        default=50,
        ge=0,
        description="restart the local server after this many requests, before it slows down "
        "(0: never)",
    )

    def prices(self, *, batch: bool) -> tuple[float | None, float | None, float | None]:
        """The prompt, completion and cached prices per million tokens of calls made online,
        or in a batch (``batch_discount`` of them)."""
        share = self.batch_discount if batch else 1.0

        def scaled(price: float | None) -> float | None:
            return None if price is None else price * share

        return scaled(self.price_prompt), scaled(self.price_completion), scaled(self.price_cached)
