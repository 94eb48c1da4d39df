"""The project layer, above the stages: a project file, and ``run`` and ``refresh`` over it.

A project file names the sources, each stage's settings, a quota of kept samples per task and a
budget (:mod:`~groundset.project.project_file`). ``run`` and ``refresh``
(:mod:`~groundset.project.phases`) take a project through crawl and index, then generate and
verify in rounds (:mod:`~groundset.project.rounds`); a refresh first re-verifies the kept samples
whose sources changed (:mod:`~groundset.project.reverify`); each ends by publishing a dataset
version (:mod:`~groundset.project.publish`). What is done is recorded as it happens
(:mod:`~groundset.project.state`), so an interrupted command resumes.
"""

from __future__ import annotations

from groundset.project.phases import refresh_project, run_project
from groundset.project.project_file import (
    INIT_TEMPLATE,
    BudgetSettings,
    ExportSettings,
    Project,
    SourceSettings,
    VerifySettings,
    load_project,
    write_init,
)
from groundset.project.publish import DatasetDiff, project_review_files, project_reviews_path
from groundset.project.rounds import budget_left, round_size
from groundset.project.state import ProjectState
from groundset.project.summary import PhaseSummary

__all__ = [
    "INIT_TEMPLATE",
    "BudgetSettings",
    "DatasetDiff",
    "ExportSettings",
    "PhaseSummary",
    "Project",
    "ProjectState",
    "SourceSettings",
    "VerifySettings",
    "budget_left",
    "load_project",
    "project_review_files",
    "project_reviews_path",
    "refresh_project",
    "round_size",
    "run_project",
    "write_init",
]
