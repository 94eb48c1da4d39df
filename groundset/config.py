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
import reprlib
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from groundset.errors import UsageError

__all__ = ["load_toml", "resolve"]

M = TypeVar("M", bound=BaseModel)

#: Old setting names that still work, with the name that replaced them.
RENAMED: dict[str, dict[str, str]] = {
    "crawl": {"concurrency": "concurrent_requests", "robots": "obey_robots"},
    "generate": {"local_model_path": "local_model"},
}


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
        UsageError: an unknown key, or a value of the wrong type or range (``true`` or
            ``false`` for a setting that is no switch among them).
    """
    fields = model.model_fields
    values: dict[str, Any] = {}
    for key, value in (file_values or {}).items():
        name = _current_name(section, key, fields, source)
        annotation = fields[name].annotation
        # pydantic reads true as 1: `max_pages = true` would crawl one page without a word.
        if isinstance(value, bool) and bool not in (annotation, *get_args(annotation)):
            kind = getattr(annotation, "__name__", str(annotation))
            raise UsageError(
                f"bad setting {section}.{name} = {str(value).lower()}: {name} takes no true/false",
                fix=f"give {name} a value of type {kind} in {source}",
            )
        values[name] = value
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
        given = reprlib.repr(err["input"])
        raise UsageError(
            f"bad setting {section}.{where} = {given}: {err['msg']}",
            fix=f"fix it in {source} or the flags",
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
