#!/usr/bin/env bash
# SmolVLM-256M nf4's run peak at commit $1 (one process)
set -e
rev=$1; wt=/tmp/bis-$rev
[ -d $wt ] || git -C /work/main worktree add -f --detach $wt $rev -q
cd $wt; out=/work/q/bis/$rev-$(date +%s); mkdir -p $out
HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python -m pytest benchmarks/test_benchmark.py -p no:cacheprovider -q \
  --vlmq-model /work/synth/smolvlm-256m --vlmq-variants nf4 --vlmq-baseline nf4 --vlmq-samples 1 --vlmq-batch-size 1 \
  --vlmq-max-new-tokens 4 --vlmq-device cpu --vlmq-energy off --vlmq-tasks caption --vlmq-warmup 0 \
  --vlmq-reports-dir $out/runs --vlmq-run-id ab --benchmark-json $out/bench.json > $out/log 2>&1 || tail -5 $out/log
python - "$out/bench.json" "$rev" <<'PY'
import json, sys
for x in json.load(open(sys.argv[1]))["benchmarks"]:
    m = {k: v.get("value") for k, v in x["extra_info"]["metrics"].items()}
    print(sys.argv[2], {k: round(m[k]) for k in ("load_peak_memory_mib", "model_peak_memory_mib", "steady_memory_mib", "process_peak_rss_mib")})
PY
