#!/usr/bin/env bash
# Run a command inside the project's virtual environment, creating it first if missing.
#   bash .ci/env.sh robustdsl demo          # the main job
#   bash .ci/env.sh python -m pytest -q     # the test suite
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.robustdsl-installed"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    # torch is pinned (the CPU build on these machines); everything else from pyproject.
    "$VENV/bin/python" -m pip install -q -c "$ROOT/.ci/constraints.txt" "torch==2.13.0"
    "$VENV/bin/python" -m pip install -q -c "$ROOT/.ci/constraints.txt" -e "$ROOT[test]"
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
exec "$@"
