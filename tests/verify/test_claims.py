"""Which statements of a sample get checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from groundset.records import Message
from groundset.verify import sample_claims, sample_text, split_claims


def test_answer_splits_into_sentences_and_clauses() -> None:
    answer = (
        "Pagination is only performed automatically if you use the generic views; with a "
        "regular `APIView` you must call the pagination API yourself. Both "
        "`DEFAULT_PAGINATION_CLASS` and `PAGE_SIZE` are `None` by default, and you need to set "
        "both of them in settings.py.\n- Set `pagination_class = None` to turn it off.\nYes."
    )
    assert split_claims(answer) == [
        "Pagination is only performed automatically if you use the generic views",
        "with a regular `APIView` you must call the pagination API yourself.",
        "Both `DEFAULT_PAGINATION_CLASS` and `PAGE_SIZE` are `None` by default",
        "and you need to set both of them in settings.py.",
        "Set `pagination_class = None` to turn it off.",
    ]


def test_short_tails_stay_with_their_clause() -> None:
    assert split_claims("It supports limits, offsets, and so on.") == [
        "It supports limits, offsets, and so on."
    ]


def test_code_blocks_stay_whole() -> None:
    answer = "Use this:\n```python\nREST_FRAMEWORK = {\n    'PAGE_SIZE': 100\n}\n```"
    assert split_claims(answer) == [
        "Use this:",
        "```python\nREST_FRAMEWORK = {\n    'PAGE_SIZE': 100\n}\n```",
    ]


def test_answer_clauses_the_claims_leave_out_are_added(
    make_sample: Callable[..., Any], pagination_chunks: dict[str, Any]
) -> None:
    chunk = pagination_chunks["Pagination"]
    sample = make_sample(
        "s1",
        "How do I turn pagination off?",
        "Pagination can be turned off by setting the pagination class to None. "
        "It was added in version 3.1.",
        [
            (
                "Pagination can be turned off by setting the pagination class to None.",
                [(chunk, "Pagination can be turned off by setting the pagination class to None")],
            )
        ],
    )
    claims = sample_claims(sample)
    assert [(c.text, c.from_answer) for c in claims] == [
        ("Pagination can be turned off by setting the pagination class to None.", False),
        ("It was added in version 3.1.", True),
    ]
    assert claims[0].citations[0].chunk_id == chunk.id


def test_source_text_is_what_gets_checked(make_sample: Callable[..., Any]) -> None:
    from groundset.records import Claim

    claim = Claim(
        text="La paginación se desactiva poniendo la clase de paginación en None.",
        source_text="Pagination can be turned off by setting the pagination class to None.",
    )
    sample = make_sample("s2", "¿Cómo se desactiva?", claim.text, [claim], language="es")
    first = sample_claims(sample)[0]
    assert first.text == claim.text
    assert first.checked_text == claim.source_text


def test_conversation_samples_give_question_and_answer(make_sample: Callable[..., Any]) -> None:
    sample = make_sample("s3", "", "", []).model_copy(
        update={
            "question": None,
            "answer": None,
            "messages": [
                Message(role="system", content="Answer from the docs."),
                Message(role="user", content="What does PAGE_SIZE default to?"),
                Message(role="assistant", content="It is None by default."),
            ],
        }
    )
    assert sample_text(sample) == ("What does PAGE_SIZE default to?", "It is None by default.")
