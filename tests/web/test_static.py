"""The page's files: present, found through STATIC_DIR, and fully local (no CDN, no fonts)."""

from __future__ import annotations

import re

from batonsense.web import INDEX_HTML, STATIC_DIR

ASSETS = ("index.html", "app.js", "style.css")


def test_static_dir_holds_the_page() -> None:
    assert STATIC_DIR.is_dir()
    for name in ASSETS:
        assert (STATIC_DIR / name).is_file(), name
    assert INDEX_HTML == STATIC_DIR / "index.html"


def test_index_loads_its_assets_from_static() -> None:
    html = INDEX_HTML.read_text(encoding="utf-8")
    assert 'src="/static/app.js"' in html
    assert 'type="module"' in html
    assert 'href="/static/style.css"' in html


def test_no_asset_reaches_the_network() -> None:
    # The SVG namespace is an identifier, not a request.
    allowed = {"http://www.w3.org/2000/svg"}
    for name in ASSETS:
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)) - allowed
        assert not urls, f"{name} refers to {sorted(urls)}"
        assert "@import" not in text and "@font-face" not in text, name
