"""The trackside page: static files (HTML, ES module, CSS) served by the API.

The service mounts `STATIC_DIR` at `/static/` and serves `INDEX_HTML` at `/`.
Everything the page needs is in that folder (no fonts, CDNs or build step), so
it works on a laptop with no internet at the track.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["INDEX_HTML", "STATIC_DIR"]

#: Folder with index.html, app.js and style.css.
STATIC_DIR: Path = Path(__file__).resolve().parent / "static"

#: The page itself (served at `/`; its assets are referenced as `/static/...`).
INDEX_HTML: Path = STATIC_DIR / "index.html"
