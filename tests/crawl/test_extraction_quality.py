"""The extraction quality gate: shingle F1 on 181 real article pages stays above its floor.

The floor lives in ``extraction_baseline.json`` beside this file, so a change that makes
extraction worse fails here; the metric lives in ``benchmarks/extraction_f1.py``, which also runs
as a script comparing our extractor with trafilatura.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from groundset.crawl.extract import extract

from fixture_paths import fixture_path

BASELINE = Path(__file__).with_name("extraction_baseline.json")


def _load_metric() -> ModuleType:
    """The metric module, loaded by path: ``benchmarks/`` is not an installed package."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "extraction_f1.py"
    spec = importlib.util.spec_from_file_location("extraction_f1", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: its dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


extraction_f1 = _load_metric()


@pytest.fixture(scope="module")
def benchmark_dir() -> Path:
    return fixture_path("extraction", "article-extraction-benchmark")


@pytest.fixture(scope="module")
def articles(benchmark_dir: Path) -> list:
    return extraction_f1.load_benchmark(benchmark_dir)


@pytest.fixture(scope="module")
def truth(articles: list) -> dict[str, str]:
    return {article.id: article.truth for article in articles}


def test_the_metric_reproduces_trafilaturas_published_figures(
    benchmark_dir: Path, truth: dict[str, str]
) -> None:
    fixture_path("extraction", "article-extraction-benchmark", "output", "trafilatura.json")
    published = extraction_f1.score(truth, extraction_f1.load_published(benchmark_dir))
    # The figures trafilatura publishes for this benchmark, rounded to 3 decimals.
    assert published.precision == pytest.approx(0.938, abs=6e-4)
    assert published.recall == pytest.approx(0.978, abs=6e-4)
    assert published.f1 == pytest.approx(0.958, abs=6e-4)


def test_the_metric_on_exact_empty_and_partial_predictions(truth: dict[str, str]) -> None:
    perfect = extraction_f1.score(truth, truth)
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    # An empty prediction has no precision to average, and zero recall.
    assert extraction_f1.page_counts("one two three four five", "") == (0.0, 0.0, 1.0)
    # 2 shingles of the truth found, 1 extra predicted: normalised to sum to 1.
    assert extraction_f1.page_counts("a b c d e", "a b c d e f") == pytest.approx(
        (2 / 3, 1 / 3, 0.0)
    )


def test_our_extractor_meets_the_f1_floor(articles: list, truth: dict[str, str]) -> None:
    floor = json.loads(BASELINE.read_text(encoding="utf-8"))["f1_floor"]
    ours = extraction_f1.score(truth, extraction_f1.predict_ours(articles))
    assert ours.f1 >= floor, f"extraction quality fell below the floor {floor}: {ours}"


def test_markdown_to_text_keeps_what_a_reader_sees() -> None:
    page = fixture_path("sites", "drf", "v2026-07-31", "api-guide", "settings", "index.html")
    url = "https://www.django-rest-framework.org/api-guide/settings/"
    extraction = extract(page.read_text(encoding="utf-8"), url)
    assert extraction is not None
    markdown = extraction.markdown
    assert "#### DEFAULT\\_RENDERER\\_CLASSES" in markdown and "```text" in markdown
    text = extraction_f1.markdown_to_text(markdown)
    assert "\nDEFAULT_RENDERER_CLASSES\n" in text
    assert (
        "See the pagination documentation for further guidance on\nsetting and\nmodifying" in text
    )
    assert not any(syntax in text for syntax in ("](", "```", "\\_", "**", "\n#"))
    assert "    'DEFAULT_RENDERER_CLASSES': [" in text, "code keeps its indentation"
