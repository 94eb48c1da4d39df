"""The report's charts, drawn as inline SVG so the page needs nothing from outside.

Every label and tooltip is escaped: document titles and reasons come from crawled pages.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "EMPTY_COLOUR",
    "KEPT_COLOUR",
    "REASON_COLOURS",
    "REJECTED_COLOUR",
    "Bar",
    "DocCoverage",
    "bar_chart",
    "coverage_chart",
    "heat",
    "histogram",
    "more_documents",
]

KEPT_COLOUR = "#2f855a"
REJECTED_COLOUR = "#c53030"
EMPTY_COLOUR = "#e2e8f0"
#: Reasons get warm colours in turn: all of them mean "rejected", none should look like "kept".
REASON_COLOURS = ("#c53030", "#dd6b20", "#b7791f", "#9b2c2c", "#d53f8c", "#805ad5", "#744210")
_LABEL_CHARS = 44


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _doc_label(url: str) -> str:
    parts = urlsplit(url)
    return parts.path.strip("/") or parts.netloc or url


@dataclass
class Bar:
    """One row of a horizontal bar chart: a label and stacked segments (value, colour, name)."""

    label: str
    segments: list[tuple[int, str, str]]
    note: str = ""

    @property
    def total(self) -> int:
        return sum(v for v, _, _ in self.segments)


def bar_chart(bars: Sequence[Bar], *, width: int = 520, label_width: int = 170) -> str:
    """A horizontal stacked bar chart as inline SVG; each segment's tooltip names it."""
    row, top = 26, 6
    biggest = max((b.total for b in bars), default=0) or 1
    room = width - label_width - 60
    height = top * 2 + row * len(bars)
    parts = [_svg_open(width, height, "bar chart")]
    for i, bar in enumerate(bars):
        y = top + i * row
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" class="label">'
            f"{_e(_short(bar.label, 26))}<title>{_e(bar.label)}</title></text>"
        )
        x = float(label_width)
        for value, colour, name in bar.segments:
            w = room * value / biggest
            if value:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{max(w, 1.5):.1f}" height="{row - 8}"'
                    f' rx="3" fill="{colour}"><title>{_e(f"{bar.label}: {name} {value}")}</title>'
                    "</rect>"
                )
            x += w
        text = f"{bar.total}{bar.note}"
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 17}" class="value">{_e(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">'
    )


def histogram(supported: list[float], unsupported: list[float], *, bins: int = 20) -> str:
    """Claim scores in equal bins, supported and unsupported stacked, as inline SVG."""
    scores = supported + unsupported
    lo = min([0.0, *scores])
    hi = max([1.0, *scores])
    step = (hi - lo) / bins

    def counts(values: list[float]) -> list[int]:
        out = [0] * bins
        for v in values:
            out[min(int((v - lo) / step), bins - 1)] += 1
        return out

    ok, bad = counts(supported), counts(unsupported)
    width, height, left, right, bottom, top = 1000, 230, 44, 24, 30, 12
    plot_w, plot_h = width - left - right, height - bottom - top
    peak = max((a + b for a, b in zip(ok, bad, strict=True)), default=0) or 1
    bar_w = plot_w / bins
    parts = [_svg_open(width, height, "histogram of claim scores")]
    for tick in _ticks(peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>'
        )
    for i, (n_ok, n_bad) in enumerate(zip(ok, bad, strict=True)):
        x = left + i * bar_w + 1
        start, end = lo + i * step, lo + (i + 1) * step
        base = float(top + plot_h)
        for n, colour, name in (
            (n_ok, KEPT_COLOUR, "supported"),
            (n_bad, REJECTED_COLOUR, "not supported"),
        ):
            if n:
                h = plot_h * n / peak
                base -= h
                tip = f"{start:.2f}–{end:.2f}: {n} {name}"
                parts.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}"'
                    f' fill="{colour}"><title>{_e(tip)}</title></rect>'
                )
    for i in range(0, bins + 1, bins // 4):
        x = left + i * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" class="tick">'
            f"{lo + i * step:.2f}</text>"
        )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"'
        ' class="axis"/></svg>'
    )
    return "".join(parts)


def _ticks(peak: int) -> list[int]:
    """Round gridline values from 0 to ``peak``, four or five of them."""
    raw = peak / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, peak + 1, max(int(step), 1)))


def heat(count: int, peak: int) -> str:
    """Grey for no samples, then greens that darken with the count (on a log scale)."""
    if count == 0:
        return EMPTY_COLOUR
    share = math.log1p(count) / math.log1p(max(peak, 1))
    light, dark = (198, 246, 213), (34, 84, 61)
    r, g, b = (round(a + (d - a) * share) for a, d in zip(light, dark, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass
class DocCoverage:
    url: str
    title: str
    sections: list[str] = field(default_factory=list)
    kept: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def kept_samples(self) -> int:
        return self.kept.total()


def coverage_chart(docs: Sequence[DocCoverage]) -> str:
    """Per document: a bar of kept samples, then one cell per section coloured by its samples."""
    width, label_w, bar_w, row = 1000, 250, 150, 22
    strip_x = label_w + bar_w + 40
    strip_w = width - strip_x - 10
    peak_doc = max((d.kept_samples for d in docs), default=0) or 1
    peak_section = max((max(d.kept.values(), default=0) for d in docs), default=0)
    parts = [_svg_open(width, row * len(docs) + 8, "coverage of the corpus")]
    for i, doc in enumerate(docs):
        y = 4 + i * row
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="label">'
            f"{_e(_short(_doc_label(doc.url), 36))}<title>{_e(doc.title)} — {_e(doc.url)}</title>"
            "</text>"
        )
        w = bar_w * doc.kept_samples / peak_doc
        if doc.kept_samples:
            parts.append(
                f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1.5):.1f}" height="{row - 8}"'
                f' rx="2" fill="{KEPT_COLOUR}"/>'
            )
        parts.append(
            f'<text x="{label_w + w + 5:.1f}" y="{y + 15}" class="value">{doc.kept_samples}</text>'
        )
        cell = min(14.0, strip_w / max(len(doc.sections), 1))
        for j, heading in enumerate(doc.sections):
            kept, rejected = doc.kept[heading], doc.rejected[heading]
            tip = f"{heading or doc.title}: kept {kept}, rejected {rejected}"
            parts.append(
                f'<rect x="{strip_x + j * cell:.1f}" y="{y + 3}" width="{max(cell - 2, 1):.1f}"'
                f' height="{row - 6}" rx="2" fill="{heat(kept, peak_section)}"'
                + (f' stroke="{REJECTED_COLOUR}" stroke-width="1.5"' if rejected else "")
                + f"><title>{_e(tip)}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def more_documents(rest: Sequence[DocCoverage]) -> str:
    if not rest:
        return ""
    with_samples = sum(1 for d in rest if d.kept_samples)
    return (
        f'<p class="note">… and {len(rest)} more documents, {with_samples} of them with kept'
        " samples, not drawn.</p>"
    )
