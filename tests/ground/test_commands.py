"""``groundset index`` and ``groundset search`` as the command line will call them."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from groundset.cli import main
from groundset.errors import UsageError
from groundset.ground.commands import index_command, search_command


def test_index_command_prints_its_summary(
    indexed_old: Path, clone: Callable[..., Path], tmp_path: Path
) -> None:
    root = clone(indexed_old, tmp_path / "c", index_from=indexed_old)
    out, err = io.StringIO(), io.StringIO()
    summary = index_command(root, out=out, err=err)
    assert summary.unchanged > 1000 and summary.added == 0
    line = out.getvalue()
    assert line.startswith(f"index of {root} (all-MiniLM-L6-v2, {root / 'index'}): 0 chunks added")
    assert f"{summary.unchanged} unchanged" in line
    assert err.getvalue() == "", "nothing to write, no progress to show"


def test_index_command_shows_progress_while_writing(
    indexed_old: Path, drf_corpus_new: Path, clone: Callable[..., Path], tmp_path: Path
) -> None:
    root = clone(drf_corpus_new, tmp_path / "c", index_from=indexed_old)
    out, err = io.StringIO(), io.StringIO()
    summary = index_command(root, out=out, err=err)
    written = summary.added + summary.updated
    lines = err.getvalue().splitlines()
    assert lines[0] == f"indexing: 0/{written} chunks"
    assert lines[-1] == f"indexing: {written}/{written} chunks"
    assert "6 pages indexed" in out.getvalue()


def test_index_command_refuses_a_folder_that_is_no_corpus(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        index_command(tmp_path, out=io.StringIO(), err=io.StringIO())


def test_search_command_prints_ranked_hits(indexed_old: Path) -> None:
    out = io.StringIO()
    hits = search_command(indexed_old, "DEFAULT_THROTTLE_RATES", k=3, out=out)
    lines = out.getvalue().splitlines()
    assert len(hits) == 3 and len(lines) == 9
    assert lines[0].startswith("1. [") and hits[0].chunk.heading_path in lines[0]
    assert hits[0].chunk.id in lines[1] and hits[0].chunk.doc_url in lines[1]


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_search_command_refuses_an_empty_query(indexed_old: Path, query: str) -> None:
    out = io.StringIO()
    with pytest.raises(UsageError, match="the search query is empty"):
        search_command(indexed_old, query, out=out)
    assert out.getvalue() == "", "no arbitrary hits"


def test_search_of_nothing_is_one_line_on_the_command_line(
    indexed_old: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "--corpus", str(indexed_old), " "]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith("groundset: error: the search query is empty (give words"), err
