#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) with cargo-fuzz (`cargo install cargo-fuzz`).
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
# Each target's full output goes to logs/<target>.log; a crash does not stop the other targets,
# and the script exits non-zero if any target crashed.
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
export RUSTC_BOOTSTRAP=1
mkdir -p logs
failed=()
for target in ${TARGETS:-scheme_a kit credential apig}; do
  echo "== $target for ${seconds}s"
  mkdir -p "corpus/$target"
  if cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 > "logs/$target.log" 2>&1; then
    grep -E "^Done|number_of_executed_units|peak_rss" "logs/$target.log"
  else
    failed+=("$target")
    grep -E "panicked|Test unit written|SUMMARY" "logs/$target.log" | head -n 5
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashed: ${failed[*]} (see fuzz/logs/ and fuzz/artifacts/)"
  exit 1
fi
