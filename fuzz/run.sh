#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan), seeds their corpora
# with valid files, and runs each target.
#
#   fuzz/run.sh [SECONDS_PER_TARGET | --runs N] [TARGET…]
#
# Default: 1 000 000 executions per target. Corpora and crash files go to
# build-fuzz/corpus/TARGET and build-fuzz/crashes/TARGET; a crash stops the
# script with the target's report.
set -euo pipefail
cd "$(dirname "$0")/.."
all_targets=(idx png-folder cifar10 run-ini checkpoint csv-rows evaluate-line)
limit=(-runs=1000000)
if [ $# -gt 0 ]; then
  case "$1" in
    -h|--help)
      awk 'NR > 1 && /^#/ { sub (/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      echo "Targets: ${all_targets[*]}."
      exit 0 ;;
    --runs)
      case "${2-}" in
        ''|*[!0-9]*) echo "fuzz/run.sh: --runs needs a number of executions (see fuzz/run.sh --help)" >&2; exit 2 ;;
      esac
      limit=(-runs="$2"); shift 2 ;;
    ''|*[!0-9]*) ;;
    *)
      # libFuzzer reads -max_total_time=0 as no limit at all
      [ "$((10#$1))" -gt 0 ] || { echo "fuzz/run.sh: $1 seconds: give 1 or more (see fuzz/run.sh --help)" >&2; exit 2; }
      limit=(-max_total_time="$1"); shift ;;
  esac
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
# Every name is checked before the (long) build.
for target in "${targets[@]}"; do
  case " ${all_targets[*]} " in
    *" $target "*) ;;
    *) echo "fuzz/run.sh: no target \"$target\": expected ${all_targets[*]} (see fuzz/run.sh --help)" >&2; exit 2 ;;
  esac
done
command -v clang >/dev/null || { echo "fuzz/run.sh needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dgui=disabled >/dev/null
fi
ninja -C build-fuzz >/dev/null
export POCL_CACHE_DIR="$PWD/build-fuzz/pocl-cache" POCL_SIGFPE_HANDLER=0
export ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p build-fuzz/corpus build-fuzz/crashes
# The seeds open an OpenCL device: full stacks for its leak check, since with
# the fast unwinder a leak inside PoCL's LLVM ends at libstdc++ (no frame
# pointers there) and escapes the suppressions (the targets, 5 times faster
# without, open none).
ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 ./build-fuzz/fuzz/fuzz-seeds build-fuzz/corpus
for target in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$target" "build-fuzz/crashes/$target"
  start=$(date +%s)
  ./build-fuzz/fuzz/fuzz-"$target" "${limit[@]}" -print_final_stats=1 \
    -artifact_prefix="build-fuzz/crashes/$target/" "build-fuzz/corpus/$target" \
    > "build-fuzz/fuzz-$target.log" 2>&1 || { echo "fuzz-$target found a crash:"; tail -40 "build-fuzz/fuzz-$target.log"; exit 1; }
  runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "build-fuzz/fuzz-$target.log" | awk '{print $2}' || true)
  runs=${runs:-an unknown number of}   # no stats line in the log
  corpus=$(ls "build-fuzz/corpus/$target" | wc -l)
  echo "fuzz-$target: $runs executions in $(( $(date +%s) - start )) s, no crash, corpus $corpus inputs"
done
