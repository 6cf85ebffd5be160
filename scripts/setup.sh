#!/usr/bin/env bash
# One-time (idempotent) set-up of a fresh machine for vqct_keras.
#
# Creates .venv/, installs the package with its extras, then runs every
# fragment in scripts/setup.d/ in name order (offline assets: NLTK data,
# the MiniLM text backbone, images, metric-network weights).  Each fragment
# is safe to re-run and skips work that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-python3}
VENV=${VQCT_VENV:-$ROOT/.venv}

log() { printf '[setup] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
stamp="$VENV/.vqct_installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log "installing vqct_keras and its dependencies"
  "$VENV/bin/pip" install -q -e ".[jax,dev]"
  touch "$stamp"
fi

export VQCT_ROOT="$ROOT" VQCT_PY="$VENV/bin/python" VQCT_PIP="$VENV/bin/pip"
# shellcheck source=scripts/setup_lib.sh
source "$ROOT/scripts/setup_lib.sh"
for fragment in "$ROOT"/scripts/setup.d/*.sh; do
  [ -e "$fragment" ] || continue
  log "running $(basename "$fragment")"
  # shellcheck disable=SC1090
  source "$fragment"
done
log "done"
