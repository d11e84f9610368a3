#!/usr/bin/env bash
# One prepared GPU check of mgd3 at the paper's cost, in under 4 minutes on one GPU, with no downloads:
#   1. installs what is missing: mgd3's dependencies from a local wheel folder (WHEELS=DIR; else from the package index)
#      into a venv that sees the machine's torch, and this checkout with `pip install -e . --no-deps`;
#   2. scripts/bench_dit.py --decode: a random-weight DiT-XL/2 (diffusers DiTTransformer2DModel) and a random
#      sd-vae-ft-mse-shaped AutoencoderKL, bf16, 256 px, 50 steps, CFG 4, mode guidance to t_stop 25, decoding included:
#      images/s batched and at batch size 1, guided vs unguided, bare forwards, FLOP/s against a bf16 matmul peak
#      measured in the same run, peak GPU memory, and the targets (>= 8 images/s on an H100-class GPU, batched >= 10x
#      batch size 1, mode guidance <= 5 %);
#   3. the `#| cuda` cells: nbdev_test --flags cuda on every notebook that has some, except tutorials/imagenet
#      (its cuda cells need ImageNet and run the paper's experiments for hours).
# It writes gpu_check.json and gpu_check.txt to DIR (default: $OUT, else ./gpu_check_out).
#
#   bash scripts/gpu_check.sh [--tiny] [DIR]       # --tiny (or MGD3_GPU_CHECK_TINY=1): tiny model on the CPU, in seconds
#   WHEELS=/path/to/wheels bash scripts/gpu_check.sh "$OUT"
#
# Exit status: 0 when every step ran (targets met or not: they are in the table), non-zero when a step failed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TINY="${MGD3_GPU_CHECK_TINY:-0}"
if [ "${1:-}" = "--tiny" ]; then TINY=1; shift; fi
DIR="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$DIR"; DIR="$(cd "$DIR" && pwd)"
PY="${PYTHON:-python3}"
t0=$(date +%s)

ready() {   # are mgd3's dependencies importable, and is mgd3 this checkout?
  (cd / && "$1" -c "import sys, pathlib, diffusers, sklearn, safetensors, accelerate, fastcore, nbdev, execnb, mgd3
sys.exit(pathlib.Path(mgd3.__file__).resolve().parent.parent != pathlib.Path(sys.argv[1]))" "$ROOT") >/dev/null 2>&1
}

echo "== python environment"
if ! ready "$PY"; then
  VENV="${GPU_CHECK_VENV:-${TMPDIR:-/tmp}/mgd3-gpu-check-venv}"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv --system-site-packages "$VENV"                # sees the machine's torch
    "$VENV/bin/python" -m pip uninstall -y -q setuptools || true  # venv's bundled one (65.x) would hide the machine's (torch needs >= 77)
  fi
  PY="$VENV/bin/python"
  "$PY" -c "import torch" || { echo "gpu_check: no torch in $PY: install torch first"; exit 2; }
  SRC=(); [ -n "${WHEELS:-}" ] && SRC=(--no-index --find-links "$WHEELS")
  mapfile -t REQS < <("$PY" -c "import configparser; c = configparser.ConfigParser(delimiters=['=']); c.read('settings.ini')
print('\n'.join(r for r in c['DEFAULT']['requirements'].split() if not r.startswith('torch')))")
  "$PY" -m pip install -q ${SRC[@]+"${SRC[@]}"} "${REQS[@]}" "nbdev==2.3.37" "execnb>=0.1.12,<0.2" "setuptools<81"
  "$PY" -m pip install -q ${SRC[@]+"${SRC[@]}"} --no-deps --no-build-isolation -e .
  ready "$PY" || { echo "gpu_check: mgd3 or its dependencies still do not import in $PY"; exit 2; }
fi
"$PY" -c "import torch, diffusers, mgd3; print('torch', torch.__version__, '| cuda', torch.cuda.is_available(), '| diffusers', diffusers.__version__, '| mgd3', mgd3.__version__)"

echo "== sampler at the paper's cost"
if [ "$TINY" = 1 ]; then
  ARGS=(--device cpu --preset tiny --decode --n_images 4 --batch_size 2 --n_batch1 2 --steps 3 --repeats 1)
else
  ARGS=(--decode)
fi
"$PY" scripts/bench_dit.py "${ARGS[@]}" --json_out "$DIR/gpu_check.json" --text_out "$DIR/gpu_check.txt"

echo "== #| cuda cells"
status=0; runs=()
if [ "$TINY" = 1 ]; then
  echo "skipped (--tiny)"
else
  NBT="$DIR/.nbdev_test.py"   # nbdev_test run by this python (a file: fastcore's call_parse reads sys.argv only from one)
  printf 'from nbdev.test import nbdev_test\nnbdev_test()\n' > "$NBT"
  for nb in $(grep -l '#| cuda' nbs/*.ipynb nbs/*/*.ipynb | grep -v 'nbs/tutorials/imagenet.ipynb'); do
    s=$(date +%s); rc=0
    timeout 150 "$PY" "$NBT" --flags cuda --path "$nb" || rc=$?
    echo "$nb: rc $rc in $(( $(date +%s) - s )) s"; runs+=("$nb:$rc:$(( $(date +%s) - s ))"); [ "$rc" = 0 ] || status=1
  done
  rm -f "$NBT"
fi
"$PY" - "$DIR" "$TINY" ${runs[@]+"${runs[@]}"} <<'EOF'
import json, sys
from pathlib import Path
d, tiny, runs = Path(sys.argv[1]), sys.argv[2] == '1', sys.argv[3:]
res = json.loads((d/'gpu_check.json').read_text())
res['cuda_cells'] = 'skipped (--tiny)' if tiny else [dict(notebook=r.rsplit(':', 2)[0], rc=int(r.rsplit(':', 2)[1]), seconds=int(r.rsplit(':', 2)[2])) for r in runs]
(d/'gpu_check.json').write_text(json.dumps(res, indent=2))
lines = ['  #| cuda cells: ' + ('skipped (--tiny)' if tiny else ', '.join(f"{c['notebook']} {'passed' if c['rc'] == 0 else 'FAILED'}" for c in res['cuda_cells']) or 'none')]
with open(d/'gpu_check.txt', 'a') as f: f.write('\n'.join(lines) + '\n')
print(lines[0])
EOF
echo "gpu_check: $DIR/gpu_check.json and $DIR/gpu_check.txt written in $(( $(date +%s) - t0 )) s"
exit $status
