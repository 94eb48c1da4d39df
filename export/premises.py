"""What the dataset card and the report say of the ``false_premise`` samples: how many were kept,
what premise each rejects and where the correcting sentence is, and how many were refused
because the docs do not contradict their premise (``premise_not_contradicted``)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from groundset.export.judged import JudgedSample
from groundset.export.sections import nearest_section
from groundset.records import Sample
from groundset.verify.premise import FALSE_PREMISE

__all__ = ["PREMISES_SHOWN", "premise_card_lines", "premise_report_section"]

#: Kept samples listed in the report.
PREMISES_SHOWN = 60


def premise_card_lines(
    samples: Sequence[Sample], rejected: Sequence[JudgedSample] | None
) -> list[str]:
    """The card's paragraph on the ``false_premise`` samples; none when it kept none."""
    corrected = [s for s in samples if s.task == FALSE_PREMISE]
    if not corrected:
        return []
    line = (
        f"\nThe {len(corrected)} `false_premise` samples ask a question resting on a premise the "
        "documentation contradicts: each answer names the premise as wrong and quotes the "
        "sentence of the cited section that says otherwise. A sample was kept only when its "
        "question carries the premise, the checker does not find the premise supported by that "
        "section, and the reader model holds that the section contradicts it"
    )
    if rejected is not None:
        line += f" (`premise_not_contradicted`: {_refused(rejected)} refused)"
    return [line + ".\n"]


def premise_report_section(kept: Sequence[JudgedSample], rejected: Sequence[JudgedSample]) -> str:
    """The report's section: each kept question with the premise it rests on and the section
    that corrects it; empty when there are no ``false_premise`` samples."""
    corrected = [j.sample for j in kept if j.sample is not None and j.sample.task == FALSE_PREMISE]
    judged = sum(1 for j in rejected if j.sample is not None and j.sample.task == FALSE_PREMISE)
    if not corrected and not judged:
        return ""
    rows = "".join(_row(s) for s in corrected[:PREMISES_SHOWN])
    table = (
        "<table><tr><th>kept question</th><th>premise</th><th>correcting section</th></tr>"
        f"{rows}</table>"
    )
    return (
        '<section class="card" id="false_premise"><h2>Questions on a false premise</h2>'
        f'<p class="note">{len(corrected)} kept and {judged} rejected false_premise samples; '
        f"{_refused(rejected)} rejected because the cited section does not contradict the "
        "premise, or the question does not carry it (premise_not_contradicted). Each answer "
        "names the premise as wrong and quotes the section that says otherwise.</p>"
        + (table if corrected else "")
        + "</section>"
    )


def _row(sample: Sample) -> str:
    cells = (sample.question or "", sample.premise or "", _where(sample))
    return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def _refused(rejected: Sequence[JudgedSample]) -> int:
    return sum(1 for j in rejected if "premise_not_contradicted" in j.verdict.reasons)


def _where(sample: Sample) -> str:
    section = nearest_section(sample)
    if section is None:
        return "–"
    return (
        f"{section.heading_path} · {section.doc_url}" if section.heading_path else section.doc_url
    )
