#!/usr/bin/env bash
# The tests: every notebook (nbdev_test; `slow` and `cuda` cells are skipped) and the pytest files in tests/.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import mgd3, nbdev, pytest" 2>/dev/null || python -m pip install -q "setuptools<81" -e ".[dev]"
nbdev_test --n_workers 2 --timing
python -m pytest -q tests
