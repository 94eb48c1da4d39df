"""The export stage's command: kept samples into fine-tuning formats, split train/eval by source
document, with a dataset card.

``export_dataset`` reads a kept file (and, for the card, the rejected file), splits the samples
so that no source document feeds both train and eval, writes each split in every chosen format
under ``OUT/<format>/`` (a split without samples gets no files) and a dataset card,
``OUT/README.md``. Formats are exporters chosen by name (:data:`EXPORTERS`); each record keeps its
provenance.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from groundset.export.split import SPLITS, split_by_document
from groundset.records import Sample, Verdict

__all__ = ["ExportSummary", "export_command", "export_dataset"]


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
) -> ExportSummary:
    """Export kept samples to fine-tuning formats with a leak-free train/eval split and a card.

    Args:
        kept: the kept file of a verify run.
        out_dir: the export directory; each format writes ``<format>/<split>.*`` under it, and
            the dataset card is ``README.md``.
        formats: names of :data:`EXPORTERS`.
        rejected: the rejected file of the same run, for the card's acceptance rate and reasons.
        eval_fraction: the share of samples to put in eval (see :func:`split_by_document`).
        seed: the split's seed.
        corpus_dir: the corpus the samples came from, to record each document's fetch time.
        reviews: the reviews file of ``groundset review``, for the card; None for the one
            beside ``kept``.

    Returns:
        What was written.

    Raises:
        UsageError: an unknown format, a bad fraction, a missing or malformed file, or a kept
            file without samples.
    """
    unknown = [f for f in formats if f not in EXPORTERS]
    if unknown or not formats:
        raise UsageError(
            f"unknown export format: {', '.join(unknown) or '(none given)'}",
            fix=f"choose from {', '.join(EXPORTERS)}",
        )
    rejected_lines = read_judged(rejected) if rejected is not None else None
    kept_lines = read_judged(kept)
    exportable, skipped = _exportable(kept_lines)
    review = reviews_of_files(kept_lines, rejected_lines or [], reviews or reviews_path_for(kept))
    if not exportable:
        raise UsageError(
            f"no exportable samples in {kept}", fix="export the kept file of a verify run"
        )
    splits = split_by_document(
        [s for s, _, _ in exportable], eval_fraction=eval_fraction, seed=seed
    )
    fetched_at = _fetch_times(corpus_dir)
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
        summary.files += _write_format(EXPORTERS[name], records, out_dir / name)
    summary.card = out_dir / "README.md"
    card = dataset_card(
        [(s, v) for s, v, _ in exportable],
        splits,
        rejected_lines,
        formats=summary.formats,
        eval_fraction=eval_fraction,
        seed=seed,
        review=review,
    )
    staged = summary.card.with_name(".README.md.partial")
    staged.write_text(card, encoding="utf-8")
    os.replace(staged, summary.card)
    return summary


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
    exporter: Exporter, records: Sequence[ExportRecord], directory: Path
) -> list[Path]:
    """Write one format's files into ``directory``, all of them or none.

    They are written into a sibling ``.<name>.partial`` folder that then takes the place of the
    old one, so a process killed mid-export leaves the previous export whole (and the next
    export clears what it left). An empty split gets no file (`datasets` cannot read an empty
    Parquet file).
    """
    partial = directory.with_name(f".{directory.name}.partial")
    old = directory.with_name(f".{directory.name}.old")
    for leftover in (partial, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    partial.mkdir(parents=True)
    written: list[Path] = []
    for split in SPLITS:
        part = [r for r in records if r.split == split]
        if part:
            written += exporter.write(part, partial, split)
    if directory.exists():
        os.replace(directory, old)
    os.replace(partial, directory)
    if old.exists():
        shutil.rmtree(old)
    return [directory / path.name for path in written]


def export_command(
    kept: str | Path,
    out: str | Path,
    *,
    formats: str = ",".join(DEFAULT_FORMATS),
    rejected: str | Path | None = None,
    eval_fraction: float = 0.1,
    seed: int = 0,
    corpus: str | Path | None = None,
) -> ExportSummary:
    """``groundset export KEPT --out DIR [--format a,b] [--rejected FILE] [--eval-fraction F]
    [--seed N] [--corpus DIR]``: the command's arguments as they come from the command line.

    Args:
        kept: the kept file.
        out: the export directory.
        formats: comma-separated format names.
        rejected: the rejected file, for the card.
        eval_fraction: the share of samples in eval.
        seed: the split's seed.
        corpus: the corpus directory, for fetch times.

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
    )
