#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A CI checkout is built once: incremental caches would only take disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
step() { printf '\n==> %s\n' "$*"; }

step "test environment (Python venv: mcp SDK, fakepve; npm: TypeScript MCP SDK)"
scripts/setup-test-env.sh

step "vcsim: govmomi's vCenter simulator from Debian's packages"
scripts/setup-vcsim.sh

step "browser: Debian's Chromium and ChromeDriver"
scripts/setup-browser.sh

step "redis: Debian's redis-server (the tests start their own instances)"
scripts/setup-redis.sh

step "format and lints"
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings

step "build"
cargo build --locked --bins
bin=target/debug/portcullis

step "lab demo (the README's first command, debug build)"
demo_log="$(mktemp -d)/lab-audit.jsonl"
"$bin" lab --demo --audit-log "$demo_log"

step "packaging: the systemd unit (systemd-analyze verify), the Dockerfile's references, LICENSE"
scripts/check-packaging.sh "$bin"

step "shipped policy decision tests"
"$bin" policy test policies/tests/*.toml

step "interop: official Python MCP SDK over stdio against fakepve"
.venv/bin/python tests/interop/mcp_stdio_fakepve.py "$bin"

step "interop: official Python MCP SDK over stdio against the lab (Proxmox VE and VergeOS)"
.venv/bin/python tests/interop/mcp_stdio_lab.py "$bin"

step "interop: official Python and TypeScript MCP SDKs over Streamable HTTP (API key, OAuth, mTLS)"
.venv/bin/python tests/interop/mcp_http.py "$bin"

step "interop: tools/list_changed on policy reload and per-call log messages (official Python MCP SDK, both protocol eras)"
.venv/bin/python tests/interop/session_notifications.py "$bin"

step "approvers' page in headless Chromium: sign in, read, approve, see the call run"
.venv/bin/python tests/interop/approvers_browser.py "$bin"

step "interop: MCP tasks for calls parked for approval (official Python MCP SDK, tasks extension)"
.venv/bin/python tests/interop/approval_tasks.py "$bin"

step "OCSF: exported and live events validated against the OCSF 1.7.0 schema (pydantic-ocsf)"
.venv/bin/python tests/interop/ocsf_export.py "$bin"

step "bounded HTTP load test (debug build; fails on any error or memory growth, figures not asserted)"
BENCH_CLIENTS=8 BENCH_CALLS=50 BENCH_ROUNDS=3 cargo bench --locked --profile dev --bench http_load

step "fuzz argument validation (bounded)"
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"

step "unit, property and integration tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast
else
  cargo test --locked --no-fail-fast
fi
