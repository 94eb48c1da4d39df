"""The one exception hierarchy of groundset.

Every error a user can cause or fix derives from :class:`GroundsetError`. Each carries a
``fix`` (what to do about it) and the object it failed on, so the command line can print one
clear line instead of a traceback::

    GroundsetError
    ├── UsageError            bad flags, bad config, missing files       -> exit 2
    ├── CrawlError            a crawl that cannot start or yields nothing -> exit 1
    ├── IndexStoreError       the chunk index cannot be built or opened   -> exit 1
    ├── GenerationError       the LLM endpoint is unreachable or refuses  -> exit 1
    ├── VerificationError     samples or claims cannot be checked         -> exit 1
    └── StateError            a state file damaged, locked or too new     -> exit 1
"""

from __future__ import annotations

__all__ = [
    "CrawlError",
    "GenerationError",
    "GroundsetError",
    "GroundsetWarning",
    "IndexStoreError",
    "StateError",
    "UsageError",
    "VerificationError",
]


class GroundsetError(Exception):
    """Base class: a problem the user can understand and fix.

    Args:
        message: what went wrong, naming the thing it went wrong on.
        fix: what the user should do about it.
    """

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message


class UsageError(GroundsetError):
    """Bad command line, configuration or input file."""

    exit_code = 2


class CrawlError(GroundsetError):
    """A crawl that cannot run, or that finished with nothing to show."""

    def __init__(self, message: str, *, url: str | None = None, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.url = url


class IndexStoreError(GroundsetError):
    """The chunk index cannot be opened, built or queried."""

    def __init__(
        self, message: str, *, chunk_id: str | None = None, fix: str | None = None
    ) -> None:
        super().__init__(message, fix=fix)
        self.chunk_id = chunk_id


class GenerationError(GroundsetError):
    """The LLM endpoint is unreachable, refuses the key, or cannot produce samples."""

    def __init__(
        self, message: str, *, endpoint: str | None = None, fix: str | None = None
    ) -> None:
        super().__init__(message, fix=fix)
        self.endpoint = endpoint


class VerificationError(GroundsetError):
    """Samples or claims that cannot be checked at all (as opposed to claims that fail)."""

    def __init__(
        self, message: str, *, sample_id: str | None = None, fix: str | None = None
    ) -> None:
        super().__init__(message, fix=fix)
        self.sample_id = sample_id


class StateError(GroundsetError):
    """A state file (manifest, cache, project state) that is damaged, locked, read-only or
    written by another version of groundset."""

    def __init__(self, message: str, *, path: str | None = None, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.path = path


class GroundsetWarning(UserWarning):
    """Something the user should know before or while it costs them: printed as one line."""
