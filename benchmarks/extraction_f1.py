"""Main-content extraction quality: word 4-gram shingle F1 on the article-extraction benchmark.

The metric is the benchmark's own (scrapinghub/article-extraction-benchmark, ``evaluate.py``):
each text is split into ``\\w+`` tokens (case kept), then into overlapping 4-gram shingles; per
page, true positives, false positives and false negatives are counted over the shingle
multisets and normalised to sum to 1 so that long pages weigh no more than short ones;
precision is macro-averaged over the pages that predicted something, recall over the pages whose
truth has something, and F1 is the harmonic mean of the two means.

Our extractor writes Markdown while the ground truth is plain text, so :func:`markdown_to_text`
first removes the Markdown syntax that would otherwise count as words (link targets, escapes)
or glue to them (``\\_``): see its docstring for what it strips.

Run as a script to print the figures of our ``extract()``, of trafilatura's published predictions
(``output/trafilatura.json``, trafilatura 2.0.0: P 0.938, R 0.978, F1 0.958) and of trafilatura as
installed now, run the way the benchmark runs it::

    python benchmarks/extraction_f1.py [--benchmark DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BENCHMARK = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "fixtures"
    / "extraction"
    / "article-extraction-benchmark"
)

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Article:
    """One page of the benchmark: its id, URL, HTML and ground-truth main text."""

    id: str
    url: str
    html: str
    truth: str


@dataclass(frozen=True)
class Score:
    """Macro-averaged shingle precision and recall, and the F1 of the two means."""

    precision: float
    recall: float
    f1: float

    def __str__(self) -> str:
        return f"P {self.precision:.3f}  R {self.recall:.3f}  F1 {self.f1:.3f}"


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """The multiset of word n-gram shingles of a text (one short shingle if it has < n words).

    Args:
        text: any text.
        n: words per shingle.

    Returns:
        Each shingle with how often it occurs.
    """
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens)


def page_counts(truth: str, predicted: str) -> tuple[float, float, float]:
    """True positives, false positives and false negatives of one page, normalised to sum to 1.

    Args:
        truth: the ground-truth main text.
        predicted: the extracted text.

    Returns:
        ``(tp, fp, fn)``, all zero when both texts are empty.
    """
    true_shingles, predicted_shingles = shingles(truth), shingles(predicted)
    tp = sum((true_shingles & predicted_shingles).values())
    fp = sum((predicted_shingles - true_shingles).values())
    fn = sum((true_shingles - predicted_shingles).values())
    total = tp + fp + fn
    if total == 0:
        return 0.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


def score(truth: Mapping[str, str], predicted: Mapping[str, str]) -> Score:
    """Scores predictions against the ground truth, page by page, then macro-averaged.

    Args:
        truth: ground-truth text by page id.
        predicted: extracted text by page id; a missing page counts as an empty prediction.

    Returns:
        The benchmark's precision, recall and F1.
    """
    counts = [page_counts(truth[key], predicted.get(key) or "") for key in truth]
    precision = statistics.mean(_ratio(tp, fp, fn) for tp, fp, fn in counts if tp + fp > 0)
    recall = statistics.mean(_ratio(tp, fn, fp) for tp, fp, fn in counts if tp + fn > 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision=precision, recall=recall, f1=f1)


def _ratio(hits: float, misses: float, other_misses: float) -> float:
    """``hits / (hits + misses)``, with the benchmark's convention that a perfect page is 1."""
    if misses == other_misses == 0:
        return 1.0
    return hits / (hits + misses)


_FENCE_LINE = re.compile(r"^ {0,3}(?:`{3,}|~{3,})[^\n]*$", re.MULTILINE)
_LINK_TARGET = re.compile(
    r"!?\[([^\]]*)\]\((?:<[^>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+\"[^\"]*\")?\)"
)
_TABLE_RULE = re.compile(r"^\|(?: *:?-{3,}:? *\|)+$", re.MULTILINE)
_BLOCK_MARK = re.compile(r"^ *(?:#{1,6} +|> ?|[-*+] +)", re.MULTILINE)
# Emphasis asterisks and code backticks, unless escaped (then they are text); likewise pipes.
_INLINE_MARK = re.compile(r"(?<!\\)(?:\*+|`+)")
_TABLE_PIPE = re.compile(r"(?<!\\)\|")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# The inline HTML trafilatura writes into Markdown for superscripts and subscripts.
_INLINE_HTML = re.compile(r"</?su[bp]>")


def markdown_to_text(markdown: str) -> str:
    """Plain text of the Markdown our extractor writes, for scoring against plain-text truth.

    Removes fence lines (their info string names a language; the code between them stays, it is
    page text), link and image targets (the visible text stays), table separator rows, heading,
    quote and bullet marks, emphasis asterisks, backticks, table pipes and ``<sup>``/``<sub>``
    tags, then undoes backslash escapes. Link targets, fence languages, inline tags and escapes
    would change the score (``a\\_b`` is the tokens ``a`` and ``_b``); the rest is not made of
    word characters and goes for readability. Ordered-list numbers stay: a reader sees them.

    Args:
        markdown: Markdown as :func:`groundset.crawl.extract.extract` writes it.

    Returns:
        The text a reader sees.
    """
    text = _FENCE_LINE.sub("", markdown)
    text = _LINK_TARGET.sub(r"\1", text)
    text = _TABLE_RULE.sub("", text)
    text = _BLOCK_MARK.sub("", text)
    text = _INLINE_MARK.sub("", text)
    text = _TABLE_PIPE.sub(" ", text)
    text = _INLINE_HTML.sub("", text)
    return _ESCAPE.sub(r"\1", text)


def load_benchmark(directory: Path = DEFAULT_BENCHMARK) -> list[Article]:
    """Reads the benchmark's pages and ground truth.

    Args:
        directory: the benchmark folder (``html/*.html.gz``, ``ground-truth.json``).

    Returns:
        The pages, sorted by id.

    Raises:
        FileNotFoundError: a page or the ground truth is missing.
    """
    truth = json.loads((directory / "ground-truth.json").read_text(encoding="utf-8"))
    articles = []
    for key in sorted(truth):
        with gzip.open(directory / "html" / f"{key}.html.gz", "rt", encoding="utf-8") as page:
            html = page.read()
        articles.append(Article(key, truth[key]["url"], html, truth[key]["articleBody"]))
    return articles


def load_published(directory: Path = DEFAULT_BENCHMARK) -> dict[str, str]:
    """trafilatura's published predictions (``output/trafilatura.json``) by page id."""
    data = json.loads((directory / "output" / "trafilatura.json").read_text(encoding="utf-8"))
    predictions = data.get("output", data)
    return {key: value.get("articleBody") or "" for key, value in predictions.items()}


def predict_ours(articles: Iterable[Article]) -> dict[str, str]:
    """Our extractor's output on each page, as plain text."""
    from groundset.crawl.extract import extract

    predictions = {}
    for article in articles:
        extraction = extract(article.html, article.url)
        predictions[article.id] = markdown_to_text(extraction.markdown) if extraction else ""
    return predictions


def predict_trafilatura_now(articles: Iterable[Article]) -> dict[str, str]:
    """trafilatura as installed, called as the benchmark calls it (plain text, no comments)."""
    import trafilatura

    return {
        article.id: trafilatura.extract(article.html, include_comments=False) or ""
        for article in articles
    }


def main(argv: list[str] | None = None) -> int:
    """Prints P/R/F1 of ours, trafilatura's published predictions and trafilatura run now.

    Args:
        argv: command-line arguments (``--benchmark DIR``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT_BENCHMARK)
    args = parser.parse_args(argv)
    try:
        articles = load_benchmark(args.benchmark)
        published = load_published(args.benchmark)
    except FileNotFoundError as missing:
        print(f"benchmark not found: {missing.filename} (pass --benchmark DIR)", file=sys.stderr)
        return 1
    truth = {article.id: article.truth for article in articles}
    runs: list[tuple[str, Callable[[], dict[str, str]]]] = [
        ("groundset extract()", lambda: predict_ours(articles)),
        ("trafilatura published", lambda: published),
        ("trafilatura now", lambda: predict_trafilatura_now(articles)),
    ]
    print(f"{len(articles)} pages from {args.benchmark}")
    for name, predict in runs:
        started = time.perf_counter()
        predictions = predict()
        elapsed = time.perf_counter() - started
        print(f"{name:<24} {score(truth, predictions)}  ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
