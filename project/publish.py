"""Dataset versions: the kept samples published as ``versions/v<N>/`` with a diff from the last.

A version is written only when the kept samples changed since the last one: ``kept.jsonl``,
``rejected.jsonl``, ``retired.jsonl``, ``diff.json`` and ``diff.md``, the export formats with their
dataset card, and ``report.html``; ``versions/LATEST`` names the newest. The project's reviews file
(``reviews.jsonl``) serves every version, so reviews outlive a refresh.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from groundset.errors import UsageError
from groundset.export import conversation, export_dataset, write_report
from groundset.progress import Say
from groundset.project.project_file import Project, load_project
from groundset.project.state import Phase, ProjectState, VersionRow
from groundset.project.stored import read_records, without_verdict, write_records
from groundset.records import Sample

__all__ = [
    "DatasetDiff",
    "Published",
    "project_review_files",
    "project_reviews_path",
    "publish",
]


@dataclass
class DatasetDiff:
    """How one dataset version differs from the one before it."""

    old: str | None
    new: str
    added: list[str] = field(default_factory=list)
    retired: dict[str, list[str]] = field(default_factory=dict)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "added": self.added,
            "retired": [{"id": i, "reasons": r} for i, r in sorted(self.retired.items())],
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kept": len(self.updated) + self.unchanged,
        }

    def markdown(self) -> str:
        lines = [
            f"# Dataset {self.new}" + (f", from {self.old}" if self.old else ""),
            "",
            f"- added: {len(self.added)}",
            f"- retired: {len(self.retired)}",
            f"- kept: {len(self.updated) + self.unchanged}"
            f" ({len(self.updated)} re-verified against changed sources)",
        ]
        if self.retired:
            lines += ["", "## Retired", "", "| sample | reasons |", "|---|---|"]
            lines += [f"| `{i}` | {', '.join(r)} |" for i, r in sorted(self.retired.items())]
        return "\n".join(lines) + "\n"


def _digest(records: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for record in records:
        h.update(json.dumps(without_verdict(record), sort_keys=True).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Published:
    """The dataset version a phase ends with: its name, its folder, and its diff from the last
    (None for a version an earlier phase published, whose diff is not this phase's)."""

    name: str
    dir: Path
    diff: DatasetDiff | None


def publish(project: Project, state: ProjectState, phase: Phase, say: Say) -> Published | None:
    """Write a new dataset version when the kept samples changed since the last one.

    Returns:
        The version the dataset now stands at, new or not; None while nothing was ever judged.
    """
    kept = list(state.records("kept"))
    digest = _digest(kept)
    versions = state.versions()
    root = project.dir / "versions"
    last = versions[-1] if versions else None
    if last is not None and (last.digest == digest or last.phase == phase.id):
        diff = _read_diff(root / last.name) if last.phase == phase.id else None
        return Published(last.name, root / last.name, diff)
    if last is None and not kept and not state.judged_ids():
        return None
    number = (last.number if last else 0) + 1
    name = f"v{number}"
    out = root / name
    if out.exists():
        shutil.rmtree(out)  # a publication interrupted before it was recorded
    out.mkdir(parents=True)
    write_records(out / "kept.jsonl", kept)
    write_records(out / "rejected.jsonl", list(state.records("rejected")))
    write_records(out / "retired.jsonl", list(state.records("retired")))
    diff = _diff(root, last, name, kept, state)
    (out / "diff.json").write_text(json.dumps(diff.as_dict(), indent=1) + "\n", encoding="utf-8")
    (out / "diff.md").write_text(diff.markdown(), encoding="utf-8")
    # Only samples holding an exchange have a fine-tuning format (schema records do not).
    if any(conversation(Sample.model_validate(without_verdict(r))) for r in kept):
        export = project.export
        result = export_dataset(
            out / "kept.jsonl",
            out,
            formats=export.formats,
            rejected=out / "rejected.jsonl",
            eval_fraction=export.eval_fraction,
            seed=export.seed,
            corpus_dir=project.corpus_dir,
            reviews=project_reviews_path(project.dir),
            force=True,  # the version folder is publish's own, beside the samples it holds
        )
        say(str(result))
    if project.export.report:
        write_report(out / "kept.jsonl", out / "rejected.jsonl", out / "report.html",
                     corpus_dir=project.corpus_dir,
                     reviews=project_reviews_path(project.dir))  # fmt: skip
    state.add_version(number, phase.id, len(kept), digest)
    (root / "LATEST").write_text(name + "\n", encoding="utf-8")
    return Published(name, out, diff)


def _diff(
    root: Path, last: VersionRow | None, name: str, kept: list[dict[str, Any]], state: ProjectState
) -> DatasetDiff:
    """How ``kept`` differs from version ``last`` (under ``root``), as version ``name``."""
    old_file = root / last.name / "kept.jsonl" if last else None
    old = {r["id"]: _digest([r]) for r in read_records(old_file)} if old_file else {}
    new = {r["id"]: _digest([r]) for r in kept}
    retired_reasons = state.retire_reasons()
    diff = DatasetDiff(last.name if last else None, name)
    diff.added = sorted(set(new) - set(old))
    diff.retired = {i: retired_reasons.get(i, []) for i in sorted(set(old) - set(new))}
    diff.updated = sorted(i for i in set(new) & set(old) if new[i] != old[i])
    diff.unchanged = len(set(new) & set(old)) - len(diff.updated)
    return diff


def _read_diff(version_dir: Path) -> DatasetDiff | None:
    path = version_dir / "diff.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    diff = DatasetDiff(data["from"], data["to"], added=data["added"], updated=data["updated"])
    diff.retired = {r["id"]: r["reasons"] for r in data["retired"]}
    diff.unchanged = int(data["unchanged"])
    return diff


def project_reviews_path(project_dir: Path) -> Path:
    """A project's reviews file: one for all its versions, so reviews outlive a refresh."""
    return project_dir / "reviews.jsonl"


def project_review_files(project_file: Path) -> tuple[Path, Path, Path, Path]:
    """The kept and rejected files of a project's newest version, its corpus, and the
    project's reviews file (``reviews.jsonl`` in the project directory, kept across versions).

    Raises:
        UsageError: the project file is invalid, or no version has been published yet.
    """
    project = load_project(project_file)
    latest = project.dir / "versions" / "LATEST"
    if not latest.is_file():
        raise UsageError(
            f"the project {project.name} has no published dataset version to review yet",
            fix=f"run `groundset run {project_file}` first",
        )
    version = project.dir / "versions" / latest.read_text(encoding="utf-8").strip()
    return (
        version / "kept.jsonl",
        version / "rejected.jsonl",
        project.corpus_dir,
        project_reviews_path(project.dir),
    )
