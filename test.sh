#!/usr/bin/env bash
# Sets up if needed, builds, and runs the whole test suite.
set -uo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
drmad_setup || exit 1
meson test -C build --print-errorlogs "$@" | tee build/test-summary.txt
status=${PIPESTATUS[0]}
ok=$(grep -E '^Ok:' build/test-summary.txt | awk '{print $2}')
fail=$(grep -E '^Fail:' build/test-summary.txt | awk '{print $2}')
skip=$(grep -E '^Skipped:' build/test-summary.txt | awk '{print $2}')
echo "${ok:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$status"
