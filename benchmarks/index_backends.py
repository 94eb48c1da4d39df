"""Would ONNX Runtime, or int8 weights, embed faster at the same retrieval quality?

sentence-transformers' own ONNX backend needs ``optimum-onnx``, whose releases pin
transformers below 4.58, older than the transformers 5 that sentence-transformers 6 runs on
here, so this benchmark exports the model itself: ``torch.onnx.export`` of the bundled
all-MiniLM-L6-v2 (needs the ``onnx`` package), mean pooling and normalisation done as the
model's own modules do, then ``onnxruntime.quantization.quantize_dynamic`` for int8 weights.
Nothing is downloaded.

For each backend it measures chunks per second of CPU time on one thread (robust to other work
on a shared machine) and wall time with the default threads, and, for the backends whose
vectors differ from PyTorch's, the dense hit rates on the retrieval gate's query sets.

    python benchmarks/index_backends.py [--corpus DIR] [--sample 192]

Measured on 2 shared cores (2026-11, DRF, 1675 chunks): PyTorch 21.8 chunks per CPU-second on
one thread, ONNX fp32 15.3 (slower: PyTorch's oneDNN matmuls beat ONNX Runtime's here, with or
without its BERT graph fusions), int8 25.7 (+18%); int8 vectors sit at mean cosine 0.946 to
PyTorch's (min 0.875), and its dense hit rates move both ways (questions: section@1 0.556 ->
0.500, page@1 0.722 -> 0.694; titles: section@1 0.548 -> 0.585). Not adopted as a backend: the
gain is small, quality is not equal, and an index must never mix int8 and fp32 vectors.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import numpy as np
from index_common import QUESTIONS, SEARCH_INDEX, drf_corpus

from groundset.corpus import Corpus
from groundset.ground import SentenceTransformerEmbedder, chunk_document
from groundset.ground.evaluate import LabelledQuery, hit_rates, mkdocs_queries
from groundset.records import Chunk

Encode = Callable[[Sequence[str]], np.ndarray]


def export_onnx(embedder: SentenceTransformerEmbedder, folder: Path) -> tuple[Path, Path]:
    """The transformer of ``embedder`` as ONNX, in float32 and with int8 weights."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    transformer = embedder.model[0].auto_model

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> object:
            return self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    sample = embedder.model.tokenizer(["a b", "c"], padding=True, return_tensors="pt")
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        Hidden().eval(),
        tuple(sample[n] for n in names),
        str(fp32),
        input_names=names,
        output_names=["hidden"],
        dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def onnx_encoder(path: Path, embedder: SentenceTransformerEmbedder, threads: int) -> Encode:
    """Mean-pooled, unit-length vectors from an exported model, 32 texts a batch."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tokenizer = embedder.model.tokenizer

    def encode(texts: Sequence[str]) -> np.ndarray:
        order = np.argsort([len(t) for t in texts])
        vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
        for start in range(0, len(order), 32):
            rows = order[start : start + 32]
            batch = tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=embedder.max_tokens,
                return_tensors="np",
            )
            feeds = {k: batch[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
            feeds["token_type_ids"] = batch["token_type_ids"].astype(np.int64)
            hidden = session.run(None, feeds)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            vectors[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return vectors

    return encode


def per_second(encode: Encode, texts: Sequence[str]) -> tuple[float, float]:
    """Texts per second of wall time and of CPU time."""
    encode(texts[:4])
    wall, cpu = time.perf_counter(), time.process_time()
    encode(texts)
    return len(texts) / (time.perf_counter() - wall), len(texts) / (time.process_time() - cpu)


def dense_rates(
    encode: Encode, matrix: np.ndarray, chunks: list[Chunk], sets: dict[str, list[LabelledQuery]]
) -> str:
    """Hit rates of exact cosine search over ``matrix``, the vectors of ``chunks``."""
    figures = []
    for name, queries in sets.items():
        top = np.argsort(-(encode([q.query for q in queries]) @ matrix.T), axis=1)[:, :5]
        ranked = {q.query: [chunks[i] for i in row] for q, row in zip(queries, top, strict=True)}
        r = hit_rates(lambda query, k, ranked=ranked: ranked[query][:k], queries)
        figures.append(
            f"{name} {r.page_at_1:.3f}/{r.page_at_k:.3f}/{r.section_at_1:.3f}/{r.section_at_k:.3f}"
        )
    return "  ".join(figures)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="a corpus (default: crawl DRF)")
    parser.add_argument("--sample", type=int, default=192, help="chunks timed per backend")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    try:
        corpus = args.corpus or drf_corpus(work / "corpus")
        embedder = SentenceTransformerEmbedder()
        with Corpus(corpus) as pages:
            chunks = [
                c for d in pages.documents() for c in chunk_document(d, embedder.count_tokens)
            ]
        fp32, int8 = export_onnx(embedder, work)
        base = "{0.scheme}://{0.netloc}/".format(urlsplit(chunks[0].doc_url))
        sets = {
            "questions": [
                LabelledQuery(q["query"], urljoin(base, q["page"]), q["heading"])
                for q in json.loads(QUESTIONS.read_text())
            ],
            "titles": mkdocs_queries(SEARCH_INDEX, base, source="title", every=3),
            "sentences": mkdocs_queries(SEARCH_INDEX, base, source="text", every=3),
        }
        sample = sorted((c.text for c in chunks[:: max(1, len(chunks) // args.sample)]), key=len)
        threads = torch.get_num_threads()
        backends: dict[str, Callable[[int], Encode]] = {
            "torch": lambda n: embedder.encode,
            "onnx": lambda n: onnx_encoder(fp32, embedder, n),
            "onnx-int8": lambda n: onnx_encoder(int8, embedder, n),
        }
        print(f"{len(chunks)} chunks, {len(sample)} timed; hit rates: page@1/page@5/sec@1/sec@5")
        reference: np.ndarray | None = None
        for name, make in backends.items():
            torch.set_num_threads(1)
            _, cpu = per_second(make(1), sample)
            torch.set_num_threads(threads)
            encode = make(threads)
            wall, _ = per_second(encode, sample)
            vectors = encode([c.text for c in chunks])
            reference = vectors if reference is None else reference
            cosine = (vectors * reference).sum(1)
            print(
                f"{name:<10} {cpu:6.1f} chunks/CPU-s (1 thread)  {wall:6.1f} chunks/s (wall)"
                f"  cosine to torch: mean {cosine.mean():.3f} min {cosine.min():.3f}",
                flush=True,
            )
            print(f"{'':<10} dense: {dense_rates(encode, vectors, chunks, sets)}", flush=True)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
