"""Fixtures shared across the test packages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._small_fs import small_tmpfs


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs that the test can fill (skipped where it cannot be mounted)."""
    with small_tmpfs(tmp_path) as mnt:
        yield mnt
