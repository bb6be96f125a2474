"""Debian's headless Chromium for the browser tests (never a downloaded browser).

Missing, a browser test skips; under CI=true it fails (scripts/test installs it)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def need_chromium() -> None:
    """Skip (fail under CI) when /usr/bin/chromium is missing."""
    if CHROMIUM.exists():
        return
    reason = (
        f"{CHROMIUM} not found (Debian: apt-get install chromium; scripts/test does it as root)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser tests")
    pytest.skip(reason)


@contextlib.contextmanager
def launched(extra_args: Sequence[str] = ()) -> Iterator[Any]:
    """A Playwright browser on Debian's Chromium, closed afterwards."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield b
        finally:
            b.close()
