#!/usr/bin/env bash
# Installs what the tests need beyond Python packages: Debian's chromium for the browser tests
# and Debian's postgresql for the PostgreSQL event-store tests (tests/pg.py starts a throwaway
# server from its binaries; the package's own cluster is not used).
# Idempotent and quiet when everything is already there.
set -euo pipefail

have_postgres() {
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        return 0
    fi
    # Debian keeps them out of PATH, in /usr/lib/postgresql/<version>/bin.
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ]; then
            return 0
        fi
    done
    return 1
}

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
have_postgres || missing+=(postgresql)
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-test-deps: installing Debian's ${missing[*]} for the tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "ensure-test-deps: ${missing[*]} missing and cannot be installed here (not root / no apt-get)" >&2
fi
