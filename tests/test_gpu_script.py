"""``benchmarks/gpu_run.sh``, the GPU benchmark a lent device runs once, rehearsed on tiny cohorts on
this machine's backend (``GPU_RUN_SMOKE=1``): a device's minutes are too few to find a broken script there."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow  # two benchmark runs, each compiling the fast engine (~1 min on 2 cores)
def test_gpu_script_runs_end_to_end_with_the_batches_it_asks_for(tmp_path):
    """Oracles: each run's JSON (the script's product) says the engine ran the batch size the script asked for (the
    largest batch its progress reports counted; it once ran 64 whatever ``--batch`` said), lost no patient, and
    kept the true MADRS within the 0.15 points of the fast engine's tests (tests/test_fast_engine.py) of the SciPy
    reference."""
    env = {
        **os.environ,
        "GPU_RUN_SMOKE": "1",
        "PYTHON": sys.executable,
        "OUT": str(tmp_path / "out"),
        "GPU_RUN_SITE": str(tmp_path / "site"),
        "GPU_RUN_WHEELS": str(tmp_path),  # none: this environment has all
        "PYTHONWARNINGS": "ignore",
    }
    run = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_run.sh")], env=env, capture_output=True, text=True, timeout=900
    )
    log = (tmp_path / "out" / "gpu_run.log").read_text()
    assert run.returncode == 0, run.stdout + run.stderr + log
    # the smoke run leaves out the big-batch run (run 1's command with another batch size); runs 1 and 3 ask for
    # different batches instead
    assert "skip gpu_1m_float32_big_batch (smoke)" in log, log
    asked = {"gpu_1m_float32": (32, 32), "gpu_100k_float64": (64, 64)}
    for name, (batch, bits) in asked.items():
        assert f"end {name}: exit 0" in log, log
        result = json.loads((tmp_path / "out" / f"{name}.json").read_text())
        fast = result["methods"]["fast"]
        assert (fast["batch"], result["float"], fast["patients_failed"]) == (batch, bits, 0), name
        assert fast["max_abs_error_by_readout"]["madrs_true"] <= 0.15, name
        assert fast["one_batch"]["patients"] == batch and fast["one_batch"]["accepted_steps"] > 0, name
    first = json.loads((tmp_path / "out" / "gpu_1m_float32.json").read_text())["methods"]["fast"]
    assert first["compile_s_cold"] > 0 and first["compile_s_cached"] > 0
