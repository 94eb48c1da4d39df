"""Server mode: the same index on a real ``chroma run`` server answers like the embedded one.

The server copy is built from the embedded index's corpus, whose embedding cache comes along,
so it embeds nothing and the test costs only the writes over HTTP.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ports import free_port

from groundset.corpus import Corpus
from groundset.errors import IndexStoreError
from groundset.ground import Embedder, Index

QUERIES = [
    "How do I set a default throttle rate?",
    "ModelSerializer",
    "DEFAULT_THROTTLE_RATES",
    "api_view decorator",
    "pagination with a cursor",
    "How are clients identified for throttling?",
    "token authentication header",
    "writable nested serializers",
]


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A Chroma server on 127.0.0.1, started with the ``chroma`` command chromadb installs."""
    exe = shutil.which("chroma")
    if exe is None:
        pytest.fail("the `chroma` command (installed with chromadb) is not on PATH")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "chroma.log").open("wb")
    server = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "chroma"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"chroma run did not start: {(tmp_path / 'chroma.log').read_text()}"
                    )
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_server_index_answers_like_the_embedded_one(
    chroma_server: str,
    indexed_old: Path,
    clone: Callable[..., Path],
    tmp_path: Path,
    embedder: Embedder,
) -> None:
    root = clone(indexed_old, tmp_path / "c", index_from=indexed_old)
    with (
        Index.open(root, chroma_url=chroma_server, embedder=embedder) as remote,
        Index.open(indexed_old, embedder=embedder) as local,
        Corpus(root) as corpus,
    ):
        assert remote.store.name.startswith("groundset-c-")
        assert remote.store.max_batch == local.store.max_batch
        summary = remote.update(corpus)
        assert summary.added == local.store.count() and summary.embedded == 0
        assert remote.update(corpus).documents_changed == ()
        assert {c.id: c for c in remote.chunks()} == {c.id: c for c in local.chunks()}
        for query in QUERIES:
            for mode in ("hybrid", "dense", "lexical"):
                here = local.search(query, k=5, mode=mode)
                there = remote.search(query, k=5, mode=mode)
                assert [h.chunk.id for h in there] == [h.chunk.id for h in here], (query, mode)
                for a, b in zip(here, there, strict=True):
                    assert b.score == pytest.approx(a.score, abs=1e-5)


def test_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    Corpus(tmp_path / "c", create=True).close()
    with pytest.raises(IndexStoreError) as err:
        Index.open(tmp_path / "c", chroma_url=f"http://127.0.0.1:{free_port()}")
    assert "chroma run" in str(err.value)
