#!/usr/bin/env bash
# The benchmarks and the device tests on another machine's OpenCL driver (an
# NVIDIA GPU, say) that has none of the Debian packages the project builds
# with: `pack` builds here and gathers the programs, the shared libraries they
# load (CLBlast, GLib, the OpenCL ICD loader, …) and Fashion-MNIST into one
# folder; `run`, on the other machine, finds the vendor's OpenCL library, makes
# the loader see it and runs bench-step, bench-launch, bench-hypergrad, the
# default job, bench-spells and the device test programs, each with a time limit. Figures
# from it: docs/benchmarks.md ("the NVIDIA H200 through its OpenCL driver").
#
# Usage: scripts/device-check.sh pack [DIR]   (default .device-check: about 51 MiB)
#        DIR/run.sh [OUT]                     on the other machine (x86-64 Linux, glibc ≥ 2.36);
#                                             OUT: where the log and CSV files go (default DIR/out)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = pack ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
dir=${2:-.device-check}
data=${DRMAD_DATA_DIR:-/usr/share/datasets}/fashion-mnist
[ -d "$data" ] || { echo "device-check.sh: no Fashion-MNIST at $data: apt-get install dataset-fashion-mnist" >&2; exit 1; }
[ -d build-device ] || meson setup build-device --buildtype=debugoptimized -Dgui=disabled -Dmpi=disabled -Dtest_hooks=true >/dev/null
ninja -C build-device >/dev/null
rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/lib" "$dir/data"
tests="device blas net train hyper"
cp build-device/gui/drmad build-device/bench/bench-{step,launch,hypergrad,spells} "$dir/bin/"
for t in $tests; do cp "build-device/tests/test-$t" "$dir/bin/"; done
cp -L build-device/lib/libdrmad.so.0 "$dir/lib/"
clblast=$(ldconfig -p | awk '/libclblast.so.1 / && !found {print $NF; found = 1}')   # no early exit: SIGPIPE under pipefail
[ -n "$clblast" ] || { echo "device-check.sh: no libclblast.so.1: apt-get install libclblast1" >&2; exit 1; }
# every library the programs and CLBlast load, but the C and C++ runtimes the other machine has
for lib in $( (ldd "$dir"/bin/* "$clblast"; echo "x => $clblast ") | awk '/=> \//{print $3}' | sort -u |
                grep -v -E '/(libc|libm|libstdc\+\+|libgcc_s|ld-linux[^/]*|libpthread|libdl|librt|libdrmad)\.so'); do
  cp -L "$lib" "$dir/lib/"
done
cp -r "$data" "$dir/data/"
cp tests/data -r "$dir/test-data"
cat >"$dir/run.sh" <<EOF
#!/usr/bin/env bash
# Written by scripts/device-check.sh pack at $(git rev-parse --short HEAD).
G=\$(cd "\$(dirname "\$0")" && pwd)
O=\${1:-\$G/out}; mkdir -p "\$O"
export LD_LIBRARY_PATH=\$G/lib DRMAD_DATA_DIR=\$G/data G_DEBUG=fatal-criticals
exec > >(tee "\$O/log") 2>&1
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv 2>/dev/null; lscpu | grep -E 'Model name|^CPU\(s\)'
lib=\$(ls /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 2>/dev/null | head -1)
[ -n "\$lib" ] || lib=\$(find /usr/local/nvidia / -xdev -name 'libnvidia-opencl.so*' 2>/dev/null | head -1)
if [ -n "\$lib" ]; then   # the loader reads the vendor's library from a folder of .icd files
  mkdir -p "\$G/icd"; echo "\$lib" >"\$G/icd/nvidia.icd"; export OCL_ICD_VENDORS=\$G/icd
fi
echo "NVIDIA OpenCL: \${lib:-none found, so the drivers in /etc/OpenCL/vendors}"
t() { local s=\$1; shift; echo; echo "=== \$* (limit \${s} s)"; local a=\$(date +%s%N); timeout "\$s" "\$@"
      echo "=== exit \$? after \$(( (\$(date +%s%N) - a) / 1000000 )) ms"; }
t 30 "\$G/bin/drmad" --list-devices
t 60 "\$G/bin/bench-step" --csv "\$O/bench-step.csv"
t 40 "\$G/bin/bench-launch"
t 40 "\$G/bin/bench-spells" --seconds 10
t 170 "\$G/bin/bench-hypergrad" --iters 1000,3000 --csv "\$O/bench-hypergrad.csv"
T=; [ -x /usr/bin/time ] && T="/usr/bin/time -v"
t 120 \$T "\$G/bin/drmad" --no-gui --out "\$O/run" --force
export DRMAD_BIN=\$G/bin/drmad DRMAD_TEST_DATA=\$G/test-data
for x in $tests; do t 60 "\$G/bin/test-\$x"; done
EOF
chmod +x "$dir/run.sh"
echo "$dir: $(du -sh "$dir" | cut -f1); on the other machine: $dir/run.sh [OUT]"
