"""groundset: documentation sites into training and evaluation data that can be trusted.

The stages live in ``groundset.crawl``, ``groundset.ground``, ``groundset.generate`` and
``groundset.verify``; this package is the spine that holds their shared records, settings and
errors, and the command line that wires them together.
"""

from __future__ import annotations

from groundset.errors import (
    CrawlError,
    GenerationError,
    GroundsetError,
    IndexStoreError,
    UsageError,
    VerificationError,
)

__version__ = "0.1.0"

__all__ = [
    "CrawlError",
    "GenerationError",
    "GroundsetError",
    "IndexStoreError",
    "UsageError",
    "VerificationError",
    "__version__",
]
