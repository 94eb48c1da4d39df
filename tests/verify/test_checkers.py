"""The checker backends through their one protocol: registry, embedding, NLI, LLM judge, cascade."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import groundset.verify.registry as registry
from groundset.errors import UsageError, VerificationError
from groundset.verify import (
    CalibratedChecker,
    CascadeChecker,
    Checker,
    LexicalChecker,
    NLIChecker,
    Support,
    available_checkers,
    judge_models,
    make_checker,
    parse_judgement,
    register_checker,
)
from groundset.verify.nli import entailment_index
from groundset.verify.text import split_sentences

SUPPORTED = "You can turn pagination off by setting the pagination class to None."
NEGATED = "Pagination cannot be turned off by setting the pagination class to None."
OFF_TOPIC = "Throttling limits the rate of requests that clients can make to an API."


def test_registry_names_and_errors() -> None:
    assert available_checkers() == [
        "calibrated", "cascade", "embedding", "lexical", "llm", "nli", "overlap"
    ]  # fmt: skip
    assert isinstance(make_checker(), CalibratedChecker)
    assert make_checker("lexical", threshold=0.9).threshold == 0.9
    with pytest.raises(UsageError, match="unknown checker 'bm25'"):
        make_checker("bm25")
    with pytest.raises(UsageError, match="nli_modle"):
        make_checker("lexical", nli_modle="x")
    with pytest.raises(UsageError, match="needs a model"):
        make_checker("nli")
    with pytest.raises(UsageError, match="needs a judge model"):
        make_checker("llm")


def test_registered_checkers_follow_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    # A private copy of the registry, so that no other test sees the extra checker.
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    class Always:
        name = "always"
        threshold = 0.5

        def check(self, pairs: Any) -> list[Support]:
            return [Support(True, 1.0) for _ in pairs]

    register_checker("always", lambda options: Always())
    checker = make_checker("always")
    assert isinstance(checker, Checker)
    assert checker.check([("a", "b"), ("c", "d")]) == [Support(True, 1.0)] * 2
    assert "always" in available_checkers()


def test_embedding_checker_prefers_the_right_window(
    embedding_checker: Any, pagination_sections: dict[str, str]
) -> None:
    evidence = pagination_sections["Pagination"]
    on_topic, off_topic = embedding_checker.check([(SUPPORTED, evidence), (OFF_TOPIC, evidence)])
    assert on_topic.supported
    assert on_topic.evidence.startswith("Pagination can be turned off")
    assert not off_topic.supported
    assert off_topic.reasons == ("unsupported_claim",)
    assert on_topic.score > off_topic.score + 0.3


def test_nli_checker_runs_a_local_cross_encoder(
    tiny_nli_model: Path, pagination_sections: dict[str, str]
) -> None:
    checker = make_checker("nli", nli_model=str(tiny_nli_model))
    assert isinstance(checker, NLIChecker)
    assert checker.entailment == 1  # read from the model's own id2label
    evidence = pagination_sections["Pagination"]
    results = checker.check([(SUPPORTED, evidence), (OFF_TOPIC, evidence)])
    assert len(results) == 2
    for result in results:
        # Random weights judge nothing; a softmax over three labels is all we can know.
        assert 0.0 < result.score < 1.0
        assert result.supported == (result.score >= checker.threshold)
        # The deciding window is made of the evidence's own sentences.
        assert all(s in evidence for s in split_sentences(result.evidence))


def test_nli_label_discovery() -> None:
    assert entailment_index({0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"}) == 0
    assert entailment_index({0: "not_supported", 1: "supported"}) == 1
    assert entailment_index({0: "LABEL_0"}) is None
    with pytest.raises(VerificationError, match="no entailment label"):
        entailment_index({0: "LABEL_0", 1: "LABEL_1"})


def test_nli_model_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match="cannot load the NLI model"):
        make_checker("nli", nli_model=str(tmp_path / "missing-model"))


def test_judge_replies_are_parsed() -> None:
    assert parse_judgement('{"claim_1": true, "claim_2": false}', 2) == [True, False]
    assert parse_judgement('Sure!\n```json\n{"claim_1": false}\n```', 1) == [False]
    assert parse_judgement('{"claim_1": "yes"}', 2) == [None, None]
    assert parse_judgement("I cannot tell.", 1) == [None]


def _answer_tokens(verdicts: dict[int, float]) -> tuple[str, list[Any]]:
    """A judge's reply and its token log-probabilities: P(true) for each claim as given."""
    tokens: list[Any] = [("{", 0.0, {})]
    reply = "{"
    for n, p in verdicts.items():
        key = f'"claim_{n}": ' if n == 1 else f', "claim_{n}": '
        chosen = "true" if p >= 0.5 else "false"
        tokens.append((key, 0.0, {}))
        tokens.append((chosen, math.log(max(p, 1 - p)),
                       {"true": math.log(p), "false": math.log(1 - p)}))  # fmt: skip
        reply += key + chosen
    tokens.append(("}", 0.0, {}))
    return reply + "}", tokens


def test_llm_judge_asks_once_per_evidence_and_grades_from_logprobs(
    scripted_judge: Callable[..., Any], pagination_sections: dict[str, str], tmp_path: Path
) -> None:
    evidence = pagination_sections["Pagination"]
    other = pagination_sections["Setting the pagination style"]

    def script(body: dict[str, Any]) -> Any:
        claims = body["messages"][-1]["content"].rsplit("Claims:\n", 1)[1].splitlines()
        grades = {1: 0.9, 2: 0.2, 3: 0.6} if len(claims) == 3 else {1: 0.8}
        return _answer_tokens(grades)

    judge = scripted_judge(script)
    cache = tmp_path / "judge.sqlite"
    checker = make_checker(
        "llm", llm_model="judge-model", llm_base_url=judge.url, llm_api_key="k", llm_cache=cache
    )
    pairs = [(SUPPORTED, evidence), (NEGATED, evidence), (OFF_TOPIC, evidence), (SUPPORTED, other)]
    results = checker.check(pairs)
    assert [round(r.score, 3) for r in results] == [0.9, 0.2, 0.6, 0.8]
    assert [r.supported for r in results] == [True, False, True, True]
    assert results[1].reasons == ("unsupported_claim",)
    # One request for the three claims on one evidence, one for the fourth.
    assert len(judge.requests) == 2
    request = next(r for r in judge.requests if "claim_3" in r["messages"][-1]["content"])
    assert request["path"] == "/v1/chat/completions" and request["model"] == "judge-model"
    assert request["temperature"] == 0 and request["logprobs"] is True
    schema = request["response_format"]["json_schema"]["schema"]
    assert list(schema["properties"]) == ["claim_1", "claim_2", "claim_3"]
    assert "Pagination can be turned off" in request["messages"][-1]["content"]
    assert judge_models(checker) == {"judge-model"}
    # Cached by content: the same claims cost nothing the second time.
    again = make_checker(
        "llm", llm_model="judge-model", llm_base_url=judge.url, llm_api_key="k", llm_cache=cache
    )
    assert [r.score for r in again.check(pairs)] == [r.score for r in results]
    assert len(judge.requests) == 2


def test_llm_judge_without_logprobs_scores_one_or_zero(
    scripted_judge: Callable[..., Any], pagination_sections: dict[str, str]
) -> None:
    judge = scripted_judge(lambda body: '```json\n{"claim_1": true, "claim_2": false}\n```')
    checker = make_checker("llm", llm_model="m", llm_base_url=judge.url, llm_api_key="k")
    evidence = pagination_sections["Pagination"]
    results = checker.check([(SUPPORTED, evidence), (NEGATED, evidence)])
    assert [(r.supported, r.score) for r in results] == [(True, 1.0), (False, 0.0)]


def test_llm_judge_unreachable_is_a_verification_error() -> None:
    checker = make_checker("llm", llm_model="m", llm_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(VerificationError, match="cannot be used"):
        checker.check([(SUPPORTED, "Pagination can be turned off.")])


class Scripted:
    """A stage that returns fixed scores and records what it was asked."""

    def __init__(self, name: str, threshold: float, scores: dict[str, float]) -> None:
        self.name = name
        self.threshold = threshold
        self.scores = scores
        self.seen: list[str] = []

    def check(self, pairs: Any) -> list[Support]:
        self.seen.extend(claim for claim, _ in pairs)
        return [
            Support(self.scores[c] >= self.threshold, self.scores[c], reasons=()) for c, _ in pairs
        ]


def test_cascade_sends_on_only_uncertain_claims() -> None:
    cheap = Scripted("cheap", 0.5, {"sure yes": 0.9, "sure no": 0.1, "near": 0.55, "low": 0.45})
    dear = Scripted("dear", 0.7, {"near": 0.2, "low": 0.95})
    cascade = CascadeChecker([cheap, dear], band=0.1)
    results = cascade.check([(c, "e") for c in ["sure yes", "sure no", "near", "low"]])
    assert dear.seen == ["near", "low"]
    assert cascade.escalated == [4, 2]
    assert [r.supported for r in results] == [True, False, False, True]
    # Claims the first stage was sure of keep its scores; the others land inside its band.
    assert [round(r.score, 3) for r in results] == [0.9, 0.1, 0.4, 0.6]


def test_cascade_never_overturns_a_certain_refusal(pagination_sections: dict[str, str]) -> None:
    dear = Scripted("dear", 0.5, {})
    cascade = CascadeChecker([LexicalChecker(), dear])
    evidence = pagination_sections["Setting the pagination style"]
    (result,) = cascade.check(
        [("Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are 100 by default.", evidence)]
    )
    assert result.reasons == ("number_mismatch",)
    assert dear.seen == []


def test_default_cascade_is_the_default_checker_then_the_configured_models() -> None:
    cascade = make_checker("cascade", llm_model="judge", llm_base_url="http://127.0.0.1:9/v1")
    assert isinstance(cascade, CascadeChecker)
    assert [s.name for s in cascade.stages] == ["calibrated", "llm"]
    assert [s.name for s in make_checker("cascade").stages] == ["calibrated"]
    with pytest.raises(UsageError, match="cannot contain itself"):
        make_checker("cascade", cascade=["lexical", "cascade"])
