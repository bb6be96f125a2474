# Sourced by scripts/test: system programs the tests need that pip cannot give
# (dbus-daemon, chromium).
# Missing ones are installed with apt-get when running as root (CI runs as root on
# a fresh Debian machine); otherwise a one-line note, and the tests that need them
# skip (or fail under CI=true).  Quiet and quick when everything is there.

# dbus-daemon: tests/sources/bluez start a private bus for bluezoo (a BlueZ mock).
ensure_dbus_daemon() {
    command -v dbus-daemon >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "note: dbus-daemon not found; the BlueZ-mock tests will skip" \
            "(Debian: apt-get install dbus-daemon)" >&2
        return 0
    fi
    echo "installing dbus-daemon with apt-get (for the BlueZ-mock tests)" >&2
    local pkg apt=(apt-get install -y -qq --no-install-recommends)
    for pkg in dbus-daemon dbus; do
        if DEBIAN_FRONTEND=noninteractive "${apt[@]}" "$pkg" >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
                DEBIAN_FRONTEND=noninteractive "${apt[@]}" "$pkg" >/dev/null 2>&1; }; then
            command -v dbus-daemon >/dev/null 2>&1 && return 0
        fi
    done
    echo "warning: could not install dbus-daemon; the BlueZ-mock tests will skip" \
        "(and fail under CI)" >&2
}

# chromium: tests/web drive the trackside page in Debian's chromium with
# Playwright (launched with executable_path=/usr/bin/chromium; no browser download).
ensure_chromium() {
    [ -x /usr/bin/chromium ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "note: /usr/bin/chromium not found; the page test will skip" \
            "(Debian: apt-get install chromium)" >&2
        return 0
    fi
    echo "installing chromium with apt-get (for the page test; a few minutes once)" >&2
    local apt=(apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core)
    if DEBIAN_FRONTEND=noninteractive "${apt[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive "${apt[@]}" >/dev/null 2>&1; }; then
        [ -x /usr/bin/chromium ] && return 0
    fi
    echo "warning: could not install chromium; the page test will skip" \
        "(and fail under CI)" >&2
}

ensure_dbus_daemon
ensure_chromium
