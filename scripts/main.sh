#!/usr/bin/env bash
# The main job: distil Fashion-MNIST with the shipped model (MGD3, IPC 10, seed 0) and evaluate the distilled set with
# ConvNet-3 under the DC/DSA protocol (3 runs, bf16 autocast where the machine has bf16 kernels: the same accuracies as
# fp32 within noise, 1.8x faster on a CPU with AVX-512 BF16; see the results tutorial). Re-running it continues an
# interrupted job. It installs this checkout (pip install -e .) into the active Python first if that Python does not
# have it installed yet.
#
# Settings, through the environment (the defaults are the README's job):
#   OUT=distilled     where the distilled set and eval.json go
#   MGD3_IPC=10       images per class
#   MGD3_RUNS=3       evaluation runs (network seeds 0 .. RUNS-1)
#   MGD3_EPOCHS=      training epochs per evaluation run (default: the protocol's, 1000 for DC)
# e.g. a two-minute smoke test: MGD3_IPC=1 MGD3_RUNS=1 MGD3_EPOCHS=20 OUT=/tmp/smoke bash scripts/main.sh
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd -P)
# Importing mgd3 from the repository root works without an installation (the folder is on the path), but the
# commands come with the installation: look for this checkout's installed package from outside the repository.
installed=$(cd / && python -c "import mgd3, os; print(os.path.dirname(os.path.dirname(os.path.realpath(mgd3.__file__))))" 2>/dev/null || true)
if [ "$installed" != "$here" ] || ! command -v mgd3_distill >/dev/null || ! command -v mgd3_eval >/dev/null; then
  echo "installing mgd3 from $here (pip install -e .)" >&2
  python -m pip install -q -e .
  export PATH="$(python -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
fi
OUT=${OUT:-distilled}
mgd3_distill --out "$OUT" --ipc "${MGD3_IPC:-10}" --resume
mgd3_eval "$OUT" --json "$OUT/eval.json" --precision auto --runs "${MGD3_RUNS:-3}" ${MGD3_EPOCHS:+--epochs "$MGD3_EPOCHS"} --resume
