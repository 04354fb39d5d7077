#!/usr/bin/env bash
# Install what the interop tests need (idempotent):
# - .venv: the official Python MCP SDK, fakepve, pyjwt, cryptography, pydantic-ocsf, moto, boto3,
#   selenium, the Volcengine and VergeOS SDKs;
# - tests/interop/ts/node_modules: the official TypeScript MCP SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import mcp, fakepve, jwt, cryptography, volcengine.auth.SignerV4, pyvergeos, ocsf.v1_7_0.events, moto.server, boto3, selenium' 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
fi
.venv/bin/python -c 'import mcp, fakepve; print("test env: mcp", __import__("importlib.metadata").metadata.version("mcp"), "fakepve", fakepve.__version__)'

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "Node.js and npm are needed for the TypeScript SDK interop test (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
if [ ! -f tests/interop/ts/node_modules/@modelcontextprotocol/sdk/package.json ]; then
  (cd tests/interop/ts && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "test env: node $(node --version), @modelcontextprotocol/sdk $(node -p 'require("./tests/interop/ts/node_modules/@modelcontextprotocol/sdk/package.json").version')"
