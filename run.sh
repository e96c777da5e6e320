#!/usr/bin/env bash
# Sets up if needed, builds, and runs the main job: `drmad --no-gui` with the
# options given (none: train the default network on Fashion-MNIST).
set -uo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
drmad_setup || exit 1
exec ./build/gui/drmad --no-gui "$@"
