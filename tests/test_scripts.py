"""Words in scripts written without spaces: cut, counted and ranked, on real docs text."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundset.crawl.extract import extract
from groundset.ground.retrieve import LexicalIndex, lexical_tokens
from groundset.records import Chunk
from groundset.scripts import count_words, split_unspaced
from groundset.verify.filters import FilterOptions, length_problem
from groundset.verify.text import words

IMMER = Path(__file__).parent / "fixtures" / "sites" / "immer" / "immer"


def _page(path: str) -> str:
    html = (IMMER / path / "index.html").read_text(encoding="utf-8")
    extraction = extract(html, f"http://127.0.0.1/immer/{path}/")
    assert extraction is not None
    return extraction.markdown


def test_unspaced_text_is_cut_into_character_pairs_and_the_rest_left_whole() -> None:
    assert split_unspaced("検証します") == ["検証", "証し", "しま", "ます"]
    assert split_unspaced("Immer的API") == ["Immer", "的", "API"]
    assert split_unspaced("serializer") == ["serializer"]
    # Devanagari's vowel signs stay inside their word.
    assert words("डेटा सत्यापित नहीं") == ["डेटा", "सत्यापित", "नहीं"]


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        # シリアライザ は 保存 する 前 に データ を 検証 しません: 10 words.
        ("シリアライザは保存する前にデータを検証しません。", 8, 14),
        # 序列化器 在 保存 之前 不会 验证 数据: 7 words.
        ("序列化器在保存之前不会验证数据。", 6, 10),
        ("सीरियलाइज़र डेटा को सहेजने से पहले सत्यापित नहीं करता है।", 10, 10),
        ("Don't call `ModelSerializer.save()` twice.", 5, 5),
    ],
)
def test_words_are_counted_as_a_reader_counts_them(text: str, low: int, high: int) -> None:
    assert low <= count_words(text) <= high


def test_a_japanese_answer_is_not_too_short() -> None:
    question = "`immerable`シンボルは何のために使いますか？"
    answer = "クラスのインスタンスをImmerと互換性があるものとしてマークするために使います。"
    assert length_problem(question, answer, FilterOptions()) is None
    assert length_problem("何？", "はい", FilterOptions()) == "too_short"


def test_bm25_finds_a_chinese_section_by_its_words() -> None:
    pages = {p: _page(f"zh-CN/{p}") for p in ("complex-objects", "pitfalls", "installation")}
    chunks = [
        Chunk(id=p, doc_url=f"http://127.0.0.1/immer/zh-CN/{p}/", text=t, content_sha256="0")
        for p, t in pages.items()
    ]
    assert len(lexical_tokens(pages["complex-objects"])) > 200
    hits = LexicalIndex(chunks).search("哪些对象总是可以更新？它的原型会保留吗", 3)
    assert hits[0][0].id == "complex-objects"
