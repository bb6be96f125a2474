"""docs/detection.md's parameter table is generated from detect/config.py.

`python tests/detect/test_config_doc.py` rewrites the table; the test fails when
the table and config.py disagree, or when a parameter has no docstring.
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path

from batonsense.detect import config
from batonsense.detect.config import DEFAULT, DetectorConfig

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "detection.md"
BEGIN = (
    "<!-- parameters: generated from src/batonsense/detect/config.py"
    " by tests/detect/test_config_doc.py; do not edit by hand -->"
)
END = "<!-- end of parameters -->"
UNITS = {
    "_s": "s",
    "_ms": "ms",
    "_hz": "Hz",
    "_mps2": "m/s²",
    "_mps3": "m/s³",
    "_radps": "rad/s",
    "_radps2": "(rad/s)²",
    "_g": "g",
    "_m": "m",
    "_n": "samples",
    "_hops": "hops",
}


def _docstrings() -> dict[str, dict[str, str]]:
    """Per config class, each field's attribute docstring (the string right after it)."""
    tree = ast.parse(Path(config.__file__).read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        docs: dict[str, str] = {}
        body = node.body
        for stmt, nxt in zip(body, body[1:] + [None], strict=True):
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                doc = ""
                if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                    doc = " ".join(str(nxt.value.value).split())
                docs[stmt.target.id] = doc
        out[node.name] = docs
    return out


def _unit(name: str) -> str:
    for suffix in sorted(UNITS, key=len, reverse=True):
        if name.endswith(suffix):
            return UNITS[suffix]
    return "–"


def _value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_value(x) for x in v) + ")"
    return str(v)


def _stages() -> list[tuple[str, str]]:
    """(attribute of DetectorConfig, its class name), in order."""
    return [(f.name, str(f.type)) for f in dataclasses.fields(DetectorConfig)]


def render_table() -> str:
    docs = _docstrings()
    rows = ["| parameter | value | unit | meaning |", "|---|---:|---|---|"]
    for stage, cls in _stages():
        sub = getattr(DEFAULT, stage)
        for f in dataclasses.fields(sub):
            meaning = docs[cls][f.name].replace("|", "\\|")
            value = _value(getattr(sub, f.name))
            rows.append(f"| `{stage}.{f.name}` | {value} | {_unit(f.name)} | {meaning} |")
    return "\n".join([BEGIN, *rows, END])


def _doc_table(text: str) -> str:
    i, j = text.index(BEGIN), text.index(END)
    return text[i : j + len(END)]


def test_every_parameter_says_what_it_means() -> None:
    docs = _docstrings()
    missing = [
        f"{cls}.{f.name}"
        for stage, cls in _stages()
        for f in dataclasses.fields(getattr(DEFAULT, stage))
        if not docs[cls].get(f.name)
    ]
    assert missing == []


def test_the_doc_table_is_config_py() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert _doc_table(text) == render_table(), (
        "docs/detection.md's parameter table is out of date: "
        "run `python tests/detect/test_config_doc.py`"
    )


def test_the_flat_names_read_the_nested_config() -> None:
    cfg = DEFAULT
    assert cfg.grid_rate_hz == cfg.grid.rate_hz
    assert (cfg.hop_s, cfg.window_s, cfg.fast_window_s) == (
        cfg.frames.hop_s,
        cfg.frames.window_s,
        cfg.frames.fast_window_s,
    )
    assert (cfg.lookahead_s, cfg.stale_s, cfg.keep_s) == (
        cfg.live.lookahead_s,
        cfg.live.stale_s,
        cfg.live.keep_s,
    )


if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    DOC.write_text(text.replace(_doc_table(text), render_table()), encoding="utf-8")
    sys.stdout.write(f"wrote the parameter table of {DOC}\n")
