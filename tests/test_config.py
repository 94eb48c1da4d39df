"""Settings in layers: defaults < TOML < environment < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundset.config import load_toml, resolve
from groundset.crawl.settings import CrawlSettings
from groundset.errors import UsageError


def test_layers_take_precedence_in_order() -> None:
    file_values = {"max_pages": 10, "max_depth": 3, "deny": ["/a/"]}
    env = {"GROUNDSET_CRAWL_MAX_PAGES": "20", "GROUNDSET_CRAWL_ALLOW": "/docs/, /api/"}
    flags = {"max_pages": 30, "max_depth": None}
    settings = resolve(CrawlSettings, "crawl", file_values=file_values, env=env, flags=flags)
    assert settings.max_pages == 30  # flag beats environment beats file
    assert settings.max_depth == 3  # a flag that was not given does not override
    assert settings.allow == ["/docs/", "/api/"]  # environment lists are comma separated
    assert settings.deny == ["/a/"]
    assert settings.obey_robots is True  # default


def test_unknown_key_names_itself_and_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown setting 'max_page'.*known: .*max_pages"):
        resolve(CrawlSettings, "crawl", file_values={"max_page": 3}, env={})


def test_unknown_environment_variable_is_refused() -> None:
    with pytest.raises(UsageError, match="GROUNDSET_CRAWL_SPEED"):
        resolve(CrawlSettings, "crawl", env={"GROUNDSET_CRAWL_SPEED": "9"})


def test_bad_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"bad setting crawl\.max_pages"):
        resolve(CrawlSettings, "crawl", file_values={"max_pages": 0}, env={})


def test_renamed_setting_warns_and_still_works() -> None:
    with pytest.warns(FutureWarning, match="'robots' is now 'obey_robots'"):
        settings = resolve(CrawlSettings, "crawl", file_values={"robots": False}, env={})
    assert settings.obey_robots is False


def test_toml_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[crawl\nmax_pages = 3\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_toml(bad)


def test_the_bundled_recipe_is_valid() -> None:
    recipe = Path(__file__).parents[1] / "corpora" / "django-rest-framework.toml"
    data = load_toml(recipe)
    settings = resolve(CrawlSettings, "crawl", file_values=data["crawl"], env={})
    assert settings.start_urls == ["https://www.django-rest-framework.org/"]
    assert data["name"] == "django-rest-framework"
