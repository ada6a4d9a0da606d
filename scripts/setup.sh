#!/usr/bin/env bash
# Installs everything vlmq needs on a fresh machine of this kind (Python 3.11, CPU, no hub).
# torch is pinned to the CPU wheel in requirements.txt; torchvision is never installed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! [ -d /usr/share/datasets/fashion-mnist ]; then
  # Debian's Fashion-MNIST: the real labelled images vit-tiny was trained and is scored on.
  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null \
    || echo "setup: dataset-fashion-mnist not installed; the classify task will skip" >&2
fi
if ! command -v chromium >/dev/null; then
  # Debian's Chromium: the browser tests open report.html / history.html in it through
  # Playwright (Playwright's own browser download is not reachable on these machines).
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
    >/dev/null || echo "setup: chromium not installed; the browser tests will skip" >&2
fi
python -m pip install -q -r requirements.txt
python -m pip install -q --no-deps -e .
# per-machine one-time work of the quantization backends (optimum-quanto's C++ extension
# build, about 28 s on 2 cores), here rather than inside the first benchmark that needs it
python -m vlmq.variants.prepare
