"""The report renders in a real browser: headless Chromium takes a screenshot of it.

Chromium comes from Debian (``apt-get install -y chromium``); a machine without it fails this
test with that instruction, because a report nobody has seen render is not tested.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from groundset.export import write_report
from groundset.export.charts import KEPT_COLOUR, REJECTED_COLOUR

from records_builder import Verified

WIDTH, HEIGHT = 1280, 2000


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "chromium is not installed: run `apt-get update && apt-get install -y chromium`"
            " (Debian's package; CI installs it in .ci/run)"
        )
    return path


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def screenshot(page: Path, png: Path, profile: Path) -> Path:
    """A ``WIDTH`` x ``HEIGHT`` screenshot of ``page`` by headless Chromium, offline."""
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return png


def test_the_report_renders_in_headless_chromium(verified: Verified, tmp_path: Path) -> None:
    page = write_report(
        verified.kept, verified.rejected, tmp_path / "report.html", corpus_dir=verified.corpus
    )
    png = screenshot(page, tmp_path / "report.png", tmp_path / "profile")
    with Image.open(png) as image:
        assert image.size == (WIDTH, HEIGHT)
        pixels = image.convert("RGB")
    colours = dict((rgb, n) for n, rgb in pixels.getcolors(maxcolors=WIDTH * HEIGHT) or [])
    # Text, charts and cards: a blank or error page has a handful of colours.
    assert len(colours) > 200
    # The charts were drawn: the kept green and the rejected red cover real areas.
    assert colours.get(_rgb(KEPT_COLOUR), 0) > 20_000
    assert colours.get(_rgb(REJECTED_COLOUR), 0) > 500
    # The page fills the window: no quarter of the screenshot is one flat colour.
    for top in range(0, HEIGHT, HEIGHT // 4):
        band = pixels.crop((0, top, WIDTH, top + HEIGHT // 4))
        assert len(band.getcolors(maxcolors=WIDTH * HEIGHT) or []) > 20
