#!/usr/bin/env bash
# The main job: distil Fashion-MNIST with the shipped model (MGD3, IPC 10, seed 0) and evaluate the
# distilled set with ConvNet-3 under the DC/DSA protocol. Outputs go to ${OUT:-distilled}.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import mgd3" 2>/dev/null || python -m pip install -q -e .
OUT=${OUT:-distilled}
mgd3_distill --out "$OUT" --resume
mgd3_eval "$OUT" --json "$OUT/eval.json"
