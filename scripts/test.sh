#!/usr/bin/env bash
# The tests: every notebook (nbdev_test; `slow` and `cuda` cells are skipped) and the pytest files in tests/.
# Installs this checkout with its development extras first if the active Python does not have them.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd -P)
installed=$(cd / && python -c "import mgd3, nbdev, pytest, os; print(os.path.dirname(os.path.dirname(os.path.realpath(mgd3.__file__))))" 2>/dev/null || true)
if [ "$installed" != "$here" ] || ! command -v nbdev_test >/dev/null; then
  echo "installing mgd3 with its development extras from $here" >&2
  python -m pip install -q "setuptools<81" -e ".[dev]"
  export PATH="$(python -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
fi
nbdev_test --n_workers 2 --timing
python -m pytest -q tests
