#!/usr/bin/env bash
# Real-size, speed-only runs of the seed architectures on this CPU (issue 21), through `python -m vlmq.synth`
# folders and the normal `pytest benchmarks/` path. Random weights: quality means nothing here.
#   scripts/real_scale_cpu.sh SPEC [VARIANTS] [SAMPLES] [NEW_TOKENS] [BATCH]
# writes reports/cpu/real-scale/SPEC/{bench.json,report.md,command.txt}; the synthetic folder goes
# to $SYNTH_DIR/SPEC (default /tmp/vlmq-synth; LLaVA-1.5-7B is 14 GB). Every run is one process
# and one model in memory at a time; variants that will not fit are skipped before loading.
# VLMQ_EXTRA adds options (BLIP: VLMQ_EXTRA="--vlmq-attn eager").
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
nice -n 19 "${cmd[@]}" 2>&1 | tr '\r' '\n' | grep -v -e '^Loading weights' -e 'Warning' \
    > "$out/pytest.log" || status=$?
tail -30 "$out/pytest.log"
cp "$runs/$spec/report.md" "$out/report.md" 2>/dev/null || true
rm -rf "$runs"
exit $status
