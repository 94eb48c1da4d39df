"""Samples in another language than their sources: written in the sources' language, then
translated in calls of their own.

Asked to write a sample in Spanish from English passages (English schema, English instructions,
one line asking for Spanish), the bundled models write English: 16 of 16 samples for the 0.5B,
12 of 12 for the 1.5B. Asked plainly to translate a sentence, both write Spanish. So with
``translate = "after"`` a sample is written as an English one would be, and then its question
and each sentence of its answer are translated on their own, at temperature 0. Each translated
sentence becomes a claim whose ``source_text`` is the English it was translated from: the
verifier checks that English against the evidence and the translation against that English
(:mod:`groundset.verify.crosslang`), so a mistranslation is refused like an invention.

A translation that comes back in the wrong language (a language check the caller passes, the
verifier's) is asked for once more with the problem named, then refused ``wrong_language``.
How often that happens per model and language is measured in
``benchmarks/target_language.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from groundset.generate.client import LLMClient
from groundset.languages import language_name, primary_language
from groundset.records import Claim, Sample

__all__ = ["TRANSLATE_VERSION", "LanguageCheck", "SampleTranslator", "split_source_sentences"]

#: Recorded in each translated sample's prompt version, after the task's own.
TRANSLATE_VERSION = "translate.v1"

#: Whether a text is in a language (a BCP 47 tag): True, False, or None when it cannot tell.
LanguageCheck = Callable[[str, str], "bool | None"]

#: The one message a text is translated with. A system message saying "translate" is not
#: enough for the bundled 0.5B: it answers 4 of 6 questions instead of translating them; asked
#: this way, with the text tagged, it translates 6 of 6 into Spanish.
PROMPT = (
    "Translate this {source} {kind} into {target}. Do not answer it or add to it; write only "
    "the {target} {kind}. Translate completely and literally: keep every negation, subject, "
    "number, condition and word of scope (all, only, always, default). Keep code, identifiers, "
    "file names, URLs, and the names of people and products exactly as they are.{note}"
    "\n\n<text>{text}</text>"
)
#: How a question ends, in the scripts groundset reads.
QUESTION_MARKS = ("?", "？", "؟")

# A sentence ends at . ! or ? followed by a space and a capital, a quote, a backtick or a digit.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(\x00])")


def split_source_sentences(text: str) -> list[str]:
    """The sentences of a text in the sources' language, split where a sentence plainly ends;
    a code span is never split."""
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    masked = re.sub(r"`[^`]*`", hide, text.strip())
    sentences = [s.strip() for s in _SENTENCE_END.split(masked) if s.strip()]
    return [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], s) for s in sentences]


@dataclass(frozen=True)
class Translation:
    """A translated sample, or why there is none, and every raw answer the model gave."""

    sample: Sample | None
    error: str | None
    raw: list[str]


class SampleTranslator:
    """Translates written samples into ``language`` through a chat endpoint.

    Args:
        client: the endpoint (the generator's own).
        language: the BCP 47 tag to translate into.
        check: tells whether a text is in a language; None trusts the model.
        max_tokens: the longest translation of one sentence.
    """

    def __init__(
        self,
        client: LLMClient,
        language: str,
        check: LanguageCheck | None = None,
        max_tokens: int = 400,
    ) -> None:
        self.client = client
        self.language = language
        self.check = check
        self.max_tokens = max_tokens

    def translate(self, sample: Sample, source_language: str, seed: int) -> Translation:
        """The sample with its question and answer in ``language``.

        Its claims are the original's (the evidence, quoted in the sources' language), then
        each sentence of the translated answer with the sentence it translates as its
        ``source_text``; the original question is kept as ``source_question``.
        """
        raw: list[str] = []
        target = language_name(self.language)
        if sample.record is not None:
            return Translation(None, f"a record is not translated: write it in {target}", raw)
        question, answer = _question_and_answer(sample)
        texts = [question, *split_source_sentences(answer)]
        out = []
        for text in texts:
            done, error = self._one(text, source_language, seed, raw)
            if done is None:
                return Translation(None, f"asked twice for {target}, {error}", raw)
            out.append(done)
        sentences = out[1:]
        joined = ("" if primary_language(self.language) in ("ja", "zh") else " ").join(sentences)
        claims = [
            *sample.claims,
            *(Claim(text=t, source_text=s) for t, s in zip(sentences, texts[1:], strict=True)),
        ]
        version = f"{sample.generator.prompt_version}+{TRANSLATE_VERSION}"
        update: dict[str, object] = {
            "language": self.language,
            "source_question": question,
            "claims": claims,
            "generator": sample.generator.model_copy(update={"prompt_version": version}),
        }
        if sample.messages:
            update["messages"] = [
                m.model_copy(update={"content": out[0] if m.role == "user" else joined})
                for m in sample.messages
            ]
        else:
            update.update(question=out[0], answer=joined)
        translated = sample.model_copy(update=update)
        return Translation(translated, None, raw)

    def _one(
        self, text: str, source_language: str, seed: int, raw: list[str]
    ) -> tuple[str | None, str | None]:
        """One text translated, asked once more if it came back in the wrong language."""
        target = language_name(self.language)
        kind = "question" if text.rstrip().endswith(QUESTION_MARKS) else "text"
        source = language_name(source_language)
        problem = None
        # Asked again in a message of its own, with what was wrong before the text: asked as a
        # reply in the same conversation, the 1.5B translated the complaint itself.
        for attempt in range(2):
            note = f" Your last answer was wrong: {problem}." if attempt else ""
            prompt = PROMPT.format(source=source, target=target, kind=kind, text=text, note=note)
            messages = [{"role": "user", "content": prompt}]
            body = {"messages": messages, "max_tokens": self.max_tokens, "temperature": 0}
            completion = self.client.call("chat", {**body, "seed": seed})
            answer = _strip(completion.text)
            raw.append(completion.text)
            problem = self._problem(text, answer, completion.finish_reason)
            if problem is None:
                return answer, None
        return None, problem

    def _problem(self, text: str, answer: str, finish_reason: str | None) -> str | None:
        target = language_name(self.language)
        if not answer:
            return "it was empty"
        if finish_reason == "length":
            return "it was cut off, too long"
        same = " ".join(answer.split()).lower() == " ".join(text.split()).lower()
        if same or (self.check is not None and self.check(answer, self.language) is False):
            return f"it was not in {target}"
        if text.rstrip().endswith(QUESTION_MARKS) and not answer.endswith(QUESTION_MARKS):
            return "it answered the question instead of translating it"
        return None


def _question_and_answer(sample: Sample) -> tuple[str, str]:
    """A sample's question and answer, from its fields or its conversation's two turns."""
    if sample.messages:
        question = next((m.content for m in sample.messages if m.role == "user"), "")
        answer = next((m.content for m in sample.messages if m.role == "assistant"), "")
        return question, answer
    return sample.question or "", sample.answer or ""


def _strip(text: str) -> str:
    """The translation without the quotes or labels a model sometimes puts around it."""
    text = re.sub(r"</?text>", "", text).strip()
    text = re.sub(r"^(?:translation|traducción|翻訳|翻译)\s*[:：]\s*", "", text, flags=re.I)
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'«“":
        text = text[1:-1].strip()
    return text
