#!/usr/bin/env bash
# Set-up command 1: install what is missing, migrate, seed the demo, serve the app.
#   bash scripts/start.sh            -> http://localhost:3000   (BNPL_PORT changes the port)
#
# The demo is served on 127.0.0.1 only: anyone who can reach it may "log in as" the demo shoppers
# and shops. To let other machines in, the operator of this machine says so: BNPL_HOST=0.0.0.0
# (or one interface's address). BNPL_DEMO=0 serves without any demo handler (no seeding, no clock).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh" --

export BNPL_PORT="${BNPL_PORT:-3000}"
export BNPL_HOST="${BNPL_HOST:-127.0.0.1}"
export BNPL_DEMO="${BNPL_DEMO:-1}"

python -m bnpl_app migrate
if python -c 'import sys; from bnpl_app.runtime import demo_mode; sys.exit(0 if demo_mode() else 1)'; then
    python -m bnpl_app seed-demo --if-empty
fi

case "$BNPL_HOST" in
    127.*|localhost|::1) reach="only from this machine" ;;
    *) reach="on ${BNPL_HOST} — reachable from other machines" ;;
esac
cat <<MSG

  ===============================================================
    先用后付 will be served at   http://localhost:${BNPL_PORT}
    listening ${reach}
    (the first start builds the frontend; that takes a minute)
  ===============================================================

MSG
exec reflex run --env prod --backend-host "$BNPL_HOST" --frontend-port "$BNPL_PORT" --backend-port "$BNPL_PORT"
