#!/usr/bin/env bash
# Makes docs/img/window.png: the real window in the middle of the default job
# (Fashion-MNIST, 784-100-100-10, L2 per layer and a 4-segment learning-rate
# schedule per layer), and docs/img/compare.png: the Compare runs window over
# two short runs that start from different L2 values (made with --no-gui
# first), both drawn by the window itself under Xvfb (always Xvfb, so
# that the desktop's theme does not leak into the picture). The hook is
# DRMAD_SCREENSHOT=PATH with DRMAD_SCREENSHOT_AFTER=N: drmad starts the run,
# saves the window after N meta-iterations (with the read-out of the newest
# L2 point), stops and quits; DRMAD_SCREENSHOT_COMPARE=PATH with
# DRMAD_COMPARE=RUN:RUN opens the comparison, saves it and quits. Settings and run folders go to a scratch folder.
# Usage: scripts/screenshots.sh [N, default 15]   (BUILD=dir for another build folder)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
after=${1:-15}
if [ ! -x "$build/gui/drmad" ]; then
  echo "screenshots.sh: no $build/gui/drmad: build first (./test.sh, or ninja -C $build)" >&2
  exit 1
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export XDG_CONFIG_HOME=$scratch/config XDG_DATA_HOME=$scratch/data XDG_CACHE_HOME=$scratch/cache
export GTK_A11Y=none POCL_SIGFPE_HANDLER=0 POCL_CACHE_DIR=${POCL_CACHE_DIR:-$PWD/$build/pocl-cache}
export DRMAD_SCREENSHOT=$PWD/docs/img/window.png DRMAD_SCREENSHOT_AFTER=$after
mkdir -p docs/img
env -u DISPLAY -u WAYLAND_DISPLAY xvfb-run -a -s "-screen 0 1600x1000x24 -nolisten tcp" "$build/gui/drmad"

# The comparison: the same network and data, L2 starting at 1e-4 and at 1e-2.
for l2 in 1e-4 1e-2; do
  echo "screenshots.sh: a short run from L2 $l2 for the comparison"
  "$build/gui/drmad" --no-gui --iters 200 --meta-iters 10 --method exact --init-l2 "$l2" \
    --out "$scratch/init-l2-$l2" >/dev/null
done
env -u DISPLAY -u WAYLAND_DISPLAY -u DRMAD_SCREENSHOT DRMAD_SCREENSHOT_COMPARE="$PWD/docs/img/compare.png" \
  DRMAD_COMPARE="$scratch/init-l2-1e-4:$scratch/init-l2-1e-2" \
  xvfb-run -a -s "-screen 0 1600x1000x24 -nolisten tcp" "$build/gui/drmad"
