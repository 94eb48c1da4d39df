"""A verify run's kept and rejected files of real DRF text, and the corpus they came from."""

from __future__ import annotations

import pytest

from records_builder import Verified, verified_run


@pytest.fixture(scope="session")
def verified(tmp_path_factory: pytest.TempPathFactory) -> Verified:
    return verified_run(tmp_path_factory.mktemp("review"), 40)
