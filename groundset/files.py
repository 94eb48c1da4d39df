"""The files a user hands groundset, read and written so that no careless or hostile one does harm.

- JSONL is read line by line by :func:`read_lines`, and each line parsed by
  :meth:`JsonlLine.parse`: a line that cannot be read for any reason (not JSON, not UTF-8, longer
  than :data:`MAX_LINE_BYTES`, nested deeper than :data:`MAX_DEPTH`, a string holding half a
  UTF-16 surrogate pair, which no UTF-8 file can hold) raises :class:`MalformedLine`,
  which the reader counts and reports like any other bad line, so the lines around it still count.
- :func:`refuse_overwriting` refuses, before anything is opened for writing, an output path that
  is one of the inputs (a symlink, a hard link or ``./name`` included) or another output: opening
  it for writing would truncate what is about to be read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from groundset.errors import UsageError

__all__ = [
    "MAX_DEPTH",
    "MAX_LINE_BYTES",
    "JsonlLine",
    "MalformedLine",
    "read_lines",
    "refuse_overwriting",
    "same_file",
]

#: The longest line read as a record; beyond it a line is malformed, and is never held whole.
MAX_LINE_BYTES = 16 * 2**20
#: The deepest nesting of arrays and objects read. groundset's records nest under ten levels;
#: far deeper ones exhaust Python's recursion limit wherever they are validated or written back.
MAX_DEPTH = 100
#: A ``\uD800``-``\uDFFF`` escape: JSON may spell half a surrogate pair, a string no UTF-8
#: file can hold, so writing such a record back would fail.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class MalformedLine(ValueError):
    """A JSONL line that is no JSON value groundset reads; its message says why, after "is"."""


@dataclass(frozen=True)
class JsonlLine:
    """One line of a JSONL file.

    ``text`` is the line without its line break (an overlong one cut at :data:`MAX_LINE_BYTES`),
    ``ended`` whether it had a line break (the last line of an interrupted append has none), and
    ``problem`` why its bytes cannot be parsed at all, if they cannot.
    """

    number: int
    text: str
    ended: bool
    problem: str | None = None

    def parse(self) -> Any:
        """The line's JSON value.

        Raises:
            MalformedLine: the line is not JSON, not UTF-8, too long, nested too deep, or holds
                half a surrogate pair.
        """
        if self.problem is not None:
            raise MalformedLine(self.problem)
        try:
            value = json.loads(self.text)
        except RecursionError:
            raise MalformedLine(f"nested deeper than {MAX_DEPTH} levels") from None
        except json.JSONDecodeError as exc:
            raise MalformedLine(f"not JSON ({exc.msg})") from None
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            raise MalformedLine(f"not JSON ({exc})") from None
        if _deeper_than(value, MAX_DEPTH):
            raise MalformedLine(f"nested deeper than {MAX_DEPTH} levels")
        if _SURROGATE_ESCAPE.search(self.text) and not _encodable(value):
            raise MalformedLine("not Unicode (a \\uD800-\\uDFFF escape outside a surrogate pair)")
        return value


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _deeper_than(value: Any, limit: int) -> bool:
    # Iterative: a recursive walk would fail on exactly the values it looks for.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def read_lines(
    path: Path, *, errors: Literal["strict", "replace"] = "strict"
) -> Iterator[JsonlLine]:
    """The non-blank lines of a JSONL file, numbered from 1, each parsed only when asked.

    Args:
        path: the file (a pipe such as ``/dev/stdin`` too).
        errors: ``strict``: a line that is not UTF-8 is malformed; ``replace``: its bad bytes
            are read as U+FFFD.
    """
    with path.open("rb") as fh:
        number = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            number += 1
            problem = None
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                problem = f"longer than {MAX_LINE_BYTES // 2**20} MB"
                while (rest := fh.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                raw = raw + (b"\n" if rest else b"")
            ended = raw.endswith(b"\n")
            body = raw.rstrip(b"\r\n")
            try:
                text = body.decode("utf-8", errors=errors)
            except UnicodeDecodeError as exc:
                text = body.decode("utf-8", errors="replace")
                problem = problem or f"not UTF-8 ({exc.reason} at byte {exc.start})"
            if text.strip():
                yield JsonlLine(number, text, ended, problem)


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path, or (both existing) one inode."""
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass  # one of them does not exist yet
    return a.resolve() == b.resolve()


def _regular_or_new(path: Path) -> bool:
    """Whether writing ``path`` writes a regular file; not a device or pipe such as /dev/null."""
    return not path.exists() or path.is_file()


def refuse_overwriting(inputs: Mapping[str, Path], outputs: Mapping[str, Path | None]) -> None:
    """Refuse outputs that would destroy an input, or each other, before any is opened.

    Args:
        inputs: the files read, by what they are ("the samples file").
        outputs: the files written, by what they are and how to name another ("--kept"); None
            for one not written to a file.

    Raises:
        UsageError: an output is an input, or two outputs are one file.
    """
    written = [(what, path) for what, path in outputs.items() if path is not None]
    for i, (what, path) in enumerate(written):
        if not _regular_or_new(path):
            continue
        for read, source in inputs.items():
            if same_file(path, source):
                raise UsageError(
                    f"{what} {path} is {read} itself: writing it would erase it before it is read",
                    fix=f"give {what} another path",
                )
        for other, other_path in written[i + 1 :]:
            if same_file(path, other_path):
                raise UsageError(
                    f"{what} and {other} are one file, {path}: each would overwrite the other",
                    fix=f"give {what} and {other} different paths",
                )
