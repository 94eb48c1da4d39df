"""``groundset demo``: the whole pipeline, offline, on groundset's own documentation.

It renders the Markdown pages shipped in ``groundset/demo_docs/`` into a small documentation
site (navigation, sidebar and footer included, so extraction has chrome to remove), serves it on
127.0.0.1, then crawls, indexes, and generates with the default local model and verifies, a few
samples at a time, until :data:`WANTED` samples are kept or :data:`MOST_SAMPLES` were written;
then it exports and writes the report. Everything lands in one directory; running the demo again
resumes: the recrawl finds nothing changed, the index embeds nothing, and model calls come from
the cache.
"""

from __future__ import annotations

import errno
import functools
import html
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["DemoResult", "build_site", "run_demo"]

#: Where the demo serves its site when the port is free, so that reruns see the same URLs and
#: resume; any free port otherwise.
PREFERRED_PORT = 47823
#: Kept samples the demo wants, how many it writes first, then at a time, and at most.
WANTED = 3
FIRST_ROUND = 4
NEXT_ROUND = 4
MOST_SAMPLES = 20

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - groundset docs</title>
<link rel="stylesheet" href="/style.css"></head>
<body>
<header class="site-header"><a href="/">groundset docs</a> <nav>{nav}</nav></header>
<aside class="sidebar"><h2>On this site</h2><ul>{sidebar}</ul></aside>
<main><article>{body}</article></main>
<footer class="site-footer">Built by groundset demo. Licensed under Apache-2.0.</footer>
</body></html>
"""


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put what it made."""

    root: Path
    corpus: Path
    samples: Path
    kept: Path
    rejected: Path
    dataset: Path | None
    report: Path
    kept_count: int
    rejected_count: int


def _page_slug(name: str) -> str:
    return "" if name == "index" else f"{name}/"


def build_site(dest: Path) -> list[str]:
    """Render the bundled docs into a static site under ``dest``; returns the page paths."""
    import markdown  # only the demo needs it: kept out of every command's start-up

    docs = resources.files("groundset") / "demo_docs"
    pages = sorted(
        (entry.name.removesuffix(".md"), entry.read_text(encoding="utf-8"))
        for entry in docs.iterdir()
        if entry.name.endswith(".md")
    )
    titles = {name: text.splitlines()[0].lstrip("# ").strip() for name, text in pages}
    links = [(f"/{_page_slug(name)}", titles[name]) for name, _ in pages]
    nav = " ".join(f'<a href="{href}">{html.escape(t)}</a>' for href, t in links)
    sidebar = "".join(f'<li><a href="{href}">{html.escape(t)}</a></li>' for href, t in links)
    files = {
        dest / _page_slug(name) / "index.html": _PAGE.format(
            title=html.escape(titles[name]),
            nav=nav,
            sidebar=sidebar,
            body=markdown.markdown(text, extensions=["fenced_code", "tables"]),
        )
        for name, text in pages
    }
    files[dest / "style.css"] = "body{font-family:sans-serif;max-width:60em;margin:auto}\n"
    # A file is rewritten only when its content changes, so a rerun's conditional requests get
    # "304 Not Modified", as they would from a real docs host.
    for path in [p for p in dest.rglob("*") if p.is_file()] if dest.exists() else []:
        if path not in files:
            path.unlink()
    for path, content in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    return [href for href, _ in links]


@contextmanager
def serve(root: Path, port: int = PREFERRED_PORT) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (``port`` if free, else any free port); yields the URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def run_demo(
    root: Path,
    *,
    wanted: int = WANTED,
    most: int = MOST_SAMPLES,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Run every stage on the bundled docs site; everything goes under ``root``.

    Args:
        root: the demo directory (created; reused by a rerun, which resumes).
        wanted: kept samples to stop at.
        most: the most samples to write, kept or not.
        say: where progress lines go.

    Returns:
        The paths of the corpus, samples, kept and rejected files, dataset and report.
    """
    from groundset.corpus import Corpus
    from groundset.crawl import crawl
    from groundset.crawl.settings import CrawlSettings
    from groundset.export import export_dataset, write_report
    from groundset.generate.commands import generate_command
    from groundset.ground import Index
    from groundset.verify import verify_samples_file

    root.mkdir(parents=True, exist_ok=True)
    corpus_dir = root / "corpus"
    samples = root / "samples.jsonl"
    kept = root / "samples.kept.jsonl"
    rejected = root / "samples.rejected.jsonl"
    pages = build_site(root / "site")
    say(f"demo: built a docs site of {len(pages)} pages from groundset's own docs")
    with serve(root / "site") as url:
        report = crawl(CrawlSettings(start_urls=[url]), corpus_dir)
    for line in report.lines():
        say(line)
    with Index.open(corpus_dir) as index, Corpus(corpus_dir) as corpus:
        say(str(index.update(corpus)))
    # The demo is offline by definition: the local model, whatever the environment.
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    count = min(FIRST_ROUND, most)
    while True:
        say(str(generate_command(corpus_dir, samples, count=count, env=env)))
        with Index.open(corpus_dir) as index:
            summary = verify_samples_file(
                samples, index, kept, rejected, question_embedder=index.embedder
            )
        say(str(summary))
        if summary.kept >= wanted or count >= most:
            break
        count = min(count + NEXT_ROUND, most)
    dataset: Path | None = None
    if summary.kept:
        export_dataset(
            kept,
            root / "dataset",
            formats=["openai", "parquet"],
            rejected=rejected,
            corpus_dir=corpus_dir,
        )
        dataset = root / "dataset"
    report_path = write_report(kept, rejected, root / "report.html", corpus_dir=corpus_dir)
    return DemoResult(
        root=root,
        corpus=corpus_dir,
        samples=samples,
        kept=kept,
        rejected=rejected,
        dataset=dataset,
        report=report_path,
        kept_count=summary.kept,
        rejected_count=summary.rejected,
    )
