"""The LLM judge's mechanics against a real llama.cpp server: the default local model.

A 0.5B model is no judge to trust; what is tested is how it is asked: one request per evidence,
a grammar where the server takes no json_schema, graded scores from the server's token
log-probabilities, and answers cached by content.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from groundset.generate import LocalModelServer
from groundset.verify import make_checker

SUPPORTED = "Pagination can be turned off by setting the pagination class to None."
INVENTED = "Pagination is always turned on for every API, and it cannot be turned off."


@pytest.mark.slow
def test_the_judge_on_the_local_server_asks_once_grades_and_caches(
    local_model: LocalModelServer, pagination_sections: dict[str, str], tmp_path: Path
) -> None:
    evidence = pagination_sections["Pagination"]
    cache = tmp_path / "judge.sqlite"
    options = {"llm_model": local_model.model, "llm_base_url": local_model.base_url}
    checker = make_checker("llm", llm_cache=cache, **options)
    results = checker.check([(SUPPORTED, evidence), (INVENTED, evidence)])
    assert checker.client.usage.calls == 1, "both claims of one evidence in one request"
    assert checker.client.json_schema_refused, "llama-cpp-python takes a grammar instead"
    # Graded, not 0 or 1: the server's log-probabilities of true against false.
    assert all(0.0 < r.score < 1.0 for r in results), [r.score for r in results]
    assert all(r.supported == (r.score >= checker.threshold) for r in results)
    again = make_checker("llm", llm_cache=cache, **options)
    assert [r.score for r in again.check([(SUPPORTED, evidence), (INVENTED, evidence)])] == [
        r.score for r in results
    ]
    assert again.client.usage.calls == 0 and again.client.usage.cache_hits == 1
