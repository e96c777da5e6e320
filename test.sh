#!/usr/bin/env bash
# Sets up if needed, builds, and runs the whole test suite; then, in CI or
# with DRMAD_SANITIZE=1, the same suite again in an ASan + UBSan build
# (build-sanitize/). Arguments go to `meson test` (e.g. a suite name).
# Leak detection is off there by default: LeakSanitizer's stop-the-world
# tracer crashes now and then while PoCL's worker threads exit ("Tracer caught
# signal 11"); DRMAD_DETECT_LEAKS=1 turns it on for a run by hand.
# A whole-suite run (no arguments) also runs, on a CPU with AVX-512, the net,
# train, hyper and blas suites as on a CPU without it (DRMAD_INJECT_NO_AVX512,
# docs/reliability.md): OpenBLAS's AVX2 core and drmad's AVX2 kernels, the
# path of AVX2-only machines, which the plain pass never takes there; and,
# on any CPU, train and hyper with the host step's GEMMs on the BLAS
# (DRMAD_SMALL_GEMM=0), the path of CPUs without AVX2.
set -uo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
drmad_setup tests || exit 1

passed=0 failed=0 skipped=0 status=0
# Adds the counts of meson test's summary in $1 to the totals, and its exit status $2 to status.
count () {
  local ok fail timeout skip
  ok=$(grep -E '^Ok:' "$1" | awk '{print $2}')
  fail=$(grep -E '^Fail:' "$1" | awk '{print $2}')
  timeout=$(grep -E '^Timeout:' "$1" | awk '{print $2}')
  skip=$(grep -E '^Skipped:' "$1" | awk '{print $2}')
  passed=$(( passed + ${ok:-0} ))
  failed=$(( failed + ${fail:-0} + ${timeout:-0} ))
  skipped=$(( skipped + ${skip:-0} ))
  [ "$status" = 0 ] && status=$2
}

meson test -C build --print-errorlogs "$@" | tee build/test-summary.txt
count build/test-summary.txt "${PIPESTATUS[0]}"

if [ $# = 0 ]; then
  if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    echo "== net, train, hyper and blas again as on a CPU without AVX-512 (DRMAD_INJECT_NO_AVX512=1)"
    DRMAD_INJECT_NO_AVX512=1 meson test -C build --print-errorlogs net train hyper blas \
      | tee build/test-no-avx512-summary.txt
    count build/test-no-avx512-summary.txt "${PIPESTATUS[0]}"
  fi
  echo "== train and hyper again with the host step's GEMMs on the BLAS (DRMAD_SMALL_GEMM=0)"
  DRMAD_SMALL_GEMM=0 meson test -C build --print-errorlogs train hyper | tee build/test-blas-step-summary.txt
  count build/test-blas-step-summary.txt "${PIPESTATUS[0]}"
fi

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
  count build/test-sanitize-summary.txt "${PIPESTATUS[0]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
