"""Is a sample written in the language it should be? Offline, with py3langid's bundled model.

py3langid is langid.py's maintained fork: pure Python and NumPy, a naive Bayes model over byte
n-grams for 140 languages shipped inside the package, deterministic, about a millisecond a text.
Code, identifiers and URLs are taken out first (they read as no language, or as the wrong one),
and a text left with too few letters is not judged at all: a one-word answer such as "Delhi" has
no language to speak of.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from groundset.languages import primary_language
from groundset.verify.text import code_identifiers, mask_code

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

__all__ = ["MIN_LANGUAGE_LETTERS", "WRONG_LANGUAGE_MAX_PROB", "detect_language", "is_language"]

#: Fewest letters, once code is removed, a text needs before its language is judged.
MIN_LANGUAGE_LETTERS = 25
#: A text is in the wrong language when the requested one gets less than this probability:
#: a low bar, so that close neighbours (Spanish read as Galician) are not refused.
WRONG_LANGUAGE_MAX_PROB = 0.05

_URL = re.compile(r"https?://\S+|www\.\S+")


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _prose(text: str) -> str:
    masked, _ = mask_code(_URL.sub(" ", text))
    for ident in code_identifiers(text):
        masked = re.sub(re.escape(ident), " ", masked, flags=re.I)
    return re.sub(r"\x00\d+\x00", " ", masked)


def detect_language(text: str) -> dict[str, float] | None:
    """Probabilities of each language for the prose of ``text``; None if too little to judge."""
    prose = _prose(text)
    if sum(ch.isalpha() for ch in prose) < MIN_LANGUAGE_LETTERS:
        return None
    return {lang: float(p) for lang, p in _identifier().rank(prose)}


def is_language(text: str, language: str) -> bool | None:
    """Whether ``text`` is in ``language`` (a BCP 47 tag such as "en" or "pt-BR").

    Returns:
        True or False, or None when the text is too short to tell or the language is one the
        model does not know.
    """
    probabilities = detect_language(text)
    code = primary_language(language)
    if probabilities is None or code not in probabilities:
        return None
    return probabilities[code] >= WRONG_LANGUAGE_MAX_PROB
