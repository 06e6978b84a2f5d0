#!/usr/bin/env bash
# Set-up command 1: install what is missing, migrate, seed the demo, serve the app.
#   bash scripts/start.sh            -> http://localhost:3000   (BNPL_PORT changes the port)
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh" --

export BNPL_PORT="${BNPL_PORT:-3000}"
export BNPL_DEMO=1

python -m bnpl_app migrate
python -m bnpl_app seed-demo --if-empty

cat <<MSG

  ===============================================================
    先用后付 will be served at   http://localhost:${BNPL_PORT}
    (the first start builds the frontend; that takes a minute)
  ===============================================================

MSG
exec reflex run --env prod --frontend-port "$BNPL_PORT" --backend-port "$BNPL_PORT"
