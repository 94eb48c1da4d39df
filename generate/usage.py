"""Token accounting of a run, and its cost when prices are known."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["Usage"]


@dataclass
class Usage:
    """Tokens spent by the calls of one run; calls answered from the cache cost nothing.

    ``cached_tokens`` are prompt tokens the provider read from its own prompt cache.
    """

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_call(self, prompt: int, completion: int, cached: int) -> None:
        """Count one call made to the endpoint."""
        with self._lock:
            self.calls += 1
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.cached_tokens += cached

    def add_cache_hit(self) -> None:
        """Count one call answered from the cache."""
        with self._lock:
            self.cache_hits += 1

    def cost(
        self, prompt: float | None, completion: float | None, cached: float | None = None
    ) -> float | None:
        """The cost at these prices per million tokens, or None when a price is missing.

        Provider-cached prompt tokens are charged at ``cached`` (at ``prompt`` when None).
        """
        if prompt is None or completion is None:
            return None
        cached_price = prompt if cached is None else cached
        fresh = self.prompt_tokens - self.cached_tokens
        total = fresh * prompt + self.cached_tokens * cached_price
        return (total + self.completion_tokens * completion) / 1_000_000
