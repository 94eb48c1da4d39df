"""The export stage: kept samples into fine-tuning formats with a leak-free split, and what a
person reads of them: the dataset card, the HTML report and the review page.

The other layers use only what is exported here::

    summary = export_dataset(Path("kept.jsonl"), Path("out"), formats=["openai", "parquet"],
                             rejected=Path("rejected.jsonl"))
    write_report(Path("kept.jsonl"), Path("rejected.jsonl"), Path("report.html"))
"""

from __future__ import annotations

from groundset.export.card import dataset_card
from groundset.export.dataset import ExportSummary, export_command, export_dataset
from groundset.export.formats import (
    DEFAULT_FORMATS,
    DEFAULT_SYSTEM_PROMPT,
    EXPORTERS,
    Exporter,
    ExportRecord,
    conversation,
)
from groundset.export.judged import JudgedSample, read_judged
from groundset.export.report import render_report, report_command, write_report
from groundset.export.review import ReviewServer, ReviewSession, review_inputs
from groundset.export.reviews import (
    ReviewFigures,
    ReviewLog,
    export_reviewed_claims,
    review_figures,
    reviews_of_files,
    reviews_path_for,
    wilson_interval,
)
from groundset.export.split import SPLITS, split_by_document

__all__ = [
    "DEFAULT_FORMATS",
    "DEFAULT_SYSTEM_PROMPT",
    "EXPORTERS",
    "SPLITS",
    "ExportRecord",
    "ExportSummary",
    "Exporter",
    "JudgedSample",
    "ReviewFigures",
    "ReviewLog",
    "ReviewServer",
    "ReviewSession",
    "conversation",
    "dataset_card",
    "export_command",
    "export_dataset",
    "export_reviewed_claims",
    "read_judged",
    "render_report",
    "report_command",
    "review_figures",
    "review_inputs",
    "reviews_of_files",
    "reviews_path_for",
    "split_by_document",
    "wilson_interval",
    "write_report",
]
