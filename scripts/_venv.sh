# Sourced by scripts/demo and scripts/test: make sure .venv exists and has
# batonsense installed (editable, with the test extras).  Quick when nothing
# changed: the install is redone only when pyproject.toml changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
STAMP="$VENV/.batonsense-install-stamp"

find_python() {
    # PYTHON=... overrides; else the first python3.x >= 3.11 on PATH.
    for py in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"
            return 0
        fi
    done
    echo "batonsense needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

make_venv() {
    local py
    py="$(find_python)"
    echo "creating $VENV with $py" >&2
    rm -rf "$VENV"
    if ! "$py" -m venv "$VENV"; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "python venv support missing: installing python3-venv with apt-get" >&2
            rm -rf "$VENV"
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
            "$py" -m venv "$VENV"
        else
            echo "cannot create a venv: install python3-venv (Debian/Ubuntu) and retry" >&2
            return 1
        fi
    fi
}

if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    make_venv
fi

want="$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ] ||
    ! "$VENV/bin/python" -c 'import batonsense, pytest, hypothesis' >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
    echo "$want" >"$STAMP"
fi
