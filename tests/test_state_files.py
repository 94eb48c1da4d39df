"""Damaged, contended or foreign state files: one clear line, healed caches, nothing lost."""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from groundset.cli import main
from groundset.corpus import Corpus
from groundset.errors import StateError
from groundset.locks import LOCK_NAME
from groundset.project import ProjectState

from damage import damage_page
from fixture_paths import copy_site, fixture_path
from sitesrv import SiteServer

JUNK = b"\x00\x13 not a database, just bytes \xff" * 200


def _stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_a_junk_manifest_is_one_line_naming_the_file_and_the_fix(
    drf_corpus_old: Path,
    clone: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = clone(drf_corpus_old, tmp_path / "corpus")
    docs_before = sorted(p.read_bytes() for p in (root / "docs").glob("*.md"))
    (root / "corpus.sqlite").write_bytes(JUNK)
    assert main(["index", "--corpus", str(root)]) == 1
    (line,) = _stderr_lines(capsys)
    assert line == (
        f"groundset: error: the corpus manifest {root / 'corpus.sqlite'} is damaged (file is not"
        f" a database) (move corpus.sqlite away and crawl again into {root}; the crawl then"
        " rebuilds it)"
    )
    # Nothing the crawl paid for was touched.
    assert sorted(p.read_bytes() for p in (root / "docs").glob("*.md")) == docs_before
    assert (root / "corpus.sqlite").read_bytes() == JUNK


def test_a_damaged_page_of_the_manifest_is_found_when_it_is_opened_not_mid_run(
    drf_corpus_old: Path,
    clone: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = clone(drf_corpus_old, tmp_path / "corpus")
    manifest = root / "corpus.sqlite"
    damage_page(manifest, "sqlite_autoindex_pages_1")  # the header and the rows are intact
    damaged = manifest.read_bytes()
    assert main(["index", "--corpus", str(root)]) == 1
    (line,) = _stderr_lines(capsys)
    assert line.startswith(
        f"groundset: error: the corpus manifest {manifest} is damaged (database disk image is"
        " malformed"
    )
    assert line.endswith(
        f"(move corpus.sqlite away and crawl again into {root}; the crawl then rebuilds it)"
    )
    assert manifest.read_bytes() == damaged, "the user's file is left for them to recover"


def test_damage_done_while_a_command_runs_is_one_line_not_a_traceback(
    drf_corpus_old: Path,
    clone: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = clone(drf_corpus_old, tmp_path / "corpus")

    def damaged(self: Corpus, *args: object, **kwargs: object) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Corpus, "documents", damaged)  # the manifest opened whole, then broke
    assert main(["index", "--corpus", str(root)]) == 1
    (line,) = _stderr_lines(capsys)
    assert line == (
        "groundset: error: a state file was damaged while this command ran (database disk image"
        " is malformed) (run the same command again: it names the file and heals it, or says"
        " how to recover it)"
    )


def test_a_junk_embedding_cache_is_moved_aside_and_the_index_goes_on(
    indexed_old: Path,
    clone: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = clone(indexed_old, tmp_path / "corpus", index_from=indexed_old)
    cache = root / "index" / "embeddings.sqlite"
    cache.write_bytes(JUNK)
    assert main(["index", "--corpus", str(root)]) == 0
    lines = _stderr_lines(capsys)
    warning = [line for line in lines if line.startswith("groundset: warning:")]
    assert len(warning) == 1
    assert (
        f"the embedding cache {cache} was damaged and is started afresh: its cached embeddings"
        " are lost (the file is too damaged to count them)" in warning[0]
    )
    (aside,) = (root / "index").glob("embeddings.sqlite.corrupt-*")
    assert aside.name in warning[0] and aside.read_bytes() == JUNK
    # A working, empty cache; the index itself is whole.
    assert sqlite3.connect(cache).execute("SELECT count(*) FROM embeddings").fetchone() == (0,)
    assert main(["search", "--corpus", str(root), "serializer fields", "-k", "1"]) == 0


def test_a_junk_chroma_store_is_moved_aside_and_indexed_again_from_the_cache(
    indexed_old: Path,
    clone: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = clone(indexed_old, tmp_path / "corpus", index_from=indexed_old)
    store = root / "index" / "chroma.sqlite3"
    store.write_bytes(JUNK)
    assert main(["search", "--corpus", str(root), "serializer fields"]) == 1
    warning, error = _stderr_lines(capsys)
    assert warning.startswith(f"groundset: warning: the index store {root / 'index'} was damaged")
    assert "file is not a database" in warning
    assert "`groundset index` indexes the corpus again" in warning
    assert error == "groundset: error: the index 'groundset' is empty (run `groundset index` first)"
    (aside,) = (root / "index").glob("chroma.corrupt-*")
    assert (aside / "chroma.sqlite3").read_bytes() == JUNK and aside.name in warning
    # The next index makes it again without embedding anything: the cache was untouched.
    assert main(["index", "--corpus", str(root)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"\b0 embedded, [1-9]\d* from cache", printed), printed
    assert main(["search", "--corpus", str(root), "serializer fields", "-k", "1"]) == 0


def test_a_state_file_of_a_newer_groundset_is_refused(tmp_path: Path) -> None:
    with ProjectState(tmp_path):
        pass
    db = sqlite3.connect(tmp_path / "project.sqlite")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(
        StateError,
        match=r"written by a newer groundset \(schema 99; this one"
        r" reads 1\) \(upgrade groundset",
    ):
        ProjectState(tmp_path)


def test_a_file_from_before_schema_versions_is_adopted(
    drf_corpus_old: Path, clone: Callable[..., Path], tmp_path: Path
) -> None:
    root = clone(drf_corpus_old, tmp_path / "corpus")
    db = sqlite3.connect(root / "corpus.sqlite")
    db.execute("PRAGMA user_version = 0")
    db.close()
    with Corpus(root) as corpus:
        assert len(corpus.pages("active")) == 70
    version = sqlite3.connect(root / "corpus.sqlite").execute("PRAGMA user_version").fetchone()
    assert version == (1,)


def test_a_locked_state_file_names_the_other_process(tmp_path: Path) -> None:
    with ProjectState(tmp_path):
        pass
    holder = sqlite3.connect(tmp_path / "project.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StateError, match=r"project state .* is locked by another process"):
            ProjectState(tmp_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_junk_project_state_is_refused_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "project.sqlite").write_bytes(JUNK)
    with pytest.raises(StateError, match=r"the project state .* is damaged"):
        ProjectState(tmp_path)
    assert (tmp_path / "project.sqlite").read_bytes() == JUNK


def test_doc_files_missing_or_unknown_to_the_manifest_are_counted_with_the_fix(
    indexed_old: Path,
    clone: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = clone(indexed_old, tmp_path / "corpus", index_from=indexed_old)
    with Corpus(root) as corpus:
        page = next(p for p in corpus.pages("active") if p.slug == "api-guide--fields")
    (root / "docs" / "api-guide--fields.md").unlink()
    # And a doc file the manifest does not know (a copy left beside the real ones).
    shutil.copyfile(root / "docs" / "api-guide--views.md", root / "docs" / "stray-copy.md")
    assert main(["index", "--corpus", str(root)]) == 0
    out = capsys.readouterr().out
    assert (
        "not indexed, 1 pages whose doc file is missing or damaged (crawl again: it refetches"
        f" them): {page.url}"
    ) in out
    assert (
        "not indexed, 1 doc files that no page of the manifest names (left by a replaced"
        " manifest; remove them, or crawl again): stray-copy.md"
    ) in out


def test_a_second_writer_is_refused_and_a_killed_ones_lock_taken_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = SiteServer(fixture_path("sites", "drf", "v2026-07-31"), delay_s=0.2)
    corpus = tmp_path / "corpus"
    try:
        crawler = subprocess.Popen(
            [sys.executable, "-m", "groundset", "crawl", server.url, "--corpus", str(corpus)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not (corpus / LOCK_NAME).exists():
            assert crawler.poll() is None, crawler.communicate()
            assert time.monotonic() < deadline, "the crawl did not start"
            time.sleep(0.05)
        # While it crawls, an index of the same corpus is refused at once, naming it.
        assert main(["index", "--corpus", str(corpus)]) == 1
        (line,) = _stderr_lines(capsys)
        assert line.startswith(
            f"groundset: error: the corpus {corpus} is already being written: groundset crawl"
            f" {server.url} is running (pid {crawler.pid}) since "
        )
        os.kill(crawler.pid, signal.SIGKILL)
        crawler.communicate(timeout=60)
    finally:
        server.close()
    # The killed crawl left its lock behind; the next command sees it is stale and goes on.
    assert (corpus / LOCK_NAME).exists()
    with Corpus(corpus) as pages:
        stored = len(pages.pages("active"))
    assert stored < 70
    assert main(["index", "--corpus", str(corpus)]) == 0
    assert not (corpus / LOCK_NAME).exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 KiB tmpfs: a real disk that fills up halfway through a crawl (the tests run as
    root, as CI does)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs at {disk}: {mounted.stderr.strip()} (run as root)")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_is_one_line_and_the_rerun_ends_as_an_undisturbed_crawl(
    small_disk: Path, drf_corpus_old: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = SiteServer(fixture_path("sites", "drf", "v2026-07-31"))
    corpus = small_disk / "corpus"
    try:
        assert main(["crawl", server.url, "--corpus", str(corpus)]) == 1
        _assert_one_disk_full_line(capsys)
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        assert main(["crawl", server.url, "--corpus", str(corpus)]) == 0
    finally:
        server.close()
    # Page for page the same Markdown as the session's undisturbed crawl of the deploy (each
    # served on its own port, which absolute links carry).
    with Corpus(corpus) as after, Corpus(drf_corpus_old) as undisturbed:
        assert _by_path(after) == _by_path(undisturbed)
        assert len(after.pages("active")) == 70


def test_a_disk_that_fills_during_a_refresh_stops_it_and_marks_no_page_removed(
    small_disk: Path,
    drf_corpus_new: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    server = SiteServer(copy_site("v2026-07-31", tmp_path / "site-old"))
    corpus = small_disk / "corpus"
    crawl_cmd = ["crawl", server.url, "--corpus", str(corpus)]
    try:
        assert main(crawl_cmd) == 0
        server.root = copy_site("v2026-08-18", tmp_path / "site-new")
        # Room for a changed page or two, not for the whole refresh: the manifest has pages to
        # spare inside its file, so the Markdown files are what runs out first.
        ballast = small_disk / "ballast"
        ballast.write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 48 * 1024))
        capsys.readouterr()
        assert main(crawl_cmd) == 1
        _assert_one_disk_full_line(capsys)
        with Corpus(corpus) as stopped:
            # Every page the refresh did not get to store is still there, none marked removed.
            assert len(stopped.pages("active")) == 70
            assert not stopped.pages("removed")
            assert not list((corpus / "docs").glob("*.tmp"))
        ballast.unlink()
        assert main(crawl_cmd) == 0
    finally:
        server.close()
    with Corpus(corpus) as after, Corpus(drf_corpus_new) as undisturbed:
        assert _by_path(after) == _by_path(undisturbed)


def test_markdown_files_that_cannot_be_written_stop_the_refresh_though_the_manifest_can_be(
    drf_corpus_new: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A disk can be too full for a new file while SQLite still has free pages inside its own:
    the crawl must stop all the same, not run to its end and call the pages it lost removed."""
    corpus = tmp_path / "corpus"
    server = SiteServer(copy_site("v2026-07-31", tmp_path / "site-old"))
    written = 0
    write_document = Corpus.write_document

    def fills_up(self: Corpus, slug: str, doc: object) -> None:
        nonlocal written
        if written == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written += 1
        write_document(self, slug, doc)  # type: ignore[arg-type]

    crawl_cmd = ["crawl", server.url, "--corpus", str(corpus)]
    try:
        assert main(crawl_cmd) == 0
        server.root = copy_site("v2026-08-18", tmp_path / "site-new")
        capsys.readouterr()
        monkeypatch.setattr(Corpus, "write_document", fills_up)
        assert main(crawl_cmd) == 1
        (line,) = [line for line in _stderr_lines(capsys) if line.startswith("groundset:")]
        assert line == (
            "groundset: error: no space left on the device (free some space and run the same"
            " command again: it resumes where it stopped)"
        )
        with Corpus(corpus) as stopped:
            assert not stopped.pages("removed")
            assert stopped.runs()[-1].state == "interrupted"
        monkeypatch.undo()
        assert main(crawl_cmd) == 0
    finally:
        server.close()
    with Corpus(corpus) as after, Corpus(drf_corpus_new) as undisturbed:
        assert _by_path(after) == _by_path(undisturbed)


def _assert_one_disk_full_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The one line a full disk gives, from the manifest or from a Markdown file alike."""
    lines = [line for line in _stderr_lines(capsys) if line.startswith("groundset:")]
    assert len(lines) == 1, lines
    assert re.fullmatch(
        r"groundset: error: (the disk is full \(database or disk is full\)|no space left on the"
        r" device writing \S+\.md) \(free some space and run the same command again: it"
        r" resumes where it stopped\)",
        lines[0],
    ), lines[0]


def _by_path(corpus: Corpus) -> dict[str, str]:
    host = re.compile(r"http://127\.0\.0\.1:\d+/")
    return {host.sub("/", d.url): host.sub("/", d.markdown) for d in corpus.documents()}


def test_a_read_only_corpus_is_one_line_and_left_as_it_was(
    small_disk: Path, drf_corpus_old: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    corpus = small_disk / "corpus"
    shutil.copytree(drf_corpus_old, corpus, ignore=shutil.ignore_patterns("index"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    assert main(["index", "--corpus", str(corpus)]) == 1
    (line,) = _stderr_lines(capsys)
    assert line.startswith(
        f"groundset: error: cannot write the corpus manifest {corpus / 'corpus.sqlite'}: the file"
        " or its folder is read-only"
    )
    assert main(["crawl", "http://127.0.0.1:9/", "--corpus", str(corpus)]) == 1
    (line,) = _stderr_lines(capsys)
    assert line == (
        f"groundset: error: the file system is read-only writing {corpus / LOCK_NAME} (work in a"
        " folder you can write)"
    )
    assert sorted(p.name for p in (corpus / "docs").iterdir()) == sorted(
        p.name for p in (drf_corpus_old / "docs").iterdir()
    )
