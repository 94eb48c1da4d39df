"""What ``groundset index`` and ``groundset search`` do, behind plain arguments.

The command line parses flags and calls these; they print what the user sees and return what
they did, so they can be tested and scripted without a shell.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from groundset.corpus import Corpus
from groundset.ground.index import Index, IndexSummary
from groundset.ground.settings import IndexSettings
from groundset.records import Hit

__all__ = ["index_command", "search_command"]

_SNIPPET = 240


class _Progress:
    """Prints "indexing: N/M chunks" as an update goes: in place on a terminal, else by tenths."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        if total == 0:
            return
        tenth = done * 10 // total
        if self._live:
            end = "\n" if done == total else ""
            print(f"\rindexing: {done}/{total} chunks", end=end, file=self._stream, flush=True)
        elif tenth > self._shown:
            self._shown = tenth
            print(f"indexing: {done}/{total} chunks", file=self._stream, flush=True)


def index_command(
    corpus: Path,
    *,
    chroma_url: str | None = None,
    embedder: str | None = None,
    rebuild: bool = False,
    settings: IndexSettings | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> IndexSummary:
    """``groundset index --corpus DIR [--chroma-url URL] [--embedder NAME_OR_PATH] [--rebuild]``.

    Args:
        corpus: the corpus directory.
        chroma_url: keep the index on this Chroma server instead of ``DIR/index/``.
        embedder: the sentence-transformers model, by name or path.
        rebuild: drop the index and embed everything again.
        settings: the ``[index]`` settings from the project file and environment.
        out: where the summary line goes (standard output when None, looked up at call time).
        err: where progress goes (standard error when None).

    Returns:
        The summary that was printed.

    Raises:
        UsageError: ``corpus`` is not a corpus.
        IndexStoreError: the index cannot be opened, or was built with another embedder.
    """
    with (
        Corpus(corpus) as pages,
        Index.open(corpus, chroma_url=chroma_url, embedder=embedder, settings=settings) as index,
    ):
        summary = index.update(pages, rebuild=rebuild, progress=_Progress(err or sys.stderr))
        where = index.settings.chroma_url or corpus / "index"
        print(
            f"index of {corpus} ({index.embedder.name}, {where}): {summary}", file=out or sys.stdout
        )
    return summary


def search_command(
    corpus: Path,
    query: str,
    *,
    k: int = 5,
    mode: str = "hybrid",
    chroma_url: str | None = None,
    embedder: str | None = None,
    settings: IndexSettings | None = None,
    out: TextIO | None = None,
) -> list[Hit]:
    """``groundset search --corpus DIR QUERY [-k N]``: print the best chunks for a query.

    Each hit is printed as its rank, score, heading path and URL, its chunk id, and the start
    of its text.

    Args:
        corpus: the corpus directory.
        query: what to look for.
        k: how many hits.
        mode: ``hybrid``, ``dense`` or ``lexical``.
        chroma_url: the Chroma server holding the index, if it is not in ``DIR/index/``.
        embedder: the model, if not the one that built the index.
        settings: the ``[index]`` settings from the project file and environment.
        out: where the hits go (standard output when None).

    Returns:
        The hits that were printed.

    Raises:
        UsageError: a bad mode or ``k``, or no corpus directory.
        IndexStoreError: no index yet, or one built with another embedder.
    """
    with Index.open(corpus, chroma_url=chroma_url, embedder=embedder, settings=settings) as index:
        hits = index.search(query, k=k, mode=mode)
    out = out or sys.stdout
    for rank, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        body = " ".join(chunk.text.split("\n\n", 1)[-1].split())
        snippet = body if len(body) <= _SNIPPET else body[: _SNIPPET - 1] + "…"
        print(f"{rank}. [{hit.score:.4f}] {chunk.heading_path or chunk.title}", file=out)
        print(f"   {chunk.doc_url}  (chunk {chunk.id})", file=out)
        print(f"   {snippet}", file=out)
    if not hits:
        print("no chunk matches", file=out)
    return hits
