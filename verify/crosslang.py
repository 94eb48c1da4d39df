"""Claims in another language than their sources: the text itself is checked, not the model's
word for it.

A sample written in Spanish from English docs carries, for each claim, the Spanish sentence
(``text``) and the generator's English rendering of it (``source_text``). The rendering is what
the English checker can judge, but it is the model's own account of what it wrote: a model that
mistranslates renders its mistake faithfully back into the English it meant. So a cross-language
claim is kept only when both hold:

1. its rendering is supported by the evidence (the English checker, as for every claim), and
   the numbers and code identifiers of its text, which read alike in every language, are the
   evidence's;
2. its text says what the rendering says, as judged by a model that reads the language
   (:class:`Translator`). The model is asked twice whether two sentences mean the same (the
   probability it gives "yes"): the rendering against the text itself, and the rendering
   against the text translated back into English by the same model. The mean of the two must
   reach the language's threshold (``translation_mismatch`` if not). Either question alone
   caught fewer meaning changes at the same share of faithful translations kept.

A text with no rendering (an answer's own clauses, a ``verify-claims`` line without
``source_text``) is checked through its back-translation: the English checker reads that.

A language the translator does not read is not checked at all: its claims are refused
``unreadable_language``, never kept on the strength of their numbers and identifiers. Which
languages the bundled model reads, and each one's threshold, is measured on a labelled dev set
(``benchmarks/crosslang.py``), not assumed: :data:`LOCAL_READS`. An endpoint configured for it
(``translator_model``, or the LLM judge's) reads the languages it is told
(``translator_languages``; every language when not told) at :data:`SAME_MEANING_THRESHOLD`.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundset.errors import GenerationError, VerificationError
from groundset.languages import language_name, primary_language
from groundset.records import Reason
from groundset.verify.base import Checker, Support
from groundset.verify.evidence import prepare_evidence
from groundset.verify.lexical import missing_anchors
from groundset.verify.text import STOPWORDS, mask_code

if TYPE_CHECKING:
    from groundset.generate import LLMClient, LocalModelServer

__all__ = [
    "LOCAL_READER",
    "LOCAL_READS",
    "SAME_MEANING_THRESHOLD",
    "CrossClaim",
    "CrossLanguageChecker",
    "Translator",
    "make_translator",
]

log = logging.getLogger(__name__)

#: The bundled model that reads other languages: the larger one, which writes and reads better.
LOCAL_READER = "qwen2.5-coder-1.5b-instruct"
#: The languages the bundled reader reads, each with the same-meaning probability a translation
#: must reach: fitted on the tuned part of the cross-language dev set so that at most 10% of the
#: meaning-changed translations get through (``benchmarks/crosslang.py``). Languages it reads
#: too poorly for that (Hindi, Swahili, Yoruba, measured) are left out: not checked.
LOCAL_READS: dict[str, float] = {"es": 0.546, "ja": 0.516, "zh": 0.535}
#: The same for an endpoint a user names, which reads every language unless told otherwise.
SAME_MEANING_THRESHOLD = 0.5

BACK_PROMPT = (
    "You translate technical documentation sentences into English. Translate literally and "
    "completely: keep every negation, subject, number and condition. Keep code in backticks "
    "unchanged. Reply with the English sentence only."
)
SAME_PROMPT = (
    "You compare two sentences about software documentation. Answer yes only if sentence B "
    "means the same as sentence A: the same facts, the same subject doing the same thing, the "
    "same negations, scope (all, only, always), numbers and conditions, nothing added. Wording "
    "may differ. Answer no if the meaning differs in any way. Reply with yes or no."
)


@dataclass(frozen=True)
class CrossClaim:
    """A claim in another language than its evidence.

    Attributes:
        text: the claim as written, in ``language``.
        language: its BCP 47 tag.
        evidence: the passages it is checked against.
        source_text: the generator's rendering in the evidence's language, if it gave one.
    """

    text: str
    language: str
    evidence: str
    source_text: str | None = None


class Translator:
    """A chat model that reads other languages: back into English, and same meaning or not.

    Args:
        connect: opens the endpoint when it is first needed: generation's
            :class:`~groundset.generate.LLMClient`, and the local model server started for it
            (to stop on :meth:`close`), if one was.
        reads: the primary language tags it reads, each with its same-meaning threshold; None
            for every language at ``threshold``.
        name: what the verdicts and the dataset card call it.
        threshold: the same-meaning threshold of a language ``reads`` does not list.
    """

    def __init__(
        self,
        connect: Callable[[], tuple[LLMClient, LocalModelServer | None]],
        reads: Mapping[str, float] | None,
        name: str,
        threshold: float = SAME_MEANING_THRESHOLD,
    ) -> None:
        self._connect = connect
        self.languages = dict(reads) if reads is not None else None
        self.name = name
        self.threshold = threshold
        self._client: LLMClient | None = None
        self._server: LocalModelServer | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> LLMClient:
        """The endpoint, opened (and a local server started) on first use."""
        with self._lock:
            if self._client is None:
                self._client, self._server = self._connect()
            return self._client

    def reads(self, language: str) -> bool:
        """Whether it reads ``language`` (a BCP 47 tag)."""
        return self.languages is None or primary_language(language) in self.languages

    def threshold_for(self, language: str) -> float:
        """The same-meaning probability a translation into ``language`` must reach."""
        if self.languages is None:
            return self.threshold
        return self.languages.get(primary_language(language), self.threshold)

    def back(self, texts: Sequence[str]) -> list[str]:
        """Each text translated back into English."""
        return self._map(self._back_one, texts)

    def same_meaning(self, items: Sequence[tuple[str, str, str, str]]) -> list[float]:
        """For each (rendering, text, its language, its back-translation), the probability that
        text and rendering mean the same: the mean of the model's "yes" asked of the rendering
        against the text and against its back-translation."""
        pairs = [(rendering, text, language) for rendering, text, language, _ in items]
        pairs += [(rendering, back, "en") for rendering, _, _, back in items]
        probabilities = self._map(self._same_one, pairs)
        n = len(items)
        return [(a + b) / 2 for a, b in zip(probabilities[:n], probabilities[n:], strict=True)]

    def close(self) -> None:
        """Close the connections, and stop the local server if one was started for this."""
        if self._client is not None:
            self._client.close()
        if self._server is not None:
            self._server.stop()
        self._client = self._server = None

    def _map(self, one: Any, items: Sequence[Any]) -> list[Any]:
        if not items:
            return []
        workers = max(1, min(len(items), self.client.settings.concurrency))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, items))

    def _call(self, body: dict[str, Any]) -> Any:
        try:
            return self.client.call("chat", {**body, "temperature": 0})
        except GenerationError as exc:
            raise VerificationError(
                f"the translator {self.name} cannot be used: {exc.args[0]}",
                fix=exc.fix or "check translator_base_url, the server, and its key",
            ) from None

    def _back_one(self, text: str) -> str:
        messages = [
            {"role": "system", "content": BACK_PROMPT},
            {"role": "user", "content": text},
        ]
        completion = self._call({"messages": messages, "max_tokens": 256})
        return str(completion.text).strip()

    def _same_one(self, pair: tuple[str, str, str]) -> float:
        rendering, text, language = pair
        if primary_language(language) == "en":
            user = f"A: {rendering}\nB: {text}"
        else:
            user = f"A (English): {rendering}\nB ({language_name(language)}): {text}"
        return self.yes_probability(SAME_PROMPT, user)

    def yes_probability(self, system: str, user: str) -> float:
        """The probability that the model answers a yes-or-no question "yes" (its first token).

        Raises:
            VerificationError: the model cannot be reached.
        """
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        body = {"messages": messages, "max_tokens": 1, "logprobs": True, "top_logprobs": 10}
        completion = self._call(body)
        return _yes_probability(completion.text, completion.logprobs)


def _yes_probability(text: str, logprobs: Any) -> float:
    """P(yes) against P(no) at the answer's first token; 1 or 0 from the text without them."""
    if logprobs:
        token, logprob, alternatives = logprobs[0]
        options = {**alternatives, token: logprob}
        yes = sum(math.exp(p) for t, p in options.items() if t.strip().lower().startswith("y"))
        no = sum(math.exp(p) for t, p in options.items() if t.strip().lower().startswith("n"))
        if yes + no > 0:
            return yes / (yes + no)
    return 1.0 if text.strip().lower().startswith("y") else 0.0


class CrossLanguageChecker:
    """Checks claims written in another language than their evidence (see the module's doc).

    Args:
        checker: the checker of claims in the evidence's language.
        translator: the model that reads the claims' language; None when there is none.
    """

    def __init__(self, checker: Checker, translator: Translator | None) -> None:
        self.checker = checker
        self.translator = translator

    def how(self, language: str) -> str:
        """How text in ``language`` is checked, in words for a verdict or a dataset card."""
        if self.translator is None or not self.translator.reads(language):
            return (
                f"not checked: no model here reads {language_name(language)}"
                " (refused unreadable_language)"
            )
        return (
            f"read by {self.translator.name}: each claim compared with its English rendering,"
            " directly and translated back"
        )

    def translates(self, rendering: str, text: str, language: str) -> Reason | None:
        """Why ``text`` (in ``language``) is not a faithful translation of ``rendering``, or
        None when it is: a translated question against the one it was translated from.

        It is judged as a claim's text against its rendering is, at the same threshold.
        """
        translator = self.translator
        if translator is None or not translator.reads(language):
            return "unreadable_language"
        if missing_anchors(text, prepare_evidence(rendering)) or names_lost(rendering, text):
            return "translation_mismatch"
        back = translator.back([text])[0]
        p = translator.same_meaning([(rendering, text, language, back)])[0]
        return "translation_mismatch" if p < translator.threshold_for(language) else None

    def check(self, claims: Sequence[CrossClaim]) -> list[Support]:
        """One :class:`Support` per claim, in order."""
        translator = self.translator
        out: list[Support | None] = [None] * len(claims)
        readable = []
        for i, claim in enumerate(claims):
            if translator is not None and translator.reads(claim.language):
                readable.append(i)
            else:
                out[i] = Support(False, 0.0, "", ("unreadable_language",), certain=True)
        if translator is not None and readable:
            read = [claims[i] for i in readable]
            for i, support in zip(readable, self._judge(translator, read), strict=True):
                out[i] = support
        return [s for s in out if s is not None]

    def _judge(self, translator: Translator, claims: list[CrossClaim]) -> list[Support]:
        out: list[Support | None] = [None] * len(claims)
        # A rendering the evidence does not support refuses its claim whatever the text says:
        # only the others are read. A text without a rendering is read back into English, and
        # the English checker reads that.
        rendered = [k for k, c in enumerate(claims) if c.source_text]
        bare = [k for k, c in enumerate(claims) if not c.source_text]
        first = self.checker.check(
            [(str(claims[k].source_text), claims[k].evidence) for k in rendered]
        )
        to_read = []
        for k, support in zip(rendered, first, strict=True):
            # Numbers and code identifiers read alike in every language: the text's own must be
            # the evidence's ("n*pct > 100" where the passage and the rendering say 1000).
            anchors = missing_anchors(claims[k].text, prepare_evidence(claims[k].evidence))
            if not support.supported:
                out[k] = support
            elif anchors:
                out[k] = Support(False, 0.0, support.evidence, tuple(anchors), certain=True)
            elif names_lost(str(claims[k].source_text), claims[k].text):
                lost = ("translation_mismatch",)
                out[k] = Support(False, 0.0, support.evidence, lost, certain=True)
            else:
                to_read.append((k, support))
        read = [k for k, _ in to_read]
        backs = translator.back([claims[k].text for k in bare + read])
        bare_backs, read_backs = backs[: len(bare)], backs[len(bare) :]
        pairs = [(back, claims[k].evidence) for k, back in zip(bare, bare_backs, strict=True)]
        for k, support in zip(bare, self.checker.check(pairs), strict=True):
            out[k] = support
        same = translator.same_meaning(
            [(str(claims[k].source_text), claims[k].text, claims[k].language, back)
             for (k, _), back in zip(to_read, read_backs, strict=True)]
        )  # fmt: skip
        for (k, support), p in zip(to_read, same, strict=True):
            if p < translator.threshold_for(claims[k].language):
                reasons = (*support.reasons, "translation_mismatch")
                out[k] = Support(False, min(support.score, p), support.evidence, reasons)
            else:
                out[k] = support
        return [s for s in out if s is not None]


# A name: a capitalised Latin word, not the first of its sentence unless a capitalised word
# follows it ("Marc Gibbons is ..."), which a sentence's first word rarely has.
_NAME = re.compile(
    r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+\b"  # a capitalised word inside a sentence
    r"|(?:^|(?<=[.!?]\s))[A-Z][a-z]+(?=\s+[A-Z])"  # the first, when a capitalised word follows
)
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def names_lost(rendering: str, text: str) -> bool:
    """Whether a text in a script other than Latin lost a Latin name of its rendering.

    Names stay as they are in a translation into Japanese, Chinese or Hindi (the translator is
    told so): "Marc Gibbons" written in katakana as "Markel Gibson" is another person, and the
    bundled reader took it for the same (3 of 3 such translations kept). Into a Latin script a
    product name may be translated ("Plugin de Métodos Array"), so only other scripts are held
    to it.
    """
    letters = [ch for ch in text if ch.isalpha()]
    if not letters or sum(bool(_LATIN.match(ch)) for ch in letters) / len(letters) >= 0.5:
        return False
    prose = mask_code(rendering)[0]
    names = {m.group(0) for m in _NAME.finditer(prose)} - {w.title() for w in STOPWORDS}
    said = text.lower()
    return any(name.lower() not in said for name in names)


def make_translator(
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    languages: Sequence[str] | None = None,
    cache_path: Path | None = None,
) -> Translator:
    """The translator an endpoint gives (``base_url`` and ``model``), else a bundled model.

    Nothing is started until it is first asked something. The bundled reader
    (:data:`LOCAL_READER`, or the bundled model ``model`` names) is then started on 127.0.0.1,
    or a running one reused, and reads :data:`LOCAL_READS` at their thresholds; an endpoint
    reads every language at :data:`SAME_MEANING_THRESHOLD`. ``languages`` narrows either to
    the languages it lists (or, for the bundled model, names languages to read at the
    endpoint threshold: measure them first).
    """
    from groundset.generate import CallCache, GenerateSettings, LLMClient, LocalModelServer

    settings = GenerateSettings(timeout_s=120.0, retries=2, concurrency=1)

    def cache() -> CallCache | None:
        return CallCache(cache_path) if cache_path else None

    if base_url and model:

        def endpoint() -> tuple[LLMClient, LocalModelServer | None]:
            client = LLMClient(base_url, model, api_key=api_key, settings=settings, cache=cache())
            return client, None

        reads = None if not languages else _reads(languages, {})
        return Translator(endpoint, reads, f"{model} at {base_url}")
    local = model or LOCAL_READER

    def bundled() -> tuple[LLMClient, LocalModelServer | None]:
        server = LocalModelServer(local)
        server.start()
        client = LLMClient(
            server.base_url, server.model, settings=settings, cache=cache(), endpoint_id=local
        )
        return client, server if server.started_here else None

    measured = LOCAL_READS if local == LOCAL_READER else {}
    reads = _reads(languages, measured) if languages else measured
    return Translator(bundled, reads, f"{local} (bundled)")


def _reads(languages: Sequence[str], measured: Mapping[str, float]) -> dict[str, float]:
    tags = [primary_language(tag) for tag in languages]
    return {tag: measured.get(tag, SAME_MEANING_THRESHOLD) for tag in tags}
