"""Train the claim model: a cross-encoder from the bundled all-MiniLM-L6-v2 weights.

It reads (evidence window, claim) and says how likely the window supports the claim. It learns
from pairs nobody had to label for groundset, so that the labelled docs claims stay free for
fitting and measuring the checker that uses it:

- synthetic pairs made from the ``tune`` documents of the fixture docs sites
  (``benchmarks/synthetic_claims.py``: copies, shortenings and reports of true sentences; changed
  numbers, swapped terms, negations, stronger modals, invented purposes, other sections' sentences);
- public NLI pairs (``tests/fixtures/verification/docnli/``: MNLI and FEVER-NLI, binary).

The embeddings and the lower four transformer layers stay as the bundled model has them; the top
two layers, the pooler and a new one-output head are trained and written, in float16, to
``verify/models/claim-model.v1``, to be loaded on top of the bundled weights.

    python benchmarks/train_claim_model.py [--work DIR] [--epochs 2] [--limit-nli 12000]

Reproducible: every random choice is seeded.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from claim_model import (  # noqa: E402
    MAX_TOKENS,
    MODEL_DIR,
    is_frozen,
    load_base,
    premise_of,
    save_trained,
)
from docclaims import split_of  # noqa: E402
from docclaims_make import SITES, build_corpora  # noqa: E402
from synthetic_claims import make_pairs  # noqa: E402

from groundset.ground import Index  # noqa: E402

DOCNLI = ROOT / "tests" / "fixtures" / "verification" / "docnli"


def synthetic(work: Path, seed: int) -> list[tuple[str, str, int]]:
    """Synthetic pairs from the tune documents of every fixture site."""
    out = []
    for site in SITES:
        with Index.open(work / site) as index:
            chunks = [c for c in index.chunks() if split_of(site, c.doc_url) == "tune"]
        out += [(p.evidence, p.claim, p.label) for p in make_pairs(chunks, seed=seed)]
    return out


def nli(limit: int, seed: int) -> list[tuple[str, str, int]]:
    """Balanced MNLI and FEVER-NLI pairs, ``limit`` in all."""
    rows: list[tuple[str, str, int]] = []
    for name in ("binary-mnli-dev", "binary-mnli-test", "binary-fever-nli-dev"):
        path = DOCNLI / f"{name}.tsv.gz"
        if not path.is_file():
            raise SystemExit(f"missing fixture: {path}")
        for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines():
            label, premise, hypothesis = line.split("\t")[:3]
            rows.append((premise, hypothesis, int(label == "entailment")))
    rng = random.Random(seed)
    rng.shuffle(rows)
    yes = [r for r in rows if r[2] == 1][: limit // 2]
    no = [r for r in rows if r[2] == 0][: limit // 2]
    return yes + no


def train(pairs: list[tuple[str, str, int]], epochs: int, seed: int) -> Any:
    """Fine-tune the model on ``(evidence, claim, label)`` pairs; returns it."""
    import torch

    torch.manual_seed(seed)
    tokenizer, model = load_base()
    for name, parameter in model.named_parameters():
        # The lower layers stay as bundled: training (and backpropagation) stops above them.
        parameter.requires_grad = not is_frozen(name)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=4e-5, weight_decay=0.01)
    batch_size = 16
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, s / (0.05 * steps)) * max(0.0, 1 - s / steps)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(seed)
    premises = [(premise_of(claim, evidence), claim, label) for evidence, claim, label in pairs]
    model.train()
    step, started = 0, time.monotonic()
    for epoch in range(epochs):
        rng.shuffle(premises)
        for start in range(0, len(premises), batch_size):
            batch = premises[start : start + batch_size]
            encoded = tokenizer(
                [p for p, _, _ in batch], [c for _, c, _ in batch],
                truncation="longest_first", max_length=MAX_TOKENS, padding=True,
                return_tensors="pt",
            )  # fmt: skip
            labels = torch.tensor([float(y) for _, _, y in batch])
            loss = loss_fn(model(**encoded).logits.squeeze(-1), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 100 == 0:
                rate = step * batch_size / (time.monotonic() - started)
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f}"
                      f" ({rate:.1f} pairs/s)", file=sys.stderr, flush=True)  # fmt: skip
    model.eval()
    return model


def main() -> int:
    """Build the training pairs, train, and write the model."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/groundset-docclaims"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit-nli", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    args = parser.parse_args()
    build_corpora(args.work)
    made = synthetic(args.work, args.seed)
    public = nli(args.limit_nli, args.seed)
    print(f"{len(made)} synthetic pairs, {len(public)} NLI pairs", file=sys.stderr)
    model = train(made + public, args.epochs, args.seed)
    save_trained(model, args.out)
    (args.out / "training.json").write_text(
        json.dumps(
            {
                "synthetic_pairs": len(made),
                "nli_pairs": len(public),
                "epochs": args.epochs,
                "seed": args.seed,
                "max_tokens": MAX_TOKENS,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
