"""The retrieval gate: hit rates on labelled DRF queries must stay above their floors.

Three query sets, all labelled with a page and a section heading:

- ``questions``: hand-written natural questions naming DRF identifiers (drf_questions.json);
- ``titles``: the titles of DRF's sections, from the site's own MkDocs search index;
- ``sentences``: the first sentence of each of those sections.

Floors live in retrieval_baseline.json (measured figures less a small margin). Hybrid retrieval
must beat dense retrieval alone, or it is not worth its keep.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from groundset.ground import Embedder, Index
from groundset.ground.evaluate import HitRates, LabelledQuery, hit_rates, mkdocs_queries
from groundset.records import Chunk

HERE = Path(__file__).parent
BASELINE = json.loads((HERE / "retrieval_baseline.json").read_text())


@pytest.fixture(scope="module")
def query_sets(indexed_old: Path, embedder: Embedder) -> dict[str, list[LabelledQuery]]:
    path = HERE.parent / "fixtures/sites/drf/v2026-07-31/search/search_index.json"
    if not path.exists():
        pytest.fail(f"missing test fixture: {path}")
    with Index.open(indexed_old, embedder=embedder) as index:
        base = "{0.scheme}://{0.netloc}/".format(urlsplit(next(index.chunks()).doc_url))
    questions = json.loads((HERE / "drf_questions.json").read_text())
    every = BASELINE["every"]
    return {
        "questions": [
            LabelledQuery(q["query"], urljoin(base, q["page"]), q["heading"]) for q in questions
        ],
        "titles": mkdocs_queries(path, base, source="title", every=every),
        "sentences": mkdocs_queries(path, base, source="text", every=every),
    }


def searcher(index: Index, mode: str) -> Callable[[str, int], list[Chunk]]:
    return lambda query, k: [h.chunk for h in index.search(query, k, mode=mode)]


@pytest.fixture(scope="module")
def measured(
    indexed_old: Path, embedder: Embedder, query_sets: dict[str, list[LabelledQuery]]
) -> dict[str, dict[str, HitRates]]:
    with Index.open(indexed_old, embedder=embedder) as index:
        return {
            name: {
                mode: hit_rates(searcher(index, mode), queries, k=BASELINE["k"])
                for mode in ("dense", "hybrid")
            }
            for name, queries in query_sets.items()
        }


@pytest.mark.parametrize("name", ["questions", "titles", "sentences"])
@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_hit_rates_stay_above_their_floors(
    name: str, mode: str, measured: dict[str, dict[str, HitRates]]
) -> None:
    rates = measured[name][mode].as_dict()
    print(f"{name:>9} {mode:>6}: {rates}")
    floors = BASELINE["floors"][name][mode]
    below = {key: (rates[key], floor) for key, floor in floors.items() if rates[key] < floor}
    assert below == {}, f"{name}/{mode} fell below its floors (measured, floor): {below}"


@pytest.mark.parametrize("name", ["questions", "titles", "sentences"])
def test_hybrid_beats_dense(name: str, measured: dict[str, dict[str, HitRates]]) -> None:
    dense, hybrid = measured[name]["dense"], measured[name]["hybrid"]
    assert hybrid.section_at_1 > dense.section_at_1
    assert hybrid.page_at_1 > dense.page_at_1
    assert hybrid.section_at_k >= dense.section_at_k
