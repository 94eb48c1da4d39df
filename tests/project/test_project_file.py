"""Project files: ``groundset init`` writes one that loads; every mistake is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundset.cli import main
from groundset.errors import UsageError
from groundset.project import ProjectState, budget_left, load_project, round_size
from groundset.project.project_file import Project

RECIPE = Path(__file__).resolve().parents[2] / "corpora" / "django-rest-framework.toml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_writes_a_project_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "docs.toml"
    code, out, _ = run(
        capsys, "init", str(path), "--url", "http://127.0.0.1:8800/", "--language", "sw"
    )
    assert code == 0 and "groundset run" in out
    project = load_project(path, env={})
    assert project.name == "docs" and project.language == "sw"
    assert project.crawl.start_urls == ["http://127.0.0.1:8800/"]
    assert project.dir == tmp_path / "docs" and project.corpus_dir == tmp_path / "docs" / "corpus"
    assert project.tasks == {"qa": 20} and project.budget.samples == 100
    assert project.verify.checker == "calibrated"
    assert project.export.formats == ["openai", "alpaca", "sharegpt", "parquet"]

    code, _, err = run(capsys, "init", str(path))
    assert code == 2 and "exists" in err and "--force" in err and err.count("\n") == 1
    code, _, _ = run(capsys, "init", str(path), "--recipe", str(RECIPE), "--force")
    assert code == 0
    project = load_project(path, env={})
    assert project.crawl.start_urls == ["https://www.django-rest-framework.org/"]
    assert project.crawl.max_pages == 500  # from the recipe


def project_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(
        f'{body}\n[sources]\nurls = ["http://127.0.0.1:1/"]\n[tasks]\nqa = 3\n', encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("colour = 1\n", "unknown key(s)"),
        ("[crawl]\nmax_pagez = 3\n", "unknown setting 'max_pagez'"),
        ("[tasks]\nsummaries = 3\n", "is not valid TOML"),  # [tasks] twice
        ("[budget]\nmoney = 1.0\n", "no prices"),
        ("[budget]\nsamples = 0\n", "bad setting budget.samples"),
        ("[verify]\nchecker = 'oracle'\n", "unknown checker 'oracle'"),
        ("[verify]\nthreshhold = 0.5\n", "unknown [verify] setting(s)"),
        ("[verify]\nnear_duplicate = 2.0\n", "bad verify option near_duplicate"),
        ("[export]\nformats = ['csv']\n", "unknown export format(s)"),
        ("[index]\nchroma_url = 3\n", None),
    ],
)
def test_mistakes_are_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str | None
) -> None:
    code, _, err = run(capsys, "run", str(project_file(tmp_path, body)))
    assert code == 2 and err.count("\n") == 1 and err.startswith("groundset: error:")
    assert message is None or message in err, err


def test_sources_and_tasks_are_checked(tmp_path: Path) -> None:
    both = tmp_path / "both.toml"
    both.write_text(f'[sources]\nrecipe = "{RECIPE}"\nurls = ["http://x/"]\n[tasks]\nqa = 1\n')
    with pytest.raises(UsageError, match="a recipe or URLs"):
        load_project(both, env={})
    none = tmp_path / "none.toml"
    none.write_text('[sources]\nurls = ["http://x/"]\n')
    with pytest.raises(UsageError, match="names no task"):
        load_project(none, env={})
    bad = tmp_path / "bad.toml"
    bad.write_text('[sources]\nurls = ["http://x/"]\n[tasks]\nsummaries = 2\n')
    with pytest.raises(UsageError, match="unknown task 'summaries'"):
        load_project(bad, env={})
    zero = tmp_path / "zero.toml"
    zero.write_text('[sources]\nurls = ["http://x/"]\n[tasks]\nqa = 0\n')
    with pytest.raises(UsageError, match="quota of qa"):
        load_project(zero, env={})


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = project_file(tmp_path, "[budget]\nsamples = 50\n")
    assert load_project(path, env={}).budget.samples == 50
    assert load_project(path, env={"GROUNDSET_BUDGET_SAMPLES": "7"}).budget.samples == 7
    crawl = load_project(path, env={"GROUNDSET_CRAWL_MAX_PAGES": "9"}).crawl
    assert crawl.max_pages == 9


def test_refresh_needs_a_finished_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "refresh", str(project_file(tmp_path, "")))
    assert code == 2 and "no finished run" in err and "groundset run" in err


def test_a_phase_of_one_kind_blocks_the_other(tmp_path: Path) -> None:
    with ProjectState(tmp_path) as state:
        run, resumed = state.begin("run")
        assert not resumed
        again, resumed = state.begin("run")
        assert resumed and again.id == run.id
        with pytest.raises(UsageError, match="last run did not finish"):
            state.begin("refresh")
        state.finish(run.id, "done")
        refresh, resumed = state.begin("refresh")
        assert not resumed and refresh.id == run.id + 1


def test_round_size_follows_the_acceptance_rate_within_the_budget() -> None:
    assert round_size(10, kept=0, judged=0, room=1000) == 20  # a first round: twice the deficit
    assert round_size(10, kept=50, judged=100, room=1000) == 20  # half are kept
    assert round_size(10, kept=0, judged=98, room=1000) == 100  # at most 10x the deficit
    assert round_size(10, kept=0, judged=0, room=7) == 7  # the budget's room
    assert round_size(10, kept=9, judged=9, room=1000) == 11


def test_budget_left_names_the_limit_spent() -> None:
    from groundset.project import BudgetSettings

    budget = BudgetSettings(samples=10, tokens=1000, money=1.0)
    assert budget_left(budget, 9, 999, 0.99) is None
    assert "sample budget (10)" in (budget_left(budget, 10, 0, 0) or "")
    assert "token budget (1000)" in (budget_left(budget, 0, 1000, 0) or "")
    assert "money budget (1)" in (budget_left(budget, 0, 0, 1.0) or "")
    assert budget_left(BudgetSettings(), 10**9, 10**9, 10**9) is None


def test_a_language_no_reader_here_reads_is_named_before_the_budget_is_spent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import warnings

    from groundset.errors import GroundsetWarning
    from groundset.project.rounds import warn_unread

    def project(language: str, verify: str = "") -> Project:
        path = tmp_path / f"{language}.toml"
        run(capsys, "init", str(path), "--url", "http://127.0.0.1:8800/", "--language", language,
            "--force")  # fmt: skip
        if verify:
            text = path.read_text().replace(
                'checker = "calibrated"', f'checker = "calibrated"\n{verify}'
            )
            path.write_text(text)
        return load_project(path, env={})

    # Made first: the command line installs its own way of showing warnings.
    hindi, spanish, english = project("hi"), project("es"), project("en")
    # A reader the user names reads every language unless told otherwise.
    named = 'translator_base_url = "http://127.0.0.1:9/v1"\ntranslator_model = "reader"'
    swahili = project("sw", named)
    with pytest.warns(GroundsetWarning, match="no model here reads Hindi.*translator_base_url"):
        warn_unread(hindi)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reads in (spanish, english, swahili):  # the bundled reader reads Spanish
            warn_unread(reads)


def tasks_file(tmp_path: Path, quota: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(f'[sources]\nurls = ["http://127.0.0.1:1/"]\n[tasks]\nqa = {quota}\n')
    return path


@pytest.mark.parametrize(
    ("body", "message", "fix"),
    [
        ('language = ["en"]\n', "language in", 'language = "en"'),
        ('language = "english"\n', "'english', not a BCP 47 language tag", '"pt-BR"'),
        ('language = "pt_BR"\n', "not a BCP 47 language tag", '"pt-BR"'),
        ('language = " "\n', "language in", 'language = "en"'),
        ("name = 5\n", "name in", 'name = "p"'),
        ("dir = 5\n", "dir in", 'dir = "p"'),
        ("[verify]\nthreshold = 7.5\n", "bad verify option threshold", None),
        ("[verify]\nthreshold = -0.5\n", "bad verify option threshold", None),
        ("[verify]\nmin_precision = 1.5\n", "bad verify option min_precision", None),
        ("[budget]\nsamples = 100000000000000000000000\n", "budget.samples", "p.toml"),
        ("[budget]\nsamples = -3\n", "budget.samples", "p.toml"),
        ("[budget]\nsamples = 2.5\n", "budget.samples", "p.toml"),
        ("[budget]\nsamples = true\n", "budget.samples = true", "of type int"),
        ("[budget]\ntokens = 100000000000000000000000\n", "budget.tokens", "p.toml"),
        ("[budget]\nmoney = inf\n", "budget.money = inf", "p.toml"),
        ("[budget]\nmax_rounds = 100000000000000000000000\n", "budget.max_rounds", "p.toml"),
        ("[crawl]\nmax_pages = true\n", "crawl.max_pages = true", "of type int"),
    ],
)
def test_careless_values_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str, fix: str | None
) -> None:
    code, _, err = run(capsys, "run", str(project_file(tmp_path, body)))
    assert code == 2 and err.count("\n") == 1 and err.startswith("groundset: error:"), err
    assert message in err and (fix is None or fix in err), err


@pytest.mark.parametrize("quota", ["100000000000000000000000", "10000001", "-1", "2.5", "true"])
def test_an_absurd_quota_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quota: str
) -> None:
    code, _, err = run(capsys, "run", str(tasks_file(tmp_path, quota)))
    assert code == 2 and err.count("\n") == 1, err
    assert "the quota of qa" in err and "from 1 to 10,000,000" in err, err


def test_values_at_the_bounds_still_load(tmp_path: Path) -> None:
    path = tasks_file(tmp_path, "10000000")
    text = path.read_text()
    top = 'name = "docs"\nlanguage = "zh-Hant-TW"\n'
    tables = "[verify]\nthreshold = 1.0\n[budget]\nsamples = 10000000\ntokens = 1\n"
    path.write_text(top + text + tables)
    project = load_project(path, env={})
    assert project.name == "docs" and project.language == "zh-Hant-TW"
    assert project.tasks == {"qa": 10_000_000} and project.budget.samples == 10_000_000
    assert project.verify.options == {"threshold": 1.0}


def test_init_refuses_a_language_that_is_no_tag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "docs.toml"
    code, _, err = run(capsys, "init", str(path), "--language", "english")
    assert code == 2 and err.count("\n") == 1 and "not a BCP 47 language tag" in err, err
    assert not path.exists()
