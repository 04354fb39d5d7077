#!/usr/bin/env bash
# Build govmomi's vCenter simulator (vcsim) and the probe the tests read its
# state with, from Debian's golang-go and golang-github-vmware-govmomi-dev,
# into target/vcsim. Idempotent: installs the packages only if missing and
# rebuilds only when a source is newer than its binary.
set -euo pipefail
cd "$(dirname "$0")/.."
govmomi=/usr/share/gocode/src/github.com/vmware/govmomi
if ! command -v go >/dev/null || [ ! -d "$govmomi/simulator" ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    golang-go golang-github-vmware-govmomi-dev
fi
mkdir -p target/vcsim
export GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE="$PWD/target/vcsim/gocache" GOFLAGS=-buildvcs=false
build() {
  local out="target/vcsim/$1" src="$2"
  if [ ! -x "$out" ] || [ -n "$(find "$src" -maxdepth 1 -name '*.go' -newer "$out")" ]; then
    go build -o "$out" "./$src"
  fi
}
build vcsim tests/vcsim
build probe tests/vcsim/probe
echo "vcsim: $(go version | cut -d' ' -f3), govmomi $(dpkg-query -W -f='${Version}' golang-github-vmware-govmomi-dev 2>/dev/null || echo '?')"
