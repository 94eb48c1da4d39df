"""The command line: recipes, flags, exit statuses and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundset.cli import _crawl_settings, build_parser, main
from groundset.corpus import Corpus

from sitesrv import SiteServer


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_crawl_from_a_recipe_with_env_and_flags(
    drf_site: SiteServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recipe = tmp_path / "drf.toml"
    recipe.write_text(
        f'name = "drf-local"\n[crawl]\nstart_urls = ["{drf_site.url}"]\n'
        'max_pages = 40\ndeny = ["/community/"]\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GROUNDSET_CRAWL_MAX_PAGES", "20")
    code, out, _ = run(capsys, "crawl", str(recipe), "--max-pages", "5")
    assert code == 0
    assert "5 pages (5 new" in out
    corpus_dir = tmp_path / "corpora" / "drf-local"  # the recipe's name is the default corpus
    assert f"corpus: {Path('corpora') / 'drf-local'}" in out
    with Corpus(corpus_dir) as corpus:
        urls = [p.url for p in corpus.pages("active")]
    assert len(urls) == 5 and not [u for u in urls if "/community/" in u]


@pytest.mark.parametrize(
    "name",
    [
        "ABSOLUTE",
        "../../escaped",
        "..",
        ".",
        "a/b",
        "a\\b",
        ".hidden",
        "tab\there",
        "a\n",
        "n" * 101,
    ],
)
def test_a_recipe_name_that_is_no_plain_folder_name_is_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = str(tmp_path / "escaped") if name == "ABSOLUTE" else name
    work = tmp_path / "work" / "here"
    work.mkdir(parents=True)
    recipe = work / "site.toml"
    # Nothing listens on port 9: a crawl that started would fail (1), after making its corpus.
    recipe.write_text(f"name = {json.dumps(name)}\n[crawl]\nstart_urls = ['http://127.0.0.1:9/']\n")
    monkeypatch.chdir(work)
    code, _, err = run(capsys, "crawl", str(recipe))
    assert code == 2
    assert err == (
        f"groundset: error: the name {name!r} of {recipe} is not a plain folder name (name it"
        " with up to 100 letters, digits, '-', '_' and '.' (not first); or pass --corpus PATH"
        " to write the corpus elsewhere)\n"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["here", "site.toml", "work"]


def test_corpus_still_writes_elsewhere_and_a_host_of_dots_names_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "site.toml"
    recipe.write_text('name = "../x"\n[crawl]\nstart_urls = ["http://127.0.0.1:9/"]\n')
    code, _, err = run(capsys, "crawl", str(recipe), "--corpus", str(tmp_path / "c"))
    assert code == 1 and "connection_refused" in err  # crawled, into the corpus it was given
    assert (tmp_path / "c" / "corpus.sqlite").exists()
    # A host name of dots names no folder either: the corpus is corpora/corpus.
    assert _crawl_settings(build_parser().parse_args(["crawl", "http://../"]))[1] == "corpus"


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "crawl")
    assert code == 2 and err.count("\n") == 1 and "required" in err
    code, _, err = run(capsys, "crawl", "a.toml", "http://x/")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "crawl", "missing.toml")
    assert code == 2 and "no such file: missing.toml" in err
    code, _, err = run(capsys, "nonsense")
    assert code == 2


def test_every_command_of_the_design_is_built(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("init", "run", "refresh", "demo", "export", "report"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        assert "not built" not in capsys.readouterr().out
    code, _, err = run(capsys, "refresh")
    assert code == 2 and "PROJECT.toml" in err


def test_export_and_report_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from records_builder import verified_run

    run_files = verified_run(tmp_path, 40)
    code, out, _ = run(
        capsys,
        "export",
        str(run_files.kept),
        "--out",
        str(tmp_path / "out"),
        "--format",
        "openai,alpaca",
        "--rejected",
        str(run_files.rejected),
    )
    assert code == 0
    assert (tmp_path / "out" / "openai" / "train.jsonl").is_file()
    assert (tmp_path / "out" / "README.md").is_file()
    code, out, _ = run(
        capsys,
        "report",
        str(run_files.kept),
        str(run_files.rejected),
        "--out",
        str(tmp_path / "report.html"),
    )
    assert code == 0 and "report.html" in out
    assert "<svg" in (tmp_path / "report.html").read_text()
    code, _, err = run(capsys, "export", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path))
    assert code == 2 and "nope.jsonl" in err


def test_verify_claims_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fixture_paths import fixture_path

    lines = fixture_path("verification", "wice_claim_dev.jsonl").read_text().splitlines()[:20]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join([*lines, "{not json"]) + "\n")
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "verify-claims", str(pairs), "--out", str(out))
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [json.loads(line)["id"] for line in lines]
    assert all(isinstance(r["supported"], bool) and isinstance(r["score"], float) for r in rows)
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["total"] == 21 and summary["malformed_lines"][0]["line"] == 21
    code, _, err = run(capsys, "verify-claims", str(pairs), "--checker", "nonsense")
    assert code == 2 and "nonsense" in err


@pytest.mark.parametrize("command", ["generate", "verify"])
def test_a_language_that_is_no_tag_is_refused(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = tmp_path / "s.jsonl"
    samples.write_text("", encoding="utf-8")
    argv = {
        "generate": ["--corpus", str(tmp_path), "--count", "1", "--out", str(samples)],
        "verify": [str(samples), "--corpus", str(tmp_path)],
    }[command]
    code, _, err = run(capsys, command, *argv, "--language", "english")
    assert code == 2 and "'english', not a BCP 47 language tag" in err
