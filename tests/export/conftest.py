"""A verify run of real DRF text, exported once a session (read-only for tests)."""

from __future__ import annotations

import pytest

from groundset.export import DEFAULT_FORMATS, export_dataset

from records_builder import Exported, verified_run

#: Accepted samples in the shared export: most documents cited, many several times.
N_KEPT = 300


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    base = tmp_path_factory.mktemp("export")
    run = verified_run(base, N_KEPT)
    summary = export_dataset(
        run.kept,
        base / "out",
        formats=list(DEFAULT_FORMATS),
        rejected=run.rejected,
        corpus_dir=run.corpus,
    )
    return Exported(run, summary)
