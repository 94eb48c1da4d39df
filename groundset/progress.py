"""Progress lines for long work, on standard error.

On a terminal the line is rewritten in place; elsewhere (a log file, CI) a line is printed at
most every few seconds, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

__all__ = ["OutcomeProgress", "Progress", "Say"]

#: How a command tells its user one line of what it did (``print``, or a test's list.append).
Say = Callable[[str], None]


class Progress:
    """A one-line counter display.

    Args:
        label: what is being done ("crawl", "index"...).
        stream: where to write; standard error by default.
        every_s: the least time between two lines when not on a terminal.
    """

    def __init__(self, label: str, *, stream: TextIO | None = None, every_s: float = 5.0) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self._tty = self.stream.isatty()
        self._last = 0.0
        self._text = ""

    def update(self, text: str) -> None:
        """Show ``text`` as the current state."""
        self._text = text
        now = time.monotonic()
        if self._tty:
            self.stream.write(f"\r\033[K{self.label}: {text}")
            self.stream.flush()
        elif now - self._last >= self.every_s:
            self._last = now
            self.stream.write(f"{self.label}: {text}\n")
            self.stream.flush()

    def close(self) -> None:
        """End the display (on a terminal, move past the rewritten line)."""
        if self._tty and self._text:
            self.stream.write("\n")
            self.stream.flush()


class OutcomeProgress(Progress):
    """A :class:`Progress` that counts outcomes by name and shows the last item: call it with
    ``(item, outcome)``, as the crawl reports each page."""

    def __init__(self, label: str, *, stream: TextIO | None = None, every_s: float = 5.0) -> None:
        super().__init__(label, stream=stream, every_s=every_s)
        self.counts: Counter[str] = Counter()

    def __call__(self, item: str, outcome: str) -> None:
        self.counts[outcome] += 1
        self.update(", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) + f"  {item}")
