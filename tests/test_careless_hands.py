"""Careless and hostile input through the real command line: an output named as its own input, an
export into a folder of the user's files, a line no JSON parser can read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from groundset.files import read_lines
from groundset.project.stored import read_records
from groundset.statefile import StateWarning

from records_builder import verified_run

EVIDENCE = "Pagination can be turned off by setting the pagination class to None."
NESTED = "[" * 100_000


def groundset(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "groundset", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def claims_file(path: Path, *middle: str) -> list[str]:
    """Two good claim lines with ``middle`` between them; returns the good lines' ids."""
    rows = [{"id": f"c{i}", "evidence": EVIDENCE, "claim": EVIDENCE} for i in (1, 2)]
    lines = [json.dumps(rows[0]), *middle, json.dumps(rows[1])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [r["id"] for r in rows]


def test_verify_claims_refuses_to_write_over_its_input(tmp_path: Path) -> None:
    claims_file(tmp_path / "X.jsonl")
    before = (tmp_path / "X.jsonl").read_bytes()
    for out in ("X.jsonl", "./X.jsonl"):
        done = groundset(tmp_path, "verify-claims", "X.jsonl", "--out", out)
        assert done.returncode == 2
        assert done.stderr.splitlines() == [
            f"groundset: error: --out {Path(out)} is the claims file itself: writing it would"
            " erase it before it is read (give --out another path)"
        ]
        assert (tmp_path / "X.jsonl").read_bytes() == before


def test_verify_claims_reads_past_a_line_nested_100000_deep(tmp_path: Path) -> None:
    ids = claims_file(tmp_path / "X.jsonl", NESTED)
    done = groundset(tmp_path, "verify-claims", "X.jsonl", "--out", "checked.jsonl")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    written = [json.loads(x) for x in (tmp_path / "checked.jsonl").read_text().splitlines()]
    assert [w["id"] for w in written] == ids
    summary = json.loads(done.stderr.splitlines()[-1])
    assert (summary["total"], summary["supported"], summary["malformed"]) == (3, 2, 1)
    assert summary["malformed_lines"] == [{"line": 2, "error": "nested deeper than 100 levels"}]


def test_export_into_a_folder_of_the_users_files_needs_force_and_keeps_them(
    tmp_path: Path,
) -> None:
    kept = verified_run(tmp_path / "run", 20).kept
    work = tmp_path / "work"
    (work / "openai").mkdir(parents=True)
    (work / "README.md").write_text("my project\n", encoding="utf-8")
    (work / "openai" / "notes.txt").write_text("my notes\n", encoding="utf-8")
    done = groundset(work, "export", str(kept), "--out", ".")
    assert done.returncode == 2
    assert done.stderr.startswith(
        "groundset: error: . holds files groundset did not write: README.md, openai/notes.txt ("
    )
    assert (work / "README.md").read_text(encoding="utf-8") == "my project\n"
    assert sorted(p.name for p in work.rglob("*")) == ["README.md", "notes.txt", "openai"]
    done = groundset(work, "export", str(kept), "--out", ".", "--force", "--format", "openai")
    assert done.returncode == 0, done.stderr
    assert (work / "README.md").read_text(encoding="utf-8").startswith("---\n")  # the card
    assert (work / "openai" / "notes.txt").read_text(encoding="utf-8") == "my notes\n"
    assert (work / "openai" / "train.jsonl").is_file()


def test_project_records_skip_a_line_they_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "p1-qa.jsonl"
    lines = [b'{"id": "a"}', NESTED.encode(), b"[1, 2]", b'{"id": "\xff"}', b'{"id": "b"}']
    path.write_bytes(b"\n".join(lines) + b'\n{"id": "cut sh')
    with pytest.warns(StateWarning) as warned:
        records = read_records(path)
    assert records == [{"id": "a"}, {"id": "b"}]
    assert [str(w.message).removeprefix(f"{path}:") for w in warned] == [
        "2 is nested deeper than 100 levels: skipped",
        "3 is not a JSON object: skipped",
        "4 is not UTF-8 (invalid start byte at byte 8): skipped",
    ]


def test_a_line_over_the_length_bound_is_malformed_and_the_next_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("groundset.files.MAX_LINE_BYTES", 64)
    path = tmp_path / "lines.jsonl"
    path.write_text(json.dumps({"text": "x" * 200}) + '\n{"id": "next"}\n', encoding="utf-8")
    long, following = read_lines(path)
    with pytest.raises(ValueError, match="longer than"):
        long.parse()
    assert (long.number, long.ended, len(long.text)) == (1, True, 65)
    assert (following.number, following.parse()) == (2, {"id": "next"})


def test_the_generators_resume_and_the_reviews_read_past_a_line_nested_deep(
    tmp_path: Path,
) -> None:
    from groundset.errors import UsageError
    from groundset.export.reviews import ReviewLog
    from groundset.generate.output import done_ids

    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"id": "s1"}) + "\n" + NESTED + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"samples.jsonl:2 is not a generated record"):
        done_ids(samples)
    reviews = tmp_path / "reviews.jsonl"
    good = {"sample_id": "s1", "keep": True}
    reviews.write_text(NESTED + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    assert ReviewLog(reviews).latest() == {"s1": good}
