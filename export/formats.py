"""The fine-tuning formats a kept sample is written in, each an exporter chosen by name.

- ``openai``: chat fine-tuning JSONL, ``{"messages": [...]}`` and nothing else, because trainers
  refuse extra keys; the provenance of line N is line N of ``<split>.provenance.jsonl`` beside it.
- ``alpaca``: ``instruction``, ``input``, ``output`` (with ``system`` and ``history`` for
  conversations), provenance under ``metadata``.
- ``sharegpt``: ``conversations`` of ``{"from", "value"}``, provenance under ``metadata``.
- ``parquet``: columns ``id``, ``messages``, ``metadata``, which ``datasets`` loads as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from groundset.records import Sample

__all__ = [
    "DEFAULT_FORMATS",
    "DEFAULT_SYSTEM_PROMPT",
    "EXPORTERS",
    "ExportRecord",
    "Exporter",
    "conversation",
]

DEFAULT_FORMATS = ("openai", "alpaca", "sharegpt", "parquet")
#: The system message of samples that bring none: what the samples teach, in one line.
DEFAULT_SYSTEM_PROMPT = (
    "You are a technical documentation assistant. Answer using only facts the documentation states."
)


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
