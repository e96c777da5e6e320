#!/usr/bin/env bash
# Installs the library into a scratch folder, builds examples/hyper-mlp.c
# against it with `pkg-config --cflags --libs drmad` alone, and runs it.
set -euo pipefail
source_root=$1 build_root=$2 sanitize=${3:-none}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
meson install -C "$build_root" --destdir "$scratch" --quiet >/dev/null
pc=$(find "$scratch" -name drmad.pc | head -1)
# Installed under $scratch instead of its prefix: point the prefix there.
mkdir "$scratch/pc"
sed "s|^prefix=|prefix=$scratch|" "$pc" > "$scratch/pc/drmad.pc"
export PKG_CONFIG_PATH="$scratch/pc"
# A sanitizer build of the library needs the same runtime in the program.
extra=()
[ "$sanitize" != none ] && extra=(-fsanitize="$sanitize")
cc "${extra[@]}" "$source_root/examples/hyper-mlp.c" $(pkg-config --cflags --libs drmad) -o "$scratch/hyper-mlp"
libdir=$(pkg-config --variable=libdir drmad)
LD_LIBRARY_PATH="$libdir" "$scratch/hyper-mlp" > "$scratch/out.txt"
cat "$scratch/out.txt"
# Three meta-iterations, each with a finite validation loss, and the learned values.
test "$(grep -cE '^meta-iteration [123]: validation loss [0-9.]+ ' "$scratch/out.txt")" = 3
grep -qE '^l2/layer1 = [0-9.e+-]+$' "$scratch/out.txt"
grep -qE '^lr/layer2/seg1 = [0-9.e+-]+$' "$scratch/out.txt"
echo "ok: built against the installed library and ran 3 meta-iterations"
