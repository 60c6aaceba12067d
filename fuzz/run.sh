#!/usr/bin/env bash
# Runs one fuzz target (or all) for SECONDS each (default 600), seeding its corpus from
# testdata/. Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain is used with
# RUSTC_BOOTSTRAP=1 for the sanitizer flags. Usage: fuzz/run.sh [TARGET] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
targets=${1:-$(ls fuzz_targets | sed 's/\.rs$//')}
seconds=${2:-600}
for t in $targets; do
  mkdir -p "corpus/$t"
  case "$t" in
    rbac_reader) cp ../testdata/*.yaml ../testdata/expected/*.yaml "corpus/$t/" ;;
    partial_reader) ../target/release/audit2role aggregate -q -o "corpus/$t/seed.agg" ../testdata/audit.log ;;
    scan_vs_serde) head -n 14 ../testdata/audit.log | split -l 1 - "corpus/$t/line-" ;;
    *) cp ../testdata/*.log ../testdata/cloud/*.json* ../testdata/cloud/*.log "corpus/$t/" ;;
  esac
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 2>&1 | grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|Done [0-9]+ runs|SUMMARY|ERROR|Test unit written|panicked"
done
