#!/usr/bin/env bash
# Installs what the tests need beyond Python packages: Debian's chromium for the browser tests.
# Idempotent and quiet when everything is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-test-deps: installing Debian's chromium for the browser tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "ensure-test-deps: chromium is missing and cannot be installed here (not root / no apt-get)" >&2
fi
