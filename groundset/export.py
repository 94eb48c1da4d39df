"""The export stage: kept samples into fine-tuning formats, split train/eval by source document.

``export_dataset`` reads a kept file (and, for the card, the rejected file), splits the samples
so that no source document feeds both train and eval, writes each split in every chosen format
under ``OUT/<format>/`` (a split without samples gets no files) and a dataset card,
``OUT/README.md``. Formats are exporters chosen by
name (:data:`EXPORTERS`); each record keeps its provenance:

- ``openai``: chat fine-tuning JSONL, ``{"messages": [...]}`` and nothing else, because trainers
  refuse extra keys; the provenance of line N is line N of ``<split>.provenance.jsonl`` beside it.
- ``alpaca``: ``instruction``, ``input``, ``output`` (with ``system`` and ``history`` for
  conversations), provenance under ``metadata``.
- ``sharegpt``: ``conversations`` of ``{"from", "value"}``, provenance under ``metadata``.
- ``parquet``: columns ``id``, ``messages``, ``metadata``, which ``datasets`` loads as it is.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from groundset.corpus import Corpus
from groundset.errors import UsageError
from groundset.records import Sample, Verdict

if TYPE_CHECKING:
    from groundset.review import ReviewFigures

__all__ = [
    "DEFAULT_FORMATS",
    "DEFAULT_SYSTEM_PROMPT",
    "EXPORTERS",
    "SPLITS",
    "ExportRecord",
    "ExportSummary",
    "Exporter",
    "JudgedSample",
    "conversation",
    "dataset_card",
    "export_command",
    "export_dataset",
    "read_judged",
    "split_by_document",
]

SPLITS = ("train", "eval")
DEFAULT_FORMATS = ("openai", "alpaca", "sharegpt", "parquet")
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
#: The system message of samples that bring none: what the samples teach, in one line.
DEFAULT_SYSTEM_PROMPT = (
    "You are a technical documentation assistant. Answer using only facts the documentation states."
)


# -- reading kept and rejected files ---------------------------------------------------------


@dataclass(frozen=True)
class JudgedSample:
    """One line of a kept or rejected file: the sample (None when it was not one) and its verdict.

    ``raw`` holds the text of a line that was not a valid sample (reason ``invalid_json``).
    """

    sample: Sample | None
    verdict: Verdict
    raw: str | None = None


def read_judged(path: Path) -> list[JudgedSample]:
    """Read a kept or rejected file written by ``groundset verify``.

    Args:
        path: the JSONL file: each line a sample's JSON plus ``verdict``, or
            ``{"raw": ..., "verdict": ...}`` for a line that was not a valid sample.

    Returns:
        The lines in file order.

    Raises:
        UsageError: the file is missing, or a line is not JSON, has no verdict, or is not a sample.
    """
    if not path.is_file():
        raise UsageError(
            f"no such file: {path}", fix="pass the kept or rejected file of a verify run"
        )
    judged = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                judged.append(_judged(path, number, line))
    return judged


def _judged(path: Path, number: int, line: str) -> JudgedSample:
    where = f"{path}:{number}"
    fix = "pass the kept and rejected files that `groundset verify` writes"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where} is not JSON ({exc.msg})", fix=fix) from exc
    if not isinstance(data, dict) or "verdict" not in data:
        raise UsageError(f"{where} has no verdict", fix=fix)
    try:
        verdict = Verdict.model_validate(data.pop("verdict"))
        if "raw" in data and "id" not in data:
            return JudgedSample(None, verdict, str(data["raw"]))
        return JudgedSample(Sample.model_validate(data), verdict)
    except ValidationError as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"{where} is not a sample with its verdict ({first})", fix=fix) from exc


# -- the train/eval split --------------------------------------------------------------------


def split_by_document(
    samples: Sequence[Sample], *, eval_fraction: float = 0.1, seed: int = 0
) -> list[str]:
    """Assign each sample to ``train`` or ``eval`` so that no source document is on both sides.

    Samples that share any document (a ``doc_url`` of their sources) form one group (union-find);
    a sample without sources is a group of its own. The groups are shuffled with ``seed`` and
    taken into eval one by one while that brings eval nearer to ``eval_fraction`` of the samples,
    so eval is as near the target as whole groups allow.

    Args:
        samples: the samples to split.
        eval_fraction: the share of samples eval should get, at least 0 and below 1.
        seed: the shuffle's seed: the same seed gives the same split.

    Returns:
        The split of each sample, in the order of ``samples``.

    Raises:
        UsageError: ``eval_fraction`` is out of range.
    """
    if not 0 <= eval_fraction < 1:
        raise UsageError(
            f"the eval fraction must be at least 0 and below 1, not {eval_fraction}",
            fix="pass --eval-fraction 0.1, for example",
        )
    groups = _document_groups(samples)
    random.Random(seed).shuffle(groups)
    target = eval_fraction * len(samples)
    splits = ["train"] * len(samples)
    in_eval = 0
    for group in groups:
        if abs(in_eval + len(group) - target) < abs(in_eval - target):
            in_eval += len(group)
            for i in group:
                splits[i] = "eval"
    return splits


def _document_groups(samples: Sequence[Sample]) -> list[list[int]]:
    """Indices of samples that share documents, transitively; groups in first-seen order."""
    parent = list(range(len(samples)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, sample in enumerate(samples):
        for source in sample.sources:
            j = first_with.setdefault(source.doc_url, i)
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(samples)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


# -- records and exporters -------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRecord:
    """A kept sample made ready for any format: its conversation and its provenance.

    ``messages`` are ``{"role", "content"}`` dicts, a system message first.
    """

    sample_id: str
    split: str
    messages: list[dict[str, str]]
    provenance: dict[str, Any]


class Exporter(Protocol):
    """One output format: writes the records of one split into a directory of its own."""

    name: str

    def write(self, records: Sequence[ExportRecord], directory: Path, split: str) -> list[Path]:
        """Write ``records`` of ``split`` into ``directory``; return the files written."""
        ...


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


class OpenAIChatExporter:
    """OpenAI chat fine-tuning JSONL, with provenance in a sidecar file keyed by line number."""

    name = "openai"

    def write(self, records: Sequence[ExportRecord], directory: Path, split: str) -> list[Path]:
        """Write ``<split>.jsonl`` and ``<split>.provenance.jsonl``, line N describing line N."""
        data = _write_jsonl(
            directory / f"{split}.jsonl", ({"messages": r.messages} for r in records)
        )
        sidecar = _write_jsonl(
            directory / f"{split}.provenance.jsonl",
            ({"line": n, **r.provenance} for n, r in enumerate(records, start=1)),
        )
        return [data, sidecar]


class AlpacaExporter:
    """Alpaca JSONL: the last exchange as instruction and output, earlier turns as history."""

    name = "alpaca"

    def write(self, records: Sequence[ExportRecord], directory: Path, split: str) -> list[Path]:
        """Write ``<split>.jsonl``."""
        return [_write_jsonl(directory / f"{split}.jsonl", map(self.row, records))]

    @staticmethod
    def row(record: ExportRecord) -> dict[str, Any]:
        """One Alpaca record (``system`` and ``history`` as LLaMA-Factory reads them)."""
        system = "\n\n".join(m["content"] for m in record.messages if m["role"] == "system")
        turns = [m for m in record.messages if m["role"] != "system"]
        pairs = [
            [turns[i]["content"], turns[i + 1]["content"]] for i in range(0, len(turns) - 1, 2)
        ]
        instruction, output = pairs[-1]
        return {
            "instruction": instruction,
            "input": "",
            "output": output,
            "system": system,
            "history": pairs[:-1],
            "metadata": record.provenance,
        }


class ShareGPTExporter:
    """ShareGPT JSONL: ``conversations`` of ``{"from": system|human|gpt, "value"}``."""

    name = "sharegpt"
    speakers: ClassVar[dict[str, str]] = {"system": "system", "user": "human", "assistant": "gpt"}

    def write(self, records: Sequence[ExportRecord], directory: Path, split: str) -> list[Path]:
        """Write ``<split>.jsonl``."""
        rows = (
            {
                "conversations": [
                    {"from": self.speakers[m["role"]], "value": m["content"]} for m in r.messages
                ],
                "metadata": r.provenance,
            }
            for r in records
        )
        return [_write_jsonl(directory / f"{split}.jsonl", rows)]


_SOURCE_TYPE = pa.struct(
    [
        ("doc_url", pa.string()),
        ("heading_path", pa.string()),
        ("chunk_id", pa.string()),
        ("content_sha256", pa.string()),
        ("fetched_at", pa.string()),
    ]
)
_METADATA_TYPE = pa.struct(
    [
        ("sample_id", pa.string()),
        ("split", pa.string()),
        ("task", pa.string()),
        ("language", pa.string()),
        ("model", pa.string()),
        ("endpoint_host", pa.string()),
        ("prompt_version", pa.string()),
        ("temperature", pa.float64()),
        ("seed", pa.int64()),
        ("checker", pa.string()),
        ("sources", pa.list_(_SOURCE_TYPE)),
    ]
)
_PARQUET_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("metadata", _METADATA_TYPE),
    ]
)


class ParquetExporter:
    """Parquet with a fixed schema, so that an empty split still loads with ``datasets``."""

    name = "parquet"

    def write(self, records: Sequence[ExportRecord], directory: Path, split: str) -> list[Path]:
        """Write ``<split>.parquet``."""
        rows = [
            {"id": r.sample_id, "messages": r.messages, "metadata": r.provenance} for r in records
        ]
        path = directory / f"{split}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=_PARQUET_SCHEMA), path)
        return [path]


#: The exporters by the name a user chooses them with.
EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (OpenAIChatExporter(), AlpacaExporter(), ShareGPTExporter(), ParquetExporter())
}


def conversation(sample: Sample) -> list[dict[str, str]] | None:
    """The sample as chat messages with a system message first; None if it holds no exchange."""
    if sample.messages:
        messages = [{"role": m.role, "content": m.content} for m in sample.messages]
    elif sample.question and sample.answer:
        messages = [
            {"role": "user", "content": sample.question},
            {"role": "assistant", "content": sample.answer},
        ]
    else:
        return None
    if messages[-1]["role"] != "assistant" or not any(m["role"] == "user" for m in messages):
        return None
    if messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": DEFAULT_SYSTEM_PROMPT})
    return messages


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


# -- the export ------------------------------------------------------------------------------


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
    from groundset.review import reviews_of_files, reviews_path_for

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


# -- the dataset card ------------------------------------------------------------------------


#: Reviewed samples the card lists, those decided the other way first.
REVIEWED_LISTED = 100


def _review(review: ReviewFigures) -> list[str]:
    listed = review.reviewed[:REVIEWED_LISTED]
    rows = [
        (r.sample_id, r.task, r.side, "keep" if r.keep else "reject",
         f"{r.claims_disagreeing} of {r.claims_reviewed}",
         "older" if r.stale else "current", r.note)
        for r in listed
    ]  # fmt: skip
    more = len(review.reviewed) - len(listed)
    return [
        "## Human review\n",
        "A person read a random sample (`groundset review`):\n",
        *(
            f"  - {line.strip()}" if line.startswith("  ") else f"- {line}"
            for line in review.lines()
        ),
        "",
        "The reviewed samples, those the reviewer decided the other way first:\n",
        _table(
            ["sample", "task", "verifier", "reviewer", "claims disagreeing", "sources", "note"],
            rows,
        ),
        *([f"\nand {more} more."] if more else []),
        "",
    ]


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    # Crawled and generated text must not break the table or inject markup into the card.
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _counts(counter: Counter[str], what: str) -> str:
    return _table([what, "samples"], counter.most_common())


def dataset_card(
    kept: Sequence[tuple[Sample, Verdict]],
    splits: Sequence[str],
    rejected: Sequence[JudgedSample] | None,
    *,
    formats: Sequence[str],
    eval_fraction: float,
    seed: int,
    review: ReviewFigures | None = None,
) -> str:
    """The dataset card (Markdown with Hugging Face front matter) of an export.

    Args:
        kept: the exported samples with their verdicts.
        splits: the split of each of ``kept``.
        rejected: the lines of the rejected file, or None if it was not given.
        formats: the formats written.
        eval_fraction: the split's target eval fraction.
        seed: the split's seed.
        review: what a person's review of the samples found (``groundset review``), if any.

    Returns:
        The card's text.
    """
    samples = [s for s, _ in kept]
    size = Counter(splits)
    languages = Counter(s.language for s in samples)
    tasks = Counter(s.task for s in samples)
    models = Counter(f"{s.generator.model} (prompt {s.generator.prompt_version})" for s in samples)
    checkers = Counter(v.checker or "unnamed" for _, v in kept)
    docs: dict[str, Counter[str]] = {}
    for sample, split in zip(samples, splits, strict=True):
        for url in dict.fromkeys(s.doc_url for s in sample.sources):
            docs.setdefault(url, Counter())[split] += 1
    parts = [
        _front_matter(sorted(languages), formats, [s for s in SPLITS if size[s]]),
        "# Dataset card\n",
        f"Training samples written from documentation and kept only when every claim was found "
        f"in the cited source passages by the `{'`, `'.join(checkers)}` checker. "
        "Generated by groundset.\n",
        "## Licence\n",
        "**TO FILL IN before publishing:** the licence of this dataset. Every sample quotes the "
        "source pages listed below: check that their terms allow this use, and name them here.\n",
        "## Splits\n",
        _table(
            ["split", "samples", "source documents"],
            [(split, size[split], sum(1 for c in docs.values() if c[split])) for split in SPLITS],
        ),
        "",
        f"Split by source document: samples that share any source document are grouped "
        f"(union-find over their sources' URLs), so no document feeds both train and eval. "
        f"Groups are shuffled with seed {seed} and taken into eval while that brings eval nearer "
        f"to {eval_fraction:.0%} of the samples.\n",
        f"Formats: {', '.join(f'`{f}/`' for f in formats)}. Each record carries its provenance "
        "(sample id, task, language, model, prompt version, checker, and per source the URL, "
        "heading path, chunk id, content hash and fetch time when known); in `openai/` it is in "
        "`<split>.provenance.jsonl`, line N describing line N.\n",
        "## Verification\n",
        _verification(len(kept), rejected),
        *(_review(review) if review else []),
        "## Languages\n",
        _counts(languages, "language"),
        "\n## Tasks\n",
        _counts(tasks, "task"),
        "\n## Models\n",
        _counts(models, "model"),
        "\n## Sources\n",
        f"{len(docs)} documents; a sample counts once under each document it cites.\n",
        _table(
            ["document", *SPLITS],
            [
                (url, *(c[s] for s in SPLITS))
                for url, c in sorted(docs.items(), key=lambda d: (-d[1].total(), d[0]))
            ],
        ),
        "",
    ]
    return "\n".join(parts)


def _verification(kept: int, rejected: Sequence[JudgedSample] | None) -> str:
    if rejected is None:
        return (
            f"{kept} samples kept; no rejected file was given, so the acceptance rate is unknown.\n"
        )
    total = kept + len(rejected)
    reasons = Counter(r for j in rejected for r in dict.fromkeys(j.verdict.reasons))
    lines = [
        f"Kept {kept} of {total} verified samples: acceptance rate {kept / total:.1%}. "
        f"Rejected {len(rejected)}, by reason (a sample counts once under each of its reasons):\n",
        _table(["reason", "samples"], reasons.most_common()),
        "",
    ]
    return "\n".join(lines)


def _front_matter(languages: list[str], formats: Sequence[str], splits: list[str]) -> str:
    # Only real language codes go into the YAML: a sample's language field is generated text.
    codes = [lang for lang in languages if _LANGUAGE_CODE.fullmatch(lang)]
    lines = ["---", "license: other", "language:", *(f"- {code}" for code in codes)]
    lines += ["task_categories:", "- question-answering", "- text-generation"]
    if "parquet" in formats:
        # Lets `datasets.load_dataset(OUT_DIR)` find the splits among the other formats' files.
        lines += ["configs:", "- config_name: default", "  data_files:"]
        for split in splits:
            lines += [f"  - split: {split}", f"    path: parquet/{split}.parquet"]
    return "\n".join([*lines, "---", ""])
