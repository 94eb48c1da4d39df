"""What a refresh costs against rebuilding the dataset, on the real DRF deploys.

Builds a project on the 2026-07-31 deploy (``groundset run``), serves the 2026-08-18 deploy on
the same address and refreshes it (``groundset refresh``); then, as the baseline, builds the same
project from scratch on the new deploy in a new folder. The model is a scripted
OpenAI-compatible endpoint that answers from its passages (``tests/scripted.py``), so that the
figures count calls, not a model's speed; crawl, index and verify are the real ones.

    python benchmarks/refresh_cost.py [--quota 150] [--budget 600]

Prints, for the refresh and the rebuild: wall time, pages fetched with a body, chunks embedded,
model calls, samples re-verified, and how many kept samples the new dataset carries over.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = Path(__file__).resolve().parents[1]
DRF = ROOT / "tests" / "fixtures" / "sites" / "drf"
sys.path.insert(0, str(ROOT / "tests"))

from groundset.project import (  # noqa: E402
    PhaseSummary,
    load_project,
    refresh_project,
    run_project,
)

from scripted import Reply, ScriptedServer, extractive_answer  # noqa: E402
from sitesrv import SiteServer  # noqa: E402


def project_file(folder: Path, site: str, model: str, quota: int, budget: int) -> Path:
    folder.mkdir(parents=True)
    path = folder / "drf.toml"
    path.write_text(
        f'name = "drf"\n[sources]\nurls = ["{site}"]\n[tasks]\nqa = {quota}\n'
        f'[generate]\nbase_url = "{model}"\nmodel = "scripted"\n'
        f'[budget]\nsamples = {budget}\n[export]\nformats = ["openai"]\nreport = false\n',
        encoding="utf-8",
    )
    return path


def embedded(summary: PhaseSummary) -> int:
    return summary.index.embedded if summary.index else 0


def fetched(server: SiteServer, since: int) -> int:
    return sum(1 for entry in server.log[since:] if entry.status == 200)


def row(name: str, seconds: float, pages: int, chunks: int, calls: int, summary: PhaseSummary,
        carried: int) -> str:  # fmt: skip
    return (
        f"{name:<8} {seconds:7.1f} s  {pages:4d} pages fetched  {chunks:5d} chunks embedded  "
        f"{calls:4d} model calls  {len(summary.reverified):3d} re-verified  "
        f"{carried:4d} kept samples carried over"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quota", type=int, default=150)
    parser.add_argument("--budget", type=int, default=600)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="groundset-refresh-"))
    shutil.copytree(DRF / "v2026-07-31", work / "old")
    shutil.copytree(DRF / "v2026-08-18", work / "new")  # copied: fresh modification times
    site = SiteServer(work / "old")
    model = ScriptedServer(lambda n, body: Reply(extractive_answer(body)))
    quiet = lambda line: None  # noqa: E731
    try:
        project = load_project(project_file(work / "a", site.url, model.url, args.quota,
                                            args.budget))  # fmt: skip
        started = time.monotonic()
        run = run_project(project, say=quiet)
        print(f"run on the old deploy: {time.monotonic() - started:.1f} s, {len(model.requests)}"
              f" model calls, {sum(run.kept.values())} kept; {run.outcome}")  # fmt: skip

        site.root = work / "new"
        log, calls = len(site.log), len(model.requests)
        started = time.monotonic()
        refresh = refresh_project(project, say=quiet)
        refresh_s = time.monotonic() - started
        v1 = (project.dir / "versions" / "v1" / "kept.jsonl").read_text().splitlines()
        latest = (project.dir / "versions" / "LATEST").read_text().strip()
        kept_now = (project.dir / "versions" / latest / "kept.jsonl").read_text().splitlines()
        carried = len({json.loads(x)["id"] for x in v1} & {json.loads(x)["id"] for x in kept_now})
        print(row("refresh", refresh_s, fetched(site, log), embedded(refresh),
                  len(model.requests) - calls, refresh, carried))  # fmt: skip

        rebuild_project = load_project(project_file(work / "b", site.url, model.url,
                                                    args.quota, args.budget))  # fmt: skip
        log, calls = len(site.log), len(model.requests)
        started = time.monotonic()
        rebuild = run_project(rebuild_project, say=quiet)
        rebuild_s = time.monotonic() - started
        print(row("rebuild", rebuild_s, fetched(site, log), embedded(rebuild),
                  len(model.requests) - calls, rebuild, 0))  # fmt: skip
        print(f"refresh outcome: {refresh.outcome}; rebuild outcome: {rebuild.outcome}")
        print(f"refresh takes {refresh_s / rebuild_s:.1%} of the rebuild's time")
    finally:
        model.close()
        site.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
