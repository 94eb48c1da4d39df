"""Fixtures of the verify tests: real DRF documentation chunks, and models shared by the session.

A fixture file that cannot be found fails the test with its path; nothing is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# Nothing may download model weights at run time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DRF_DEPLOY = "v2026-07-31"


def fixture_path(*parts: str) -> Path:
    """A path under tests/fixtures; fails the test, naming the path, if it is missing."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"missing test fixture: {path} (restore it: git checkout tests/fixtures)")
    return path


def _inline_markdown(element: Any) -> str:
    """The text of an HTML element with its <code> children in backticks, as Markdown has it."""
    parts = [element.text or ""]
    for child in element:
        inner = child.text_content()
        parts.append(f"`{inner}`" if child.tag == "code" else inner)
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def drf_sections(page: str) -> dict[str, str]:
    """The paragraphs and list items of one DRF page, grouped by their h1/h2 section heading."""
    import lxml.html

    tree = lxml.html.parse(str(fixture_path("sites", "drf", DRF_DEPLOY, page, "index.html")))
    article = tree.xpath("//article")[0]
    sections: dict[str, list[str]] = {}
    heading = ""
    for element in article.iter("h1", "h2", "p", "li"):
        if element.tag in ("h1", "h2"):
            heading = element.text_content().replace("\u00b6", "").strip()
            continue
        text = _inline_markdown(element)
        if text and element.getparent().tag != "li":
            sections.setdefault(heading, []).append(text)
    return {h: "\n\n".join(ps) for h, ps in sections.items()}


def make_chunk(page: str, heading: str, text: str, lang: str = "en") -> Any:
    """A Chunk of one DRF section, with an id and hash as the ground stage would give it."""
    from groundset.records import Chunk

    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Chunk(
        id=f"{page}#{heading}:{sha[:8]}",
        text=text,
        doc_url=f"https://www.django-rest-framework.org/{page}/",
        title=page.rsplit("/", 1)[-1],
        heading_path=heading,
        content_sha256=sha,
        lang=lang,
    )


@pytest.fixture(scope="session")
def pagination_sections() -> dict[str, str]:
    """The sections of the DRF pagination page."""
    return drf_sections("api-guide/pagination")


@pytest.fixture(scope="session")
def settings_sections() -> dict[str, str]:
    """The sections of the DRF settings page."""
    return drf_sections("api-guide/settings")


@pytest.fixture(scope="session")
def pagination_chunks(pagination_sections: dict[str, str]) -> dict[str, Any]:
    """One Chunk per section of the DRF pagination page, by heading."""
    return {
        h: make_chunk("api-guide/pagination", h, text) for h, text in pagination_sections.items()
    }


@pytest.fixture(scope="session")
def wice_rows() -> list[dict[str, Any]]:
    """The WiCE claims with their web evidence."""
    path = fixture_path("verification", "wice_claim_dev.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def articles() -> dict[str, Any]:
    """Real news and blog articles in several languages, by id (the extraction benchmark)."""
    path = fixture_path("extraction", "article-extraction-benchmark", "ground-truth.json")
    return dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def embedding_checker() -> Any:
    """The embedding checker on the bundled model, loaded once for the session."""
    from groundset.verify import EmbeddingChecker

    return EmbeddingChecker()


@pytest.fixture(scope="session")
def tiny_nli_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT sequence classifier with NLI labels and random weights, saved to disk.

    It judges nothing; it proves that the NLI code path loads a CrossEncoder from a directory,
    finds its entailment output and scores claims, with no download.
    """
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-nli")
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters]))
    labels = {0: "contradiction", 1: "entailment", 2: "neutral"}
    config = BertConfig(
        vocab_size=5 + len(letters),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=512,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    BertTokenizer(vocab_file=str(vocab)).save_pretrained(folder)
    return folder


Reply = Callable[[dict[str, Any]], Any]


class ScriptedJudge:
    """An OpenAI-compatible chat endpoint on 127.0.0.1 that answers from a script.

    ``script`` maps each request body to the assistant's reply text, or to ``(text, logprobs)``
    where ``logprobs`` is a list of ``(token, logprob, {alternative: logprob})``, sent in
    OpenAI's format; every request is kept.
    """

    def __init__(self, script: Reply) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                judge.requests.append({"path": self.path, **body})
                reply = judge.script(body)
                text, logprobs = reply if isinstance(reply, tuple) else (reply, None)
                payload = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                            "logprobs": _openai_logprobs(logprobs),
                        }
                    ],
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _openai_logprobs(tokens: list[Any] | None) -> dict[str, Any] | None:
    if tokens is None:
        return None
    return {
        "content": [
            {
                "token": token,
                "logprob": logprob,
                "bytes": None,
                "top_logprobs": [
                    {"token": t, "logprob": lp, "bytes": None} for t, lp in alternatives.items()
                ],
            }
            for token, logprob, alternatives in tokens
        ]
    }


@pytest.fixture
def scripted_judge() -> Iterator[Callable[[Reply], ScriptedJudge]]:
    """Start scripted judges; each is shut down after the test."""
    judges: list[ScriptedJudge] = []

    def start(script: Reply) -> ScriptedJudge:
        judges.append(ScriptedJudge(script))
        return judges[-1]

    yield start
    for judge in judges:
        judge.close()


@pytest.fixture(scope="session")
def make_sample() -> Callable[..., Any]:
    """Build a Sample: ``claims`` are (text, [(chunk, quote), ...]) pairs or Claim objects."""
    from groundset.records import Citation, Claim, GeneratorInfo, Sample, Source

    def build(
        sample_id: str,
        question: str,
        answer: str,
        claims: list[Any],
        language: str = "en",
        sources: list[Any] | None = None,
        model: str = "gemma-3-270m",
    ) -> Sample:
        built: list[Claim] = []
        cited: list[Any] = []
        for claim in claims:
            if isinstance(claim, Claim):
                built.append(claim)
                continue
            text, citations = claim
            cited.extend(chunk for chunk, _ in citations)
            built.append(
                Claim(
                    text=text,
                    citations=[Citation(chunk_id=c.id, quote=q) for c, q in citations],
                )
            )
        source_chunks = sources if sources is not None else list({c.id: c for c in cited}.values())
        return Sample(
            id=sample_id,
            task="qa",
            language=language,
            question=question,
            answer=answer,
            claims=built,
            sources=[
                Source(
                    chunk_id=c.id,
                    content_sha256=c.content_sha256,
                    doc_url=c.doc_url,
                    heading_path=c.heading_path,
                )
                for c in source_chunks
            ],
            generator=GeneratorInfo(
                model=model,
                endpoint_host="127.0.0.1",
                prompt_version="qa-v1",
                temperature=0.2,
                seed=7,
            ),
        )

    return build
