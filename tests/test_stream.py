"""Cohorts streamed to disk in chunks: same numbers as the front door, resume after an interruption,
bounded memory with a clear refusal, nothing half-written in --out.

Oracle: ``neuroplast.simulate`` on the same patients (the streaming wrapper must add nothing), and an
uninterrupted run (a resumed one must equal it exactly).
"""

from __future__ import annotations

import json
import subprocess
import sys

import jax
import numpy as np
import pytest

import neuroplast as npl
from neuroplast import NeuroplastInputError
from neuroplast.scaleout import bytes_per_patient, largest_chunk, open_cohort, plan_stream, stream_cohort
from neuroplast.trials import parse_spec

from .cli_run import invoke

SPEC = {
    "trial": {
        "id": "stream-test",
        "population": "trd",
        "scale": "MADRS",
        "seed": 7,
        "endpoints": {"timepoints": ["4 h", "1 d", "3 d"], "follow_up": "4 d"},
    },
    "arm": [
        {
            "name": "ketamine",
            "dose": [{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}],
        },
        {"name": "saline", "dose": [{"drug": "saline", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}]},
    ],
}
TOML = """
[trial]
id = "stream-test"
population = "trd"
seed = 7
[trial.endpoints]
timepoints = ["4 h", "1 d", "3 d"]
follow_up = "4 d"
[[arm]]
name = "ketamine"
  [[arm.dose]]
  drug = "ketamine"
  amount = "0.5 mg/kg"
  duration = "40 min"
  at = ["0 d"]
"""
PATIENTS, CHUNK = 11, 4  # three chunks, the last one short; each padded to one batch of 8


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def spec():
    return parse_spec(SPEC)


@pytest.fixture(scope="module")
def full(spec, tmp_path_factory):
    out = tmp_path_factory.mktemp("stream") / "full"
    res = stream_cohort(spec, out, patients=PATIENTS, chunk=CHUNK, every_h=12.0)
    return out, res.summary


def _arrays(out):
    ds = open_cohort(out)
    return {k: np.asarray(v) for k, v in ds.data_vars.items()}, np.asarray(ds["time_h"])


def test_stream_equals_the_front_door(spec, full):
    """Chunk 1 of the store is exactly simulate() on that chunk's patients (float32 on disk)."""
    out, summary = full
    data, ts = _arrays(out)
    assert summary["patients"] == PATIENTS and summary["chunks"] == 3 and summary["n_failed"] == 0
    assert set(summary["readouts"]) <= set(data)
    assert np.all(data["status"] == 0) and np.array_equal(data["cov_patient"], np.arange(PATIENTS))
    # the spec's timepoints, every 12 h, to the last dose (0 h) + 4 d follow-up
    assert np.all(np.diff(ts) > 0) and {4.0, 24.0, 72.0} <= set(ts) and ts[-1] == 96.0
    model = npl.default_model()
    # chunk 1 holds patients CHUNK to 2 * CHUNK - 1 of the trial's arm "ketamine" with the trial's seed
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", CHUNK, seed=7, arm="ketamine", start=CHUNK)
    sim = npl.simulate(model, spec.regimens()["ketamine"], cohort, saveat=ts)
    for name, arr in sim.readouts.items():
        assert np.array_equal(data[name][CHUNK : 2 * CHUNK], np.asarray(arr, np.float32)), name
    assert np.array_equal(data["cov_weight_kg"][CHUNK : 2 * CHUNK], cohort.table["weight_kg"].to_numpy())
    # the summary's means come from the store
    ok = data["status"] == 0
    for name, mean in summary["mean_at_last_time"].items():
        assert mean == pytest.approx(float(data[name][ok, -1].astype(float).mean()), rel=1e-12)


def test_interrupted_run_resumes_to_the_same_result(spec, full, tmp_path):
    out = tmp_path / "run"
    seen = []

    def stop_after_first(i, n):
        seen.append(i)
        if len(seen) == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        stream_cohort(spec, out, patients=PATIENTS, chunk=CHUNK, every_h=12.0, on_chunk=stop_after_first)
    assert not out.exists()  # nothing half-written in --out
    partial = tmp_path / "run.partial"
    assert partial.is_dir()
    with pytest.raises(NeuroplastInputError, match="--resume"):  # not silently overwritten
        stream_cohort(spec, out, patients=PATIENTS, chunk=CHUNK, every_h=12.0)
    with pytest.raises(NeuroplastInputError, match="other settings"):  # not mixed with other settings
        stream_cohort(spec, out, patients=PATIENTS, chunk=CHUNK, every_h=6.0, resume=True)
    jax.config.update("jax_enable_x64", False)  # nor with the other precision (--float32)
    try:
        with pytest.raises(NeuroplastInputError, match="other settings"):
            plan_stream(spec, out, patients=PATIENTS, chunk=CHUNK, every_h=12.0, resume=True)
    finally:
        jax.config.update("jax_enable_x64", True)
    redone = []
    res = stream_cohort(
        spec, out, patients=PATIENTS, chunk=CHUNK, every_h=12.0, resume=True, on_chunk=lambda i, n: redone.append(i)
    )
    assert redone == [2] and res.summary["chunks_resumed"] == 2
    assert not partial.exists() and (out / "summary.json").exists()
    got, ts = _arrays(out)
    want, ts_full = _arrays(full[0])
    assert np.array_equal(ts, ts_full)
    for name in want:
        if name != "chunk_done":
            assert np.array_equal(got[name], want[name], equal_nan=True), name


def test_memory_refusal_names_a_chunk_that_fits(spec, tmp_path):
    ts_count = plan_stream(spec, tmp_path / "x", patients=5).times_h.size
    need = bytes_per_patient(ts_count)
    available = 200 * need  # pretend: room for 100 patients at the 50% planning margin
    assert largest_chunk(ts_count, available) == 100
    with pytest.raises(NeuroplastInputError) as exc:
        plan_stream(spec, tmp_path / "x", patients=1000, available_bytes=available)
    assert exc.value.field == "--patients" and "--chunk 100" in exc.value.one_line()
    with pytest.raises(NeuroplastInputError, match="--chunk 100 or fewer"):
        plan_stream(spec, tmp_path / "x", patients=1000, chunk=500, available_bytes=available)
    plan = plan_stream(spec, tmp_path / "x", patients=1000, chunk=100, available_bytes=available)
    assert plan.n_chunks == 10
    # memory is linear in patients x saved times
    assert bytes_per_patient(2 * ts_count) == 2 * need
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()  # planning writes nothing


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"patients": 0}, "--patients"),
        ({"patients": 5, "chunk": 0}, "--chunk"),
        ({"patients": 5, "every_h": 0.0}, "--every"),
        ({"patients": 5, "arm": "placebo"}, "--arm"),
    ],
)
def test_bad_requests(spec, tmp_path, kw, field):
    with pytest.raises(NeuroplastInputError) as exc:
        plan_stream(spec, tmp_path / "x", **kw)
    assert exc.value.field == field


def test_cli_cohort(tmp_path):
    spec_file = tmp_path / "p.toml"
    spec_file.write_text(TOML)
    out = tmp_path / "out"
    r = invoke("cohort", str(spec_file), "--patients", "6", "--chunk", "3", "--every", "12 h", "--out", str(out))
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["patients"] == 6 and summary["chunks"] == 2
    assert open_cohort(out)["madrs_true"].shape[0] == 6
    for args, needle in (
        (["--patients", "6", "--every", "soon"], "--every"),
        (["--patients", "10000000000", "--every", "1 min"], "--chunk"),
        (["--patients", "6", "--arm", "nope"], "--arm"),
        (["--patients", "6", "--engine", "euler"], "--engine"),
    ):
        r = invoke("cohort", str(spec_file), *args, "--out", str(tmp_path / "bad"))
        assert r.exit_code == 2, r.output
        assert needle in r.output and "Traceback" not in r.output
        assert not (tmp_path / "bad").exists() and not (tmp_path / "bad.partial").exists()


def _four_patients(spec_file) -> list[str]:
    """``neuroplast cohort`` of four patients saved every 12 h: the engine comparisons' command line."""
    return ["cohort", str(spec_file), "--patients", "4", "--every", "12 h"]


def test_cli_cohort_fast_engine(tmp_path):
    """``--engine fast`` streams the same cohort through the fast engine: same patients, true MADRS within
    the fast engine's tested tolerance (0.15 points, tests/test_fast_engine.py) of the default engine's."""
    spec_file = tmp_path / "p.toml"
    spec_file.write_text(TOML)
    for engine in ("tsit5", "fast"):
        r = invoke(*_four_patients(spec_file), "--engine", engine, "--out", str(tmp_path / engine))
        assert r.exit_code == 0, r.output
    a, b = open_cohort(tmp_path / "tsit5"), open_cohort(tmp_path / "fast")
    assert np.all(b["status"].values == 0)
    np.testing.assert_allclose(b["madrs_true"].values, a["madrs_true"].values, rtol=0, atol=0.15)


@pytest.mark.slow  # a real process compiling the fast engine in float32
def test_cli_cohort_fast_engine_in_float32(tmp_path):
    """``--float32 --engine fast`` (a process of its own: the option turns float64 off for the whole process):
    every patient kept, true MADRS within 0.15 points (the fast engine's tested tolerance) of the same cohort in
    float64. ``--float32`` with Tsit5 is refused (exit 2, the option named, nothing written)."""
    spec_file = tmp_path / "p.toml"
    spec_file.write_text(TOML)
    cmd = [
        sys.executable,
        "-c",
        "from neuroplast.cli import app; app()",
        *_four_patients(spec_file),
        "--engine",
        "fast",
    ]
    for name, extra in (("f64", []), ("f32", ["--float32"])):
        r = subprocess.run([*cmd, *extra, "--out", str(tmp_path / name)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
    a, b = open_cohort(tmp_path / "f64"), open_cohort(tmp_path / "f32")
    assert np.all(b["status"].values == 0)
    np.testing.assert_allclose(b["madrs_true"].values, a["madrs_true"].values, rtol=0, atol=0.15)
    r = invoke("cohort", str(spec_file), "--patients", "4", "--float32", "--out", str(tmp_path / "x"))
    assert r.exit_code == 2 and "--float32" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x").exists()
