"""Language tags and names, as every stage reads them."""

from __future__ import annotations

__all__ = ["language_name", "primary_language"]

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
