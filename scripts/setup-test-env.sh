#!/usr/bin/env bash
# Install what the interop tests need into .venv (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import mcp, fakepve' 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
fi
.venv/bin/python -c 'import mcp, fakepve; print("test env: mcp", __import__("importlib.metadata").metadata.version("mcp"), "fakepve", fakepve.__version__)'
