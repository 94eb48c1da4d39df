"""GenerateSettings in the project's layers, and the limits put on the local server."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundset.config import resolve
from groundset.errors import UsageError
from groundset.generate import GenerateSettings
from groundset.generate.samples import LOCAL_TIMEOUT_S, local_limits


def test_layers_file_then_environment_then_flags() -> None:
    settings = resolve(
        GenerateSettings,
        "generate",
        file_values={"model": "from-file", "concurrency": 8, "personas": ["a maintainer"]},
        env={"GROUNDSET_GENERATE_MODEL": "from-env", "GROUNDSET_GENERATE_STYLES": "why, how"},
        flags={"model": "from-flag", "base_url": None},
    )
    assert settings.model == "from-flag"
    assert settings.concurrency == 8
    assert settings.personas == ["a maintainer"] and settings.styles == ["why", "how"]
    assert settings.base_url is None


def test_unknown_and_bad_settings_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown setting 'modle'"):
        resolve(GenerateSettings, "generate", file_values={"modle": "x"}, env={})
    with pytest.raises(UsageError, match=r"bad setting generate\.max_passages"):
        resolve(GenerateSettings, "generate", file_values={"max_passages": 5}, env={})


def test_the_local_server_gets_one_request_at_a_time_and_time_to_answer() -> None:
    limited = local_limits(GenerateSettings(concurrency=6, timeout_s=30, cache_path=Path("c")))
    assert (limited.concurrency, limited.timeout_s) == (1, LOCAL_TIMEOUT_S)
    assert limited.cache_path == Path("c")
