#!/usr/bin/env bash
# Set up the machine if needed, then run the test suite on the TensorFlow and
# the JAX backends, then the large tests (real MiniLM, real data, export,
# every flagfile, the notebooks, fault injection) while the time budget
# allows: no large test starts later than VQCT_LARGE_BUDGET_S seconds
# (default 1800) after the first test run began; the ones left are reported
# as skipped. Extra arguments go to every pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
start=$(date +%s)
status=0
for backend in tensorflow jax; do
  echo "=== tests, KERAS_BACKEND=$backend ==="
  KERAS_BACKEND=$backend $PY -m pytest -q "$@" || status=1
done
budget=${VQCT_LARGE_BUDGET_S:-1800}
elapsed=$(( $(date +%s) - start ))
if [ "$elapsed" -lt "$budget" ]; then
  echo "=== large tests (KERAS_BACKEND=tensorflow), ${elapsed}s elapsed, budget ${budget}s ==="
  rc=0
  VQCT_LARGE_DEADLINE=$(( start + budget )) KERAS_BACKEND=tensorflow \
    $PY -m pytest -q -rs --run_large -m large "$@" || rc=$?
  # Exit code 5 means no test carries the marker: nothing failed.
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then status=1; fi
else
  echo "=== large tests skipped: ${elapsed}s elapsed >= budget ${budget}s ==="
fi
exit $status
