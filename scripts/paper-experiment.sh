#!/usr/bin/env bash
# The DrMAD paper's MNIST experiment in its authors' setting, on Fashion-MNIST
# (docs/experiments.md, first section): a sweep of fixed global
# L2 values, then 20 meta-iterations of per-input-unit L2 for each reverse
# method, at momentum 0.95 (the authors' code) and 0.1 (the paper's text).
#
#   scripts/paper-experiment.sh [OUT]     (default OUT: build/paper in the source tree)
#   scripts/paper-experiment.sh --help
#
# Writes OUT/sweep.tsv, OUT/methods.tsv and one run folder per method run.
# Needs a built tree (./test.sh or ./run.sh builds it), or DRMAD=path to a
# drmad binary (a frozen copy, so that rebuilding does not change a running
# experiment). SKIP_SWEEP=1 keeps an existing OUT/sweep.tsv. About 30 minutes
# on a 2-core machine.
set -uo pipefail
usage() {
  awk 'NR > 1 && /^#/ { sub (/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  echo
  echo "Exit status: 0 when every run finished, 1 when one failed (its log is OUT/NAME.log), 2 for bad arguments."
}
case "${1-}" in
  -h|--help) usage; exit 0 ;;
  -*) echo "paper-experiment.sh: unknown option $1 (see scripts/paper-experiment.sh --help)" >&2; exit 2 ;;
esac
if [ $# -gt 1 ]; then
  echo "paper-experiment.sh: expected at most one argument, the output folder; got $# (see --help)" >&2
  exit 2
fi
# OUT and DRMAD as given are relative to where the script is run from; the
# defaults, to the source tree.
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
out=${1:+$(absolute "$1")}
case "${DRMAD-}" in */*) drmad=$(absolute "$DRMAD") ;; "") drmad= ;; *) drmad=$(command -v "$DRMAD" || echo "$DRMAD") ;; esac
cd "$(dirname "$0")/.."
out=${out:-$PWD/build/paper}
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$PWD/build/pocl-cache}
drmad=${drmad:-$PWD/build/gui/drmad}
if [ ! -x "$drmad" ] || [ -d "$drmad" ]; then
  echo "paper-experiment.sh: no drmad program at $drmad: build the tree (meson setup build && ninja -C build)" \
       "or set DRMAD to the program" >&2
  exit 2
fi
mkdir -p -- "$out" || exit 2
failed=0

# The authors' network and training, translated to this program's parameters.
common=(--no-gui --dataset fashion-mnist --layers 784,50,50,50,10 --activation tanh --iters 2000
        --batch 50 --train-size 15000 --val-size 5000 --segments 1 --init-lr 0.0746 --init-scale 0.0608
        --seed 1)
meta=(--learn l2 --l2-granularity neuron --init-l2 0.02455 --meta-optimizer sign --meta-lr 0.07
      --meta-iters 20)

# 1. How far a good θ can get: one global L2, trained once, for 11 values.
[ "${SKIP_SWEEP:-0}" = 1 ] && [ -f "$out/sweep.tsv" ] || {
printf 'momentum\tl2\tval_loss\tval_error\ttest_loss\ttest_error\n' > "$out/sweep.tsv"
for momentum in 0.95 0.1; do
  for l2 in 1e-5 3e-5 1e-4 3e-4 1e-3 3e-3 0.01 0.02455 0.03 0.1 0.3; do
    if ! line=$("$drmad" "${common[@]}" --init-momentum "$momentum" --learn none --init-l2 "$l2" --meta-iters 0 \
                2>"$out/sweep.err" | grep '^trained once'); then
      failed=1
      echo "sweep momentum $momentum l2 $l2 failed: $(tail -n 1 "$out/sweep.err")" >&2
      continue
    fi
    # "trained once: val_loss V  val_error E  test_loss T  test_error R"
    printf '%s\t%s\t%s\n' "$momentum" "$l2" "$(echo "$line" | awk '{print $4"\t"$6"\t"$8"\t"$10}')" >> "$out/sweep.tsv"
    echo "sweep momentum $momentum l2 $l2: $line" >&2
  done
done
}

# 2. Each method from the poor start.
printf 'momentum\tmethod\tmethod_used\ttest_error_start\ttest_error_last\ttest_error_best\tfidelity_cosine\tfidelity_sign_agreement\tfidelity_reference\tseconds_per_meta_iteration\tpeak_device_bytes\trejected\n' > "$out/methods.tsv"
run_method() {  # momentum label options...
  local momentum=$1 label=$2
  shift 2
  local folder="$out/m$momentum-$label"
  "$drmad" "${common[@]}" "${meta[@]}" --init-momentum "$momentum" --fidelity-every 10 "$@" --force --out "$folder" \
    > "$folder.log" 2>&1
  local status=$?
  echo "$label momentum $momentum: exit $status ($(grep -c '^meta ' "$folder.log") meta-iterations)" >&2
  if [ $status -ne 0 ] || [ ! -f "$folder/history.csv" ]; then
    failed=1
    echo "  $(tail -n 1 "$folder.log")" >&2
    return
  fi
  # history.csv: meta-iteration rows, then final-initial, final-learned, final-best (test_error last).
  awk -F, -v m="$momentum" -v label="$label" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 ~ /^final-initial/ { start = $NF } $1 ~ /^final-learned/ { last = $NF } $1 ~ /^final-best/ { best = $NF }
    $1 ~ /^[0-9]+$/ {
      n++; seconds += $col["seconds"]; rejected += $col["rejected"]
      if ($col["device_peak_bytes"] > peak) peak = $col["device_peak_bytes"]
      if (method == "") method = $col["method_used"]
      if ($1 == 1) { cosine = $col["fidelity_cosine"]; sign = $col["fidelity_sign_agreement"]; ref = $col["fidelity_reference"] }
    }
    END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%d\t%d\n", m, label, method, start, last, best, cosine, sign, ref,
          n ? seconds / n : 0, peak, rejected }' "$folder/history.csv" >> "$out/methods.tsv"
}
for momentum in 0.95 0.1; do
  run_method "$momentum" auto --method auto
  run_method "$momentum" piecewise16 --method piecewise --snapshots 16
  run_method "$momentum" drmad-R200 --method drmad --reverse-steps 200
  run_method "$momentum" drmad-R2000 --method drmad --reverse-steps 2000
  run_method "$momentum" truncated-R200 --method truncated --reverse-steps 200
  run_method "$momentum" exact --method exact
done
column -t -s "$(printf '\t')" "$out/sweep.tsv"
column -t -s "$(printf '\t')" "$out/methods.tsv"
rm -f "$out/sweep.err"
exit $failed
