"""The crawl stage's settings: a crawl recipe, section ``[crawl]`` of a project file,
``GROUNDSET_CRAWL_*``.

Built through :func:`groundset.config.resolve` like every stage's settings, so the layers and
the error messages are the same.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CrawlSettings"]


class CrawlSettings(BaseModel):
    """How to crawl: where to start, what is in scope, limits and politeness."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    start_urls: list[str] = Field(default_factory=list)
    # Scope. Empty allowed_hosts / path_prefixes mean "those of the start URLs".
    allowed_hosts: list[str] = Field(default_factory=list)
    path_prefixes: list[str] = Field(default_factory=list)
    allow: list[str] = Field(default_factory=list, description="regexes a URL must match")
    deny: list[str] = Field(default_factory=list, description="regexes that exclude a URL")
    # Limits.
    max_pages: int | None = Field(default=None, ge=1)
    max_depth: int | None = Field(default=None, ge=0)
    max_download_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    timeout_s: float = Field(default=30.0, gt=0)
    retries: int = Field(default=2, ge=0)
    # Discovery.
    follow_links: bool = True
    use_sitemaps: bool = True
    versions: Literal["current", "all"] = Field(
        default="current",
        description="current: pages of other docs versions (Docusaurus's old and unreleased "
        "versions, marked by their version banner, and pages under a version path such as "
        "/en/2.4.2/ that no start URL is under) are skipped as old_version; all: kept",
    )
    # Politeness.
    obey_robots: bool = True
    user_agent: str = "groundset/0.1 (+https://pypi.org/project/groundset/)"
    concurrent_requests: int = Field(default=8, ge=1)
    concurrent_requests_per_host: int = Field(default=4, ge=1)
    download_delay_s: float = Field(default=0.0, ge=0)
    autothrottle: bool = True
    autothrottle_target_concurrency: float = Field(default=4.0, gt=0)
