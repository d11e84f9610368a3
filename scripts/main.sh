#!/usr/bin/env bash
# The main job: distil Fashion-MNIST with the shipped model (MGD3, IPC 10, seed 0) and evaluate the
# distilled set with ConvNet-3 under the DC/DSA protocol (3 runs, bf16 autocast where the machine has bf16 kernels: the same accuracies as fp32
# within noise, 1.8x faster on a CPU with AVX-512 BF16; see nbs/10_results). Outputs go to ${OUT:-distilled};
# re-running continues an interrupted job.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import mgd3" 2>/dev/null || python -m pip install -q -e .
OUT=${OUT:-distilled}
mgd3_distill --out "$OUT" --resume
mgd3_eval "$OUT" --json "$OUT/eval.json" --precision auto --resume
