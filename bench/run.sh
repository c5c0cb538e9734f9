#!/usr/bin/env bash
# Training speed, side by side: this project's engine (bench/train-speed.ts) and PyTorch
# (bench/torch_reference.py, torch.set_num_threads 1 and 2), then the ratios.
#   bench/run.sh [--model lstm|rwkv|both] [--steps n] [extra train-speed.js flags...]
# Run from the repository root. Needs python3 with torch for the reference half, on OpenBLAS (see
# bench/torch_reference.py); TORCH_BLAS_DIR=<dir holding OpenBLAS's libblas.so.3> runs the reference
# half with that library first on LD_LIBRARY_PATH without changing the system's BLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=both
STEPS=5
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
npx tsc -p tsconfig.json
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
node dist/bench/train-speed.js --model "$MODEL" --steps "$STEPS" "${EXTRA[@]}" | tee -a "$OUT"
if python3 -c 'import torch' 2>/dev/null; then
  echo
  LD_LIBRARY_PATH="${TORCH_BLAS_DIR:+$TORCH_BLAS_DIR:}${LD_LIBRARY_PATH:-}" \
    python3 bench/torch_reference.py --model "$MODEL" --steps "$STEPS" --threads 1,2 | tee -a "$OUT"
else
  echo "python3 torch not available: skipping the PyTorch reference"
fi
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Ratios (ours / PyTorch, frames/s; > 1 means faster than PyTorch):"
awk '
  /^RESULT / { r[$2] = $3 }
  END {
    n = split("lstm rwkv", models, " ")
    for (i = 1; i <= n; i++) {
      m = models[i]
      if (!(m in r)) continue
      line = sprintf("  %-5s ours %8.0f", m, r[m])
      for (t = 1; t <= 2; t++) {
        k = "torch-" m "-" t
        if (k in r) line = line sprintf(" | torch %d thread%s %8.0f  ratio %.2fx", t, t > 1 ? "s" : " ", r[k], r[m] / r[k])
      }
      print line
    }
  }' "$OUT"
