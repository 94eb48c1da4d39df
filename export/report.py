"""The report: one self-contained HTML page that shows what a verify run kept and refused, and why.

The page has no outside resources (inline CSS, a few lines of inline JS, charts drawn as inline
SVG), so it opens anywhere, offline, and can be mailed as one file. Every piece of text on it
comes from crawled pages or a model and is escaped: nothing in a sample can add markup.

Sections of the page, in order: totals; kept and rejected by reason; claim scores, supported
against unsupported; samples per task and language; coverage of the corpus by document and
section; diversity (sections and pages cited, question types, samples refused as repeats);
questions the docs do not answer (``unanswerable``: each with the nearest section it points at,
and the section that answers one refused ``answerable``); questions that need two sections
(``multihop``: each refused ``single_hop`` with the section that answers it alone); questions
on a false premise (``false_premise``: each kept one with its premise and the correcting
section, :mod:`groundset.export.premises`); then the samples themselves, each with its claims
and the cited text with the quote marked.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from groundset.export.charts import (
    EMPTY_COLOUR,
    KEPT_COLOUR,
    REASON_COLOURS,
    REJECTED_COLOUR,
    Bar,
    DocCoverage,
    bar_chart,
    coverage_chart,
    heat,
    histogram,
    more_documents,
)
from groundset.export.diversity import Diversity, diversity
from groundset.export.judged import JudgedSample, read_judged
from groundset.export.premises import premise_report_section
from groundset.export.reviews import (
    ReviewFigures,
    precision_statement,
    reviews_of_files,
    reviews_path_for,
)
from groundset.export.sections import (
    CorpusSection,
    corpus_sections,
    evidence_in_section,
    find_in_text,
    nearest_section,
)
from groundset.records import Claim, ClaimVerdict, Sample, Source
from groundset.verify.answerable import UNANSWERABLE
from groundset.verify.multihop import MULTIHOP, pages_cited

__all__ = ["render_report", "report_command", "write_report"]

#: At most this many samples of each kind are written out in full, so the page stays light.
KEPT_SHOWN = 60
REJECTED_SHOWN = 120
#: Documents drawn in the coverage chart (in corpus order); the rest are summed up in a line.
COVERAGE_ROWS = 300
#: Characters of cited text shown on each side of the marked quote.
CONTEXT_CHARS = 350
#: Unanswerable questions listed, kept and refused each.
UNANSWERABLE_SHOWN = 60


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# -- the page --------------------------------------------------------------------------------


def _reasons(judged: Sequence[JudgedSample]) -> Counter[str]:
    return Counter(r for j in judged for r in dict.fromkeys(j.verdict.reasons))


def _claim_scores(judged: Iterable[JudgedSample]) -> tuple[list[float], list[float]]:
    supported: list[float] = []
    unsupported: list[float] = []
    for j in judged:
        for c in j.verdict.claims:
            (supported if c.supported else unsupported).append(c.score)
    return supported, unsupported


def _by_attribute(kept: Sequence[JudgedSample], rejected: Sequence[JudgedSample], key: str) -> str:
    names: Counter[str] = Counter()
    counts = {True: Counter[str](), False: Counter[str]()}
    for accepted, judged in ((True, kept), (False, rejected)):
        for j in judged:
            value = getattr(j.sample, key) if j.sample is not None else "(not a sample)"
            counts[accepted][value] += 1
            names[value] += 1
    bars = [
        Bar(
            name,
            [
                (counts[True][name], KEPT_COLOUR, "kept"),
                (counts[False][name], REJECTED_COLOUR, "rejected"),
            ],
        )
        for name, _ in names.most_common()
    ]
    return bar_chart(bars, width=460, label_width=120)


def _coverage(
    kept: Sequence[JudgedSample],
    rejected: Sequence[JudgedSample],
    sections: Sequence[CorpusSection] | None,
) -> list[DocCoverage]:
    docs: dict[str, DocCoverage] = {}
    for s in sections or []:
        doc = docs.setdefault(s.doc_url, DocCoverage(s.doc_url, s.doc_title))
        if s.heading_path not in doc.sections:
            doc.sections.append(s.heading_path)
    for accepted, judged in ((True, kept), (False, rejected)):
        for j in judged:
            if j.sample is None:
                continue
            for source in j.sample.sources:
                doc = docs.setdefault(source.doc_url, DocCoverage(source.doc_url, source.doc_url))
                if source.heading_path not in doc.sections:
                    doc.sections.append(source.heading_path)
                (doc.kept if accepted else doc.rejected)[source.heading_path] += 1
    return list(docs.values())


_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f7f8fa; color: #1a202c;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 4px; }
p.lead, p.note { color: #4a5568; margin: 0 0 14px; }
p.note { font-size: 13px; }
.tiles { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin: 18px 0 22px; }
.tile { background: #fff; border-radius: 10px; padding: 12px 16px;
  box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.tile b { display: block; font-size: 26px; line-height: 1.2; }
.tile span { color: #4a5568; font-size: 13px; }
.tile.kept b { color: #2f855a; } .tile.rejected b { color: #c53030; }
.card { background: #fff; border-radius: 10px; padding: 18px 20px; margin: 0 0 18px;
  box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow-x: auto; }
.row { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
svg { display: block; max-width: 100%; height: auto; }
svg .label { font-size: 12.5px; fill: #2d3748; }
svg .value { font-size: 12px; fill: #4a5568; }
svg .tick { font-size: 11px; fill: #718096; }
svg .grid { stroke: #edf2f7; } svg .axis { stroke: #a0aec0; }
.legend { font-size: 13px; color: #4a5568; margin: 6px 0 0; }
.legend i { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  margin: 0 5px 0 12px; vertical-align: -1px; }
.legend i:first-child { margin-left: 0; }
input[type=search] { width: 100%; padding: 8px 12px; margin: 6px 0 12px; font: inherit;
  border: 1px solid #cbd5e0; border-radius: 8px; }
details { border: 1px solid #e2e8f0; border-radius: 8px; margin: 0 0 8px; background: #fff; }
details[open] { box-shadow: 0 1px 3px rgba(0,0,0,.08); }
summary { cursor: pointer; padding: 8px 12px; display: flex; gap: 10px; align-items: baseline; }
summary .id { font-family: ui-monospace, monospace; font-size: 12.5px; color: #4a5568; }
summary .q { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tag { font-size: 11.5px; padding: 1px 7px; border-radius: 9px; background: #edf2f7;
  color: #2d3748; white-space: nowrap; }
.tag.bad { background: #fed7d7; color: #9b2c2c; } .tag.ok { background: #c6f6d5; color: #22543d; }
.body { padding: 4px 16px 14px; }
.turn { margin: 6px 0; } .turn b { color: #4a5568; font-weight: 600; margin-right: 6px; }
.claim { border-left: 4px solid #2f855a; padding: 6px 12px; margin: 10px 0; background: #f7fafc; }
.claim.bad { border-color: #c53030; background: #fff5f5; }
.claim .meta { font-size: 12.5px; color: #4a5568; margin: 2px 0 6px; }
blockquote { margin: 6px 0 0; padding: 8px 12px; background: #fff; border: 1px solid #e2e8f0;
  border-radius: 6px; font-size: 13.5px; white-space: pre-wrap; }
mark { background: #fefcbf; box-shadow: 0 0 0 2px #fefcbf; border-radius: 2px; }
pre.raw { white-space: pre-wrap; word-break: break-all; background: #fff5f5; padding: 8px;
  border-radius: 6px; font-size: 12.5px; }
.src { font-size: 12.5px; color: #4a5568; }
table { border-collapse: collapse; font-size: 13.5px; margin: 8px 0; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px;
  border-bottom: 1px solid #e2e8f0; }
"""

_JS = """
for (const box of document.querySelectorAll('input[data-filter]')) {
  box.addEventListener('input', () => {
    const q = box.value.toLowerCase();
    for (const item of document.querySelectorAll(box.dataset.filter + ' > details')) {
      item.hidden = q !== '' && !item.textContent.toLowerCase().includes(q);
    }
  });
}
"""


def _legend(*items: tuple[str, str]) -> str:
    spans = "".join(f'<i style="background:{c}"></i>{_e(name)}' for name, c in items)
    return f'<p class="legend">{spans}</p>'


def render_report(
    kept: Sequence[JudgedSample],
    rejected: Sequence[JudgedSample],
    sections: Sequence[CorpusSection] | None = None,
    *,
    title: str = "groundset report",
    review: ReviewFigures | None = None,
) -> str:
    """The report page for a verify run's kept and rejected samples.

    Args:
        kept: the kept file's lines.
        rejected: the rejected file's lines.
        sections: every section of the corpus, so that coverage shows what has no samples;
            None to take documents and sections from the samples alone.
        title: the page's heading.
        review: what a person's review of the samples found (``groundset review``), if any.

    Returns:
        The HTML page.
    """
    total = len(kept) + len(rejected)
    reasons = _reasons(rejected)
    supported, unsupported = _claim_scores([*kept, *rejected])
    coverage = _coverage(kept, rejected, sections)
    covered_sections = sum(1 for d in coverage for h in d.sections if d.kept[h])
    all_sections = sum(len(d.sections) for d in coverage)
    covered_docs = sum(1 for d in coverage if d.kept_samples)
    rate = f"{len(kept) / total:.1%}" if total else "–"
    outcome = [
        Bar("kept", [(len(kept), KEPT_COLOUR, "kept")]),
        Bar("rejected", [(len(rejected), REJECTED_COLOUR, "rejected")]),
    ]
    by_reason = [
        Bar(reason, [(n, REASON_COLOURS[i % len(REASON_COLOURS)], "rejected")])
        for i, (reason, n) in enumerate(reasons.most_common())
    ]
    chunks = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        '<p class="lead">What verification kept and refused, and why. Hover a bar or a cell for '
        "its numbers; open a sample to see its claims and the cited text.</p>",
        '<div class="tiles">',
        _tile("kept", len(kept), "samples kept"),
        _tile("rejected", len(rejected), "samples rejected"),
        _tile("", rate, "acceptance rate"),
        _tile("", len(supported) + len(unsupported), "claims checked"),
        _tile("", f"{covered_docs} / {len(coverage)}", "documents with kept samples"),
        "</div>",
        '<div class="row"><section class="card"><h2>Kept and rejected</h2>',
        f'<p class="note">{total} samples verified.</p>',
        bar_chart(outcome, width=460, label_width=120),
        '<p class="note">By task</p>',
        _by_attribute(kept, rejected, "task"),
        '<p class="note">By language</p>',
        _by_attribute(kept, rejected, "language"),
        _legend(("kept", KEPT_COLOUR), ("rejected", REJECTED_COLOUR)),
        "</section>",
        '<section class="card"><h2>Rejected, by reason</h2>',
        '<p class="note">A rejected sample counts once under each of its reasons.</p>',
        bar_chart(by_reason, width=460, label_width=150)
        if by_reason
        else '<p class="note">Nothing was rejected.</p>',
        "</section></div>",
        '<section class="card"><h2>Claim scores</h2>',
        f'<p class="note">{len(supported)} supported and {len(unsupported)} unsupported claims,'
        " kept and rejected samples together.</p>",
        histogram(supported, unsupported),
        _legend(("supported", KEPT_COLOUR), ("not supported", REJECTED_COLOUR)),
        "</section>",
        '<section class="card" id="precision"><h2>Precision</h2>',
        *(
            f'<p class="note">{_e(line)}</p>'
            for line in precision_statement(
                [(j.sample, j.verdict) for j in kept if j.sample is not None], review
            )
        ),
        "</section>",
        _review_section(review, [*kept, *rejected], sections),
        '<section class="card"><h2>Coverage of the corpus</h2>',
        f'<p class="note">{covered_docs} of {len(coverage)} documents and {covered_sections} of'
        f" {all_sections} sections have kept samples"
        + ("" if sections is not None else " (documents known from the samples only)")
        + ". The bar counts a document's kept samples; each cell is one section, darker with"
        " more kept samples, outlined red where samples were rejected.</p>",
        coverage_chart(coverage[:COVERAGE_ROWS]),
        more_documents(coverage[COVERAGE_ROWS:]),
        _legend(("no samples", EMPTY_COLOUR), ("few", heat(1, 8)), ("many", heat(8, 8))),
        "</section>",
        _diversity_section(
            diversity(
                [j.sample for j in kept if j.sample is not None],
                [j.verdict for j in rejected],
                sections,
            )
        ),
        _unanswerable_section(kept, rejected),
        _multihop_section(kept, rejected),
        premise_report_section(kept, rejected),
        _sample_list("kept", "Kept samples", _kept_order(kept), KEPT_SHOWN, sections),
        _sample_list(
            "rejected", "Rejected samples", _rejected_order(rejected), REJECTED_SHOWN, sections
        ),
        f"</main><script>{_JS}</script></body></html>",
    ]
    return "\n".join(chunks)


def _diversity_section(figures: Diversity) -> str:
    bars = [
        Bar(kind, [(n, KEPT_COLOUR, "kept")], note=f" ({share})")
        for kind, n, share in figures.type_rows()
    ]
    return (
        '<section class="card" id="diversity"><h2>Diversity</h2>'
        f'<p class="note">{_e(figures.coverage_line())}</p>'
        '<p class="note">Kept questions by their first word, read in English (a question in'
        " another language counts as other):</p>"
        f"{bar_chart(bars, width=460, label_width=120)}"
        f'<p class="note">{_e(figures.repeats_line())}</p></section>'
    )


def _multihop_section(kept: Sequence[JudgedSample], rejected: Sequence[JudgedSample]) -> str:
    """The questions that need two sections: how many, over how many pages, and each refused
    ``single_hop`` with the section that answers it alone."""
    asked = [j.sample for j in kept if j.sample is not None and j.sample.task == MULTIHOP]
    refused = [j for j in rejected if j.sample is not None and j.sample.task == MULTIHOP]
    single = [j for j in refused if "single_hop" in j.verdict.reasons]
    if not asked and not refused:
        return ""
    pages = sum(1 for s in asked if len(pages_cited(s)) > 1)
    rows = "".join(
        f"<tr><td>{_e(j.sample.question or '')}</td>"
        f"<td>{_e(_where(j.verdict.answered_by))}</td></tr>"
        for j in single[:UNANSWERABLE_SHOWN]
        if j.sample is not None
    )
    return (
        '<section class="card" id="multihop"><h2>Questions that need two sections</h2>'
        f'<p class="note">{len(asked)} kept multihop samples ({pages} citing two pages or more)'
        f" and {len(refused)} rejected; {len(single)} rejected because one section answers"
        " alone (single_hop).</p>"
        + (
            f"<table><tr><th>rejected question</th><th>answered alone by</th></tr>{rows}</table>"
            if single
            else ""
        )
        + "</section>"
    )


def _unanswerable_section(kept: Sequence[JudgedSample], rejected: Sequence[JudgedSample]) -> str:
    """The questions the docs do not answer: each kept one with the nearest section it points at,
    each refused ``answerable`` with the section that answers it."""
    asked = [j for j in kept if j.sample is not None and j.sample.task == UNANSWERABLE]
    answered = [
        j
        for j in rejected
        if j.sample is not None and j.sample.task == UNANSWERABLE and j.verdict.answered_by
    ]
    refused = sum(1 for j in rejected if j.sample is not None and j.sample.task == UNANSWERABLE)
    if not asked and not refused:
        return ""

    def row(j: JudgedSample, answering: Source | None) -> str:
        assert j.sample is not None
        cells = [j.sample.question or "", _where(nearest_section(j.sample))]
        if answering is not None:
            cells.append(_where(answering))
        return "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>"

    kept_rows = "".join(row(j, None) for j in asked[:UNANSWERABLE_SHOWN])
    refused_rows = "".join(row(j, j.verdict.answered_by) for j in answered[:UNANSWERABLE_SHOWN])
    return (
        '<section class="card" id="unanswerable"><h2>Questions the docs do not answer</h2>'
        f'<p class="note">{len(asked)} kept and {refused} rejected unanswerable samples; '
        f"{len(answered)} rejected because a section of the corpus answers the question "
        "(answerable). Each answer says the documentation does not say and points at the "
        "nearest section.</p>"
        + (
            f"<table><tr><th>kept question</th><th>nearest section</th></tr>{kept_rows}</table>"
            if asked
            else ""
        )
        + (
            "<table><tr><th>rejected question</th><th>nearest section</th>"
            f"<th>answered by</th></tr>{refused_rows}</table>"
            if answered
            else ""
        )
        + "</section>"
    )


def _where(source: Source | None) -> str:
    if source is None:
        return "–"
    return f"{source.heading_path} · {source.doc_url}" if source.heading_path else source.doc_url


def _review_section(
    review: ReviewFigures | None,
    judged: Sequence[JudgedSample],
    sections: Sequence[CorpusSection] | None,
) -> str:
    if review is None:
        return ""
    lines = _nested_list(review.lines())
    texts = {(s.doc_url, s.heading_path): s.text for s in sections or []}
    by_id = {j.verdict.sample_id: j for j in judged}
    items = []
    for r in review.reviewed:
        j = by_id.get(r.sample_id)
        if j is None:
            continue
        tags = [
            f'<span class="tag {"ok" if r.keep else "bad"}">reviewer: '
            f"{'keep' if r.keep else 'reject'}</span>"
        ]
        if r.claims_disagreeing:
            tags.append(
                f'<span class="tag bad">disagrees on {r.claims_disagreeing} of'
                f" {r.claims_reviewed} claims</span>"
            )
        if r.stale:
            tags.append('<span class="tag">given on older sources</span>')
        if r.note:
            tags.append(f'<span class="tag">note: {_e(r.note)}</span>')
        items.append(_item(j, texts, extra="".join(tags)))
    other_way = sum(r.disagrees for r in review.reviewed)
    return (
        '<section class="card" id="review"><h2>Human review</h2>'
        '<p class="note">What a person found reading a random sample of these samples '
        f"(<code>groundset review</code>).</p>{lines}"
        f'<p class="note">The {len(items)} reviewed samples, the {other_way} the reviewer decided'
        " the other way first.</p>"
        f'<div id="reviewed-list">{"".join(items)}</div></section>'
    )


def _nested_list(lines: Sequence[str]) -> str:
    """A list of lines, each indented line an item of a list under the line above it."""
    items: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("  ") and items:
            items[-1][1].append(line.strip())
        else:
            items.append((line, []))
    html_items = [
        f"<li>{_e(line)}"
        + (f"<ul>{''.join(f'<li>{_e(c)}</li>' for c in under)}</ul>" if under else "")
        + "</li>"
        for line, under in items
    ]
    return f"<ul>{''.join(html_items)}</ul>"


def _tile(kind: str, value: object, label: str) -> str:
    return f'<div class="tile {kind}"><b>{_e(value)}</b><span>{_e(label)}</span></div>'


def _kept_order(kept: Sequence[JudgedSample]) -> list[JudgedSample]:
    """Kept samples, lowest-scoring claim first: the borderline ones are the ones to read."""
    return sorted(kept, key=lambda j: min((c.score for c in j.verdict.claims), default=1.0))


def _rejected_order(rejected: Sequence[JudgedSample]) -> list[JudgedSample]:
    """Rejected samples with their first reasons taken in turn, so every reason shows early."""
    queues: dict[str, list[JudgedSample]] = {}
    for j in rejected:
        queues.setdefault(j.verdict.reasons[0] if j.verdict.reasons else "", []).append(j)
    ordered: list[JudgedSample] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                ordered.append(queue.pop(0))
    return ordered


def _sample_list(
    key: str,
    heading: str,
    judged: Sequence[JudgedSample],
    limit: int,
    sections: Sequence[CorpusSection] | None,
) -> str:
    texts = {(s.doc_url, s.heading_path): s.text for s in sections or []}
    shown = judged[:limit]
    note = f"Showing {len(shown)} of {len(judged)}" + (
        ", lowest claim score first." if key == "kept" else ", every reason early."
    )
    items = "".join(_item(j, texts) for j in shown)
    return (
        f'<section class="card"><h2>{_e(heading)}</h2><p class="note">{_e(note)}</p>'
        f'<input type="search" placeholder="Filter by any text: id, reason, words…"'
        f' data-filter="#{key}-list" aria-label="filter {key} samples">'
        f'<div id="{key}-list">{items}</div></section>'
    )


def _item(j: JudgedSample, texts: dict[tuple[str, str], str], extra: str = "") -> str:
    tags = "".join(f'<span class="tag bad">{_e(r)}</span>' for r in j.verdict.reasons)
    if j.sample is None:
        return (
            f'<details><summary><span class="id">{_e(j.verdict.sample_id)}</span>'
            f'<span class="q">not a valid sample</span>{tags}</summary>'
            f'<div class="body"><pre class="raw">{_e(j.raw or "")}</pre></div></details>'
        )
    sample = j.sample
    prompt = sample.question or next(
        (m.content for m in sample.messages or [] if m.role == "user"), ""
    )
    scores = [c.score for c in j.verdict.claims]
    low = f'<span class="tag">min score {min(scores):.2f}</span>' if scores else ""
    if j.verdict.accepted:
        tags = '<span class="tag ok">kept</span>'
    body = [_turns(sample)]
    verdicts = _claim_verdicts(sample.claims, j.verdict.claims)
    body += [_claim(sample, c, v, texts) for c, v in zip(sample.claims, verdicts, strict=True)]
    # The answer's own sentences, which the verifier checks beside the listed claims.
    matched = {id(v) for v in verdicts if v is not None}
    body += [_answer_check(sample, v, texts) for v in j.verdict.claims if id(v) not in matched]
    if sample.task == UNANSWERABLE:
        body.append(_nearest(sample, j.verdict.answered_by, texts))
    if sample.task == MULTIHOP and j.verdict.answered_by is not None:
        body.append(_alone(j.verdict.answered_by, texts))
    return (
        f'<details><summary><span class="id">{_e(sample.id)}</span>'
        f'<span class="q">{_e(prompt)}</span><span class="tag">{_e(sample.task)}</span>'
        f'<span class="tag">{_e(sample.language)}</span>{low}{tags}{extra}</summary>'
        f'<div class="body">{"".join(body)}</div></details>'
    )


def _nearest(sample: Sample, answered_by: Source | None, texts: dict[tuple[str, str], str]) -> str:
    """Where an unanswerable sample points, and the section that answers it when one does."""
    out = f'<div class="src">nearest section: {_e(_where(nearest_section(sample)))}</div>'
    if answered_by is not None:
        text = texts.get((answered_by.doc_url, answered_by.heading_path), "")
        shown = f"<blockquote>{_e(text[: 2 * CONTEXT_CHARS])}</blockquote>" if text else ""
        out += (
            '<div class="claim bad"><div>answered by a section of the corpus (answerable)</div>'
            f'<div class="src">{_e(_where(answered_by))}</div>{shown}</div>'
        )
    return out


def _alone(section: Source, texts: dict[tuple[str, str], str]) -> str:
    """The one section that answers a multi-hop sample refused ``single_hop``."""
    text = texts.get((section.doc_url, section.heading_path), "")
    shown = f"<blockquote>{_e(text[: 2 * CONTEXT_CHARS])}</blockquote>" if text else ""
    return (
        '<div class="claim bad"><div>answered by one section alone (single_hop)</div>'
        f'<div class="src">{_e(_where(section))}</div>{shown}</div>'
    )


def _turns(sample: Sample) -> str:
    turns: list[tuple[str, str]]
    if sample.messages:
        turns = [(m.role, m.content) for m in sample.messages]
    else:
        turns = [("question", sample.question or ""), ("answer", sample.answer or "")]
    return "".join(f'<div class="turn"><b>{_e(r)}</b>{_e(t)}</div>' for r, t in turns)


def _claim_verdicts(
    claims: Sequence[Claim], verdicts: Sequence[ClaimVerdict]
) -> list[ClaimVerdict | None]:
    """The verdict of each claim: by position when the counts match, else by claim text."""
    if len(claims) == len(verdicts):
        return list(verdicts)
    by_text = {v.text: v for v in verdicts}
    return [by_text.get(c.text) for c in claims]


def _claim(
    sample: Sample,
    claim: Claim,
    verdict: ClaimVerdict | None,
    texts: dict[tuple[str, str], str],
) -> str:
    ok = verdict is not None and verdict.supported
    meta = _verdict_meta(verdict) if verdict is not None else "not checked"
    sources = {s.chunk_id: s for s in sample.sources}
    cited = []
    for citation in claim.citations:
        source = sources.get(citation.chunk_id)
        where = f"{source.doc_url} · {source.heading_path}" if source else citation.chunk_id
        text = texts.get((source.doc_url, source.heading_path), "") if source else ""
        if not text and verdict is not None and verdict.chunk_id == citation.chunk_id:
            text = verdict.evidence
        cited.append(
            f'<div class="src">cited: {_e(where)}</div>'
            f"<blockquote>{_highlight(text or citation.quote, citation.quote)}</blockquote>"
        )
    if not claim.citations and verdict is not None and verdict.evidence:
        cited.append(f"<blockquote>{_e(verdict.evidence)}</blockquote>")
    return (
        f'<div class="claim{"" if ok else " bad"}"><div>{_e(claim.text)}</div>'
        f'<div class="meta">{_e(meta)}</div>{"".join(cited)}</div>'
    )


def _verdict_meta(verdict: ClaimVerdict) -> str:
    """What the verifier said of a claim, in one line: supported or not, its score, its reasons."""
    meta = ("supported" if verdict.supported else "not supported") + f" · score {verdict.score:.2f}"
    return meta + "".join(f" · {r}" for r in verdict.reasons)


def _answer_check(sample: Sample, verdict: ClaimVerdict, texts: dict[tuple[str, str], str]) -> str:
    """A sentence of the answer as the verifier checked it, with the evidence that decided."""
    source = next((s for s in sample.sources if s.chunk_id == verdict.chunk_id), None)
    evidence = ""
    if verdict.evidence:
        where, shown = "", _e(verdict.evidence)
        if source is not None:
            where = f"{source.doc_url} · {source.heading_path}"
            text = texts.get((source.doc_url, source.heading_path), "")
            match = find_in_text(text, evidence_in_section(verdict.evidence, source.heading_path))
            if match:
                shown = _marked(text, match)
        evidence = (
            f'<div class="src">closest evidence: {_e(where)}</div><blockquote>{shown}</blockquote>'
        )
    return (
        f'<div class="claim{"" if verdict.supported else " bad"}">'
        f'<div><span class="tag">answer sentence</span> {_e(verdict.text)}</div>'
        f'<div class="meta">{_e(_verdict_meta(verdict))}</div>{evidence}</div>'
    )


def _highlight(text: str, quote: str) -> str:
    """``text`` escaped, trimmed around ``quote``, with the quote inside ``<mark>``.

    The quote is found whatever its whitespace, then ignoring case; a quote that is not in the
    text is said so, the text shown from its start.
    """
    match = find_in_text(text, quote)
    if match is None:
        shown = text if len(text) <= 2 * CONTEXT_CHARS else text[: 2 * CONTEXT_CHARS] + "…"
        if text == quote:
            return _e(text)
        missing = (
            f'<span class="tag bad">quote not found in the cited text</span> <q>{_e(quote)}</q>'
        )
        return f"{missing}\n\n{_e(shown)}"
    return _marked(text, match)


def _marked(text: str, match: re.Match[str]) -> str:
    """``text`` escaped, trimmed around ``match``, with the match inside ``<mark>``."""
    start, end = match.span()
    before = text[max(0, start - CONTEXT_CHARS) : start]
    after = text[end : end + CONTEXT_CHARS]
    lead = "…" if start > CONTEXT_CHARS else ""
    tail = "…" if end + CONTEXT_CHARS < len(text) else ""
    return f"{lead}{_e(before)}<mark>{_e(match.group())}</mark>{_e(after)}{tail}"


# -- entry points ----------------------------------------------------------------------------


def write_report(
    kept: Path,
    rejected: Path,
    out: Path,
    *,
    corpus_dir: Path | None = None,
    reviews: Path | None = None,
) -> Path:
    """Write the HTML report of a verify run.

    Args:
        kept: the kept file.
        rejected: the rejected file.
        out: the HTML file to write; its folder is created.
        corpus_dir: the corpus the samples came from, so that coverage counts every document
            and section and cited text is shown whole; None to use the samples alone.
        reviews: the reviews file of ``groundset review``; None for the one beside ``kept``.

    Returns:
        ``out``.

    Raises:
        UsageError: a missing or malformed file, or a directory that is not a corpus.
    """
    sections = corpus_sections(corpus_dir) if corpus_dir is not None else None
    kept_lines, rejected_lines = read_judged(kept), read_judged(rejected)
    figures = reviews_of_files(kept_lines, rejected_lines, reviews or reviews_path_for(kept))
    page = render_report(kept_lines, rejected_lines, sections, review=figures)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def report_command(
    kept: str | Path, rejected: str | Path, out: str | Path, *, corpus: str | Path | None = None
) -> Path:
    """``groundset report KEPT REJECTED --out report.html [--corpus DIR]``, arguments as given.

    Args:
        kept: the kept file.
        rejected: the rejected file.
        out: the HTML file to write.
        corpus: the corpus directory, if any.

    Returns:
        The path written.

    Raises:
        UsageError: a missing or malformed file, or a directory that is not a corpus.
    """
    return write_report(
        Path(kept), Path(rejected), Path(out), corpus_dir=Path(corpus) if corpus else None
    )
