"""Each export format parses as its trainers read it and keeps every record's provenance."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from groundset.errors import UsageError
from groundset.export import SPLITS, export_command, export_dataset, read_judged
from groundset.export.dataset import MANIFEST

from records_builder import FETCHED_AT, Exported


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _kept_by_id(exported: Exported) -> dict[str, dict]:
    return {line["id"]: line for line in exported.run.results.kept}


def _last_answer(line: dict) -> str:
    return line["answer"] if "answer" in line else line["messages"][-1]["content"]


def _assert_provenance(meta: dict, exported: Exported, split: str) -> None:
    sample = _kept_by_id(exported)[meta["sample_id"]]
    assert meta["split"] == split
    assert (meta["task"], meta["language"]) == (sample["task"], sample["language"])
    assert meta["model"] == sample["generator"]["model"]
    assert meta["prompt_version"] == sample["generator"]["prompt_version"]
    assert meta["checker"] == "lexical"
    assert [s["doc_url"] for s in meta["sources"]] == [s["doc_url"] for s in sample["sources"]]
    for got, source in zip(meta["sources"], sample["sources"], strict=True):
        assert got["heading_path"] == source["heading_path"]
        assert got["chunk_id"] == source["chunk_id"]
        assert got["content_sha256"] == source["content_sha256"]
        assert got["fetched_at"] == FETCHED_AT


def test_split_sizes_add_up_to_the_kept_file(exported: Exported) -> None:
    assert sum(exported.summary.samples.values()) == len(exported.run.results.kept)
    assert exported.summary.samples["eval"] > 0
    assert exported.summary.skipped == []


def test_openai_chat_lines_hold_only_messages_and_the_sidecar_describes_each(
    exported: Exported,
) -> None:
    kept = _kept_by_id(exported)
    for split in SPLITS:
        lines = _lines(exported.out / "openai" / f"{split}.jsonl")
        sidecar = _lines(exported.out / "openai" / f"{split}.provenance.jsonl")
        assert len(lines) == len(sidecar) == exported.summary.samples[split]
        for number, (line, meta) in enumerate(zip(lines, sidecar, strict=True), start=1):
            assert set(line) == {"messages"}
            assert [m["role"] for m in line["messages"]] == ["system", "user", "assistant"]
            assert all(set(m) == {"role", "content"} and m["content"] for m in line["messages"])
            assert meta["line"] == number
            assert line["messages"][-1]["content"] == _last_answer(kept[meta["sample_id"]])
            _assert_provenance(meta, exported, split)


def test_alpaca_lines(exported: Exported) -> None:
    kept = _kept_by_id(exported)
    for split in SPLITS:
        lines = _lines(exported.out / "alpaca" / f"{split}.jsonl")
        assert len(lines) == exported.summary.samples[split]
        for line in lines:
            sample = kept[line["metadata"]["sample_id"]]
            question = sample.get("question") or sample.get("messages", [{}])[0].get("content")
            assert (line["instruction"], line["output"]) == (question, _last_answer(sample))
            assert (line["input"], line["history"]) == ("", [])
            assert line["system"]
            _assert_provenance(line["metadata"], exported, split)


def test_sharegpt_lines(exported: Exported) -> None:
    kept = _kept_by_id(exported)
    for split in SPLITS:
        lines = _lines(exported.out / "sharegpt" / f"{split}.jsonl")
        assert len(lines) == exported.summary.samples[split]
        for line in lines:
            turns = line["conversations"]
            assert [t["from"] for t in turns] == ["system", "human", "gpt"]
            assert turns[-1]["value"] == _last_answer(kept[line["metadata"]["sample_id"]])
            _assert_provenance(line["metadata"], exported, split)


def test_parquet_loads_with_datasets(exported: Exported, tmp_path: Path) -> None:
    files = {s: str(exported.out / "parquet" / f"{s}.parquet") for s in SPLITS}
    loaded = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path))
    for split in SPLITS:
        assert loaded[split].num_rows == exported.summary.samples[split]
        for row in loaded[split]:
            assert row["metadata"]["sample_id"] == row["id"]
            assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
            _assert_provenance(row["metadata"], exported, split)


def test_the_cards_front_matter_lets_datasets_load_the_export_directory(
    exported: Exported, tmp_path: Path
) -> None:
    loaded = datasets.load_dataset(str(exported.out), cache_dir=str(tmp_path))
    assert {s: loaded[s].num_rows for s in SPLITS} == exported.summary.samples


def test_an_empty_split_writes_no_files_and_the_rest_still_loads(
    exported: Exported, tmp_path: Path
) -> None:
    export_dataset(exported.run.kept, tmp_path / "out", formats=["parquet", "openai"])
    assert list((tmp_path / "out").glob("*/eval*"))
    summary = export_dataset(
        exported.run.kept, tmp_path / "out", formats=["parquet", "openai"], eval_fraction=0.0
    )
    assert summary.samples == {"train": len(exported.run.results.kept), "eval": 0}
    assert not list((tmp_path / "out").glob("*/eval*"))
    loaded = datasets.load_dataset(str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"))
    assert list(loaded) == ["train"]
    assert loaded["train"].num_rows == len(exported.run.results.kept)


def test_without_a_corpus_the_fetch_time_is_unknown(exported: Exported, tmp_path: Path) -> None:
    export_dataset(exported.run.kept, tmp_path, formats=["sharegpt"])
    line = _lines(tmp_path / "sharegpt" / "train.jsonl")[0]
    assert line["metadata"]["sources"][0]["fetched_at"] is None


def test_export_command_takes_the_command_lines_arguments(
    exported: Exported, tmp_path: Path
) -> None:
    summary = export_command(
        str(exported.run.kept), str(tmp_path), formats="alpaca, sharegpt", eval_fraction=0.2, seed=3
    )
    assert summary.formats == ["alpaca", "sharegpt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".groundset-export.json",
        "README.md",
        "alpaca",
        "sharegpt",
    ]
    assert str(summary).startswith(f"exported train {summary.samples['train']} (")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"formats": ["openai", "jsonl"]}, "unknown export format: jsonl"),
        ({"formats": []}, "unknown export format: (none given)"),
        ({"formats": ["openai"], "eval_fraction": 1.0}, "eval fraction must be at least 0"),
        ({"formats": ["openai"], "eval_fraction": -0.1}, "eval fraction must be at least 0"),
    ],
)
def test_bad_arguments_are_usage_errors(
    exported: Exported, tmp_path: Path, kwargs: dict, message: str
) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        export_dataset(exported.run.kept, tmp_path, **kwargs)


def test_a_malformed_kept_file_names_the_line(exported: Exported, tmp_path: Path) -> None:
    kept = tmp_path / "kept.jsonl"
    good = exported.run.kept.read_text(encoding="utf-8").splitlines()[:2]
    kept.write_text("\n".join([*good, '{"id": "x", "verdict": {"sample_id": "x"']) + "\n")
    with pytest.raises(UsageError, match=r"kept\.jsonl:3 is not JSON"):
        export_dataset(kept, tmp_path / "out", formats=["openai"])
    kept.write_text(good[0] + "\n" + json.dumps({"id": "x", "task": "qa"}) + "\n")
    with pytest.raises(UsageError, match=r"kept\.jsonl:2 has no verdict"):
        export_dataset(kept, tmp_path / "out", formats=["openai"])
    with pytest.raises(UsageError, match="no such file"):
        export_dataset(tmp_path / "missing.jsonl", tmp_path / "out", formats=["openai"])


def test_a_sample_without_an_exchange_is_skipped_and_counted(
    exported: Exported, tmp_path: Path
) -> None:
    lines = exported.run.kept.read_text(encoding="utf-8").splitlines()[:3]
    record_only = json.loads(lines[0])
    record_only["id"] = "record-only"
    del record_only["question"], record_only["answer"]
    record_only["record"] = {"table": "no exchange to train on"}
    kept = tmp_path / "kept.jsonl"
    kept.write_text("\n".join([*lines, json.dumps(record_only)]) + "\n", encoding="utf-8")
    summary = export_dataset(kept, tmp_path / "out", formats=["openai"])
    assert summary.skipped == ["record-only"]
    assert sum(summary.samples.values()) == 3
    assert "skipped 1 lines with no question and answer" in str(summary)


_KILLED_EXPORT = """
import os, signal, sys
from pathlib import Path
import groundset.export as export
import groundset.export.formats as formats

written = formats._write_jsonl


def write_then_die(path, rows):
    written(path, rows)
    os.kill(os.getpid(), signal.SIGKILL)  # killed between two files of one format


formats._write_jsonl = write_then_die
kept, out, rejected, corpus = map(Path, sys.argv[1:5])
# Another split than the export it replaces, so that its files differ from the last one's.
export.export_dataset(
    kept, out, formats=["openai"], rejected=rejected, corpus_dir=corpus, eval_fraction=0.3
)
"""


def test_an_export_killed_mid_write_leaves_the_last_one_whole(
    exported: Exported, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = exported.run
    export_dataset(run.kept, out, formats=["openai"], rejected=run.rejected, corpus_dir=run.corpus)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert any(p.name == "train.jsonl" for p in before)
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            _KILLED_EXPORT,
            str(run.kept),
            str(out),
            str(run.rejected),
            str(run.corpus),
        ],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # The last export is there byte for byte; the half-written one is set apart.
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert {k: v for k, v in after.items() if k.parts[0] == "openai"} == {
        k: v for k, v in before.items() if k.parts[0] == "openai"
    }
    assert any(k.parts[0] == ".openai.partial" for k in after), "the killed export's files"
    # The next export clears what the killed one left and ends as an undisturbed one.
    export_dataset(run.kept, out, formats=["openai"], rejected=run.rejected, corpus_dir=run.corpus)
    again = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert again == before


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _listed(out: Path) -> list[str]:
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]


def test_a_folder_holding_other_files_is_refused_and_forced_keeps_them(
    exported: Exported, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "openai").mkdir(parents=True)
    (out / "README.md").write_text("my own readme\n", encoding="utf-8")
    (out / "openai" / "notes.txt").write_text("my notes\n", encoding="utf-8")
    before = _tree(out)
    with pytest.raises(UsageError, match=r"did not write: README.md, openai/notes.txt") as refused:
        export_dataset(exported.run.kept, out, formats=["openai"])
    assert "--force" in str(refused.value.fix)
    assert _tree(out) == before
    export_dataset(exported.run.kept, out, formats=["openai"], force=True)
    assert (out / "README.md").read_text(encoding="utf-8").startswith("---\n")  # the card
    assert (out / "openai" / "notes.txt").read_text(encoding="utf-8") == "my notes\n"
    assert _listed(out) == [
        "README.md",
        *(f"openai/{s}{kind}.jsonl" for s in sorted(SPLITS) for kind in ("", ".provenance")),
    ]
    # Killed between its two renames, the next forced export puts the folder back first.
    (out / "openai").rename(out / ".openai.old")
    export_dataset(exported.run.kept, out, formats=["openai"], force=True)
    assert (out / "openai" / "notes.txt").read_text(encoding="utf-8") == "my notes\n"
    with pytest.raises(UsageError, match=r"did not write: openai/notes.txt \("):
        export_dataset(exported.run.kept, out, formats=["openai"])
    (out / "openai" / "notes.txt").unlink()
    export_dataset(exported.run.kept, out, formats=["openai"])


def test_a_re_export_replaces_its_own_files_and_drops_those_it_no_longer_writes(
    exported: Exported, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export_dataset(exported.run.kept, out, formats=["openai", "alpaca"])
    assert _listed(out) == [
        "README.md",
        *(f"alpaca/{s}.jsonl" for s in sorted(SPLITS)),
        *(f"openai/{s}{kind}.jsonl" for s in sorted(SPLITS) for kind in ("", ".provenance")),
    ]
    export_dataset(exported.run.kept, out, formats=["openai"], eval_fraction=0.0)
    assert _listed(out) == [
        "README.md",
        *(f"alpaca/{s}.jsonl" for s in sorted(SPLITS)),  # a format not chosen stays as it was
        "openai/train.jsonl",
        "openai/train.provenance.jsonl",
    ]
    assert sorted(_tree(out)) == sorted([MANIFEST, *_listed(out)])


def test_an_export_never_writes_where_it_reads(exported: Exported, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "openai").mkdir(parents=True)
    for inside in (out / "README.md", out / "openai" / "kept.jsonl", out / MANIFEST):
        inside.write_bytes(exported.run.kept.read_bytes())
        with pytest.raises(UsageError, match=f"the kept file {inside} is where the export writes"):
            export_dataset(inside, out, formats=["openai"], force=True)
        assert inside.read_bytes() == exported.run.kept.read_bytes()
        inside.unlink()
    with pytest.raises(UsageError, match="is a file"):
        export_dataset(exported.run.kept, exported.run.kept, formats=["openai"], force=True)


def test_a_kept_line_json_cannot_read_names_its_line(exported: Exported, tmp_path: Path) -> None:
    good = exported.run.kept.read_bytes().splitlines(keepends=True)[:2]
    kept = tmp_path / "kept.jsonl"
    for bad, problem in (
        (b"[" * 100_000, "nested deeper than 100 levels"),
        (b'{"id": "\xff"}', "not UTF-8"),
    ):
        kept.write_bytes(good[0] + bad + b"\n" + good[1])
        with pytest.raises(UsageError, match=rf"kept\.jsonl:2 is {problem}"):
            read_judged(kept)
