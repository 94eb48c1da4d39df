"""Text primitives shared by the checkers and filters: normalising, words, sentences, anchors.

Everything here is deterministic, language-light and needs no model. English gets a stop-word
list; other languages still work, only with more words counted as content.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from groundset.scripts import WORD_CHAR, split_unspaced

__all__ = [
    "STOPWORDS",
    "code_identifiers",
    "content_words",
    "fold",
    "mask_code",
    "named_terms",
    "negated_stems",
    "numbers",
    "split_sentences",
    "stem",
    "unmask_code",
    "words",
]

# English function words: they carry no checkable content of their own.
_STOPWORD_LIST = """
a an the and or but if then else of to in on at by for with from as is are was were be been being
this that these those it its he she they them his her their we our you your i me my so than too
very can will just do does did done have has had having into over under about after before between
during through up down out off again further once here there when where why how all any both each
few more most other some such only own same s t should now also which who whom whose what while
would could may might must shall one us via per not no nor yes cannot ca wo
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_LIST.split())

# Typographic variants a generator or an HTML-to-Markdown step may swap for the plain ones.
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\u200b": "",
    }
)

_WORD = re.compile(f"{WORD_CHAR}+(?:'{WORD_CHAR}+)*")
# Past five letters a word's tail is mostly derivation ("paginate", "pagination"): cutting there
# joins a word family without a lexicon, in any language written with spaces.
_STEM_LENGTH = 5
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


# Markdown's backslash escapes ("ALLOWED\\_VERSIONS"), which HTML-to-Markdown conversion writes.
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")


def fold(text: str) -> str:
    """Normalise Unicode, typographic quotes and dashes, accents on Latin letters, and Markdown's
    backslash escapes.

    Accents are dropped only after Latin letters, so "Bolaño" matches "Bolano" while the vowel
    signs of scripts such as Devanagari, which are combining marks too, are kept.
    """
    decomposed = unicodedata.normalize("NFKD", _ESCAPED.sub(r"\1", text.translate(_TRANSLATE)))
    out: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char) and out and ord(out[-1]) < 0x250:
            continue
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def words(text: str) -> list[str]:
    """The lower-cased words of ``text``, apostrophes inside words kept ("don't"); text in a
    script written without spaces is cut into character pairs (see :mod:`groundset.scripts`)."""
    return [part for w in _WORD.findall(fold(text)) for part in split_unspaced(w.lower())]


def stem(word: str) -> str:
    """A crude, lexicon-free stem: one inflectional suffix off, then the first five letters.

    "turns", "turned" and "turning" all give "turn"; "pagination" and "paginated" give "pagin".
    """
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            # "class", "status" and "analysis" end in s but are no plurals.
            if suffix != "s" or not word.endswith(("ss", "us", "is")):
                word = word[: -len(suffix)]
            break
    return word[:_STEM_LENGTH]


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning: no stop words, no possessive ``'s``.

    Negated forms ("wasn't") lose their negation, which :func:`negated_stems` tracks instead.
    """
    out = []
    for word in words(text):
        word = word.removesuffix("'s").removesuffix("n't")
        if word and word not in STOPWORDS:
            out.append(word)
    return out


_CODE_SPAN = re.compile(r"```.*?```|`[^`\n]+`", re.S)


def mask_code(text: str) -> tuple[str, list[str]]:
    """Replace Markdown code spans and blocks by placeholders, so that no rule splits them.

    Returns:
        The masked text (each span becomes ``\\x00N\\x00``) and the spans, in order. A NUL of
        the text itself becomes a space: it would read as a placeholder's.
    """
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    return _CODE_SPAN.sub(keep, text.replace("\x00", " ")), spans


def unmask_code(text: str, spans: list[str]) -> str:
    """Put back the code spans :func:`mask_code` took out."""
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)


_ABBREVIATION_LIST = (
    "e.g i.e etc vs cf al fig no nos vol mr mrs ms dr prof st jr sr inc ltd co corp u.s u.k"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
# A sentence ends at . ! or ? followed by space, or glued to a capitalised word as when two
# paragraphs are joined without a space ("...century.First for Women is"), and at line breaks.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|(?<=[a-z]{2}[.!?])(?=[A-Z][a-z]+\s)|\s*\n\s*")


# A line that starts a block of its own: a list item, a heading, a table row, a quote, a fence.
_BLOCK_START = re.compile(r"^\s*(?:[-+*]\s|\d+[.)]\s|#|\||>|```|~~~)")
_MASKED_START = re.compile(r"^\s*\x00(\d+)\x00")


def _starts_block(line: str, spans: list[str]) -> bool:
    """Whether a (masked) line starts a block; a line opening with inline code does not."""
    masked = _MASKED_START.match(line)
    if masked:
        span = spans[int(masked.group(1))]
        return "\n" in span or span.startswith(("```", "~~~"))
    return bool(_BLOCK_START.match(line))


def _soft_wrap(before: str, after: str, spans: list[str]) -> bool:
    """Whether a single line break between ``before`` and ``after`` only wraps a paragraph.

    Markdown written by hand, and extracted from such pages, wraps paragraphs at some width: a
    line that does not end a sentence, followed by one that starts in lower case and no block of
    its own, continues the same sentence.
    """
    last = before.rstrip()
    return bool(
        last
        and last[-1] not in ".!?:;"
        and not _starts_block(before.rsplit("\n", 1)[-1], spans)
        and not _starts_block(after, spans)
        and (after[:1].islower() or after[:1] in "`([\"'\x00")
    )


def split_sentences(text: str) -> list[str]:
    """Split text into sentences, never inside a code span, a decimal or an abbreviation.

    Lines are sentences too: in Markdown and in extracted web pages a line break ends a
    paragraph, a list item or a table row. A paragraph wrapped over several lines is not split
    at its line breaks (see :func:`_soft_wrap`).
    """
    masked, spans = mask_code(text)
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(masked):
        before = masked[start : match.start()].rstrip()
        last = before.rsplit(None, 1)[-1].rstrip(".").lower() if before.strip() else ""
        separator = match.group(0)
        is_newline = "\n" in separator
        if is_newline:
            if separator.count("\n") == 1 and _soft_wrap(before, masked[match.end() :], spans):
                continue
        elif last in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last):
            continue
        sentences.append(masked[start : match.end()])
        start = match.end()
    sentences.append(masked[start:])
    return [s for s in (unmask_code(s, spans).strip() for s in sentences) if s]


_NUMBER = re.compile(r"(?<!\d)\d+(?:[.,]\d+)*")
_NUMBER_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "twenty": "20",
    "hundred": "100",
    "thousand": "1000",
}


def _canonical_number(raw: str) -> str:
    # "1,000" and "1000" are one number; "3.14" and "2.1.0" (a version) keep their dots.
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw):
        raw = raw.replace(",", "")
    if raw.isdigit():
        return raw.lstrip("0") or "0"
    return raw


def numbers(text: str) -> set[str]:
    """Numbers, years, versions and spelled-out numbers of ``text``, in one canonical form.

    "five" and "5" give the same value; "one" is left out because it is mostly a pronoun.
    """
    folded = fold(text)
    found = {_canonical_number(raw) for raw in _NUMBER.findall(folded)}
    found.update(_NUMBER_WORDS[w] for w in words(folded) if w in _NUMBER_WORDS)
    return found


_IDENTIFIER = re.compile(
    r"""(?x)
    [A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+(?:\(\))?   # dotted: rest_framework.pagination
    | [A-Za-z]\w*_\w*                              # snake or upper case with _: PAGE_SIZE
    | [a-z]+[A-Z]\w*                               # camelCase
    | [A-Z][a-z0-9]+[A-Z]\w*                       # CamelCase: PageNumberPagination
    | \w+\(\)                                      # a call: get_queryset()
    """
)


@lru_cache(maxsize=4096)
def code_identifiers(text: str) -> frozenset[str]:
    """The code identifiers of ``text``: backticked spans, dotted, snake, camel names, calls.

    File names and URLs are identifiers too ("settings.py"): they must be quoted exactly.
    """
    masked, spans = mask_code(text)
    found = {s.strip("`").strip() for s in spans if "\n" not in s.strip("`").strip()}
    found.update(m.group(0) for m in _IDENTIFIER.finditer(fold(masked)))
    return frozenset(f.lower() for f in found if f and not re.fullmatch(r"[\d.]+", f))


_CAPITALISED = re.compile(r"\b[A-Z][^\W_]*(?:'[^\W_]+)*")


@lru_cache(maxsize=4096)
def named_terms(text: str) -> frozenset[str]:
    """Capitalised words that are not stop words: names, products, acronyms, months.

    The first word of a sentence counts too: a common word there ("Pagination") is found in the
    evidence anyway, and a name there ("Arnold is ...") must be.
    """
    masked, _ = mask_code(fold(text))
    found = set()
    for match in _CAPITALISED.finditer(masked):
        word = match.group(0).lower().removesuffix("'s")
        if word not in STOPWORDS:
            found.add(word)
    return frozenset(found)


# "None" is Python's null far more often than a negation in documentation: only "None of" counts.
_NEGATION = re.compile(
    r"(?i:\b(?:not|no|never|nobody|nothing|neither|nor|without|cannot)\b)(?!\s+only)"
    r"|(?i:n't)\b|\bnone\b|\bNone(?=\s+of\b)"
)
# How many words after a negation cue it is taken to govern ("is not performed automatically").
_NEGATION_REACH = 3
_CLAUSE_END = re.compile(r"[.:;!?,()]\s|\n")
# The fence lines of a code block: prose fenced by extraction (release notes, changelogs)
# negates like any prose, while inline code spans stay masked.
_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~).*$", re.MULTILINE)


def negated_stems(text: str) -> set[str] | None:
    """Stems of the content words right after each negation cue, or None if nothing is negated.

    "not only" is no negation. An empty set means a negation with no content word in reach.
    """
    folded, _ = mask_code(_FENCE_LINE.sub("", fold(text)))
    matches = list(_NEGATION.finditer(folded))
    if not matches:
        return None
    governed: set[str] = set()
    for match in matches:
        # A negation governs its own clause: "needs no model: it measures" negates no measuring.
        clause = _CLAUSE_END.split(folded[match.end() :], maxsplit=1)[0]
        following = words(clause)[:_NEGATION_REACH]
        governed.update(stem(w) for w in following if w not in STOPWORDS)
    return governed


# A condition's other side stated without a negation cue: "the object checks for user-defined
# settings, and otherwise falls back to the defaults" says what happens when there are none.
_CONTRAST = re.compile(r"\b(?:otherwise|unless|except|instead|rather\s+than)\b", re.IGNORECASE)
_CONDITION = re.compile(r"\b(?:if|when|whenever|unless)\b", re.IGNORECASE)


def states_the_contrary(text: str) -> bool:
    """Whether ``text`` says what holds when something else does not, without a negation cue."""
    return _CONTRAST.search(text) is not None


def negates_only_conditions(text: str) -> bool:
    """Whether every negation of ``text`` sits in a condition ("if no settings are defined")."""
    folded, _ = mask_code(_FENCE_LINE.sub("", fold(text)))
    matches = list(_NEGATION.finditer(folded))
    if not matches:
        return False
    for match in matches:
        clause = _CLAUSE_END.split(folded[: match.start()])[-1]
        if _CONDITION.search(clause) is None:
            return False
    return True


def plainly_stated(text: str) -> set[str]:
    """Stems of the content words of ``text`` that occur outside every negation's reach.

    "It splits train and eval by source document, so that no document feeds both sides"
    negates a document feeding both sides, yet states "document" plainly too.
    """
    folded, _ = mask_code(_FENCE_LINE.sub("", fold(text)))
    governed: set[int] = set()
    for match in _NEGATION.finditer(folded):
        clause = _CLAUSE_END.split(folded[match.end() :], maxsplit=1)[0]
        reach = list(_WORD.finditer(clause))[:_NEGATION_REACH]
        governed.update(match.end() + w.start() for w in reach)
    return {
        stem(w.group(0).lower())
        for w in _WORD.finditer(folded)
        if w.start() not in governed and w.group(0).lower() not in STOPWORDS
    }
