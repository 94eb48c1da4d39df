"""Lexical ranking and rank fusion, the half of hybrid retrieval that Chroma does not do.

Dense vectors find paraphrases but blur identifiers: ``DEFAULT_THROTTLE_RATES`` and
``DEFAULT_THROTTLE_CLASSES`` sit close together in embedding space. BM25 over identifier-aware
tokens finds the exact name. Reciprocal rank fusion combines the two rankings without having to
calibrate their scores against each other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
from rank_bm25 import BM25Okapi

from groundset.records import Chunk
from groundset.scripts import WORD_CHAR, split_unspaced

__all__ = ["LexicalIndex", "lexical_tokens", "reciprocal_rank_fusion"]

# A word or identifier in any script (letters, digits, underscores and the marks inside a word).
_WORD = re.compile(f"(?:_|{WORD_CHAR})+")
# Parts of an identifier: "JSONRenderer" -> JSON, Renderer; "api_view" -> api, view.
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
# fmt: off
_STOPWORDS = frozenset({
    "a", "about", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does",
    "for", "from", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on",
    "or", "should", "so", "that", "the", "their", "then", "there", "these", "this", "to", "use",
    "using", "was", "what", "when", "where", "which", "who", "why", "will", "with", "would",
    "you", "your",
})
# fmt: on


def _stem(word: str) -> str:
    """Porter's step 1a: plural endings only, enough to match "serializers" with "serializer"."""
    if word.endswith("sses") or word.endswith("ies"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _unaccented(word: str) -> str:
    """A Latin word without its accents ("déjà" -> "deja"); other words as they are."""
    if word.isascii():
        return word
    bare = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return bare if bare.isascii() else word


def lexical_tokens(text: str) -> list[str]:
    """Lower-cased, singular tokens, identifiers kept whole and also split into their parts.

    ``ModelSerializer`` gives ``modelserializer``, ``model``, ``serializer``;
    ``DEFAULT_THROTTLE_RATES`` gives ``default_throttle_rate``, ``default``, ``throttle``,
    ``rate``. Stop words are dropped, so questions weigh their content words. Words of other
    scripts are kept whole, and text written without spaces is cut into character pairs:
    "を設定します" gives "を設", "設定", "定し", "しま", "ます".
    """
    tokens: list[str] = []
    for match in _WORD.finditer(text):
        # Text written without spaces is cut into character pairs (see groundset.scripts).
        for word in split_unspaced(_unaccented(match.group())):
            if not word.isascii():
                tokens.append(word.lower())
                continue
            parts = [p.lower() for p in _PART.findall(word)]
            whole = word.strip("_").lower()
            if len(parts) > 1:
                tokens.append(_stem(whole))
            tokens.extend(_stem(p) for p in parts if p not in _STOPWORDS)
    return tokens


class LexicalIndex:
    """BM25 over a fixed list of chunks, held in memory.

    Args:
        chunks: the chunks to rank.
    """

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self._bm25 = BM25Okapi([lexical_tokens(c.text) for c in self.chunks]) if chunks else None

    def search(
        self, query: str, n: int, keep: Callable[[Chunk], bool] | None = None
    ) -> list[tuple[Chunk, float]]:
        """The best ``n`` chunks for ``query`` among those ``keep`` accepts, best first.

        Chunks that share no token with the query are never returned.
        """
        tokens = lexical_tokens(query)
        if self._bm25 is None or not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        ranked: list[tuple[Chunk, float]] = []
        for i in np.argsort(-scores, kind="stable"):
            if scores[i] <= 0 or len(ranked) == n:
                break
            chunk = self.chunks[int(i)]
            if keep is None or keep(chunk):
                ranked.append((chunk, float(scores[i])))
        return ranked


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = 60
) -> list[tuple[str, float]]:
    """Fuse rankings of ids: each id scores the sum of ``1 / (k + rank)`` over the rankings.

    Args:
        rankings: ids, best first, one list per ranker.
        k: damping; 60 is the value of Cormack et al. (2009), robust across collections.

    Returns:
        ``(id, score)`` pairs, best first; ties keep the order of first appearance.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])
