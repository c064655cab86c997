#!/usr/bin/env bash
# Profiles `koogate serve` during one `koogate bench` workload (see BENCHMARKS.md, "Profile").
#
#   scripts/bench-profile.sh callgrind 100 300   # valgrind: 300 queryInstance calls of 100 ids
#   scripts/bench-profile.sh perf 1 6            # perf: a 6 s window of queryInstance, 1 id
#
# callgrind: the server runs under `valgrind --tool=callgrind` with instrumentation off; the
# instances are created first (100 newInstance), then instrumentation is switched on for a fixed
# number of requests (COUNT), so the profile holds the measured calls plus the generator's 100
# setup replays. Valgrind hides SHA-NI, so SHA-256/SHA-1 show their software cost there.
# perf: the native server is sampled (cpu-clock, 999 Hz) for COUNT seconds of load.
# Output goes to $TMPDIR/koogate-bench-profile/; summaries are printed with callgrind_annotate / perf report.
set -euo pipefail

tool=${1:?callgrind or perf}
ids=${2:?ids per queryInstance call, 1 to 100}
count=${3:?requests (callgrind) or seconds (perf)}
koogate=${KOOGATE_BIN:-target/release/koogate}
out=${TMPDIR:-/tmp}/koogate-bench-profile
port=$((20000 + RANDOM % 20000))
key=profile-$RANDOM$RANDOM

rm -rf "$out/data" && mkdir -p "$out/data"
server_env=(KOOGATE_LISTEN=127.0.0.1:$port KOOGATE_DATA_DIR=$out/data KOOGATE_ACCESS_KEY=$key
  KOOGATE_SANDBOX_ORDERS=200 KOOGATE_LOG=info)
case $tool in
  callgrind) env "${server_env[@]}" valgrind --tool=callgrind --instr-atstart=no \
      --callgrind-out-file=$out/callgrind.out "$koogate" serve >"$out/serve.log" 2>&1 & ;;
  perf) env "${server_env[@]}" "$koogate" serve >"$out/serve.log" 2>&1 & ;;
  *) echo "tool must be callgrind or perf" >&2; exit 2 ;;
esac
server=$!
trap 'kill -INT $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done

# The plan the controller would send (crates/bench/src/plan.rs); its result is printed.
plan() { # budget concurrency warmup_ms measure_ms
  printf '{"url":"http://127.0.0.1:%s/produce","key":"%s","workload":{"kind":"query","ids_per_call":%s,"pool":100,"budget":%s},"concurrency":%s,"warmup_ms":%s,"measure_ms":%s}' \
    "$port" "$key" "$ids" "$1" "$2" "$3" "$4"
}
plan 5 4 0 60000 | "$koogate" bench generate >/dev/null   # creates the 100 instances

if [ "$tool" = callgrind ]; then
  callgrind_control -i on $server >/dev/null
  plan "$count" 4 0 50000 | "$koogate" bench generate
  callgrind_control -i off $server >/dev/null
  kill -INT $server; wait $server || true
  callgrind_annotate --inclusive=yes $out/callgrind.out | head -60
else
  plan $((count * 20000)) 16 1000 $((count * 1000 + 1000)) | "$koogate" bench generate &
  load=$!
  sleep 1.5
  perf record -F 999 -e cpu-clock -p $server -o $out/perf.data -- sleep "$count" 2>/dev/null
  wait $load
  perf report -i $out/perf.data --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | head -8
  perf report -i $out/perf.data --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | head -6
  perf report -i $out/perf.data --no-children --sort symbol --stdio 2>/dev/null | grep -v '^#' | head -40
fi
