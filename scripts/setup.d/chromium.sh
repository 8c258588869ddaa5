#!/usr/bin/env bash
# Browser test prerequisites (tests/e2e/test_explorer_browser.py), safe to run again:
#   - Debian's chromium, installed with apt-get when missing
#   - the Jupyter widgets HTML manager and require.js (npm packages), unpacked into $FSNB_E2E_ASSETS
#     (default ~/.cache/fsnb/e2e-assets) so an exported notebook renders its widgets without a CDN
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
say() { printf '[setup chromium] %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=""
apt_install() {  # package lists are empty on a fresh machine: update them once before the first install
    if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -q; APT_UPDATED=1; fi
    $SUDO apt-get install -y -q "$@"
}

if ! command -v chromium >/dev/null 2>&1; then
    say "installing chromium with apt-get"
    apt_install chromium
fi

ASSETS="${FSNB_E2E_ASSETS:-${XDG_CACHE_HOME:-$HOME/.cache}/fsnb/e2e-assets}"
if [ ! -f "$ASSETS/embed-amd.js" ] || [ ! -f "$ASSETS/require.js" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        say "installing npm with apt-get (to fetch the widget HTML manager)"
        apt_install npm
    fi
    say "fetching @jupyter-widgets/html-manager and requirejs into $ASSETS"
    mkdir -p "$ASSETS"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "@jupyter-widgets/html-manager@^1" "requirejs@^2" >/dev/null)
    tar xzf "$tmp"/jupyter-widgets-html-manager-*.tgz -C "$tmp"
    cp -r "$tmp"/package/dist/. "$ASSETS"/
    rm -rf "$tmp/package"
    tar xzf "$tmp"/requirejs-*.tgz -C "$tmp"
    cp "$tmp"/package/require.js "$ASSETS"/require.js
    rm -rf "$tmp"
fi
say "ok: $(chromium --version 2>/dev/null | head -1); widget assets in $ASSETS"
