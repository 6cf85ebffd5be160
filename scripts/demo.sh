#!/usr/bin/env bash
# Set up the machine if needed, then run the main job: train the demo VQCT
# tokenizer on the embedded default data with the MiniLM prior (about ten
# minutes on 2 CPU cores). Extra arguments override the demo flags, e.g.
#   bash scripts/demo.sh --steps=100 --output_dir=runs/quick
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
exec .venv/bin/python training/train.py \
  --flagfile=training/configs/demo.flags "$@"
