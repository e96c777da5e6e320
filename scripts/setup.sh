# Sourced by run.sh and test.sh: installs what the build needs on Debian 12
# (as root), or prints the exact command (otherwise), then configures and
# builds into build/. (locales: the tests compile a de_DE locale, whose
# decimal comma the program's output must not take. desktop-file-utils,
# appstream and man-db: the validators tests/test-packaging.c runs.)
DRMAD_PACKAGES="meson ninja-build pkg-config gcc ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
clinfo libclblast-dev libopenblas-dev libglib2.0-dev libglib2.0-dev-bin libgtk-4-dev libpng-dev
zlib1g-dev dataset-fashion-mnist xvfb xauth libopenmpi-dev openmpi-bin locales
desktop-file-utils appstream man-db"

# drmad_setup [tests]: with "tests", the build also compiles in the test
# hooks (meson option test_hooks, docs/reliability.md) that the suite needs.
drmad_setup () {
  local missing=()
  for pkg in $DRMAD_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "setup: installing ${missing[*]}" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || { echo "setup: apt-get install failed" >&2; return 1; }
    else
      echo "setup: missing Debian packages; run as root:" >&2
      echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
      return 1
    fi
  fi
  # PoCL compiles kernels on first use; keep them beside the build.
  export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$PWD/build/pocl-cache}"
  export POCL_SIGFPE_HANDLER=0
  if [ ! -f build/build.ninja ]; then
    meson setup build --buildtype=debugoptimized >&2 || return 1
  fi
  if [ "${1:-}" = tests ] && ! grep -q -- '-DDRMAD_TEST_HOOKS' build/build.ninja; then
    meson configure build -Dtest_hooks=true >&2 || return 1
  fi
  ninja -C build >&2
}
