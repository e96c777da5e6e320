#!/bin/sh
# Runs a GTK test program under a virtual X server (xvfb-run, Debian package
# xvfb, with xauth) when there is no display, as in meson test and CI.
# GTK_A11Y=none: without a session bus the accessibility bridge warns, and a
# GLib test aborts on any warning. test-gui sets it to "test" (GTK's test
# backend, which needs no bus) in its main() to check the plots' accessible
# labels; the drmad processes it starts inherit that.
export GTK_A11Y=none
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  if command -v xvfb-run >/dev/null 2>&1; then
    exec xvfb-run -a -s "-screen 0 1600x1000x24 -nolisten tcp" "$@"
  fi
  echo "run-with-xvfb.sh: no display and no xvfb-run (apt-get install xvfb xauth): the test skips" >&2
fi
exec "$@"
