#!/usr/bin/env bash
# What can be checked of the packaging without a container runtime:
# - the systemd unit, with `systemd-analyze verify` (not one warning);
# - the Dockerfile: every COPY source exists, and the commands its
#   HEALTHCHECK, ENTRYPOINT and CMD run are ones the binary has;
# - LICENSE is the license Cargo.toml names.
# Usage: scripts/check-packaging.sh PATH_TO_PORTCULLIS_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${1:-target/debug/portcullis}")"
if ! command -v systemd-analyze >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends systemd
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/bin/portcullis#$bin#" packaging/portcullis.service > "$tmp/portcullis.service"
if ! out="$(systemd-analyze verify --man=no "$tmp/portcullis.service" 2>&1)" || [ -n "$out" ]; then
  echo "FAIL systemd unit: systemd-analyze verify says:"; echo "$out"; exit 1
fi
echo "ok   systemd unit verifies without a warning"
for want in ProtectSystem=strict NoNewPrivileges=yes LogsDirectory=portcullis StateDirectory=portcullis \
            'ExecReload=/bin/kill -HUP $MAINPID' User=portcullis; do
  grep -qxF "$want" packaging/portcullis.service || { echo "FAIL systemd unit lacks $want"; exit 1; }
done
echo "ok   systemd unit: dedicated user, audit log and state directories, hardening, reload on SIGHUP"

grep -E '^COPY ' Dockerfile | grep -v -- '--from=' | while read -r _ rest; do
  set -- $rest
  while [ $# -gt 1 ]; do
    [ -e "$1" ] || { echo "FAIL Dockerfile copies $1, which does not exist"; exit 1; }
    shift
  done
done
"$bin" health --help >/dev/null
"$bin" serve --help | grep -q -- '--transport' 
grep -q '^USER portcullis$' Dockerfile || { echo "FAIL the image does not run as its own user"; exit 1; }
grep -q '^HEALTHCHECK .*"health"' Dockerfile || { echo "FAIL no HEALTHCHECK on portcullis health"; exit 1; }
echo "ok   Dockerfile: its sources exist, it runs as a non-root user, its health check and commands exist"

license="$(sed -n 's/^license = "\(.*\)"/\1/p' Cargo.toml)"
case "$license" in
  Apache-2.0) grep -q 'Apache License' LICENSE && grep -q 'Version 2.0, January 2004' LICENSE ;;
  *) echo "FAIL check-packaging knows no text for license $license"; exit 1 ;;
esac
echo "ok   LICENSE is the $license text Cargo.toml names"
