#!/usr/bin/env bash
# Set-up command 2: install what is missing (Chromium included), run the whole suite.
#   bash scripts/test.sh                       everything: unit + property + state on two workers, then
#                                              migrations and concurrency (SQLite, and PostgreSQL
#                                              when BNPL_TEST_DATABASE_URL is set), the browser tier and
#                                              the security tier (the production app attacked over socket.io),
#                                              then the scale-out tier when BNPL_TEST_DATABASE_URL
#                                              and BNPL_TEST_REDIS_URL are both set
#   bash scripts/test.sh [pytest args...]      e.g. bash scripts/test.sh tests/e2e -x
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh" -- --browser

run() {
    local status=0
    python -m pytest "$@" || status=$?
    if [ "$status" -eq 5 ]; then
        echo "test.sh: pytest collected no tests - treating that as a failure" >&2
    fi
    return "$status"
}

if [ "$#" -gt 0 ]; then
    run "$@"
    exit $?
fi

# In-memory tiers in parallel; the tiers that share one database or one app server in series.
# The scale-out tier builds and serves .web/ for a deployment of its own: its own session, last.
status=0
run -n 2 tests/unit tests/property tests/state || status=$?
run tests/migrations tests/concurrency tests/e2e || status=$?
run tests/security || status=$?
if [ -n "${BNPL_TEST_DATABASE_URL:-}" ] && [ -n "${BNPL_TEST_REDIS_URL:-}" ]; then
    run tests/scaleout || status=$?
else
    echo "test.sh: scale-out tier skipped (set BNPL_TEST_DATABASE_URL and BNPL_TEST_REDIS_URL to run it)" >&2
fi
exit "$status"
