#!/usr/bin/env bash
# The A/A-with-hog evidence of issue 23 on full main jobs (docs/measured-results.md):
#   scripts/aa_hog.sh OUTDIR
# runs the README's main job twice (A1, A2), with one busy loop per core for HOG_SECONDS
# (default 60) started HOG_DELAY s (default 60) into A2, then a third run D in which the
# test-only `crushed` variant (tests/plugins/crushed_variant.py) is degraded on purpose. A1 and A2
# carry `crushed` intact (VLMQ_TEST_CRUSH=off), so D's entries have a reference. Writes into
# OUTDIR: A1/A2/D.json and .log, times.txt (each run's and the hog's start and end),
# cmp_A1_A2.txt (expected exit 0, naming the interfered entries), cmp_A1_D.txt (expected exit 1
# on crushed's quality metrics only), history.txt and history.html over A1 and A2 (expected: no
# regression), and exit_codes.txt. AA_ARGS adds pytest options to every run, e.g. a subset:
#   AA_ARGS="--vlmq-model vit-tiny --vlmq-variants fp32,int8" scripts/aa_hog.sh /tmp/aa
# (crushed is added to any --vlmq-variants given there). Exit 0 when every expectation held.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/aa_hog.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export PYTHONPATH="$PWD:$PWD/tests/plugins${PYTHONPATH:+:$PYTHONPATH}"
hog_delay=${HOG_DELAY:-60}
hog_seconds=${HOG_SECONDS:-60}
read -r -a extra <<< "${AA_ARGS:-}"
# crushed joins the variants asked for (the default set when none is)
variants=""
for ((i = 0; i < ${#extra[@]}; i++)); do
  case ${extra[i]} in
    --vlmq-variants) variants=${extra[i + 1]}; unset 'extra[i]' 'extra[i+1]'; i=$((i + 1)) ;;
    --vlmq-variants=*) variants=${extra[i]#*=}; unset 'extra[i]' ;;
  esac
done
extra=("${extra[@]}")
if [ -z "$variants" ]; then
  variants=$(python -c "from vlmq.variants.registry import chosen_variants; \
print(','.join(chosen_variants([])))") || exit 2
fi
stamp() { date -u +%s.%N; }

run() {  # run NAME VARIANTS CRUSH: one main job into OUTDIR/NAME.json
  local name=$1 start
  start=$(stamp)
  echo "$name start $start" >> "$out/times.txt"
  VLMQ_TEST_CRUSH=$3 python -m pytest benchmarks/ -p crushed_variant -p no:cacheprovider \
    --vlmq-variants "$2" --vlmq-reports-dir "$out/runs" --benchmark-json "$out/$name.json" \
    "${extra[@]}" > "$out/$name.log" 2>&1
  local rc=$?
  echo "$name end $(stamp) rc=$rc" >> "$out/times.txt"
  echo "pytest $name: exit $rc" >> "$out/exit_codes.txt"
}

hog() {  # one busy loop per core for hog_seconds, hog_delay s from now
  sleep "$hog_delay"
  echo "hog start $(stamp)" >> "$out/times.txt"
  local pids=()
  for _ in $(seq "$(nproc)"); do
    timeout "$hog_seconds" python -c "while True: pass" & pids+=($!)
  done
  wait "${pids[@]}"
  echo "hog end $(stamp)" >> "$out/times.txt"
}

rm -f "$out/times.txt" "$out/exit_codes.txt"
run A1 "$variants,crushed" off
hog & hog_pid=$!
run A2 "$variants,crushed" off
wait "$hog_pid"
run D crushed on

python -m vlmq.cli compare "$out/A1.json" "$out/A2.json" > "$out/cmp_A1_A2.txt" 2>&1
aa=$?
python -m vlmq.cli compare "$out/A1.json" "$out/D.json" --allow-missing > "$out/cmp_A1_D.txt" 2>&1
degraded=$?
python -m vlmq.cli history "$out/A1.json" "$out/A2.json" --out "$out/history.html" \
  > "$out/history.txt" 2>&1
hist=$?
{
  echo "vlmq compare A1 A2: exit $aa (expected 0)"
  echo "vlmq compare A1 D --allow-missing: exit $degraded (expected 1)"
  echo "vlmq history A1 A2: exit $hist (expected 0, no regression flagged)"
} >> "$out/exit_codes.txt"
python scripts/aa_check.py "$out"
