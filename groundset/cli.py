"""The ``groundset`` command line.

Exit status: 0 on success, 1 on failure, 2 on bad usage. A user error prints one line naming the
problem and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sqlite3
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from groundset import __version__
from groundset.config import load_toml, resolve
from groundset.demo import MOST_SAMPLES, WANTED
from groundset.errors import GroundsetError, GroundsetWarning, UsageError
from groundset.languages import language_tag

if TYPE_CHECKING:
    from groundset.crawl.settings import CrawlSettings
    from groundset.ground.settings import IndexSettings

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


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
    crawl.add_argument(
        "--all-versions",
        action="store_const",
        const="all",
        dest="versions",
        help="keep the pages of every docs version (default: the current version only)",
    )
    crawl.set_defaults(handler=_cmd_crawl)

    index = sub.add_parser(
        "index",
        help="chunk a corpus and embed it into its Chroma index",
        description="Chunk every page of a corpus by heading, embed the chunks and keep the "
        "Chroma index in step with the corpus: only new and changed chunks are embedded.",
    )
    index.add_argument("--corpus", type=Path, required=True)
    index.add_argument("--chroma-url", help="a Chroma server (default: <corpus>/index/)")
    index.add_argument(
        "--embedder",
        help="sentence-transformers model name or path, or multilingual-e5-small-q4 (bundled;"
        " chosen by itself for a new index of a corpus mostly not in English)",
    )
    _add_endpoint_args(index)
    index.add_argument(
        "--rebuild", action="store_true", help="rebuild from scratch (e.g. with another embedder)"
    )
    index.set_defaults(handler=_cmd_index)

    search = sub.add_parser(
        "search",
        help="search a corpus index",
        description="Print the best chunks for a query: hybrid dense and BM25 ranking.",
    )
    search.add_argument("--corpus", type=Path, required=True)
    search.add_argument("query", metavar="QUERY")
    search.add_argument("-k", type=int, default=5, help="how many chunks (default 5)")
    search.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid")
    search.add_argument("--chroma-url", help="a Chroma server (default: <corpus>/index/)")
    _add_endpoint_args(search)
    search.set_defaults(handler=_cmd_search)

    gen = sub.add_parser(
        "generate",
        help="have an LLM write samples grounded in the corpus",
        description="Write samples from passages of an indexed corpus, each claim citing a "
        "quote it chose from the passage. With no endpoint configured, the bundled local model "
        "(Qwen2.5-Coder-1.5B-Instruct) runs on a local llama.cpp server. A rerun resumes and "
        "costs nothing for what is done.",
    )
    gen.add_argument("--corpus", type=Path, required=True, help="an indexed corpus")
    gen.add_argument("--count", type=int, required=True, help="samples the output should hold")
    gen.add_argument("--out", type=Path, required=True, metavar="SAMPLES.jsonl")
    gen.add_argument(
        "--task",
        default="qa",
        help="qa (default), instruct, evol, schema, unanswerable, multihop or false_premise",
    )
    gen.add_argument("--language", default="en", help="language to write samples in (code)")
    gen.add_argument("--llm-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    gen.add_argument("--llm-model", help="model name at that endpoint")
    gen.add_argument(
        "--local-model",
        help="with no endpoint: a bundled model (qwen2.5-coder-1.5b-instruct, the default, "
        "qwen2.5-coder-0.5b-instruct or gemma-3-270m) or the path of a GGUF file",
    )
    _add_batch_args(gen)
    gen.set_defaults(handler=_cmd_generate)
    _add_run_batch(sub)

    verify = sub.add_parser(
        "verify",
        help="check every claim of every sample against the passages it cites",
        description="Check every claim of every sample against the chunks it cites; keep a "
        "sample only when all its claims are supported. Writes kept and rejected files (each "
        "line the sample with its verdict) and a summary by reason.",
    )
    verify.add_argument("samples", type=Path, metavar="SAMPLES.jsonl")
    verify.add_argument("--corpus", type=Path, required=True, help="the indexed corpus")
    verify.add_argument("--kept", type=Path, help="default: SAMPLES.kept.jsonl")
    verify.add_argument("--rejected", type=Path, help="default: SAMPLES.rejected.jsonl")
    verify.add_argument("--language", help="the language samples must be in (code, e.g. sw)")
    verify.add_argument("--chroma-url", help="Chroma server holding the index")
    _add_checker_args(verify)
    filters = verify.add_argument_group("filters")
    for name in (
        "min-question-words",
        "max-question-words",
        "min-answer-words",
        "max-answer-words",
        "copy-min-words",
    ):
        filters.add_argument(f"--{name}", type=int)
    for name in (
        "near-duplicate",
        "copy-share",
        "copy-passage-share",
        "answerable-coverage",
        "answer-new-share",
    ):
        filters.add_argument(f"--{name}", type=float)
    filters.add_argument(
        "--repeat-cosine",
        type=float,
        help="cosine of two questions' vectors (the index's embedder) at which a question "
        "repeats a kept one (default: as measured for the embedder, 0.91 for all-MiniLM-L6-v2)",
    )
    verify.set_defaults(handler=_cmd_verify)

    claims = sub.add_parser(
        "verify-claims",
        help="check claims against evidence (benchmark the checker alone)",
        description="Read lines {id, evidence, claim}; write each with supported, score and "
        "reasons added. Evidence may be a whole page: it is split into windows.",
    )
    claims.add_argument("pairs", type=Path, metavar="PAIRS.jsonl")
    claims.add_argument("--out", type=Path, help="default: standard output")
    _add_checker_args(claims)
    claims.set_defaults(handler=_cmd_verify_claims)

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
    export.add_argument(
        "--force",
        action="store_true",
        help="export into a folder holding files groundset did not write (files of the same "
        "name are replaced, the others kept)",
    )
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

    review = sub.add_parser(
        "review",
        help="a person spot-checks a random sample of kept and rejected samples in a browser",
        description="Serve a review page on 127.0.0.1 for a seeded, stratified sample of kept "
        "and rejected samples; every verdict is saved as it is given (run it again to resume), "
        "and the figures (precision of the kept set with a 95%% interval, wrongly rejected "
        "samples, agreement with the verifier) print when you stop it.",
    )
    review.add_argument(
        "kept", type=Path, metavar="PROJECT.toml | KEPT.jsonl",
        help="a project (its newest version is reviewed) or a kept file",
    )  # fmt: skip
    review.add_argument("rejected", type=Path, nargs="?", metavar="REJECTED.jsonl")
    review.add_argument("--corpus", type=Path, help="corpus, to show the cited passages whole")
    review.add_argument("--kept-sample", type=int, default=30, help="kept samples to draw")
    review.add_argument("--rejected-sample", type=int, default=10, help="rejected samples to draw")
    review.add_argument("--seed", type=int, default=0)
    review.add_argument("--reviews", type=Path, help="reviews file (default: beside KEPT.jsonl)")
    review.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    review.add_argument("--summary", action="store_true", help="print the figures, serve nothing")
    review.add_argument(
        "--export", type=Path, metavar="CLAIMS.jsonl",
        help="write the reviewed claims as {id, evidence, claim, label} for verify-claims",
    )  # fmt: skip
    review.set_defaults(handler=_cmd_review)

    demo = sub.add_parser(
        "demo",
        help="offline: the whole pipeline on groundset's own docs, with the local model",
        description="Build a small docs site from groundset's own docs, serve it on "
        "127.0.0.1, crawl, index, generate with the bundled local model, verify, export and "
        "write the report. Run it again to resume.",
    )
    demo.add_argument("--out", type=Path, default=Path("groundset-demo"), help="demo directory")
    demo.add_argument(
        "--wanted", type=int, default=WANTED, help=f"kept samples to stop at (default {WANTED})"
    )
    demo.add_argument(
        "--most",
        type=int,
        default=MOST_SAMPLES,
        help=f"most samples to write, kept or not (default {MOST_SAMPLES})",
    )
    demo.set_defaults(handler=_cmd_demo)

    init = sub.add_parser(
        "init",
        help="write a commented starting project file",
        description="Write a project file for `groundset run`: sources, tasks and their quotas, "
        "model, checker, export formats and budget, each with a comment.",
    )
    init.add_argument("project", type=Path, nargs="?", default=Path("groundset.toml"),
                      metavar="PROJECT.toml", help="default: groundset.toml")  # fmt: skip
    init.add_argument("--url", action="append", dest="urls", help="a start URL (repeatable)")
    init.add_argument("--recipe", help="a crawl recipe instead of URLs")
    init.add_argument("--language", default="en", help="the language of the samples (code)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_cmd_init)

    run = sub.add_parser(
        "run",
        help="build a project's dataset: crawl, index, generate and verify in rounds, export",
        description="Crawl the project's sources, index them, then generate and verify in "
        "rounds until each task's quota of kept samples is met or the budget is spent, and "
        "publish the kept samples as a dataset version. Interrupted, the same command resumes.",
    )
    run.add_argument("project", type=Path, metavar="PROJECT.toml")
    run.set_defaults(handler=_cmd_run)

    refresh = sub.add_parser(
        "refresh",
        help="bring a project's dataset in step with docs that changed",
        description="Recrawl with conditional requests, reindex what changed, re-verify the "
        "kept samples citing changed or removed sections (retiring those that no longer hold), "
        "refill the quotas from new and changed sections, and publish a new dataset version "
        "with a diff. Unchanged docs cost no model calls.",
    )
    refresh.add_argument("project", type=Path, metavar="PROJECT.toml")
    refresh.set_defaults(handler=_cmd_run)
    return parser


_default_showwarning = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """groundset's own warnings as one line, like its errors; others as Python prints them."""
    if issubclass(category, GroundsetWarning):
        print(f"groundset: warning: {message}", file=file or sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    # The model loaders' progress bars would bury groundset's own progress and summary.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.showwarning = _show_warning
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
    except (OSError, sqlite3.OperationalError) as exc:
        line = _disk_problem(exc)
        if line is None:
            raise
        print(f"groundset: error: {line}", file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as exc:
        if "malformed" not in str(exc):
            raise
        # Damage is looked for when each state file is opened; this is damage done since.
        print(
            f"groundset: error: a state file was damaged while this command ran ({exc}) (run the"
            " same command again: it names the file and heals it, or says how to recover it)",
            file=sys.stderr,
        )
        return 1


def _disk_problem(exc: OSError | sqlite3.OperationalError) -> str | None:
    """One line for a full or read-only disk, wherever the write failed; else None.

    Every write groundset makes is atomic or committed row by row, so what was written before
    stays, and the same command run again resumes from it.
    """
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        if "disk is full" in text or "disk I/O error" in text:
            return (
                f"the disk is full ({text}) (free some space and run the same command again: it"
                " resumes where it stopped)"
            )
        if "readonly database" in text:
            return f"a state file is read-only ({text}) (make it writable, or work on a copy)"
        return None
    where = f" writing {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"no space left on the device{where} (free some space and run the same command"
            " again: it resumes where it stopped)"
        )
    if exc.errno == errno.EROFS:
        return f"the file system is read-only{where} (work in a folder you can write)"
    return None


# -- index and search ----------------------------------------------------------------------


def _add_endpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--embed-url",
        help="embed with an OpenAI-compatible embeddings endpoint (http://host:port/v1)",
    )
    parser.add_argument("--embed-model", help="the model to ask --embed-url for")


def _index_settings(args: argparse.Namespace) -> IndexSettings:
    from groundset.ground.settings import IndexSettings

    flags = {
        "chroma_url": args.chroma_url,
        "embedder": getattr(args, "embedder", None),
        "embed_url": args.embed_url,
        "embed_model": args.embed_model,
    }
    return resolve(IndexSettings, "index", flags=flags)


def _cmd_index(args: argparse.Namespace) -> int:
    from groundset.ground.commands import index_command

    index_command(args.corpus, rebuild=args.rebuild, settings=_index_settings(args))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from groundset.ground.commands import search_command

    search_command(
        args.corpus, args.query, k=args.k, mode=args.mode, settings=_index_settings(args)
    )
    return 0


# -- generate -------------------------------------------------------------------------------


def _cmd_generate(args: argparse.Namespace) -> int:
    from groundset.generate.commands import generate_command
    from groundset.verify.language import is_language

    if args.count < 1:
        raise UsageError("--count must be at least 1", fix="ask for one sample or more")
    language_tag(args.language, "--language")
    summary = generate_command(
        args.corpus,
        args.out,
        count=args.count,
        task=args.task,
        language=args.language,
        llm_url=args.llm_url,
        llm_model=args.llm_model,
        local_model=args.local_model,
        batch=args.batch,
        write_requests=args.write_requests,
        read_results=args.read_results,
        language_check=is_language,
    )
    print(summary)
    return 0


# -- batch generation -----------------------------------------------------------------------


def _add_batch_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("batch generation").add_mutually_exclusive_group()
    group.add_argument(
        "--batch",
        action="store_const",
        const=True,
        help="send the requests through the endpoint's batch API at its batch price "
        "(answers within 24 hours; interrupted, the same command picks the batch up)",
    )
    group.add_argument(
        "--write-requests",
        type=Path,
        metavar="REQUESTS.jsonl",
        help="write the requests of the missing samples in the OpenAI Batch format, call "
        "nothing (for vLLM's run_batch or `groundset run-batch`; --llm-model names the model)",
    )
    group.add_argument(
        "--read-results",
        type=Path,
        metavar="RESULTS.jsonl",
        help="read a batch runner's output file back into samples (give the arguments that "
        "wrote the requests)",
    )


def _add_run_batch(sub: Any) -> None:
    run_batch = sub.add_parser(
        "run-batch",
        help="answer a batch request file line by line, with the local model or an endpoint",
        description="Send each request of a request file in the OpenAI Batch format (what "
        "`generate --write-requests` writes) to an endpoint, or to the bundled local model, one "
        "after another, and write the answers in the batch output format that `generate "
        "--read-results` reads: vLLM's run_batch without vLLM. Run it again to resume.",
    )
    run_batch.add_argument("requests", type=Path, metavar="REQUESTS.jsonl")
    run_batch.add_argument("--out", type=Path, required=True, metavar="RESULTS.jsonl")
    run_batch.add_argument("--llm-url", help="OpenAI-compatible endpoint (default: local model)")
    run_batch.add_argument("--local-model", help="with no endpoint: a bundled model or a GGUF file")
    run_batch.set_defaults(handler=_cmd_run_batch)


def _cmd_run_batch(args: argparse.Namespace) -> int:
    from groundset.generate.commands import run_batch_command

    print(run_batch_command(args.requests, args.out, llm_url=args.llm_url,
                            local_model=args.local_model))  # fmt: skip
    return 0


# -- verify ---------------------------------------------------------------------------------

_CHECKER_OPTIONS = (
    "threshold",
    "min_precision",
    "embedder",
    "nli_model",
    "llm_model",
    "llm_base_url",
    "llm_api_key",
    "llm_cache",
    "cascade",
    "band",
    "translator_model",
    "translator_base_url",
    "translator_api_key",
    "translator_languages",
)
_FILTER_OPTIONS = (
    "min_question_words",
    "max_question_words",
    "min_answer_words",
    "max_answer_words",
    "copy_min_words",
    "near_duplicate",
    "copy_share",
    "copy_passage_share",
    "answerable_coverage",
    "answer_new_share",
    "repeat_cosine",
)


def _add_checker_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("checker")
    group.add_argument(
        "--checker",
        default="calibrated",
        help="calibrated (default, no model), lexical, overlap, embedding, nli, llm, cascade",
    )
    group.add_argument("--threshold", type=float, help="override the checker's threshold")
    group.add_argument(
        "--min-precision",
        type=float,
        help="the least share of kept samples a careful reader keeps (0-1), as measured for the "
        "calibrated checker: it picks the threshold, or says the share was never measured",
    )
    group.add_argument("--embedder", help="sentence-transformers model name or path")
    group.add_argument("--nli-model", help="CrossEncoder NLI model name or path")
    group.add_argument("--llm-model", help="judge model (llm checker)")
    group.add_argument("--llm-base-url", help="judge endpoint (default: $OPENAI_BASE_URL)")
    group.add_argument("--llm-api-key", help="judge key (default: $OPENAI_API_KEY)")
    group.add_argument(
        "--llm-cache",
        type=Path,
        help="where the judge's answers are cached (default: judge-cache.sqlite beside the input)",
    )
    group.add_argument("--cascade", type=_names, help="cascade stages, e.g. lexical,nli")
    reader = "model that reads other languages (default: the judge's, else the bundled one)"
    group.add_argument("--translator-model", help=reader)
    group.add_argument("--translator-base-url", help="its endpoint")
    group.add_argument("--translator-api-key", help="its key")
    group.add_argument(
        "--translator-languages", type=_names, help="its languages (all; bundled: es,ja,zh)"
    )
    group.add_argument("--band", type=float, help="score band around a threshold that escalates")


def _names(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def _options(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _cmd_verify(args: argparse.Namespace) -> int:
    from groundset.ground import Index
    from groundset.verify import verify_samples_file

    samples: Path = args.samples
    if args.language is not None:
        language_tag(args.language, "--language")
    if not samples.is_file():
        raise UsageError(
            f"no such file: {samples}", fix="give the samples file that generate wrote"
        )
    kept = args.kept or samples.with_suffix(".kept.jsonl")
    rejected = args.rejected or samples.with_suffix(".rejected.jsonl")
    args.llm_cache = args.llm_cache or samples.with_name("judge-cache.sqlite")
    index = Index.open(args.corpus, chroma_url=args.chroma_url)
    try:
        summary = verify_samples_file(
            samples,
            index,
            kept,
            rejected,
            checker=args.checker,
            language=args.language,
            question_embedder=index.embedder,
            **_options(args, _CHECKER_OPTIONS + _FILTER_OPTIONS),
        )
    finally:
        index.close()
    print(summary)
    print(f"kept: {kept}\nrejected: {rejected}")
    return 0


def _cmd_verify_claims(args: argparse.Namespace) -> int:
    from groundset.verify import verify_claims_file

    args.llm_cache = args.llm_cache or args.pairs.with_name("judge-cache.sqlite")
    summary = verify_claims_file(
        args.pairs, args.out, checker=args.checker, **_options(args, _CHECKER_OPTIONS)
    )
    print(json.dumps(summary, sort_keys=True), file=sys.stderr)
    return 0


# -- projects -------------------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    from groundset.project import write_init

    path = write_init(
        args.project, urls=args.urls, recipe=args.recipe, language=args.language, force=args.force
    )
    print(f"wrote {path}; edit it, then: groundset run {path}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from groundset.project import load_project, refresh_project, run_project

    command = refresh_project if args.command == "refresh" else run_project
    summary = command(load_project(args.project))
    print()
    for line in summary.lines():
        print(line)
    return 0


# -- demo -----------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from groundset.demo import run_demo

    result = run_demo(args.out, wanted=args.wanted, most=args.most)
    print(f"\ndemo done: {result.kept_count} samples kept, {result.rejected_count} rejected")
    print(f"  corpus:   {result.corpus}")
    print(f"  samples:  {result.samples}")
    print(f"  kept:     {result.kept}")
    print(f"  rejected: {result.rejected} (each with its reasons)")
    if result.dataset:
        print(f"  dataset:  {result.dataset}")
    print(
        f"  report:   {result.report} (open it in a browser: under 'Kept samples' each kept"
        " sample with its claims, the passages they cite and the deciding evidence highlighted)"
    )
    return 0


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
        force=args.force,
    )
    print(summary)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from groundset.export import report_command

    path = report_command(args.kept, args.rejected, args.out, corpus=args.corpus)
    print(f"report: {path}")
    return 0


def _cmd_review(args: argparse.Namespace) -> int:
    from groundset.export import (
        ReviewServer,
        ReviewSession,
        export_reviewed_claims,
        review_figures,
        review_inputs,
    )
    from groundset.project import project_review_files

    kept, rejected, corpus, reviews = args.kept, args.rejected, args.corpus, args.reviews
    if kept.suffix == ".toml":
        kept, rejected, project_corpus, project_reviews = project_review_files(kept)
        corpus, reviews = corpus or project_corpus, reviews or project_reviews
    elif rejected is None:
        raise UsageError(
            "review needs a project file, or a kept and a rejected file",
            fix="run `groundset review PROJECT.toml` or `groundset review KEPT REJECTED`",
        )
    inputs = review_inputs(
        kept, rejected, corpus=corpus, n_kept=args.kept_sample,
        n_rejected=args.rejected_sample, seed=args.seed, reviews=reviews,
    )  # fmt: skip
    if args.export is not None:
        n = export_reviewed_claims(inputs.items, inputs.log.latest(), args.export, inputs.texts)
        print(f"review: wrote {n} reviewed claims to {args.export}")
        return 0
    if not args.summary:
        server = ReviewServer(ReviewSession(inputs.items, inputs.log, inputs.texts), args.port)
        print(f"review: {len(inputs.items)} samples drawn; verdicts go to {inputs.log.path}")
        print(f"review: open {server.url} (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
    for line in review_figures(inputs.items, inputs.log.latest()).lines():
        print(f"review: {line}")
    return 0


# -- crawl ---------------------------------------------------------------------------------


def _cmd_crawl(args: argparse.Namespace) -> int:
    from groundset.crawl import crawl
    from groundset.progress import OutcomeProgress

    settings, name = _crawl_settings(args)
    corpus_dir = args.corpus or Path("corpora") / name
    progress = OutcomeProgress("crawl")
    try:
        report = crawl(settings, corpus_dir, progress=progress)
    finally:
        progress.close()
    for line in report.lines():
        print(line)
    print(f"corpus: {corpus_dir}")
    return 0


def _crawl_settings(args: argparse.Namespace) -> tuple[CrawlSettings, str]:
    """Crawl settings from a recipe or URLs, the environment and the flags; and a corpus name."""
    from groundset.crawl.settings import CrawlSettings

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
        if data.get("name") and args.corpus is None:  # the name becomes corpora/<name>
            _check_folder_name(data["name"], recipes[0])
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
            "versions",
        )
    }
    if urls:
        flags["start_urls"] = urls
    settings = resolve(CrawlSettings, "crawl", file_values=file_values, flags=flags, source=source)
    if not name and settings.start_urls:
        name = (urlsplit(settings.start_urls[0]).hostname or "").replace(":", "_").strip(".")
    return settings, name or "corpus"


def _check_folder_name(name: object, recipe: str) -> None:
    """Refuse a recipe name that is not one plain folder name: it would put the corpus elsewhere."""
    if not isinstance(name, str) or not re.fullmatch(r"\w[\w.-]{0,99}", name):
        raise UsageError(
            f"the name {name!r} of {recipe} is not a plain folder name",
            fix="name it with up to 100 letters, digits, '-', '_' and '.' (not first); or pass"
            " --corpus PATH to write the corpus elsewhere",
        )


if __name__ == "__main__":
    sys.exit(main())
