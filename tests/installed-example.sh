#!/usr/bin/env bash
# Follows docs/install.md step by step: configures its own build of the
# source tree with --prefix=DIR --libdir=lib, builds what it installs (not
# the tests and benches) and installs it, finds drmad.pc through
# PKG_CONFIG_PATH=DIR/lib/pkgconfig, compiles examples/hyper-mlp.c with
# `pkg-config --cflags --libs drmad` and an rpath to DIR/lib, and runs it. It also checks that the installed headers are
# the ones docs/install.md lists and that each compiles on its own (C99,
# C11 and GNU17 with GCC and Clang, C++11, 14 and 17 with g++ and clang++,
# where installed), that g_autoptr works for each type from C and C++, that
# the library exports what the headers declare and lib/drmad.map lists,
# that the installed bin/drmad starts, that a program linking the library
# and calling nothing is silent, and compiles and runs the program in the
# tour at the top of lib/drmad.h and README.md's C samples.
# Arguments (tests/meson.build): the source root, the build root (not used:
# the recipe makes its own build) and b_sanitize.
set -euo pipefail
source_root=$1 sanitize=${3:-none}
# meson test points LD_LIBRARY_PATH at the build tree, which would load the
# uninstalled library and hide a missing rpath: the recipe runs without it.
unset LD_LIBRARY_PATH
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
DIR=$scratch/prefix

# A sanitizer build of the library needs the same runtime in the program.
setup_extra=() cc_extra=()
if [ "$sanitize" != none ]; then
  setup_extra=(-Db_sanitize="$sanitize" -Db_lundef=false)
  cc_extra=(-fsanitize="$sanitize")
fi
quietly () {  # runs "$@" with its output in a log, shown only on failure
  "$@" >"$scratch/step.log" 2>&1 || { tail -n 60 "$scratch/step.log"; echo "failed: $*"; exit 1; }
}

# 1. Configure with the prefix, build, install (docs/install.md, "The recipe").
# Of the build, only what `meson install` installs: the tests and benches,
# which `ninja -C build-install` builds too, are half of its time and none
# of what a client gets. An installed file left unbuilt fails the install.
quietly meson setup "$scratch/build" "$source_root" --prefix="$DIR" --libdir=lib "${setup_extra[@]}"
installed_targets=$(meson introspect "$scratch/build" --targets | python3 -c '
import json, os, sys
for target in json.load (sys.stdin):
    if target["installed"]:
        for path in target["filename"]:
            print (os.path.relpath (path, sys.argv[1]))' "$scratch/build")
test -n "$installed_targets" || { echo "meson introspect lists no installed target"; exit 1; }
quietly ninja -C "$scratch/build" $installed_targets
quietly meson install --no-rebuild -C "$scratch/build"

# 2. pkg-config finds the installed drmad.pc, whose prefix is DIR.
export PKG_CONFIG_PATH="$DIR/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
test "$(pkg-config --variable=prefix drmad)" = "$DIR"
test "$(pkg-config --variable=libdir drmad)" = "$DIR/lib"
echo "pkg-config --cflags --libs drmad: $(pkg-config --cflags --libs drmad)"
# drmad.pc asks for the GLib the build asks for: without the version a
# client with an older GLib got past pkg-config and failed at its compiler.
glib_version=$(sed -n "s/^glib_dep = dependency('glib-2.0', version: '>= \([0-9.]*\)').*/\1/p" "$source_root/meson.build")
grep -qx "glib-2.0 >= $glib_version" <<< "$(pkg-config --print-requires drmad)" \
  || { echo "drmad.pc requires \"$(pkg-config --print-requires drmad)\"; meson.build asks for glib-2.0 >= $glib_version"; exit 1; }

# The installed headers are exactly those docs/install.md lists.
installed=$(cd "$DIR" && ls include/drmad/*.h | sort)
documented=$(grep -oE 'include/drmad/[a-z-]+\.h' "$source_root/docs/install.md" | sort -u)
if [ "$installed" != "$documented" ]; then
  echo "installed headers differ from docs/install.md:"
  diff <(echo "$documented") <(echo "$installed") || true
  exit 1
fi

# drmad.h's "Errors" says DRMAD_ERROR is the library's one domain and names
# the exceptions: every other GLib domain a header says a function reports
# in is named there too (a client matching DRMAD_ERROR codes alone would
# miss it).
errors_paragraph=$(awk '/^ \* Errors:/ { on = 1 } on && /^ \*$/ { exit } on' "$DIR/include/drmad/drmad.h")
test -n "$errors_paragraph" || { echo "drmad.h has no \"Errors:\" paragraph"; exit 1; }
for domain in $(grep -ohE '\bG_[A-Z][A-Z_]*_ERROR\b' "$DIR"/include/drmad/*.h | sort -u); do
  grep -qw "$domain" <<< "$errors_paragraph" \
    || { echo "$(grep -lw "$domain" "$DIR"/include/drmad/*.h | xargs -n1 basename | tr '\n' ' ')says a function reports in $domain; drmad.h's \"Errors\" paragraph does not name it:"; echo "$errors_paragraph"; exit 1; }
done

# Every public function is documented where it is declared: each group of
# declarations (lines between blank lines) holds a comment, above it or at
# a line's end, saying what it returns, who owns it and how it fails.
awk 'BEGIN { RS = "" }
  { n = split ($0, lines, "\n")
    for (i = 1; i <= n; i++)
      if (lines[i] ~ /^[A-Za-z_]/ && lines[i] !~ /^(#|G_DEFINE|typedef)/ && match (lines[i], /drmad_[a-z0-9_]+ *\(/)) {
        name = substr (lines[i], RSTART, RLENGTH); sub (/ *\($/, "", name)
        print ($0 ~ /\/\*/ ? "documented" : "undocumented"), FILENAME, name
      } }' "$DIR"/include/drmad/*.h > "$scratch/documented.txt"
test "$(grep -c '^documented ' "$scratch/documented.txt")" -gt 100 \
  || { echo "found only $(grep -c '^documented ' "$scratch/documented.txt") documented functions in the installed headers"; exit 1; }
if grep -q '^undocumented ' "$scratch/documented.txt"; then
  echo "functions declared without a comment in their group (say what they return, own and how they fail):"
  sed -n 's|^undocumented .*/\([^/]*\) \(.*\)|\1: \2|p' "$scratch/documented.txt"
  exit 1
fi

# Each installed header compiles on its own, first in its file, without a
# warning: as C in each standard a client may pick, with the prototype
# warnings GLib-style projects build with, by GCC and by Clang; and as C++
# (its extern "C" guards, no C-only syntax) by g++ and clang++. A compiler
# not installed is skipped, by name. Where only a versioned one is, the
# newest of those: scripts/setup.sh installs no clang package, but PoCL
# brings clang-15 and clang++-15 (libpocl2 depends on clang-15), which the
# plain names alone never found on a machine set up that way.
find_compiler () {
  command -v "$1" > /dev/null && { echo "$1"; return; }
  compgen -c "$1-" | grep -xE "${1//+/\\+}-[0-9]+" | sort -uV | tail -n 1 || true
}
c_compilers=() cxx_compilers=()
for name in gcc clang g++ clang++; do
  compiler=$(find_compiler $name)
  [ -n "$compiler" ] || { echo "no $name: headers not compiled with it"; continue; }
  case $name in *++) cxx_compilers+=("$compiler") ;; *) c_compilers+=("$compiler") ;; esac
done
echo "headers compiled alone with ${c_compilers[*]} ${cxx_compilers[*]}"
c_warnings=(-Wall -Wextra -Wpedantic -Werror -Wstrict-prototypes -Wmissing-prototypes)
for header in "$DIR"/include/drmad/*.h; do
  printf '#include <%s>\nint main (void) { return 0; }\n' "$(basename "$header")" > "$scratch/header.c"
  cp "$scratch/header.c" "$scratch/header.cc"
  for compiler in "${c_compilers[@]}"; do
    for std in c99 c11 gnu17; do
      $compiler -std=$std "${c_warnings[@]}" -fsyntax-only "$scratch/header.c" $(pkg-config --cflags drmad) \
        || { echo "$header does not compile on its own: $compiler -std=$std ${c_warnings[*]}"; exit 1; }
    done
  done
  for compiler in "${cxx_compilers[@]}"; do
    for std in c++11 c++14 c++17; do
      $compiler -std=$std -Wall -Wextra -Wpedantic -Werror -fsyntax-only "$scratch/header.cc" $(pkg-config --cflags drmad) \
        || { echo "$header does not compile on its own as C++: $compiler -std=$std"; exit 1; }
    done
  done
done

# g_autoptr works for every type a header gives a cleanup function, from C
# and from C++, and each of those functions takes NULL (drmad.h,
# "Arguments"): a program that declares one of each, frees NULL with each
# function, links and runs.
{
  echo '#include <drmad.h>'
  echo 'int main (void) {'
  sed -n 's/^G_DEFINE_AUTOPTR_CLEANUP_FUNC (\([A-Za-z]*\), \([a-z_]*\))$/  { g_autoptr (\1) value = NULL; \2 (value); }/p' \
    "$DIR"/include/drmad/*.h
  echo '  return 0;'
  echo '}'
} > "$scratch/autoptr.c"
# Each G_DEFINE_AUTOPTR_CLEANUP_FUNC of the headers, none passed over for
# being spelt otherwise than the sed above reads.
autoptr_defined=$(cat "$DIR"/include/drmad/*.h | grep -c G_DEFINE_AUTOPTR_CLEANUP_FUNC)
test "$(grep -c g_autoptr "$scratch/autoptr.c")" = "$autoptr_defined" -a "$autoptr_defined" -ge 12 \
  || { echo "$(grep -c g_autoptr "$scratch/autoptr.c") of the $autoptr_defined G_DEFINE_AUTOPTR_CLEANUP_FUNC in the installed headers read (12 at least)"; exit 1; }
cp "$scratch/autoptr.c" "$scratch/autoptr.cc"
# A sanitizer build links its runtime the way GCC does: Clang's would be a second one.
link_compilers=("${c_compilers[@]}" "${cxx_compilers[@]}")
if [ "$sanitize" != none ]; then
  link_compilers=(cc)
  command -v c++ > /dev/null && link_compilers+=(c++) || echo "no c++: g_autoptr from C++ not linked"
fi
for compiler in "${link_compilers[@]}"; do
  source=$scratch/autoptr.c
  case $compiler in *++*) source=$scratch/autoptr.cc ;; esac   # c++, g++, clang++-15
  $compiler "${cc_extra[@]}" -Wall -Wextra -Werror "$source" $(pkg-config --cflags --libs drmad) \
    -Wl,-rpath,"$DIR/lib" -o "$scratch/autoptr" \
    || { echo "g_autoptr of the installed types does not build with $compiler"; exit 1; }
  "$scratch/autoptr" || { echo "g_autoptr of the installed types, built with $compiler, fails"; exit 1; }
done

# The installed library exports exactly the functions the installed headers
# declare (lib/drmad.map): no internal a client could bind to, and no
# declared function missing. The declared list comes from the headers
# themselves: GCC's -aux-info writes every prototype the compiler saw with
# the file that declared it. It lists functions only, so the library exports
# no data on purpose: a variable in a header would show up as undeclared.
if command -v gcc >/dev/null; then
  for header in "$DIR"/include/drmad/*.h; do
    printf '#include <%s>\n' "$(basename "$header")"
  done > "$scratch/all-headers.c"
  gcc -aux-info "$scratch/aux.txt" -fsyntax-only "$scratch/all-headers.c" $(pkg-config --cflags drmad) \
    || { echo "the installed headers do not compile together"; exit 1; }
  # Lines look like "/* FILE:LINE:NC */ extern TYPE NAME (ARGS);". Only
  # declarations (C; F marks a definition): a function defined in a header
  # is inline, static or not (g_autoptr's cleanups; a C99 "inline" one,
  # which GCC lists as extern), and no export. The name is the first
  # identifier followed by " (" once each "(*" is gone, a type keyword
  # aside: "void (*NAME (ARGS)) (int)" returns a function pointer.
  awk -v dir="$DIR/include/drmad/" '
    index ($0, "/* " dir) == 1 && $0 ~ /:[NO]C \*\/ extern / {
      sub (/^\/\*[^*]*\*\/ extern /, "")
      gsub (/\(\*/, "")
      while (match ($0, /[A-Za-z_][A-Za-z0-9_]* \(/)) {
        name = substr ($0, RSTART, RLENGTH - 2)
        $0 = substr ($0, RSTART + RLENGTH)
        if (name !~ /^(void|char|short|int|long|float|double|signed|unsigned|const|volatile|restrict|_Bool)$/) {
          print name
          break
        }
      }
    }' "$scratch/aux.txt" | sort -u > "$scratch/declared.txt"
  # Functions (T), GNU indirect functions (i: drmad_sampler_batch picks its
  # clone at load time) and anything else defined, with any @version cut.
  nm -D --defined-only "$DIR/lib/libdrmad.so.0" | awk '{ sub (/@.*/, "", $NF); print $NF }' \
    | sort -u > "$scratch/exported.txt"
  test "$(wc -l < "$scratch/declared.txt")" -gt 100 \
    || { echo "found only $(wc -l < "$scratch/declared.txt") functions in the installed headers"; exit 1; }
  undeclared=$(comm -23 "$scratch/exported.txt" "$scratch/declared.txt")
  unexported=$(comm -13 "$scratch/exported.txt" "$scratch/declared.txt")
  if [ -n "$undeclared" ] || [ -n "$unexported" ]; then
    [ -z "$undeclared" ] || printf 'libdrmad.so.0 exports %s symbols that no installed header declares as a function (lib/drmad.map lists the exports; a variable is refused on purpose: the library exports functions only):\n%s\n' \
      "$(wc -l <<< "$undeclared")" "$undeclared"
    [ -z "$unexported" ] || printf 'functions declared in the installed headers that libdrmad.so.0 does not export (list them in lib/drmad.map):\n%s\n' \
      "$unexported"
    exit 1
  fi
  echo "libdrmad.so.0 exports exactly the $(wc -l < "$scratch/declared.txt") functions the installed headers declare"
  # And lib/drmad.map lists exactly those: GNU ld (and lld before 16) links
  # without a word when the map names a function the library no longer
  # defines (renamed or removed, its old name left in the map).
  sed -n 's/^ *\(drmad_[a-z0-9_]*\);$/\1/p' "$source_root/lib/drmad.map" | sort -u > "$scratch/map.txt"
  if ! cmp -s "$scratch/map.txt" "$scratch/exported.txt"; then
    echo "lib/drmad.map lists (<) or lacks (>) these against the exports of libdrmad.so.0:"
    diff "$scratch/map.txt" "$scratch/exported.txt" | grep '^[<>]'
    exit 1
  fi
else
  echo "no gcc: the check of the library's exports against the headers (gcc -aux-info) is skipped"
fi

# 3. Compile against the installed library, with the rpath.
cc "${cc_extra[@]}" "$source_root/examples/hyper-mlp.c" $(pkg-config --cflags --libs drmad) \
   -Wl,-rpath,"$DIR/lib" -o "$scratch/hyper-mlp"
# The loader finds the installed copy through the rpath alone.
libs=$(ldd "$scratch/hyper-mlp")  # whole, not piped: grep -q would close the pipe early
grep -q "libdrmad.so.0 => $DIR/lib/libdrmad.so.0 " <<< "$libs" \
  || { echo "$libs"; echo "libdrmad.so.0 does not resolve to $DIR/lib"; exit 1; }

# The installed program starts as it is, without LD_LIBRARY_PATH: it finds
# DIR/lib through its own rpath.
"$DIR/bin/drmad" --version > "$scratch/version.txt" 2>&1 \
  || { cat "$scratch/version.txt"; echo "$DIR/bin/drmad does not start"; exit 1; }
grep -q '^drmad [0-9]' "$scratch/version.txt"

# 4. Run it.
"$scratch/hyper-mlp" > "$scratch/out.txt"
cat "$scratch/out.txt"
# Three meta-iterations, each with a finite validation loss, and the learned values.
test "$(grep -cE '^meta-iteration [123]: validation loss [0-9.]+ ' "$scratch/out.txt")" = 3
grep -qE '^l2/layer1 = [0-9.e+-]+$' "$scratch/out.txt"
grep -qE '^lr/layer2/seg1 = [0-9.e+-]+$' "$scratch/out.txt"

# The tour in drmad.h is a whole program: built the same way, it must run.
awk '/^ \*   #include <drmad.h>$/ { on = 1 } on { line = $0; sub (/^ \*(   )?/, "", line); print line }
     /^ \*   main \(void\)$/ { in_main = 1 } in_main && /^ \*   }$/ { exit }' "$source_root/lib/drmad.h" > "$scratch/tour.c"
grep -q 'drmad_prepare_environment' "$scratch/tour.c"
cc "${cc_extra[@]}" -Wall -Werror "$scratch/tour.c" $(pkg-config --cflags --libs drmad) \
   -Wl,-rpath,"$DIR/lib" -o "$scratch/tour"
"$scratch/tour"

# A program that links the library and calls nothing starts and ends as if
# it did not link it: no constructor speaks or fails. --no-as-needed keeps
# the library in, which Debian's default --as-needed would drop.
printf '#include <drmad.h>\nint main (void) { return 0; }\n' > "$scratch/empty.c"
cc "${cc_extra[@]}" "$scratch/empty.c" -Wl,--no-as-needed $(pkg-config --cflags --libs drmad) \
   -Wl,-rpath,"$DIR/lib" -o "$scratch/empty"
libs=$(ldd "$scratch/empty")
grep -q "libdrmad.so.0 => $DIR/lib/libdrmad.so.0 " <<< "$libs" || { echo "$libs"; echo "the empty program does not load libdrmad.so.0"; exit 1; }
status=0
"$scratch/empty" > "$scratch/empty.out" 2> "$scratch/empty.err" || status=$?
[ $status = 0 ] || { cat "$scratch/empty.err"; echo "a program that only links libdrmad.so.0 exits with status $status"; exit 1; }
if [ -s "$scratch/empty.out" ] || [ -s "$scratch/empty.err" ]; then
  cat "$scratch/empty.out" "$scratch/empty.err"
  echo "a program that only links libdrmad.so.0 printed the above"
  exit 1
fi

# README's C samples ("Using the library"), copied out as printed. One with
# a main() is a whole program: built with warnings as errors and run, it
# prints the test accuracy that examples/train-mlp.c, whose core it says it
# is, prints. Any other is a fragment: built into a function that gives it
# the names it uses and run twice, to the end and with a progress callback
# that cancels at once, where it must report the error and return 1.
awk '/^```c$/ { n++; on = 1; next } /^```$/ { on = 0 } on { print > (dir "/readme-" n ".c") }' \
  dir="$scratch" "$source_root/README.md"
test -f "$scratch/readme-1.c" || { echo "no C sample in README.md"; exit 1; }
cat > "$scratch/fragment-harness.c" <<'HARNESS'
#include <drmad.h>
#include <stdio.h>
#include <stdlib.h>

static int
fail (GError *error)
{
  fprintf (stderr, "fragment: %s\n", error->message);
  g_error_free (error);
  return 1;
}

/* Lets through as many calls as argv[1] says, then cancels. */
static gboolean
progress (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  (void) phase, (void) step, (void) total;
  int *calls_left = user_data;
  return (*calls_left)-- > 0;
}

static int
fragment (DrmadNet *net, DrmadDeviceData *train, DrmadDeviceData *val, gpointer user_data)
{
  GError *error = NULL;
  (void) fail, (void) progress, (void) net, (void) train, (void) val, (void) user_data;
#include FRAGMENT
  return 0;
}

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();
  int calls_left = argc > 1 ? atoi (argv[1]) : G_MAXINT;
  /* Two classes apart along the first of 4 features. */
  enum { N = 64, DIM = 4 };
  float features[N * DIM];
  gint32 labels[N];
  for (int i = 0; i < N; i++) {
    labels[i] = i % 2;
    for (int d = 0; d < DIM; d++)
      features[i * DIM + d] = (float) drmad_normal_draw (7, (guint64) (i * DIM + d)) + (d == 0 ? 2.0f * (float) labels[i] : 0.0f);
  }
  GError *error = NULL;
  g_autoptr (DrmadDataset) data = drmad_dataset_new_from_arrays (N, DIM, 2, features, labels, &error);
  g_autoptr (DrmadDevice) device = data ? drmad_device_open (NULL, &error) : NULL;
  g_autoptr (DrmadDeviceData) train = device ? drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, data, &error) : NULL;
  g_autoptr (DrmadDeviceData) val = train ? drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, data, &error) : NULL;
  const guint sizes[] = { DIM, 8, 2 };
  g_autoptr (DrmadNet) net = val ? drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 16, &error) : NULL;
  if (!net)
    return fail (error);
  return fragment (net, train, val, &calls_left);
}
HARNESS
cc "${cc_extra[@]}" "$source_root/examples/train-mlp.c" $(pkg-config --cflags --libs drmad) -Wl,-rpath,"$DIR/lib" \
   -o "$scratch/train-mlp"
example_accuracy=$("$scratch/train-mlp" | grep -oE 'test accuracy [0-9.]+%') \
  || { echo "examples/train-mlp.c printed no test accuracy"; exit 1; }
for sample in "$scratch"/readme-*.c; do
  if grep -q '^main (' "$sample"; then
    cc "${cc_extra[@]}" -std=c99 -Wall -Wextra -Werror "$sample" $(pkg-config --cflags --libs drmad) \
       -Wl,-rpath,"$DIR/lib" -o "$scratch/sample" || { echo "README.md's sample $sample does not build"; exit 1; }
    out=$("$scratch/sample") || { echo "README.md's sample $sample fails"; exit 1; }
    grep -qx "$example_accuracy" <<< "$out" \
      || { echo "README.md's sample $sample printed \"$out\"; examples/train-mlp.c, its core, prints $example_accuracy"; exit 1; }
  else
    cc "${cc_extra[@]}" -std=c99 -Wall -Wextra -Werror -DFRAGMENT="\"$sample\"" "$scratch/fragment-harness.c" \
       $(pkg-config --cflags --libs drmad) -Wl,-rpath,"$DIR/lib" -o "$scratch/fragment" \
      || { echo "README.md's fragment $sample does not build in tests/installed-example.sh's harness"; exit 1; }
    "$scratch/fragment" > "$scratch/fragment.out" || { echo "README.md's fragment $sample fails"; exit 1; }
    if [ ! -s "$scratch/fragment.out" ] || grep -qiE 'nan|inf' "$scratch/fragment.out"; then
      cat "$scratch/fragment.out"; echo "README.md's fragment $sample printed no numbers, or a NaN or Inf"; exit 1
    fi
    # a cancelled step, as any failed one, gives no report: the fragment must say so, not read one
    status=0
    "$scratch/fragment" 0 > /dev/null 2> "$scratch/fragment.err" || status=$?
    if [ $status != 1 ] || ! grep -q '^fragment: .*cancelled' "$scratch/fragment.err"; then
      cat "$scratch/fragment.err"
      echo "README.md's fragment $sample, its first progress call cancelling, exits with status $status, not 1 with the error"
      exit 1
    fi
  fi
done
echo "README.md's C samples: $(ls "$scratch"/readme-*.c | wc -l) built and ran"
echo "ok: installed with --prefix, built against it with pkg-config and an rpath, ran 3 meta-iterations and the tour"
