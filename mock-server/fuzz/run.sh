#!/usr/bin/env bash
# Run the fuzz targets of mor-mock for a bounded time each (cargo-fuzz, libFuzzer, nightly).
#
#   mock-server/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 600, or FUZZ_SECONDS); TARGETs default to all of them (request,
# scenario, catalogue, xml, admin), run one after the other. To use two cores, run two invocations
# with different targets. FUZZ_SANITIZER chooses the sanitizer (default address, as cargo-fuzz;
# `none` is faster). Leak detection is off unless FUZZ_DETECT_LEAKS=1: LeakSanitizer rescans
# the heap (three mock worlds in `request`) on every input that finds coverage and took two
# thirds of the time; memory growth is bounded by -rss_limit_mb here and measured by the soak.
# Installs cargo-fuzz if it is missing.
#
# The committed seed corpus (corpus/<target>, built by seed_corpus.py) is read, never written:
# new inputs go to target/corpus/<target>, logs to target/logs/<target>.log, and crashing inputs
# to artifacts/<target>/ (ignored by git; a crash becomes a unit test in the crate that owns the
# code). Prints one line per target: duration, executions, crashes. Exits 1 if any target crashed.
set -euo pipefail

cd "$(dirname "$0")"
seconds="${1:-${FUZZ_SECONDS:-600}}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(request scenario catalogue xml admin)
fi
sanitizer="${FUZZ_SANITIZER:-address}"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build --sanitizer "$sanitizer" >&2

mkdir -p target/logs
status=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "target/corpus/$t" "artifacts/$t"
  log="target/logs/$t.log"
  before=$(find "artifacts/$t" -type f | wc -l)
  start=$(date +%s)
  set +e
  cargo +nightly fuzz run --sanitizer "$sanitizer" "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -detect_leaks="${FUZZ_DETECT_LEAKS:-0}" \
    >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(($(date +%s) - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(($(find "artifacts/$t" -type f | wc -l) - before))
  line="$t: ${elapsed} s, ${execs:-?} executions, ${crashes} crashes (exit ${rc}, log ${log})"
  echo "$line"
  summary+=("$line")
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
  fi
done
echo "--- summary (sanitizer ${sanitizer}, ${seconds} s per target)"
printf '%s\n' "${summary[@]}"
exit "$status"
