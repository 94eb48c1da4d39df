"""Kept and rejected files made of real DRF documentation text, for the export and report tests.

Each :class:`Section` is one heading-delimited section of a page of the DRF fixture site, read
with lxml: its heading path and its paragraphs, as the page has them. Samples quote sentences of
those sections verbatim; rejected samples are the real ways samples fail (a changed number, a
dropped negation, a quote that is not in the source, a duplicate, the wrong language, a line that
is not JSON), each with the reason name the verifier gives it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import lxml.html

from groundset.corpus import Corpus, Document
from groundset.export import ExportSummary

SITE = Path(__file__).resolve().parent / "fixtures" / "sites" / "drf" / "v2026-07-31"
BASE_URL = "https://www.django-rest-framework.org"
FETCHED_AT = "2026-07-31T09:00:00+00:00"
#: Pages of the fixture site, in the order samples are drawn from them.
PAGES = (
    "api-guide/throttling",
    "api-guide/permissions",
    "api-guide/pagination",
    "api-guide/versioning",
    "api-guide/caching",
    "api-guide/filtering",
    "api-guide/authentication",
    "api-guide/serializers",
    "api-guide/views",
    "api-guide/viewsets",
    "api-guide/routers",
    "api-guide/parsers",
    "api-guide/renderers",
    "api-guide/requests",
    "api-guide/responses",
    "api-guide/exceptions",
    "api-guide/status-codes",
    "api-guide/testing",
    "api-guide/settings",
    "api-guide/metadata",
    "tutorial/quickstart",
    "tutorial/1-serialization",
    "topics/browsable-api",
    "topics/html-and-forms",
)
GENERATOR = {
    "model": "gemma-3-270m-it-Q4_K_M.gguf",
    "endpoint_host": "127.0.0.1",
    "temperature": 0.7,
    "seed": 7,
}
CHECKER = "lexical"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`'\"])")


@dataclass(frozen=True)
class Section:
    """One section of a fixture page: the body under one heading, as paragraphs."""

    doc_url: str
    title: str
    heading_path: str
    levels: tuple[int, ...]
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def chunk_id(self) -> str:
        key = f"{self.doc_url}\n{self.heading_path}\n{self.content_sha256}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def sentences(self) -> list[str]:
        """Whole sentences of the section that are long enough to be a claim."""
        found = [s for p in self.paragraphs for s in _SENTENCE_END.split(p)]
        return [s for s in found if 40 <= len(s) <= 300 and s.endswith(".")]


def _clean(text: str) -> str:
    return " ".join(text.split()).rstrip("¶").strip()


@cache
def page_sections(page: str) -> tuple[Section, ...]:
    """The sections of one fixture page that have paragraphs, in page order."""
    path = SITE / page / "index.html"
    if not path.exists():
        raise FileNotFoundError(f"missing test fixture: {path}")
    main = lxml.html.parse(str(path)).getroot().xpath("//main")[0]
    url = f"{BASE_URL}/{page}/"
    title = _clean(main.xpath("string(.//h1)"))
    sections: list[Section] = []
    path_stack: list[tuple[int, str]] = []
    paragraphs: list[str] = []

    def flush() -> None:
        if paragraphs and path_stack:
            heading = " > ".join(h for _, h in path_stack)
            levels = tuple(lv for lv, _ in path_stack)
            sections.append(Section(url, title, heading, levels, tuple(paragraphs)))
        paragraphs.clear()

    for el in main.iter("h1", "h2", "h3", "p"):
        if el.tag == "p":
            text = " ".join(el.text_content().split())
            if text:
                paragraphs.append(text)
            continue
        flush()
        level = int(el.tag[1])
        path_stack = [(lv, h) for lv, h in path_stack if lv < level]
        heading = _clean(el.text_content())
        # A heading that repeats its parent is said once, as the chunker writes paths.
        if not path_stack or path_stack[-1][1].casefold() != heading.casefold():
            path_stack.append((level, heading))
    flush()
    return tuple(sections)


def drf_sections(pages: tuple[str, ...] = PAGES) -> list[Section]:
    """The sections with quotable sentences of the given pages."""
    return [s for page in pages for s in page_sections(page) if s.sentences()]


def _claim(text: str, section: Section, quote: str, source_text: str | None = None) -> dict:
    claim: dict[str, Any] = {
        "text": text,
        "citations": [{"chunk_id": section.chunk_id, "quote": quote}],
    }
    if source_text is not None:
        claim["source_text"] = source_text
    return claim


def _source(section: Section) -> dict:
    return {
        "chunk_id": section.chunk_id,
        "content_sha256": section.content_sha256,
        "doc_url": section.doc_url,
        "heading_path": section.heading_path,
    }


def _topic(section: Section) -> str:
    return section.heading_path.split(" > ")[-1]


def make_sample(
    sample_id: str,
    sections: list[Section],
    *,
    task: str = "qa",
    language: str = "en",
    pick: int = 0,
) -> dict:
    """A sample quoting one sentence of each section, its answer made of those sentences.

    Args:
        sample_id: the sample's id.
        sections: the sections it draws on (one claim each).
        task: ``qa`` (question and answer) or ``instruct`` (messages).
        language: ``en``, or ``sw`` for a Swahili prompt whose claims carry their English text.
        pick: which sentence of each section to quote (modulo their number).
    """
    quotes = [s.sentences()[pick % len(s.sentences())] for s in sections]
    topic = _topic(sections[0])
    if language == "sw":
        prompt = f"Nyaraka za Django REST framework zinasema nini kuhusu {topic}?"
        texts = [f"Kwa mujibu wa nyaraka: {q}" for q in quotes]
        claims = [_claim(t, s, q, q) for t, s, q in zip(texts, sections, quotes, strict=True)]
    else:
        prompt = f"What does the Django REST framework documentation say about {topic}?"
        texts = quotes
        claims = [_claim(q, s, q) for s, q in zip(sections, quotes, strict=True)]
    answer = " ".join(texts)
    sample: dict[str, Any] = {"id": sample_id, "task": task, "language": language}
    if task == "instruct":
        sample["messages"] = [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ]
    else:
        sample["question"] = prompt
        sample["answer"] = answer
    sample["claims"] = claims
    sample["sources"] = [_source(s) for s in sections]
    sample["generator"] = {**GENERATOR, "prompt_version": f"{task}.v1"}
    return sample


def _score(sample_id: str, index: int, low: float, high: float) -> float:
    """A score between low and high that is fixed by the sample id (no randomness in tests)."""
    digest = hashlib.sha256(f"{sample_id}/{index}".encode()).digest()
    return round(low + (high - low) * digest[0] / 255, 3)


def verdict_for(
    sample: dict, *, reasons: list[str] | None = None, failing: int | None = None
) -> dict:
    """The verdict of a sample: accepted without reasons, else claim ``failing`` is unsupported.

    Args:
        sample: the sample.
        reasons: the sample's reasons to be refused; none means accepted.
        failing: the index of the claim that carries the reasons (None: a sample-level refusal
            whose claims are all supported).
    """
    claim_verdicts = []
    for i, claim in enumerate(sample["claims"]):
        citation = claim["citations"][0]
        bad = reasons is not None and failing == i
        claim_verdicts.append(
            {
                "text": claim["text"],
                "supported": not bad,
                "score": _score(sample["id"], i, 0.05, 0.4)
                if bad
                else _score(sample["id"], i, 0.7, 1.0),
                "evidence": citation["quote"],
                "chunk_id": citation["chunk_id"],
                "reasons": list(reasons or []) if bad else [],
            }
        )
    return {
        "sample_id": sample["id"],
        "accepted": not reasons,
        "claims": claim_verdicts,
        "reasons": list(reasons or []),
        "checker": CHECKER,
    }


def with_verdict(sample: dict, verdict: dict) -> dict:
    """A line of a kept or rejected file: the sample's JSON plus its verdict."""
    return {**sample, "verdict": verdict}


def _negated(sentence: str) -> str | None:
    for verb in (" is ", " are ", " can ", " will ", " should "):
        if verb in sentence:
            return sentence.replace(verb, f"{verb}not ", 1)
    return None


def _renumbered(sentence: str) -> str | None:
    match = re.search(r"\d+", sentence)
    if match is None:
        return None
    wrong = str(int(match.group()) * 10 + 7)
    return sentence[: match.start()] + wrong + sentence[match.end() :]


def _misquoted(sample: dict) -> dict:
    claim = sample["claims"][0]
    words = claim["citations"][0]["quote"].split()
    claim["citations"][0]["quote"] = " ".join(reversed(words))
    return sample


@dataclass
class Results:
    """The lines of a kept and a rejected file."""

    kept: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)

    def write(self, directory: Path) -> tuple[Path, Path]:
        """Write ``kept.jsonl`` and ``rejected.jsonl`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        kept, rejected = directory / "kept.jsonl", directory / "rejected.jsonl"
        for path, lines in ((kept, self.kept), (rejected, self.rejected)):
            with path.open("w", encoding="utf-8") as fh:
                for line in lines:
                    fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        return kept, rejected


def build_results(sections: list[Section], n_kept: int) -> Results:
    """``n_kept`` accepted samples over ``sections``, and rejected ones of every kind.

    Samples cycle through the sections; every fifth also cites a section of the next document
    (documents pair up two by two), so samples share documents and split groups span pages.
    Tasks alternate ``qa`` / ``instruct``; every fourth sample is in Swahili.
    """
    by_doc: dict[str, list[Section]] = {}
    for s in sections:
        by_doc.setdefault(s.doc_url, []).append(s)
    docs = list(by_doc)
    results = Results()
    for i in range(n_kept):
        first = sections[i % len(sections)]
        chosen = [first]
        if i % 5 == 0:
            d = docs.index(first.doc_url)
            partner = docs[d ^ 1] if (d ^ 1) < len(docs) else docs[d]
            chosen.append(by_doc[partner][i % len(by_doc[partner])])
        task = "instruct" if i % 2 else "qa"
        language = "sw" if i % 4 == 3 else "en"
        sample = make_sample(f"s{i:04d}", chosen, task=task, language=language, pick=i)
        results.kept.append(with_verdict(sample, verdict_for(sample)))
    results.rejected.extend(_rejections(sections, results.kept))
    return results


def _rejections(sections: list[Section], kept: list[dict]) -> list[dict]:
    """One or more rejected samples of each kind the verifier refuses."""
    out: list[dict] = []

    def refuse(sample: dict, reasons: list[str], failing: int | None = 0) -> None:
        out.append(with_verdict(sample, verdict_for(sample, reasons=reasons, failing=failing)))

    for n, section in enumerate(sections[:6]):
        sample = make_sample(f"r-neg-{n}", [section])
        negated = _negated(sample["claims"][0]["text"])
        if negated is not None:
            sample["claims"][0]["text"] = sample["answer"] = negated
            refuse(sample, ["negation_mismatch"])
    numbered = [(s, q) for s in sections for q in s.sentences() if _renumbered(q)]
    for n, (section, quote) in enumerate(numbered[:4]):
        sample = make_sample(f"r-num-{n}", [section], pick=section.sentences().index(quote))
        sample["claims"][0]["text"] = sample["answer"] = _renumbered(quote)
        refuse(sample, ["number_mismatch"])
    for n, section in enumerate(sections[6:9]):
        refuse(_misquoted(make_sample(f"r-quote-{n}", [section])), ["quote_not_found"])
    for n, section in enumerate(sections[9:11]):
        other = sections[-1 - n].sentences()[0]
        sample = make_sample(f"r-unsup-{n}", [section], task="instruct")
        sample["claims"][0]["text"] = other
        sample["messages"][1]["content"] = other
        refuse(sample, ["unsupported_claim", "term_missing"])
    for n, line in enumerate(kept[:2]):
        copy = {k: v for k, v in line.items() if k != "verdict"}
        copy["id"] = f"r-dup-{n}"
        refuse(copy, ["duplicate"], failing=None)
    sample = make_sample("r-lang-0", [sections[11]], language="sw")
    sample["question"] = "What does the documentation say about " + _topic(sections[11]) + "?"
    refuse(sample, ["wrong_language"], failing=None)
    raw = '{"id": "r-bad", "task": "qa", "question": "Which throttle'
    out.append(
        {
            "line": 41,
            "raw": raw,
            "error": "Unterminated string starting at: line 1 column 40 (char 39)",
            "verdict": {
                "sample_id": "line-41",
                "accepted": False,
                "claims": [],
                "reasons": ["invalid_json"],
                "checker": "",
            },
        }
    )
    return out


def write_corpus(sections: list[Section], root: Path) -> Path:
    """A corpus directory holding the pages of ``sections`` as Markdown documents."""
    by_doc: dict[str, list[Section]] = {}
    for s in sections:
        by_doc.setdefault(s.doc_url, []).append(s)
    with Corpus(root, create=True) as corpus:
        for url, doc_sections in by_doc.items():
            parts: list[str] = []
            written: list[str] = []
            for s in doc_sections:
                path = s.heading_path.split(" > ")
                # Headings of sections without paragraphs are written too, so the corpus's
                # heading paths are the pages' paths.
                same = next(
                    (i for i, (a, b) in enumerate(zip(path, written, strict=False)) if a != b),
                    min(len(path), len(written)),
                )
                for level, heading in list(zip(s.levels, path, strict=True))[same:]:
                    parts.append(f"{'#' * level} {heading}")
                parts.append(s.text)
                written = path
            doc = Document(
                url=url,
                title=doc_sections[0].title,
                lang="en",
                markdown="\n\n".join(parts) + "\n",
                fetched_at=FETCHED_AT,
            )
            slug = corpus.claim_slug(url)
            corpus.write_document(slug, doc)
            corpus.upsert_page(
                url,
                slug=slug,
                status="active",
                title=doc.title,
                lang=doc.lang,
                content_sha256=doc.content_sha256,
            )
    return root


@dataclass(frozen=True)
class Verified:
    """The lines of a verify run, the files they were written to, and the corpus beside them."""

    results: Results
    kept: Path
    rejected: Path
    corpus: Path


def verified_run(base: Path, n_kept: int) -> Verified:
    """A verify run of ``n_kept`` accepted samples (and every kind of rejection) under ``base``."""
    sections = drf_sections()
    results = build_results(sections, n_kept)
    kept, rejected = results.write(base / "verified")
    return Verified(results, kept, rejected, write_corpus(sections, base / "corpus"))


@dataclass(frozen=True)
class Exported:
    """A verify run and what exporting it wrote."""

    run: Verified
    summary: ExportSummary

    @property
    def out(self) -> Path:
        return self.summary.out_dir
