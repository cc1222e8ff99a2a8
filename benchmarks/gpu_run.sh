#!/usr/bin/env bash
# The cohort benchmark on a GPU, fast engine (neuroplast.engine.Fast).
#
# The lent H200 machine has no network and no uv; its own python3 (3.12) holds jax with the CUDA plugin and most
# of what neuroplast needs (KINDS.md). Before the device call, HERE:   benchmarks/gpu_wheels.sh   (the rest, as
# wheels, into the git-ignored .whl/). Then one device call, from the repository root:
#   run(command="benchmarks/gpu_run.sh", carry=[".whl"], timeout_s=560)
# neuroplast itself runs from src/ on PYTHONPATH. Writes JSON and logs into $OUT/ (at most 8 files come back).
#   1. 1,000,000 patients x 84 days (2.76 months), float32, saved daily, batches of 32,768 (error vs the float64
#      SciPy reference; compile cold and cached)
#   2. the same with batches of 131,072
#   3.   100,000 patients x 84 days, float64, saved every 6 h (the CPU benchmark's settings)
# Budget: < 8 minutes in all (each run has its own timeout).
#
# Smoke test on a CPU before spending device time (tiny cohorts, any backend), e.g. with a virtual environment
# that copies the image's versions (jax 0.11.2, numpy 2.5.2, Python 3.12; docs/scale.md, "The GPU run rehearsed"):
#   GPU_RUN_SMOKE=1 PYTHON=/path/to/venv/bin/python OUT=/tmp/smoke benchmarks/gpu_run.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-./gpu-out}
PY=${PYTHON:-python3}
SMOKE=${GPU_RUN_SMOKE:-0}
mkdir -p "$OUT"
log() { echo "[gpu_run $(date -u +%H:%M:%S)] $*" | tee -a "$OUT/gpu_run.log"; }

SITE=${GPU_RUN_SITE:-/tmp/neuroplast-site}
WHEELS=${GPU_RUN_WHEELS:-.whl}  # another folder (an empty one: none) for the smoke test
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl \
    >>"$OUT/gpu_run.log" 2>&1 || { log "could not install the carried wheels (.whl/)"; exit 2; }
  export PYTHONPATH="$PWD/src:$SITE${PYTHONPATH:+:$PYTHONPATH}"
else
  log "no .whl/ carried: run benchmarks/gpu_wheels.sh here and carry .whl"
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
# two batches in flight (one on the GPU while the host prepares or copies out the other): bounds the GPU memory
# and the benchmark's warm-up (2 x threads x batch patients) within the budget
export NEUROPLAST_THREADS=${NEUROPLAST_THREADS:-2}

"$PY" -c "import sys, jax, numpy, scipy, diffrax, equinox, pint, dask, neuroplast
print('python', sys.version.split()[0], 'jax', jax.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__,
      'diffrax', diffrax.__version__, 'equinox', equinox.__version__, 'pint', pint.__version__, 'dask', dask.__version__)
print(jax.devices())" 2>&1 | tee -a "$OUT/gpu_run.log"
[ "${PIPESTATUS[0]}" = 0 ] || { log "neuroplast does not import with this python ($PY)"; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$OUT/gpu_run.log" 2>&1 || true
if [ "$SMOKE" = 0 ] && ! "$PY" -c "import jax, sys; sys.exit(jax.default_backend() != 'gpu')"; then
  log "jax sees no GPU: stopping before the benchmark (GPU_RUN_SMOKE=1 runs tiny cohorts on any backend)"
  exit 2
fi

run() {  # name, timeout (s), benchmark arguments...
  local name=$1 limit=$2; shift 2
  log "start ${name}: $*"
  timeout "${limit}" "$PY" benchmarks/cohort_speed.py "$@" --json "$OUT/${name}.json" >"$OUT/${name}.log" 2>&1
  log "end ${name}: exit $? ($(tail -n 1 "$OUT/${name}.log"))"
}

if [ "$SMOKE" = 1 ]; then  # runs 1 and 3 ask for different batches (a script that ignored --batch fails the rehearsal)
  N1=256 B1=32 B2=128 N3=128 B3=64
else
  N1=1000000 B1=32768 B2=131072 N3=100000 B3=32768
fi
# The batch (Fast(batch=...)) is passed explicitly: the fast engine's patients share a step size, and its batch on a GPU is an
# assumption (Fast.device_batch, 32,768; ~1.6 GB a batch in float32); the second run tries 4x that.
# 1,000,000 patients, float32, saved daily (85 times: ~19 GB of host memory for states and read-outs);
# compile measured in child processes on one batch
run gpu_1m_float32 230 --patients $N1 --float32 --every-h 24 --methods fast --batch $B1 --repeats 1 \
  --scipy-patients 2 --stacked-patients 2 --reference-patients 2
if [ "$SMOKE" = 1 ]; then  # the same command as run 1 with another batch: on a CPU it proves nothing runs 1 and 3 do not
  log "skip gpu_1m_float32_big_batch (smoke)"
else
  run gpu_1m_float32_big_batch 120 --patients $N1 --float32 --every-h 24 --methods fast --batch $B2 --repeats 1 \
    --no-compile --scipy-patients 1 --stacked-patients 1 --reference-patients 2
fi
# 100,000 patients, float64, saved every 6 h (the CPU benchmark's settings), median of 3
run gpu_100k_float64 120 --patients $N3 --every-h 6 --methods fast --batch $B3 --repeats 3 --no-compile \
  --scipy-patients 2 --stacked-patients 2 --reference-patients 2
log "done; JSON in $OUT"
