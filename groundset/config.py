"""Settings in layers: defaults < TOML file < environment < command-line flags.

Each stage has one typed settings model. :func:`resolve` builds it from the layers, so the
inside of the pipeline receives validated values and never re-checks them. A TOML key or
environment variable that is not a setting is an error that names it; an old name that was
renamed still works, with a warning.

Environment variables are ``GROUNDSET_<SECTION>_<KEY>``, e.g. ``GROUNDSET_CRAWL_MAX_PAGES=50``;
lists are comma separated.
"""

from __future__ import annotations

import os
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from groundset.errors import UsageError

__all__ = ["CrawlSettings", "load_toml", "resolve"]

M = TypeVar("M", bound=BaseModel)

#: Old setting names that still work, with the name that replaced them.
RENAMED: dict[str, dict[str, str]] = {
    "crawl": {"concurrency": "concurrent_requests", "robots": "obey_robots"},
    "generate": {"local_model_path": "local_model"},
}


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CrawlSettings(_Settings):
    """How to crawl: where to start, what is in scope, limits and politeness."""

    start_urls: list[str] = Field(default_factory=list)
    # Scope. Empty allowed_hosts / path_prefixes mean "those of the start URLs".
    allowed_hosts: list[str] = Field(default_factory=list)
    path_prefixes: list[str] = Field(default_factory=list)
    allow: list[str] = Field(default_factory=list, description="regexes a URL must match")
    deny: list[str] = Field(default_factory=list, description="regexes that exclude a URL")
    # Limits.
    max_pages: int | None = Field(default=None, ge=1)
    max_depth: int | None = Field(default=None, ge=0)
    max_download_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    timeout_s: float = Field(default=30.0, gt=0)
    retries: int = Field(default=2, ge=0)
    # Discovery.
    follow_links: bool = True
    use_sitemaps: bool = True
    versions: Literal["current", "all"] = Field(
        default="current",
        description="current: pages of other docs versions (Docusaurus's old and unreleased "
        "versions, marked by their version banner, and pages under a version path such as "
        "/en/2.4.2/ that no start URL is under) are skipped as old_version; all: kept",
    )
    # Politeness.
    obey_robots: bool = True
    user_agent: str = "groundset/0.1 (+https://pypi.org/project/groundset/)"
    concurrent_requests: int = Field(default=8, ge=1)
    concurrent_requests_per_host: int = Field(default=4, ge=1)
    download_delay_s: float = Field(default=0.0, ge=0)
    autothrottle: bool = True
    autothrottle_target_concurrency: float = Field(default=4.0, gt=0)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning a missing or malformed file into one clear error."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise UsageError(f"no such file: {p}", fix="check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p} is not valid TOML: {exc}", fix="fix the file's syntax") from None


def resolve(
    model: type[M],
    section: str,
    *,
    file_values: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    source: str = "config",
) -> M:
    """Build settings ``model`` from its layers, later layers overriding earlier ones.

    Args:
        model: the settings class.
        section: its name in TOML files and environment variables (``crawl`` ...).
        file_values: the section's table from a TOML file.
        env: the environment (``os.environ`` when None).
        flags: command-line values; None means "not given" and does not override.
        source: how to name the file in errors.

    Raises:
        UsageError: an unknown key, or a value of the wrong type or range.
    """
    fields = model.model_fields
    values: dict[str, Any] = {}
    for key, value in (file_values or {}).items():
        values[_current_name(section, key, fields, source)] = value
    env = os.environ if env is None else env
    prefix = f"GROUNDSET_{section.upper()}_"
    for var, raw in env.items():
        if var.startswith(prefix):
            key = _current_name(section, var[len(prefix) :].lower(), fields, var)
            values[key] = _from_env(raw, fields[key].annotation)
    values.update({k: v for k, v in (flags or {}).items() if v is not None})
    try:
        return model(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise UsageError(
            f"bad setting {section}.{where}: {err['msg']}", fix=f"fix it in {source} or the flags"
        ) from None


def _current_name(section: str, key: str, fields: Mapping[str, Any], where: str) -> str:
    new = RENAMED.get(section, {}).get(key)
    if new:
        warnings.warn(f"{where}: setting '{key}' is now '{new}'", FutureWarning, stacklevel=3)
        key = new
    if key not in fields:
        known = ", ".join(sorted(fields))
        raise UsageError(f"unknown setting '{key}' in {where} [{section}]", fix=f"known: {known}")
    return key


def _from_env(raw: str, annotation: Any) -> Any:
    if "list" in str(annotation):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw
