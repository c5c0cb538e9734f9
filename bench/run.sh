#!/usr/bin/env bash
# Training speed, side by side: this project's engine (bench/train-speed.ts) and the strongest PyTorch
# reference (bench/torch_reference.py: WKV as an autograd.Function, each model under both OpenBLAS
# kernel settings and OpenBLAS thread counts, the best run kept), in alternating rounds, then the
# ratios against the strongest.
#   bench/run.sh [--model lstm|rwkv|both] [--steps n] [--warmup n] [--rounds n] [--threads 1[,2]]
#                [--blas-threads 1,2] [extra train-speed.js flags...]
# --threads are torch's thread counts, --blas-threads OpenBLAS's (OPENBLAS_NUM_THREADS).
# Run from the repository root. PyTorch needs OpenBLAS (see bench/torch_reference.py);
# TORCH_BLAS_DIR=<dir holding OpenBLAS's libblas.so.3> runs the reference with that library first on
# LD_LIBRARY_PATH without changing the system's BLAS. PYTHON=<python3 with torch> picks the interpreter
# (default: python3, else /usr/bin/python3, whichever imports torch).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=both
STEPS=5
WARMUP=2
ROUNDS=1
THREADS=1
BLAS_THREADS=1,2
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --blas-threads) BLAS_THREADS="$2"; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
PY=""
for p in ${PYTHON:-python3 /usr/bin/python3}; do
  if "$p" -c 'import torch' 2>/dev/null; then PY="$p"; break; fi
done
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
npx tsc -p tsconfig.json
for r in $(seq 1 "$ROUNDS"); do
  echo "ROUND $r" >> "$OUT"
  echo "== round $r of $ROUNDS, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  node dist/bench/train-speed.js --model "$MODEL" --steps "$STEPS" --warmup "$WARMUP" "${EXTRA[@]}" | tee -a "$OUT"
  if [ -n "$PY" ]; then
    echo
    LD_LIBRARY_PATH="${TORCH_BLAS_DIR:+$TORCH_BLAS_DIR:}${LD_LIBRARY_PATH:-}" \
      "$PY" bench/torch_reference.py --model "$MODEL" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" --blas-threads "$BLAS_THREADS" | tee -a "$OUT"
  else
    echo "no python3 with torch (apt-get install python3-torch): skipping the PyTorch reference"
  fi
done
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Ratios (ours / the strongest PyTorch run of the same round, frames/s; > 1 means faster than PyTorch):"
awk '
  /^ROUND / { r = $2; rounds = r }
  /^RESULT / { v[r, $2] = $3; if ($2 ~ /^torch-best-/) label[r, $2] = $4 }
  END {
    n = split("lstm rwkv", models, " ")
    for (i = 1; i <= n; i++) {
      m = models[i]
      k = 0
      for (r = 1; r <= rounds; r++) {
        if (!((r, m) in v)) continue
        line = sprintf("  %-5s round %d: ours %6.0f", m, r, v[r, m])
        if ((r, m "-useful-gflops") in v)
          line = line sprintf(" (useful %5.1f GFLOP/s, %3.0f%% of the GEMM peak %5.1f)", v[r, m "-useful-gflops"],
            100 * v[r, m "-useful-gflops"] / v[r, m "-peak-gflops"], v[r, m "-peak-gflops"])
        if ((r, m "-mlas-peak-gflops") in v)
          line = line sprintf(" (%3.0f%% of MLAS alone, %5.1f)", 100 * v[r, m "-useful-gflops"] / v[r, m "-mlas-peak-gflops"],
            v[r, m "-mlas-peak-gflops"])
        b = "torch-best-" m
        if ((r, b) in v) {
          ratio = v[r, m] / v[r, b]
          line = line sprintf(" | strongest PyTorch %6.0f (%s)  ratio %.2fx", v[r, b], label[r, b], ratio)
          ratios[++k] = ratio
          # The same useful work per frame at the FMA ceiling of the machine: the most any step could lead by
          if ((r, m "-fma-gflops") in v && v[r, m "-useful-gflops"] > 0)
            bound = sprintf("\n         machine FMA ceiling %5.1f GFLOP/s: useful work %3.0f%% of it; a step at the ceiling would lead by %.2fx",
              v[r, m "-fma-gflops"], 100 * v[r, m "-useful-gflops"] / v[r, m "-fma-gflops"], ratio * v[r, m "-fma-gflops"] / v[r, m "-useful-gflops"])
          else bound = ""
          line = line bound
        }
        print line
      }
      if (k > 1) {
        # median of the rounds ratios (insertion sort; k is small)
        for (a = 2; a <= k; a++) { x = ratios[a]; for (c = a - 1; c >= 1 && ratios[c] > x; c--) ratios[c + 1] = ratios[c]; ratios[c + 1] = x }
        med = k % 2 ? ratios[(k + 1) / 2] : (ratios[k / 2] + ratios[k / 2 + 1]) / 2
        printf("  %-5s median ratio over %d rounds: %.2fx\n", m, k, med)
      }
    }
  }' "$OUT"
