#!/usr/bin/env bash
# Issue #8 item 3: the cohort benchmark on a GPU, fast engine (Solver(method="fast")).
# Runs from the repository root on a machine with an NVIDIA GPU and uv; writes JSON and logs into $OUT/.
#   1. 1,000,000 patients x 84 days (2.76 months), float32, saved daily (error vs the float64 SciPy reference)
#   2.   100,000 patients x 84 days, float64, saved every 6 h
# Budget: < 8 minutes in all (each run has its own timeout). Needs no network beyond uv's cache.
set -uo pipefail
OUT=${OUT:-./gpu-out}
mkdir -p "$OUT"
log() { echo "[gpu_run $(date -u +%H:%M:%S)] $*" | tee -a "$OUT/gpu_run.log"; }
# two batches in flight (one on the GPU while the host prepares or copies out the other): bounds the GPU memory
# and the benchmark's warm-up (2 x threads x batch patients) within the budget
export NEUROPLAST_THREADS=${NEUROPLAST_THREADS:-2}

uv sync --frozen >>"$OUT/gpu_run.log" 2>&1 || log "uv sync --frozen failed (continuing with the existing environment)"
JAX_VERSION=$(uv run --frozen python -c "import jax; print(jax.__version__)")
log "locked jax ${JAX_VERSION}"
# the CUDA plugin matching the locked jax (pip extra jax[cudaNN]; the environment's jax stays at the lock)
if ! uv run --frozen python -c "import jax, sys; sys.exit(jax.default_backend() != 'gpu')" 2>/dev/null; then
  uv pip install "jax[cuda12]==${JAX_VERSION}" >>"$OUT/gpu_run.log" 2>&1 \
    || uv pip install "jax[cuda13]==${JAX_VERSION}" >>"$OUT/gpu_run.log" 2>&1 \
    || log "could not install the CUDA plugin for jax ${JAX_VERSION}"
fi
uv run --frozen --no-sync python -c "import jax; print(jax.devices())" 2>&1 | tee -a "$OUT/gpu_run.log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$OUT/gpu_run.log" 2>&1 || true

run() {  # name, timeout (s), benchmark arguments...
  local name=$1 limit=$2; shift 2
  log "start ${name}: $*"
  timeout "${limit}" uv run --frozen --no-sync python benchmarks/cohort_speed.py "$@" --json "$OUT/${name}.json" \
    >"$OUT/${name}.log" 2>&1
  log "end ${name}: exit $? ($(tail -n 1 "$OUT/${name}.log"))"
}

# 1,000,000 patients, float32, saved daily (85 times: ~19 GB of host memory for states and read-outs);
# compile measured in child processes on 32,768 patients per batch.
run gpu_1m_float32 270 --patients 1000000 --float32 --every-h 24 --methods fast --batch 32768 --repeats 1 \
  --scipy-patients 2 --stacked-patients 2 --reference-patients 2
# 100,000 patients, float64, saved every 6 h (the CPU benchmark's settings), median of 3
run gpu_100k_float64 180 --patients 100000 --every-h 6 --methods fast --batch 32768 --repeats 3 --no-compile \
  --scipy-patients 2 --stacked-patients 2 --reference-patients 2
log "done; JSON in $OUT"
