"""Project files: what ``groundset run`` and ``groundset refresh`` build, and where.

A project file is TOML. Its top level names the project and the language of its samples; its
tables are the sources, the settings of each stage, the kept-sample quota of each task, the
export and the budget. Every stage table is resolved like the stage commands' settings (defaults
< this file < ``GROUNDSET_<SECTION>_*`` variables), so a key that is not a setting is an error
that names it. :data:`INIT_TEMPLATE` is the commented file ``groundset init`` writes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from groundset.config import load_toml, resolve
from groundset.crawl.settings import CrawlSettings
from groundset.errors import UsageError
from groundset.languages import language_tag

__all__ = [
    "INIT_TEMPLATE",
    "MAX_SAMPLES",
    "BudgetSettings",
    "ExportSettings",
    "Project",
    "SourceSettings",
    "VerifySettings",
    "load_project",
    "write_init",
]

#: Top-level keys of a project file, and its tables.
_TOP_KEYS = {"name", "language", "dir"}
_TABLES = {"sources", "crawl", "index", "generate", "tasks", "verify", "export", "budget"}

#: The most samples a task's quota or the budget may name: far more than a docs site yields, so a
#: larger number is a slip of the keyboard (10**23 for 10**3), not a plan.
MAX_SAMPLES = 10_000_000
#: The most tokens the budget may name: 10,000 for each of :data:`MAX_SAMPLES` samples.
MAX_TOKENS = 10_000 * MAX_SAMPLES
#: The most money the budget may name, at the generate prices.
MAX_MONEY = 1_000_000


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SourceSettings(_Table):
    """Where the documents come from: a crawl recipe, or start URLs; and where the corpus goes."""

    recipe: Path | None = Field(default=None, description="a crawl recipe TOML (corpora/*.toml)")
    urls: list[str] = Field(default_factory=list, description="start URLs, instead of a recipe")
    corpus: Path | None = Field(default=None, description="default: <project dir>/corpus")


class VerifySettings(_Table):
    """The checker and its options, and the sample filters' bounds (see ``groundset verify``)."""

    checker: str = "calibrated"
    options: dict[str, Any] = Field(default_factory=dict)


class ExportSettings(_Table):
    """What each dataset version is exported as."""

    formats: list[str] = Field(default_factory=lambda: ["openai", "alpaca", "sharegpt", "parquet"])
    eval_fraction: float = Field(default=0.1, ge=0, lt=1)
    seed: int = 0
    report: bool = Field(default=True, description="write report.html with each version")


class BudgetSettings(_Table):
    """The most that one ``run`` (all its resumed parts together) or one ``refresh`` may spend.

    A limit left unset does not limit. Rounds stop at the first limit reached; a round is sized
    so that it should not overshoot, but the samples of a round in flight are finished.
    """

    samples: int | None = Field(
        default=None, ge=1, le=MAX_SAMPLES, description="samples asked of the model"
    )
    tokens: int | None = Field(
        default=None, ge=1, le=MAX_TOKENS, description="prompt + completion tokens"
    )
    money: float | None = Field(
        default=None, gt=0, le=MAX_MONEY, description="at the generate prices"
    )
    max_rounds: int = Field(
        default=10, ge=1, le=1000, description="generate-verify rounds per command"
    )
    samples_per_section: int = Field(
        default=2,
        ge=1,
        le=MAX_SAMPLES,
        description="the most samples one command asks about each section (more only repeat it)",
    )


@dataclass(frozen=True)
class Project:
    """A loaded project file: every table resolved and validated.

    Attributes:
        path: the project file.
        name: the project's name.
        dir: the project directory (the state, the work files and the dataset versions).
        corpus_dir: the corpus directory.
        language: the language samples are written in.
        crawl: the crawl settings (recipe, then this file's ``[crawl]``).
        index: the ``[index]`` table, for the index settings.
        generate: the ``[generate]`` table, for the generate settings.
        tasks: the kept-sample quota of each task, in file order.
        verify: the checker and its options.
        export: the export settings.
        budget: the spending limits.
    """

    path: Path
    name: str
    dir: Path
    corpus_dir: Path
    language: str
    crawl: CrawlSettings
    index: Mapping[str, Any]
    generate: Mapping[str, Any]
    tasks: Mapping[str, int]
    verify: VerifySettings
    export: ExportSettings
    budget: BudgetSettings


def load_project(path: str | Path, env: Mapping[str, str] | None = None) -> Project:
    """Read and check a project file; relative paths in it are relative to its folder.

    Raises:
        UsageError: the file is missing or malformed, a key is unknown, a value is of the wrong
            type or out of range (a language that is no BCP 47 tag, a quota or budget above
            :data:`MAX_SAMPLES` samples), or the sources, tasks or export formats are wrong.
    """
    from groundset.export import EXPORTERS
    from groundset.generate.tasks import TASKS

    file = Path(path)
    data = load_toml(file)
    where = str(file)
    unknown = sorted(set(data) - _TOP_KEYS - _TABLES)
    if unknown:
        raise UsageError(
            f"unknown key(s) in {where}: {', '.join(unknown)}",
            fix=f"use {', '.join(sorted(_TOP_KEYS))} and the tables {', '.join(sorted(_TABLES))}",
        )
    for table in _TABLES & set(data):
        if not isinstance(data[table], dict):
            raise UsageError(f"{table} in {where} is not a table", fix=f"write it as [{table}]")
    env = os.environ if env is None else env
    base = file.resolve().parent
    name = _text(data, "name", where, example=file.stem) or file.stem
    project_dir = _path(base, _text(data, "dir", where, example=file.stem) or file.stem)
    language = _text(data, "language", where, example="en") or "en"
    language_tag(language, f"the language in {where}")

    sources = resolve(SourceSettings, "sources", file_values=data.get("sources"), env=env,
                      source=where)  # fmt: skip
    crawl = _crawl_settings(sources, data.get("crawl", {}), base, env, where)
    corpus_dir = _path(base, sources.corpus) if sources.corpus else project_dir / "corpus"

    tasks = dict(data.get("tasks", {}))
    if not tasks:
        raise UsageError(f"{where} names no task", fix="add a [tasks] table, e.g. qa = 50")
    for task, quota in tasks.items():
        if task not in TASKS:
            raise UsageError(f"unknown task {task!r} in {where}", fix=f"use {', '.join(TASKS)}")
        if not isinstance(quota, int) or isinstance(quota, bool) or not 1 <= quota <= MAX_SAMPLES:
            raise UsageError(
                f"the quota of {task} in {where} is {quota!r}",
                fix=f"give the number of kept samples wanted, from 1 to {MAX_SAMPLES:,}",
            )

    verify_table = dict(data.get("verify", {}))
    checker = str(verify_table.pop("checker", "calibrated"))
    verify = VerifySettings(checker=checker, options=verify_table)
    _check_verify(verify, where)
    export = resolve(ExportSettings, "export", file_values=data.get("export"), env=env,
                     source=where)  # fmt: skip
    bad = [f for f in export.formats if f not in EXPORTERS]
    if bad or not export.formats:
        raise UsageError(
            f"unknown export format(s) in {where}: {', '.join(bad) or '(none)'}",
            fix=f"use {', '.join(EXPORTERS)}",
        )
    budget = resolve(BudgetSettings, "budget", file_values=data.get("budget"), env=env,
                     source=where)  # fmt: skip
    paths = ("record_schema", "seed_samples", "local_model_path", "cache_path")
    generate = _paths_in(dict(data.get("generate", {})), base, paths)
    # A local model is a bundled model's name, or a GGUF file's path relative to the file.
    from groundset.generate.local_models import LOCAL_MODELS

    if generate.get("local_model") and str(generate["local_model"]) not in LOCAL_MODELS:
        generate["local_model"] = str(_path(base, generate["local_model"]))
    _check_stage_tables(data.get("index", {}), generate, env, where)
    if budget.money is not None and (
        generate.get("price_prompt") is None or generate.get("price_completion") is None
    ):
        raise UsageError(
            f"{where} sets a money budget but no prices",
            fix="set price_prompt and price_completion (per million tokens) in [generate]",
        )
    return Project(
        path=file,
        name=name,
        dir=project_dir,
        corpus_dir=corpus_dir,
        language=language,
        crawl=crawl,
        index=dict(data.get("index", {})),
        generate=generate,
        tasks=tasks,
        verify=verify,
        export=export,
        budget=budget,
    )


def _text(data: Mapping[str, Any], key: str, where: str, *, example: str) -> str | None:
    """The string a top-level ``key`` of a project file holds, or None when it is not set."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(
            f"{key} in {where} must be a string that is not blank, not {value!r}",
            fix=f'write one string in quotes, such as {key} = "{example}"',
        )
    return value


def _path(base: Path, value: str | Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _paths_in(table: dict[str, Any], base: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    for key in keys:
        if table.get(key):
            table[key] = _path(base, table[key])
    return table


def _crawl_settings(
    sources: SourceSettings,
    overrides: Mapping[str, Any],
    base: Path,
    env: Mapping[str, str],
    where: str,
) -> CrawlSettings:
    if bool(sources.recipe) == bool(sources.urls):
        raise UsageError(
            f"{where} must name its sources: a recipe or URLs, one of the two",
            fix='set [sources] recipe = "corpora/NAME.toml" or urls = ["https://..."]',
        )
    values: dict[str, Any] = {}
    if sources.recipe:
        recipe = _path(base, sources.recipe)
        values.update(load_toml(recipe).get("crawl", {}))
    else:
        values["start_urls"] = list(sources.urls)
    values.update(overrides)
    settings = resolve(CrawlSettings, "crawl", file_values=values, env=env, source=where)
    if not settings.start_urls:
        raise UsageError(f"the sources of {where} have no start URL", fix="give start_urls")
    return settings


def _check_stage_tables(
    index: Mapping[str, Any], generate: Mapping[str, Any], env: Mapping[str, str], where: str
) -> None:
    """Fail on a bad [index] or [generate] setting now, not after the crawl."""
    from groundset.generate.settings import GenerateSettings
    from groundset.ground.settings import IndexSettings

    resolve(IndexSettings, "index", file_values=index, env=env, source=where)
    resolve(GenerateSettings, "generate", file_values=generate, env=env, source=where)


def _check_verify(verify: VerifySettings, where: str) -> None:
    from groundset.verify import (
        CheckerOptions,
        FilterOptions,
        available_checkers,
        split_options,
    )

    if verify.checker not in available_checkers():
        raise UsageError(
            f"unknown checker {verify.checker!r} in {where}",
            fix=f"use {', '.join(available_checkers())}",
        )
    known = set(CheckerOptions.model_fields) | set(FilterOptions.model_fields)
    unknown = sorted(set(verify.options) - known)
    if unknown:
        raise UsageError(
            f"unknown [verify] setting(s) in {where}: {', '.join(unknown)}",
            fix=f"known: checker, {', '.join(sorted(known))}",
        )
    split_options(verify.options)  # a bad value fails now, not after the crawl


INIT_TEMPLATE = """\
# A groundset project: what to crawl, what to write from it, and how much to spend.
#   groundset run {file}       build the dataset (run it again to resume)
#   groundset refresh {file}   after the docs changed: recrawl, re-verify, refill
# Relative paths are relative to this file. Every table but [sources] and [tasks] is optional.

name = "{name}"
# The language samples are written in (the docs may be in another one).
language = "{language}"
# Where the state, the work files and the dataset versions go (default: the file's name).
# dir = "{name}"

[sources]
# A crawl recipe (see corpora/), or start URLs: one of the two.
{sources}
# corpus = "corpora/{name}"        # default: <dir>/corpus

[crawl]
# Any crawl setting, over the recipe's: max_pages, max_depth, allow, deny, download_delay_s ...
# max_pages = 200

[tasks]
# Kept samples wanted of each task: qa, instruct, evol, schema, unanswerable, multihop,
# false_premise.
qa = 20

[generate]
# No endpoint: a bundled model runs on a local llama.cpp server, offline: local_model is
# qwen2.5-coder-1.5b-instruct (the default), qwen2.5-coder-0.5b-instruct (faster, worse),
# gemma-3-270m, or the path of a GGUF file. They are small, and many of their samples are
# rightly rejected. For real data use an OpenAI-compatible endpoint; OPENAI_BASE_URL and
# OPENAI_API_KEY are read too.
# local_model = "qwen2.5-coder-1.5b-instruct"
# base_url = "https://api.openai.com/v1"
# model = "gpt-4o-mini"
# price_prompt = 0.15                # per million tokens, for the money budget and the summary
# price_completion = 0.60
# batch = true                       # each round through the endpoint's batch API: answered
#                                    # within 24 hours, at batch_discount (0.5) of the prices
# temperature = 0.7

[verify]
# calibrated (default, no model), lexical, overlap, embedding, nli, llm or cascade; and its
# options.
checker = "calibrated"
# threshold = 0.5
# min_precision = 0.55               # or: the least share of kept samples a reader would keep,
#                                    # as measured for the calibrated checker; it picks the
#                                    # threshold, and refuses a share it was never measured to give

[export]
formats = ["openai", "alpaca", "sharegpt", "parquet"]
eval_fraction = 0.1
seed = 0

[budget]
# Limits of one run (with its resumes) and of each refresh; an unset limit does not limit.
samples = 100                        # samples asked of the model
# tokens = 2000000
# money = 5.0                        # needs the prices in [generate]
max_rounds = 10
# samples_per_section = 2            # the most samples one command asks about each section
"""


def write_init(
    path: Path,
    *,
    urls: list[str] | None = None,
    recipe: str | None = None,
    language: str = "en",
    force: bool = False,
) -> Path:
    """Write a commented starting project file.

    Raises:
        UsageError: the file exists (and not ``force``), both a recipe and URLs are given, or
            ``language`` is not a BCP 47 tag.
    """
    language_tag(language, "the language")
    if path.exists() and not force:
        raise UsageError(f"{path} exists", fix="pass --force to overwrite it, or another name")
    if urls and recipe:
        raise UsageError("give a recipe or URLs, not both", fix="see `groundset init -h`")
    if recipe:
        sources = f'recipe = "{recipe}"\n# urls = ["https://docs.example.org/"]'
    elif urls:
        listed = ", ".join(f'"{u}"' for u in urls)
        sources = f'# recipe = "corpora/django-rest-framework.toml"\nurls = [{listed}]'
    else:
        sources = (
            'recipe = "corpora/django-rest-framework.toml"\n# urls = ["https://docs.example.org/"]'
        )
    text = INIT_TEMPLATE.format(file=path.name, name=path.stem, language=language, sources=sources)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
