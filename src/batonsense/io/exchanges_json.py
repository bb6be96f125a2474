"""Exchanges as JSON: ``{"exchanges": [Exchange.to_dict(), ...]}``.

Times in s on the clock each exchange names, durations in ms (see Exchange.to_dict).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from batonsense.errors import InputError
from batonsense.io._atomic import atomic_write
from batonsense.model import Exchange

__all__ = ["dump_exchanges_json", "exchanges_document", "load_exchanges_json"]


def exchanges_document(exchanges: Iterable[Exchange]) -> dict[str, Any]:
    """The JSON document for a list of exchanges."""
    return {"exchanges": [e.to_dict() for e in exchanges]}


def dump_exchanges_json(path: str | Path, exchanges: Iterable[Exchange]) -> None:
    """Write exchanges atomically (indented, UTF-8, trailing newline)."""
    text = json.dumps(exchanges_document(exchanges), indent=2, ensure_ascii=False)
    with atomic_write(path) as f:
        f.write(text + "\n")


def load_exchanges_json(path: str | Path) -> list[Exchange]:
    """Read exchanges written by dump_exchanges_json; InputError if malformed."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(path, f"cannot read file: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise InputError(path, "file is not valid UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise InputError(path, f"JSON syntax error: {e.msg} (column {e.colno})", e.lineno) from None
    items = doc.get("exchanges") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise InputError(path, 'expected an object {"exchanges": [...]}')
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(path, f"exchange #{i + 1} is not an object")
        try:
            out.append(Exchange.from_dict(item))
        except (ValueError, TypeError) as e:
            raise InputError(path, f"exchange #{i + 1}: {e}") from None
    return out
