#!/usr/bin/env bash
# Real-size, speed-only runs of the seed architectures on this CPU (issue 21), through `python -m vlmq.synth`
# folders and the normal `pytest benchmarks/` path. Random weights: quality means nothing here.
#   scripts/real_scale_cpu.sh SPEC [VARIANTS] [SAMPLES] [NEW_TOKENS] [BATCH]
# writes reports/cpu/real-scale/SPEC/{bench.json,report.md,command.txt}; the synthetic folder goes
# to $SYNTH_DIR/SPEC (default /tmp/vlmq-synth; LLaVA-1.5-7B is 14 GB). Every run is one process
# and one model in memory at a time; variants that will not fit are skipped before loading.
# VLMQ_EXTRA adds options (BLIP: VLMQ_EXTRA="--vlmq-attn eager"). ISOLATE=1 runs each variant
# in its own pytest process (`--vlmq-shard K/N`, one shard per variant, joined by `vlmq merge`):
# a load or running peak measured after other variants in the same process carries what
# glibc kept of their heaps (SmolVLM-256M quanto-int8 loaded with 935 MiB of growth in a
# multi-variant process, 532 in a fresh one). The merge times each variant against the
# baseline's shard (latency ratio, noted as across processes).
set -euo pipefail
cd "$(dirname "$0")/.."
spec=$1
variants=${2:-}
samples=${3:-4}
new_tokens=${4:-16}
batch=${5:-1}
synth=${SYNTH_DIR:-/tmp/vlmq-synth}/$spec
out=reports/cpu/real-scale/$spec${RUN_SUFFIX:-}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
[ -f "$synth/config.json" ] || python -m vlmq.synth "$spec" "$synth"
mkdir -p "$out"
runs=$(mktemp -d)
cmd=(python -m pytest benchmarks/ -p no:cacheprovider -rs
     --vlmq-model "$synth" --vlmq-variants "$variants" --vlmq-samples "$samples"
     --vlmq-batch-size "$batch" --vlmq-max-new-tokens "$new_tokens" --vlmq-device cpu
     --vlmq-energy off --vlmq-reports-dir "$runs" --vlmq-run-id "$spec"
     --benchmark-json "$out/bench.json" ${VLMQ_EXTRA:-})
printf '%q ' "${cmd[@]}" > "$out/command.txt"
echo >> "$out/command.txt"
status=0
quiet() { tr '\r' '\n' | grep -v -e '^Loading weights' -e 'Warning'; }
if [ "${ISOLATE:-}" = 1 ]; then
  n=$(python -c "import sys; from vlmq.variants.registry import chosen_variants
print(len(chosen_variants(sys.argv[1].split(','))))" "$variants")
  echo "ISOLATE=1: $n shards, one process each (--vlmq-shard K/$n), joined by vlmq merge" \
      >> "$out/command.txt"
  : > "$out/pytest.log"
  for k in $(seq 1 "$n"); do
    nice -n 19 "${cmd[@]}" --vlmq-shard "$k/$n" --vlmq-reports-dir "$runs/$k" \
        --benchmark-json "$runs/$k.json" 2>&1 | quiet >> "$out/pytest.log" || status=$?
  done
  # every shard's JSON is copied out first (the temporary folder, run folders included, is kept
  # when anything fails): a merge that fails (the 2026-12-07 calibrated run's `vlmq` entry point
  # pointed at a deleted checkout) must not take an hour of measurements with it
  mkdir -p "$out/shards" && cp "$runs"/*.json "$out/shards/" 2>/dev/null || true
  shards=$(ls -d "$runs"/*/"$spec")
  python -m vlmq.cli merge $shards --out "$runs/$spec" --json "$out/bench.json" \
      --allow-incomplete >> "$out/pytest.log" 2>&1 || status=$?
else
  nice -n 19 "${cmd[@]}" 2>&1 | quiet > "$out/pytest.log" || status=$?
fi
tail -30 "$out/pytest.log"
cp "$runs/$spec/report.md" "$out/report.md" 2>/dev/null || true
# the run folder's records and results (what `vlmq report` and `vlmq compare` read again),
# without its pictures and HTML (megabytes a run)
[ -d "$runs/$spec" ] && rm -rf "$out/run" && cp -r "$runs/$spec" "$out/run" \
    && rm -rf "$out/run/plots" "$out/run"/*.html "$out/run"/*.png
if [ "$status" = 0 ]; then rm -rf "$runs" "$out/shards"; else echo "kept $runs (status $status)"; fi
exit $status
