"""One process's probe of this machine's limits, as vlmq measures them (one JSON line).

    PYTHONPATH=$PWD python reports/cpu/real-scale/bandwidth/probe_once.py TAG
"""

import json
import sys
import time

from vlmq.measure.hardware import hardware_limits

limits = hardware_limits("cpu")
print(json.dumps({
    "at": time.strftime("%H:%M:%S"), "tag": sys.argv[1],
    "bandwidth_gbs": round(limits.bandwidth_bytes_per_s / 1e9, 2),
    "range_gbs": [round(x / 1e9, 1) for x in limits.bandwidth_range_bytes_per_s or ()],
    "peaks_gflops": {k: round(v / 1e9) for k, v in (limits.matmul_peaks or {}).items()}}))
