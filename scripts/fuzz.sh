#!/usr/bin/env bash
# Fuzz argument validation for a bounded time on the stable toolchain.
# Usage: scripts/fuzz.sh [SECONDS]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
mkdir -p fuzz/corpus/validate_args
cp -n fuzz/seeds/validate_args/* fuzz/corpus/validate_args/ 2>/dev/null || true
# libFuzzer's instrumentation needs nightly flags; RUSTC_BOOTSTRAP lets the
# stable compiler accept them. No sanitizer: the target is safe Rust.
RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none validate_args fuzz/corpus/validate_args \
  -- -max_total_time="$seconds" -max_len=4096 -print_final_stats=1
