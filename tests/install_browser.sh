#!/usr/bin/env bash
# Installs the browser the UI smoke test drives (tests/deploy_smoke): Debian's `chromium`, used by
# Python playwright through executable_path=/usr/bin/chromium. Playwright's own browser downloads are
# never used. Idempotent; fast when installed.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ ! -x "$CHROMIUM" ]]; then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "install_browser.sh: $CHROMIUM not found." >&2
        echo "Install Debian's chromium as root, e.g.: sudo apt-get install -y chromium" >&2
        exit 1
    fi
    echo "install_browser.sh: installing chromium..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    [[ -x "$CHROMIUM" ]] || { echo "install_browser.sh: chromium installed but $CHROMIUM still missing" >&2; exit 1; }
fi

echo "install_browser.sh: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") ready."
