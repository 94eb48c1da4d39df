"""Versioned prompt files, and the fence that keeps page text from acting as instructions.

A prompt is a stable prefix (instructions, the output schema, worked examples) followed by the
part that changes per sample, passages last. Providers cache the prefix, and llama.cpp reuses
the prefix it has already read, so a long prefix costs little after the first sample.

Page text is untrusted: each passage sits between ``<<<PASSAGE n`` and ``PASSAGE n>>>`` lines,
and every run of three or more ``<`` or ``>`` in the text is broken up, so a page cannot close
its fence and write text that looks like instructions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources import files
from string import Template
from typing import Any

from groundset.records import Chunk

__all__ = [
    "EXAMPLE_MARKER",
    "OUTPUT_CUE",
    "SAMPLE_MARKER",
    "Prompt",
    "PromptTemplate",
    "compact_schema",
    "escape_fence",
    "fence_passages",
    "passage_text",
]

#: The line of a prompt file that separates the stable prefix from the per-sample part.
SAMPLE_MARKER = "=== sample ==="
#: How a worked example of the prefix starts (a line of its own, maybe with more words after).
EXAMPLE_MARKER = "Example"
#: What ends the input of an example and of the sample: the output follows on the same line.
OUTPUT_CUE = "JSON:"

# Fence marks: "<" and ">", and the forms that read as them (NFKC folds the small and full-width
# ones into them; a tag character is an invisible copy that some models read).
_OPENING_MARKS = "<\ufe64\uff1c\U000e003c"
_CLOSING_MARKS = ">\ufe65\uff1e\U000e003e"
# Characters that show nothing (soft hyphen, zero-width spaces and joiners, direction marks,
# word joiner, byte order mark): between two marks they do not break a run.
_INVISIBLE = "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
_FENCE_RUN = re.compile(
    "|".join(
        f"[{marks}](?:[{_INVISIBLE}]*[{marks}]){{2,}}" for marks in (_OPENING_MARKS, _CLOSING_MARKS)
    )
)


@dataclass(frozen=True)
class Prompt:
    """One rendered prompt: ``prefix`` is the same for every sample of a run."""

    prefix: str
    suffix: str
    version: str

    @property
    def text(self) -> str:
        """The whole prompt, for completion endpoints."""
        return self.prefix + self.suffix

    def messages(self) -> list[dict[str, str]]:
        """The prompt as chat messages: the instructions as the system message, each worked
        example as a user turn and the assistant's answer, then the sample as the last turn.

        An instruction-tuned model takes examples given as earlier turns as what it did before,
        not as text to continue; written inside the system message, a small one copies them.
        """
        head, *parts = re.split(rf"\n{EXAMPLE_MARKER}([^\n]*)\n", self.prefix)
        messages = [{"role": "system", "content": head.strip()}]
        for about, example in zip(parts[::2], parts[1::2], strict=True):
            shown, _, output = example.strip().rpartition(f"\n{OUTPUT_CUE} ")
            # "Example, for another record schema: ..." says what the example is; keep that.
            note = about.strip(" .,:")
            shown = f"(An example {note}.)\n{shown.strip()}" if note else shown.strip()
            messages.append({"role": "user", "content": shown})
            messages.append({"role": "assistant", "content": output.strip()})
        sample = self.suffix.strip().removesuffix(OUTPUT_CUE).rstrip()
        messages.append({"role": "user", "content": sample})
        return messages


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt file ``generate/prompts/<version>.txt``, split at :data:`SAMPLE_MARKER`."""

    version: str
    prefix: Template
    sample: Template

    @classmethod
    def load(cls, version: str) -> PromptTemplate:
        """Read the prompt file of ``version`` (``qa.v1`` ...)."""
        text = files("groundset.generate").joinpath("prompts", f"{version}.txt").read_text("utf-8")
        prefix, sample = text.split(f"\n{SAMPLE_MARKER}\n")
        # The cue ends the prompt: the output follows it on the same line, as in the examples.
        return cls(version, Template(prefix + "\n"), Template(sample.rstrip("\n")))

    def render(self, prefix_vars: dict[str, str], sample_vars: dict[str, str]) -> Prompt:
        """Fill both parts; a missing variable is an error, not an empty string."""
        return Prompt(
            self.prefix.substitute(prefix_vars), self.sample.substitute(sample_vars), self.version
        )


def fence_passages(passages: tuple[Chunk, ...] | list[Chunk], max_chars: int) -> str:
    """The passages, numbered from 1, each in its untrusted-data fence, cut to ``max_chars``."""
    blocks = []
    for n, chunk in enumerate(passages, start=1):
        where = " > ".join(x for x in (chunk.title, chunk.heading_path) if x)
        body = escape_fence(passage_text(chunk.text, max_chars))
        where = escape_fence(where.replace("\n", " "))
        blocks.append(f"<<<PASSAGE {n} | {where}\n{body}\nPASSAGE {n}>>>")
    return "\n".join(blocks)


def escape_fence(text: str) -> str:
    """``text`` with every run of three or more fence marks broken into pairs, so that no line
    of it can open or close a fence: ``<<<<<`` becomes ``<< << <`` and ``>>>>>`` ``> >> >>``."""
    # Only the fence marks change; a quote that spans one is rare and fails anchoring loudly.
    return _FENCE_RUN.sub(_break_run, text)


def _break_run(run: re.Match[str]) -> str:
    """A run of marks, without its invisible characters, as pairs apart; closing marks are
    paired from the end, so that ``>>>`` mirrors ``<<<`` (``> >>`` and ``<< <``)."""
    marks = "".join(char for char in run.group() if char in _OPENING_MARKS + _CLOSING_MARKS)
    if marks[0] in _CLOSING_MARKS:
        return _pairs(marks[::-1])[::-1]
    return _pairs(marks)


def _pairs(marks: str) -> str:
    return " ".join(marks[i : i + 2] for i in range(0, len(marks), 2))


def passage_text(text: str, max_chars: int) -> str:
    """The part of a chunk's text a prompt shows: all of it, or a verbatim prefix of about
    ``max_chars`` cut at a line or sentence end, so that quotes from it still anchor."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    end = max(cut.rfind("\n"), cut.rfind(". ") + 1)
    return cut[:end] if end > max_chars // 2 else cut


def compact_schema(schema: dict[str, Any]) -> str:
    """A JSON schema without titles, on one line: what the model needs, in fewer tokens."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(schema), ensure_ascii=False)
