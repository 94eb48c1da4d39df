"""Words in every script: where text written without spaces between words is cut, and counted.

Chinese, Japanese, Thai, Lao, Khmer, Myanmar and Tibetan put no space between words, so a
sentence is one "word" to a tokenizer that splits on spaces: a Japanese answer counts as one
word (too short), a Chinese paragraph is one BM25 term, and two paragraphs share no shingle.
Without a segmenter for each language (a lexicon per language, and the wrong ones for docs
jargon), the robust cut is the one search engines use for these scripts: overlapping character
pairs. Lengths are counted in words as a reader would: a run of these characters counts as its
length over the average word length of its script.
"""

from __future__ import annotations

import math
import re

__all__ = ["UNSPACED", "WORD_CHAR", "count_words", "is_unspaced", "split_unspaced"]

# Han (with extensions and compatibility ideographs), kana, Thai, Lao, Tibetan, Myanmar, Khmer.
_RANGES = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\u0e00-\u0e7f\u0e80-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff"
)
#: One character of a script written without spaces between words.
UNSPACED = re.compile(f"[{_RANGES}]")
_RUNS = re.compile(f"[{_RANGES}]+|[^{_RANGES}]+")
# Characters per word, on average: Chinese and Japanese words are one to three characters; the
# Southeast Asian scripts write vowels and tones as characters of their own.
_HAN_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CHARS_PER_WORD_HAN = 2
_CHARS_PER_WORD_OTHER = 4
# The vowel signs and viramas of the Indic and Southeast Asian scripts, and the marks of Arabic
# and Hebrew, are not word characters to ``re`` ("सत्यापित" would fall into five pieces); the
# dandas (U+0964, U+0965) end sentences and stay out.
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f"
    "\u0900-\u0963\u0966-\u0dff\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff"
)
#: One character of a word, in any script: a letter or digit, or a mark inside a word.
WORD_CHAR = f"(?:[^\\W_]|[{_MARKS}])"
_WORD = re.compile(f"{WORD_CHAR}+(?:'{WORD_CHAR}+)*")


def is_unspaced(word: str) -> bool:
    """Whether ``word`` holds a character of a script written without spaces."""
    return UNSPACED.search(word) is not None


def split_unspaced(word: str) -> list[str]:
    """``word`` cut where it is written without spaces: runs of such characters become their
    overlapping character pairs (a lone character stays whole), anything else stays as it is.

    "検証します" gives "検証", "証し", "しま", "ます"; "Immer的API" gives "Immer", "的", "API".
    """
    if not is_unspaced(word):
        return [word]
    out: list[str] = []
    for run in _RUNS.findall(word):
        if not UNSPACED.match(run) or len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def count_words(text: str) -> int:
    """How many words ``text`` holds, in any script.

    Words written with spaces count one each (letters, digits and the marks inside a word, so
    that Devanagari's vowel signs do not cut one in pieces); a run of unspaced characters
    counts its length over its script's average word length, rounded up.
    """
    total = 0
    for run in _RUNS.findall(text):
        if UNSPACED.match(run):
            per_word = _CHARS_PER_WORD_HAN if _HAN_KANA.match(run) else _CHARS_PER_WORD_OTHER
            total += math.ceil(len(run) / per_word)
        else:
            total += len(_WORD.findall(run))
    return total
