#!/usr/bin/env bash
# /tmp/rs3: a worktree of 8c8c3ac; /tmp/rs4: the same with large_frees_returned's default set back
# to 1 << 20 (vlmq/measure/memory.py)
# SmolVLM-Instruct nf4 run peak, load threshold 1 MiB (rs4) then 128 KiB (rs3), one process each
for wt in rs4 rs3; do
  cd /tmp/$wt; out=/work/q/ab2/$wt; mkdir -p $out
  HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python -m pytest benchmarks/test_benchmark.py -p no:cacheprovider -q \
    --vlmq-model /work/synth/smolvlm-instruct --vlmq-variants nf4 --vlmq-baseline nf4 --vlmq-samples 1 --vlmq-batch-size 1 \
    --vlmq-max-new-tokens 4 --vlmq-device cpu --vlmq-energy off --vlmq-tasks caption --vlmq-warmup 0 \
    --vlmq-reports-dir $out/runs --vlmq-run-id ab --benchmark-json $out/bench.json > $out/log 2>&1
  python - "$out/bench.json" "$wt" <<'PY'
import json, sys
for x in json.load(open(sys.argv[1]))["benchmarks"]:
    m = {k: v.get("value") for k, v in x["extra_info"]["metrics"].items()}
    print(sys.argv[2], {k: round(m[k]) for k in ("load_peak_memory_mib", "model_peak_memory_mib", "steady_memory_mib", "process_peak_rss_mib", "ttft_p50_ms")})
PY
done
