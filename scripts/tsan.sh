#!/usr/bin/env bash
# ThreadSanitizer over the suites whose code runs threads (docs/reliability.md,
# "ThreadSanitizer"): builds build-tsan/ (-Db_sanitize=thread, test hooks on),
# runs each suite with scripts/tsan-glib.c preloaded (it shows GLib's locks,
# thread pools and idle sources to the sanitizer, which an uninstrumented
# libglib hides), then lists the reports by the code they name: the
# project's (lib/, app/, gui/, tests/) first, then the others. Reports do not
# fail a test (exitcode=0): a report in a g_test_trap_subprocess() child
# failed its parent and stopped the rest of the suite.
#
# Usage: scripts/tsan.sh [SUITE…]   (default: train hyper net job runfolder gui)
# Logs: build-tsan/tsan-logs/SUITE/tsan.PID, one per process.
set -euo pipefail
cd "$(dirname "$0")/.."
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(train hyper net job runfolder gui)
[ -d build-tsan ] || meson setup build-tsan --buildtype=debug -Db_sanitize=thread -Db_lundef=false -Dtest_hooks=true >/dev/null
ninja -C build-tsan -j2 >/dev/null
cc -shared -fPIC -O1 $(pkg-config --cflags glib-2.0) scripts/tsan-glib.c -o build-tsan/tsan-glib.so -ldl
export POCL_CACHE_DIR=$PWD/build-tsan/pocl-cache POCL_SIGFPE_HANDLER=0
export G_SLICE=always-malloc   # GSlice hands memory between threads through a lock inside libglib
for suite in "${suites[@]}"; do
  logs=build-tsan/tsan-logs/$suite
  rm -rf "$logs"
  mkdir -p "$logs"
  args=()
  # its child's address-space limit leaves the sanitizer no room ("allocator is out of memory")
  [ "$suite" = hyper ] && args=(--test-args '-s /hyper/too-many-entries-large-memory')
  TSAN_OPTIONS="halt_on_error=0 exitcode=0 second_deadlock_stack=1 history_size=4 log_path=$PWD/$logs/tsan" \
  LD_PRELOAD=$PWD/build-tsan/tsan-glib.so \
    meson test -C build-tsan --no-rebuild --timeout-multiplier 5 --print-errorlogs "${args[@]}" "$suite" >"$logs.out" 2>&1 \
    || echo "tsan.sh: suite $suite failed (build-tsan/tsan-logs/$suite.out)" >&2
  # one line per report: its kind and the first frame of each access outside the sanitizer's
  # interceptors, marked "ours" where one is the project's code; a process whose sanitizer gave
  # up ("fatal", as in a child under an address-space limit) says why. A suite with no report has no
  # log: with pipefail, cat's failure on the unmatched glob ended the script there (status 1,
  # nothing printed, the suites after it not run), so the logs are listed first.
  reports=("$logs"/tsan.*)
  if [ ! -e "${reports[0]}" ]; then
    echo "      $suite: no reports"
    continue
  fi
  awk -v suite="$suite" '
    /^WARNING: ThreadSanitizer/ { kind = $3 " " $4; tops = ""; ours = 0 }
    /^  (Read|Write|Previous|Atomic|Mutex .* acquired|Cycle)/ { want = 1 }
    want && /^    #[0-9]+ / && !/libtsan/ {
      tops = tops (tops == "" ? "" : " / ") $2 " " $3; want = 0
      if ($3 ~ /^\.\.\/(lib|app|gui|tests)\//) ours = 1
    }
    /^SUMMARY: ThreadSanitizer/ { print suite ": " (ours ? "ours  " : "other ") kind ": " tops }
    /^==[0-9]+==FATAL: ThreadSanitizer/ { sub(/^==[0-9]+==FATAL: ThreadSanitizer: /, ""); print suite ": fatal " $0 }
  ' "${reports[@]}" | sort | uniq -c | sort -k2,2r -k1,1nr
done
