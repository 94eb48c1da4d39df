"""The export stage's command: kept samples into fine-tuning formats, split train/eval by source
document, with a dataset card.

``export_dataset`` reads a kept file (and, for the card, the rejected file), splits the samples
so that no source document feeds both train and eval, writes each split in every chosen format
under ``OUT/<format>/`` (a split without samples gets no files) and a dataset card,
``OUT/README.md``. Formats are exporters chosen by name (:data:`EXPORTERS`); each record keeps its
provenance.

``OUT/.groundset-export.json`` lists the files the exports wrote there. Into a folder holding any
other file an export writes only when forced, and even then it deletes no file it did not write:
one of the same name as a file it writes is replaced, the others stay where they are.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from groundset.corpus import Corpus
from groundset.errors import UsageError
from groundset.export.card import dataset_card
from groundset.export.formats import (
    DEFAULT_FORMATS,
    EXPORTERS,
    Exporter,
    ExportRecord,
    conversation,
)
from groundset.export.judged import JudgedSample, read_judged
from groundset.export.reviews import reviews_of_files, reviews_path_for
from groundset.export.sections import corpus_sections
from groundset.export.split import SPLITS, split_by_document
from groundset.files import same_file
from groundset.records import Sample, Verdict

__all__ = ["MANIFEST", "ExportSummary", "export_command", "export_dataset"]

#: The file in an export folder that lists, one path relative to it each, the files exports wrote.
MANIFEST = ".groundset-export.json"
#: Files a refusal names; the rest are counted.
NAMED_FILES = 3


def _provenance(
    sample: Sample, verdict: Verdict, split: str, fetched_at: dict[str, str]
) -> dict[str, Any]:
    return {
        "sample_id": sample.id,
        "split": split,
        "task": sample.task,
        "language": sample.language,
        "model": sample.generator.model,
        "endpoint_host": sample.generator.endpoint_host,
        "prompt_version": sample.generator.prompt_version,
        "temperature": sample.generator.temperature,
        "seed": sample.generator.seed,
        "checker": verdict.checker,
        "sources": [
            {
                "doc_url": s.doc_url,
                "heading_path": s.heading_path,
                "chunk_id": s.chunk_id,
                "content_sha256": s.content_sha256,
                "fetched_at": fetched_at.get(s.doc_url),
            }
            for s in sample.sources
        ],
    }


def _fetch_times(corpus_dir: Path | None) -> dict[str, str]:
    if corpus_dir is None:
        return {}
    with Corpus(corpus_dir) as corpus:
        return {doc.url: doc.fetched_at for doc in corpus.documents() if doc.fetched_at}


@dataclass
class ExportSummary:
    """What an export wrote: samples and documents per split, files, and what it left out."""

    out_dir: Path
    formats: list[str]
    samples: dict[str, int] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    card: Path | None = None

    def __str__(self) -> str:
        sizes = ", ".join(
            f"{split} {self.samples.get(split, 0)} ({self.documents.get(split, 0)} documents)"
            for split in SPLITS
        )
        line = f"exported {sizes} as {', '.join(self.formats)} to {self.out_dir}"
        if self.skipped:
            line += f"; skipped {len(self.skipped)} lines with no question and answer"
        return line


def export_dataset(
    kept: Path,
    out_dir: Path,
    *,
    formats: list[str],
    rejected: Path | None = None,
    eval_fraction: float = 0.1,
    seed: int = 0,
    corpus_dir: Path | None = None,
    reviews: Path | None = None,
    force: bool = False,
) -> ExportSummary:
    """Export kept samples to fine-tuning formats with a leak-free train/eval split and a card.

    Args:
        kept: the kept file of a verify run.
        out_dir: the export directory; each format writes ``<format>/<split>.*`` under it, and
            the dataset card is ``README.md``. It must be new, empty, or hold only files that
            exports wrote (:data:`MANIFEST` lists them), unless ``force``.
        formats: names of :data:`EXPORTERS`.
        rejected: the rejected file of the same run, for the card's acceptance rate and reasons.
        eval_fraction: the share of samples to put in eval (see :func:`split_by_document`).
        seed: the split's seed.
        corpus_dir: the corpus the samples came from, to record each document's fetch time
            and, in the card, the share of its sections and pages the samples cover.
        reviews: the reviews file of ``groundset review``, for the card; None for the one
            beside ``kept``.
        force: write into ``out_dir`` although it holds files exports did not write; those of
            the same name as a file written are replaced, the others kept.

    Returns:
        What was written.

    Raises:
        UsageError: an unknown format, a bad fraction, a missing or malformed file, a kept
            file without samples, an input where the export writes, or (without ``force``) an
            ``out_dir`` holding files exports did not write.
    """
    unknown = [f for f in formats if f not in EXPORTERS]
    if unknown or not formats:
        raise UsageError(
            f"unknown export format: {', '.join(unknown) or '(none given)'}",
            fix=f"choose from {', '.join(EXPORTERS)}",
        )
    reviews = reviews or reviews_path_for(kept)
    inputs = {"the kept file": kept, "the rejected file": rejected, "the reviews file": reviews}
    _refuse_writing_inputs(inputs, out_dir, formats)
    rejected_lines = read_judged(rejected) if rejected is not None else None
    kept_lines = read_judged(kept)
    ours = _exported_files(out_dir, force)  # after the inputs: a missing one is the first error
    exportable, skipped = _exportable(kept_lines)
    review = reviews_of_files(kept_lines, rejected_lines or [], reviews)
    if not exportable:
        raise UsageError(
            f"no exportable samples in {kept}", fix="export the kept file of a verify run"
        )
    splits = split_by_document(
        [s for s, _, _ in exportable], eval_fraction=eval_fraction, seed=seed
    )
    fetched_at = _fetch_times(corpus_dir)
    sections = corpus_sections(corpus_dir) if corpus_dir is not None else None
    records = [
        ExportRecord(sample.id, split, messages, _provenance(sample, verdict, split, fetched_at))
        for (sample, verdict, messages), split in zip(exportable, splits, strict=True)
    ]
    summary = ExportSummary(out_dir, list(dict.fromkeys(formats)), skipped=skipped)
    for split in SPLITS:
        part = [r for r in records if r.split == split]
        summary.samples[split] = len(part)
        summary.documents[split] = len(
            {s["doc_url"] for r in part for s in r.provenance["sources"]}
        )
    for name in summary.formats:
        summary.files += _write_format(EXPORTERS[name], records, out_dir / name, ours)
        _write_manifest(out_dir, ours, summary.files)
    summary.card = out_dir / "README.md"
    card = dataset_card(
        [(s, v) for s, v, _ in exportable],
        splits,
        rejected_lines,
        formats=summary.formats,
        eval_fraction=eval_fraction,
        seed=seed,
        review=review,
        sections=sections,
    )
    _write_text(summary.card, card)
    _write_manifest(out_dir, ours, [*summary.files, summary.card])
    return summary


def _refuse_writing_inputs(
    inputs: dict[str, Path | None], out_dir: Path, formats: Sequence[str]
) -> None:
    """Refuse, before anything is written, an export into a file, or over a file it reads."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} is a file", fix="give the folder to export into")
    files = [out_dir / "README.md", out_dir / MANIFEST]
    folders = [out_dir / name for name in formats]
    for what, path in inputs.items():
        if path is None or not path.exists():
            continue
        written = [f for f in files if same_file(path, f)]
        written += [f for f in folders if path.resolve().is_relative_to(f.resolve())]
        if written:
            raise UsageError(
                f"{what} {path} is where the export writes {written[0]}",
                fix="export into another folder (--out), or move the file out of it",
            )


def _exported_files(out_dir: Path, force: bool) -> set[str]:
    """The files of ``out_dir`` that exports wrote, as paths relative to it.

    Raises:
        UsageError: without ``force``, ``out_dir`` holds files that no export wrote.
    """
    ours = _manifest(out_dir)
    if force or not out_dir.is_dir():
        return ours
    foreign = list(islice((f for f in _files(out_dir) if not _exports(f, ours)), NAMED_FILES + 1))
    if foreign:
        named = ", ".join(f.as_posix() for f in foreign[:NAMED_FILES])
        more = " and more" if len(foreign) > NAMED_FILES else ""
        raise UsageError(
            f"{out_dir} holds files groundset did not write: {named}{more}",
            fix="export into a new or empty folder, or pass --force to write beside them,"
            " replacing any of the same name",
        )
    return ours


def _exports(relative: Path, ours: set[str]) -> bool:
    """Whether a file of an export folder is the exports' own: listed, the list itself, or in
    the middle of being replaced (``.<name>.partial``, ``.<name>.old``)."""
    names = [*EXPORTERS, "README.md", MANIFEST]
    staged = {f".{name}.{kind}" for name in names for kind in ("partial", "old")}
    return relative.as_posix() in ours | {MANIFEST} or relative.parts[0] in staged


def _manifest(out_dir: Path) -> set[str]:
    """The files the manifest of ``out_dir`` lists; none when it is missing or unreadable."""
    try:
        listed = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, RecursionError, KeyError, TypeError):
        return set()
    return {name for name in listed if isinstance(name, str)} if isinstance(listed, list) else set()


def _write_manifest(out_dir: Path, ours: set[str], written: Sequence[Path]) -> None:
    """List the files exports wrote in ``out_dir``: those written now, and earlier ones still
    there."""
    names = ours | {path.relative_to(out_dir).as_posix() for path in written}
    files = sorted(name for name in names if (out_dir / name).is_file())
    _write_text(out_dir / MANIFEST, json.dumps({"files": files}, indent=1) + "\n")


def _write_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: staged beside it, then put in its place."""
    staged = path.with_name(f".{path.name}.partial")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


def _files(folder: Path) -> Iterator[Path]:
    """The files under ``folder``, relative to it and in order; a symbolic link is one, not
    followed."""
    if not folder.is_dir():
        return
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        here = Path(root)
        links = [d for d in dirs if (here / d).is_symlink()]
        for name in sorted([*files, *links]):
            yield (here / name).relative_to(folder)


def _exportable(
    judged: Sequence[JudgedSample],
) -> tuple[list[tuple[Sample, Verdict, list[dict[str, str]]]], list[str]]:
    """The samples with an exchange to train on, with their messages; the ids of the others."""
    exportable, skipped = [], []
    for j in judged:
        messages = conversation(j.sample) if j.sample is not None else None
        if j.sample is None or messages is None:
            skipped.append(j.sample.id if j.sample is not None else j.verdict.sample_id)
        else:
            exportable.append((j.sample, j.verdict, messages))
    return exportable, skipped


def _write_format(
    exporter: Exporter, records: Sequence[ExportRecord], directory: Path, ours: set[str]
) -> list[Path]:
    """Write one format's files into ``directory``, all of them or none.

    They are written into a sibling ``.<name>.partial`` folder that then takes the place of the
    old one, so a process killed mid-export leaves the previous export whole (and the next
    export clears what it left, or puts it back when it was killed between the two renames).
    The files of the old folder that no export wrote (``ours`` lists, relative to the export
    folder, those that one did) go along into the new one, as hard links where the file system
    has them, unless a file of the same name is written. An empty split gets no file
    (`datasets` cannot read an empty Parquet file).
    """
    partial = directory.with_name(f".{directory.name}.partial")
    old = directory.with_name(f".{directory.name}.old")
    if old.exists() and not directory.exists() and not directory.is_symlink():
        os.replace(old, directory)
    theirs = [f for f in _files(directory) if f"{directory.name}/{f.as_posix()}" not in ours]
    for leftover in (partial, old):
        _remove(leftover)
    partial.mkdir(parents=True)
    written: list[Path] = []
    for split in SPLITS:
        part = [r for r in records if r.split == split]
        if part:
            written += exporter.write(part, partial, split)
    for relative in theirs:
        if not (partial / relative).exists():
            _carry(directory / relative, partial / relative)
    if directory.exists() or directory.is_symlink():
        os.replace(directory, old)
    os.replace(partial, directory)
    _remove(old)
    return [directory / path.name for path in written]


def _carry(source: Path, target: Path) -> None:
    """Put a file into the folder that takes its folder's place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        target.symlink_to(os.readlink(source))
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _remove(path: Path) -> None:
    """Remove a staging leftover, a folder or (where a file stood in a format's place) a file."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def export_command(
    kept: str | Path,
    out: str | Path,
    *,
    formats: str = ",".join(DEFAULT_FORMATS),
    rejected: str | Path | None = None,
    eval_fraction: float = 0.1,
    seed: int = 0,
    corpus: str | Path | None = None,
    force: bool = False,
) -> ExportSummary:
    """``groundset export KEPT --out DIR [--format a,b] [--rejected FILE] [--eval-fraction F]
    [--seed N] [--corpus DIR] [--force]``: the command's arguments as they come from the command
    line.

    Args:
        kept: the kept file.
        out: the export directory.
        formats: comma-separated format names.
        rejected: the rejected file, for the card.
        eval_fraction: the share of samples in eval.
        seed: the split's seed.
        corpus: the corpus directory, for fetch times.
        force: write into a folder holding files exports did not write.

    Returns:
        What was written; its ``str`` is the line to print.

    Raises:
        UsageError: bad arguments or files.
    """
    names = [f.strip() for f in formats.split(",") if f.strip()]
    return export_dataset(
        Path(kept),
        Path(out),
        formats=names,
        rejected=Path(rejected) if rejected is not None else None,
        eval_fraction=eval_fraction,
        seed=seed,
        corpus_dir=Path(corpus) if corpus is not None else None,
        force=force,
    )
