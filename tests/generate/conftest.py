"""Fixtures of the generate tests: real DRF passages, a scripted server, the local model."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).parent))

from drf_passages import MemoryPassages, drf_chunks

from groundset.records import Chunk

from scripted import ScriptedServer


@pytest.fixture(scope="session")
def drf_passage_chunks() -> list[Chunk]:
    """Sections of six real DRF API-guide pages."""
    return drf_chunks()


@pytest.fixture
def passages(drf_passage_chunks: list[Chunk]) -> MemoryPassages:
    return MemoryPassages(drf_passage_chunks)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()
