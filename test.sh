#!/usr/bin/env bash
# Sets up if needed, builds, and runs the whole test suite; then, in CI or
# with DRMAD_SANITIZE=1, the same suite again in an ASan + UBSan build
# (build-sanitize/). Arguments go to `meson test` (e.g. a suite name).
# Leak detection is off there by default: LeakSanitizer's stop-the-world
# tracer crashes now and then while PoCL's worker threads exit ("Tracer caught
# signal 11"); DRMAD_DETECT_LEAKS=1 turns it on for a run by hand.
set -uo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
drmad_setup tests || exit 1

meson test -C build --print-errorlogs "$@" | tee build/test-summary.txt
status=${PIPESTATUS[0]}
passed=$(grep -E '^Ok:' build/test-summary.txt | awk '{print $2}')
failed=$(( $(grep -E '^Fail:' build/test-summary.txt | awk '{print $2}') + $(grep -E '^Timeout:' build/test-summary.txt | awk '{print $2}') ))
skipped=$(grep -E '^Skipped:' build/test-summary.txt | awk '{print $2}')

if [ "${CI:-}" = true ] || [ "${DRMAD_SANITIZE:-0}" = 1 ]; then
  echo "== the suite again with AddressSanitizer and UndefinedBehaviorSanitizer (build-sanitize/)"
  if [ ! -f build-sanitize/build.ninja ]; then
    meson setup build-sanitize --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dtest_hooks=true >&2 || exit 1
  fi
  ninja -C build-sanitize >&2 || exit 1
  POCL_CACHE_DIR="$PWD/build-sanitize/pocl-cache" \
  ASAN_OPTIONS="detect_leaks=${DRMAD_DETECT_LEAKS:-0}:abort_on_error=1" \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-sanitize --print-errorlogs --no-suite no-sanitizer "$@" | tee build/test-sanitize-summary.txt
  sanitize_status=${PIPESTATUS[0]}
  [ "$status" = 0 ] && status=$sanitize_status
  passed=$(( passed + $(grep -E '^Ok:' build/test-sanitize-summary.txt | awk '{print $2}') ))
  failed=$(( failed + $(grep -E '^Fail:' build/test-sanitize-summary.txt | awk '{print $2}') + $(grep -E '^Timeout:' build/test-sanitize-summary.txt | awk '{print $2}') ))
  skipped=$(( skipped + $(grep -E '^Skipped:' build/test-sanitize-summary.txt | awk '{print $2}') ))
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
