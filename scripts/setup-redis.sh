#!/usr/bin/env bash
# Debian's redis-server, for the shared-state tests (tests/replicas.rs and
# tests/state_redis.rs start their own instances on free ports; the
# package's own service is not used). Idempotent.
set -euo pipefail
if ! command -v redis-server >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends redis-server
  # The tests start their own servers; the packaged one is not needed.
  if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
    $sudo systemctl stop redis-server || true
  fi
fi
echo "redis: $(redis-server --version | cut -d' ' -f3)"
