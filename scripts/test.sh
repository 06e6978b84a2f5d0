#!/usr/bin/env bash
# Set-up command 2: install what is missing (Chromium included), run the whole suite.
#   bash scripts/test.sh [pytest args...]      e.g. bash scripts/test.sh tests/e2e -x
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh" -- --browser

status=0
python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests - treating that as a failure" >&2
fi
exit "$status"
