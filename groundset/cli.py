"""The ``groundset`` command line.

Exit status: 0 on success, 1 on failure, 2 on bad usage. A user error prints one line naming the
problem and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from groundset import __version__
from groundset.config import CrawlSettings, load_toml, resolve
from groundset.errors import GroundsetError, UsageError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]

#: Subcommands of the design that this version does not have yet, with what they will do.
_NOT_BUILT = {
    "index": "build the chunk index of a corpus",
    "search": "search a corpus index",
    "generate": "generate samples from a corpus",
    "verify": "verify samples against their sources",
    "verify-claims": "check claims against evidence",
    "run": "run a whole project",
    "refresh": "refresh a project after its docs changed",
    "demo": "run the offline demo",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", fix=f"see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = _Parser(
        prog="groundset",
        description="Turn documentation sites into training and evaluation data whose every "
        "claim is checked against its sources.",
    )
    parser.add_argument("--version", action="version", version=f"groundset {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    crawl = sub.add_parser(
        "crawl",
        help="crawl a docs site into a Markdown corpus",
        description="Crawl a documentation site (start URLs, or a recipe TOML) into a corpus "
        "of Markdown files. A second crawl of the same corpus reports what changed.",
    )
    crawl.add_argument("targets", nargs="+", metavar="RECIPE.toml|URL")
    crawl.add_argument("--corpus", type=Path, help="corpus directory (default: corpora/<name>)")
    crawl.add_argument("--max-pages", type=int)
    crawl.add_argument("--max-depth", type=int)
    crawl.add_argument("--allow", action="append", help="regex a URL must match (repeatable)")
    crawl.add_argument("--deny", action="append", help="regex that excludes a URL (repeatable)")
    crawl.add_argument("--concurrency", type=int, dest="concurrent_requests")
    crawl.add_argument("--delay", type=float, dest="download_delay_s", help="seconds per host")
    crawl.add_argument("--user-agent")
    crawl.add_argument(
        "--ignore-robots",
        action="store_const",
        const=False,
        dest="obey_robots",
        help="do not obey robots.txt (only for sites you own)",
    )
    crawl.add_argument(
        "--no-sitemaps",
        action="store_const",
        const=False,
        dest="use_sitemaps",
        help="discover pages by links only",
    )
    crawl.set_defaults(handler=_cmd_crawl)

    export = sub.add_parser(
        "export",
        help="export kept samples to fine-tuning formats",
        description="Write kept samples as fine-tuning files (train/eval split by source "
        "document, so no document feeds both) and a dataset card.",
    )
    export.add_argument("kept", type=Path, metavar="KEPT.jsonl")
    export.add_argument("--out", type=Path, required=True, help="export directory")
    export.add_argument("--format", default="openai,alpaca,sharegpt,parquet")
    export.add_argument("--rejected", type=Path, help="rejected file, for the card's figures")
    export.add_argument("--eval-fraction", type=float, default=0.1)
    export.add_argument("--seed", type=int, default=0)
    export.add_argument("--corpus", type=Path, help="corpus, for fetch times in provenance")
    export.set_defaults(handler=_cmd_export)

    report = sub.add_parser(
        "report",
        help="write an HTML report of kept and rejected samples",
        description="Write one self-contained HTML page with charts of what verification kept "
        "and refused, corpus coverage, claim scores, and browsable samples.",
    )
    report.add_argument("kept", type=Path, metavar="KEPT.jsonl")
    report.add_argument("rejected", type=Path, metavar="REJECTED.jsonl")
    report.add_argument("--out", type=Path, required=True, metavar="REPORT.html")
    report.add_argument("--corpus", type=Path)
    report.set_defaults(handler=_cmd_report)

    for name, what in _NOT_BUILT.items():
        p = sub.add_parser(name, help=f"{what} (not built yet)", add_help=True)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(handler=_not_built(name, what))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        args = build_parser().parse_args(argv)
        handler: Handler = args.handler
        return handler(args)
    except GroundsetError as exc:
        print(f"groundset: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("groundset: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def _not_built(name: str, what: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        print(f"groundset {name}: not built yet ({what}).", file=sys.stderr)
        return 1

    return handler


# -- export and report ---------------------------------------------------------------------


def _cmd_export(args: argparse.Namespace) -> int:
    from groundset.export import export_command

    summary = export_command(
        args.kept,
        args.out,
        formats=args.format,
        rejected=args.rejected,
        eval_fraction=args.eval_fraction,
        seed=args.seed,
        corpus=args.corpus,
    )
    print(summary)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from groundset.report import report_command

    path = report_command(args.kept, args.rejected, args.out, corpus=args.corpus)
    print(f"report: {path}")
    return 0


# -- crawl ---------------------------------------------------------------------------------


def _cmd_crawl(args: argparse.Namespace) -> int:
    from groundset.crawl import crawl
    from groundset.progress import Progress

    settings, name = _crawl_settings(args)
    corpus_dir = args.corpus or Path("corpora") / name
    progress = Progress("crawl")
    counts: dict[str, int] = {}

    def on_page(url: str, outcome: str) -> None:
        counts[outcome] = counts.get(outcome, 0) + 1
        progress.update(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"  {url}")

    try:
        report = crawl(settings, corpus_dir, progress=on_page)
    finally:
        progress.close()
    for line in report.lines():
        print(line)
    print(f"corpus: {corpus_dir}")
    return 0


def _crawl_settings(args: argparse.Namespace) -> tuple[CrawlSettings, str]:
    """Crawl settings from a recipe or URLs, the environment and the flags; and a corpus name."""
    recipes = [t for t in args.targets if t.endswith(".toml")]
    urls = [t for t in args.targets if not t.endswith(".toml")]
    if len(recipes) > 1 or (recipes and urls):
        raise UsageError("give one recipe or some URLs, not both", fix="see `groundset crawl -h`")
    file_values: dict[str, Any] = {}
    name = ""
    source = "the command line"
    if recipes:
        data = load_toml(recipes[0])
        file_values = dict(data.get("crawl", {}))
        name = str(data.get("name") or Path(recipes[0]).stem)
        source = recipes[0]
    flags: dict[str, Any] = {
        key: getattr(args, key)
        for key in (
            "max_pages",
            "max_depth",
            "allow",
            "deny",
            "concurrent_requests",
            "download_delay_s",
            "user_agent",
            "obey_robots",
            "use_sitemaps",
        )
    }
    if urls:
        flags["start_urls"] = urls
    settings = resolve(CrawlSettings, "crawl", file_values=file_values, flags=flags, source=source)
    if not name and settings.start_urls:
        name = (urlsplit(settings.start_urls[0]).hostname or "corpus").replace(":", "_")
    return settings, name or "corpus"


if __name__ == "__main__":
    sys.exit(main())
