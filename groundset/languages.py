"""Language tags and names, as every stage reads them."""

from __future__ import annotations

import re

from groundset.errors import UsageError

__all__ = ["language_name", "language_tag", "primary_language"]

# A BCP 47 tag as far as groundset reads one: a language of two or three letters, then subtags
# of one to eight letters or digits ("en", "pt-BR", "zh-Hant-TW"). "english" is a name, not a tag.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")

_NAMES = {
    "am": "Amharic", "ar": "Arabic", "bn": "Bengali", "de": "German", "en": "English",
    "es": "Spanish", "fa": "Persian", "fr": "French", "ha": "Hausa", "he": "Hebrew",
    "hi": "Hindi", "id": "Indonesian", "ig": "Igbo", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ru": "Russian",
    "sw": "Swahili", "ta": "Tamil", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian",
    "ur": "Urdu", "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese", "zu": "Zulu",
}  # fmt: skip


def primary_language(tag: str) -> str:
    """The primary subtag of a BCP 47 tag, lower-cased: "pt-BR" and "pt_br" give "pt"."""
    return tag.strip().lower().replace("_", "-").split("-")[0]


def language_name(tag: str) -> str:
    """The English name of a language tag ("sw" gives "Swahili"), or the tag itself."""
    return _NAMES.get(primary_language(tag), tag)


def language_tag(tag: str, what: str) -> str:
    """``tag`` when it is spelled as a BCP 47 language tag ("en", "pt-BR").

    Raises:
        UsageError: it is not (a language's name such as "english", or nothing).
    """
    if not _LANGUAGE_TAG.fullmatch(tag):
        raise UsageError(
            f"{what} is {tag!r}, not a BCP 47 language tag",
            fix='give a tag of two or three letters, such as "en", "sw" or "pt-BR"',
        )
    return tag
