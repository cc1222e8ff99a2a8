"""Scale-out: replicate trials on dask, sweeps, power, Sobol sensitivity, endpoints, scheduler errors.

Oracles: the single-process run (a dask cluster must give the same summaries), SciPy's Welch test and
the summary's own Welch CI (p < 0.05 exactly when the CI excludes 0), statsmodels' Wilson interval,
and exact zeros where an endpoint provably does not depend on a parameter.
"""

from __future__ import annotations

import math
import socket
import time

import numpy as np
import pytest

from neuroplast import NeuroplastInputError
from neuroplast.scaleout import (
    Endpoint,
    parameter_bounds,
    parse_parameters,
    parse_sizes,
    power_curve,
    replicate_seeds,
    replicate_trials,
    runner,
    sobol,
    sweep,
)
from neuroplast.scaleout.power import wilson
from neuroplast.trials import parse_spec

from .cli_run import invoke

SPEC = {
    "trial": {
        "id": "scaleout-test",
        "population": "trd",
        "scale": "MADRS",
        "seed": 3,
        "inclusion": {"min_baseline": 22},
        "endpoints": {"timepoints": ["1 d", "3 d"], "follow_up": "7 d"},
    },
    "arm": [
        {
            "name": "ketamine",
            "dose": [{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}],
        },
        {"name": "saline", "dose": [{"drug": "saline", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}]},
    ],
}
N = 6  # patients per arm: every trial here is one padded batch of 8 (one compilation for the whole module)


@pytest.fixture(scope="module")
def spec():
    return parse_spec(SPEC)


@pytest.fixture(scope="module")
def serial(spec):
    with runner("none") as r:
        return replicate_trials(spec, replicate_seeds(11, 2), n_per_arm=N, run=r)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- where the work runs -------------------------------------------------------------------


@pytest.mark.slow
def test_local_cluster_equals_single_process(spec, serial, tmp_path_factory):
    """Two worker processes give the same summaries as this process, bit for bit (same float64 program)."""
    import jax

    from neuroplast.scaleout.cluster import current_jax_cache

    if current_jax_cache() is None:  # share compiled code with the workers through a persistent cache
        jax.config.update("jax_compilation_cache_dir", str(tmp_path_factory.mktemp("jax-cache")))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    with runner("local", workers=2) as r:
        assert r.n_workers == 2
        assert "local dask cluster" in r.where
        distributed = replicate_trials(spec, replicate_seeds(11, 2), n_per_arm=N, run=r)
    assert distributed == serial


def test_unreachable_scheduler_fails_fast_and_clearly():
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    t0 = time.perf_counter()
    with pytest.raises(NeuroplastInputError) as exc:
        with runner(address, timeout_s=1.0):
            pass
    assert time.perf_counter() - t0 < 30.0  # bounded: the 1 s connect timeout plus dask's own start-up
    msg = exc.value.one_line()
    assert "--scheduler" in msg and address in msg and "--scheduler local" in msg


@pytest.mark.parametrize("bad", ["localhost:8786", "cluster"])
def test_scheduler_that_is_not_an_address(bad):
    with pytest.raises(NeuroplastInputError, match="not a scheduler address"):
        with runner(bad):
            pass


def test_replicates_are_reproducible_and_distinct(spec, serial):
    """Same seed, same summary; different seeds, different patients."""
    again = replicate_trials(spec, replicate_seeds(11, 1), n_per_arm=N)
    assert again[0] == serial[0]
    assert serial[0]["seed"] != serial[1]["seed"]
    assert serial[0]["arms"]["ketamine"]["baseline"] != serial[1]["arms"]["ketamine"]["baseline"]


def test_welch_p_matches_the_summary_confidence_interval(serial):
    """Oracle: trials.stats.contrast reports a Welch 95% CI; p < 0.05 exactly when it excludes 0."""
    for summ in serial:
        for c in summ["contrasts"]:
            lo, hi = c["ci95"]
            assert (c["p_welch"] < 0.05) == (lo > 0 or hi < 0)


def test_sweep_applies_each_grid_point(spec):
    """A parameter without between-patient variability scales the CADSS peak linearly (same patients)."""
    out = sweep(spec, {"cadss_per_100ng": [2.0, 4.0]}, n_per_arm=N, seed=5)
    assert [p for p, _ in out] == [{"cadss_per_100ng": 2.0}, {"cadss_per_100ng": 4.0}]
    low, high = (s["arms"]["ketamine"]["safety"]["cadss_peak_mean"] for _, s in out)
    # CADSS is proportional to its gain; it also feeds the felt-effect expectancy, which changes the adaptive
    # steps, so the two runs agree to the trial solver's tolerance (rtol 1e-5), not to round-off
    assert high == pytest.approx(2.0 * low, rel=1e-4)
    with pytest.raises(NeuroplastInputError, match="unknown parameter"):
        sweep(spec, {"cadss_per_100ngg": [1.0]}, n_per_arm=N)


# --- endpoints -----------------------------------------------------------------------------

SUMMARY = {
    "arms": {
        "a": {
            "n": 10,
            "timepoints": [
                {"time": "1 d", "time_h": 24.0, "response_rate": 0.4},
                {"time": "3 d", "time_h": 72.0, "response_rate": 0.3},
            ],
            "relapse": {"median_days_to_relapse": None},
            "safety": {"cadss_peak_mean": 12.0},
        },
        "b": {
            "n": 10,
            "timepoints": [
                {"time": "1 d", "time_h": 24.0, "response_rate": 0.1},
                {"time": "3 d", "time_h": 72.0, "response_rate": 0.2},
            ],
            "relapse": {"median_days_to_relapse": 5.0},
            "safety": {"cadss_peak_mean": 0.5},
        },
    },
    "contrasts": [
        {
            "arms": ["a", "b"],
            "time": "1 d",
            "mean_difference": -4.0,
            "odds_ratio_response": 4.0,
            "cohens_d": 0.5,
            "p_welch": 0.01,
        },
        {
            "arms": ["a", "b"],
            "time": "3 d",
            "mean_difference": -2.0,
            "odds_ratio_response": 2.0,
            "cohens_d": 0.25,
            "p_welch": 0.2,
        },
    ],
}


def test_endpoint_lookup():
    assert Endpoint("response_rate", "b", "1 d").value(SUMMARY) == 0.1
    assert Endpoint("cadss_peak_mean", "a", "1 d").value(SUMMARY) == 12.0
    assert Endpoint("median_days_to_relapse", "b", "3 d").value(SUMMARY) == 5.0
    assert math.isnan(Endpoint("median_days_to_relapse", "a", "3 d").value(SUMMARY))  # not reached
    assert Endpoint("mean_difference", "a", "3 d").value(SUMMARY) == -2.0
    # read the other way round: differences change sign, odds ratios invert, p-values stay
    assert Endpoint("mean_difference", "b", "1 d", "a").value(SUMMARY) == 4.0
    assert Endpoint("cohens_d", "b", "1 d", "a").value(SUMMARY) == -0.5
    assert Endpoint("odds_ratio_response", "b", "1 d", "a").value(SUMMARY) == 0.25
    assert Endpoint("p_welch", "b", "1 d", "a").value(SUMMARY) == 0.01
    with pytest.raises(NeuroplastInputError, match="unknown endpoint; known: .*response_rate"):
        Endpoint("responce_rate", "a", "1 d").value(SUMMARY)


def test_endpoint_defaults_and_bad_names(spec):
    e = Endpoint("response_rate").resolve(spec)
    assert (e.arm, e.time, e.versus) == ("ketamine", "3 d", None)  # first arm, last timepoint
    for kw, field in (({"arm": "placebo"}, "--arm"), ({"time": "2 d"}, "--time"), ({"versus": "ketamine"}, "--versus")):
        with pytest.raises(NeuroplastInputError, match=field):
            Endpoint("response_rate", **kw).resolve(spec)


# --- power ---------------------------------------------------------------------------------


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (37, 40)])
def test_wilson_interval_matches_statsmodels(k, n):
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert wilson(k, n) == pytest.approx((lo, hi), abs=1e-12)  # same closed form; 1e-12: round-off


def test_power_curve(spec, serial):
    with runner("none") as r:
        res = power_curve(spec, [N], replicates=2, seed=11, run=r)
    # the replicates are exactly the trials replicate_trials ran with the same seeds; without dropout the trial's
    # analysis is Welch's t-test on every patient, so its p-value is p_welch (the same scipy call on the same data)
    expected_p = [s["contrasts"][-1]["p_value"] for s in serial]  # ketamine vs saline at the last timepoint, 3 d
    assert expected_p == [s["contrasts"][-1]["p_welch"] for s in serial]
    assert [row["p_value"] for row in res.rows] == expected_p
    row = res.curve[0]
    assert row["power"] == np.mean([p < 0.05 for p in expected_p])
    assert row["ci95"] == list(wilson(row["significant"], 2))
    assert res.endpoint.label() == "p_value (ketamine vs saline, 3 d)"
    assert res.method == "observed" and res.test().startswith("Welch")


def test_power_bad_input(spec):
    with pytest.raises(NeuroplastInputError, match="--sizes"):
        parse_sizes("10,abc")
    with pytest.raises(NeuroplastInputError, match="--sizes"):
        parse_sizes("1,10")
    assert parse_sizes("40, 10,20,10") == [10, 20, 40]
    one_arm = parse_spec({**SPEC, "arm": SPEC["arm"][:1]})
    with runner("none") as r:
        with pytest.raises(NeuroplastInputError, match="two arms"):
            power_curve(one_arm, [10], run=r)
        with pytest.raises(NeuroplastInputError, match="--alpha"):
            power_curve(spec, [10], alpha=1.5, run=r)


# --- sensitivity ---------------------------------------------------------------------------


def test_parameter_bounds():
    from neuroplast.parameters import all_parameters

    params = all_parameters()  # picked by property, not by name: the registry grows
    cl = next(p for p in params if p.cv > 0 and p.value > 0)  # has between-patient CV: central 95% of its log-normal
    sigma = math.sqrt(math.log1p(cl.cv**2))
    ((lo, hi),) = parameter_bounds([cl.name])
    assert (lo, hi) == pytest.approx((cl.value * math.exp(-2 * sigma), cl.value * math.exp(2 * sigma)), rel=1e-12)
    fixed = next(p for p in params if p.cv == 0 and p.value > 1 and "frac" not in p.name)  # no CV: value ÷/x spread
    ((lo, hi),) = parameter_bounds([fixed.name], spread=2.0)
    assert (lo, hi) == pytest.approx((fixed.value / 2, fixed.value * 2), rel=1e-12)
    frac = next((p for p in params if "frac" in p.name and 1 / 3 < p.value < 1 and p.cv == 0), None)
    if frac is not None:  # a fraction stays <= 1
        assert parameter_bounds([frac.name], spread=3.0)[0][1] == 1.0
    assert parameter_bounds([fixed.name], {fixed.name: (0.5, 3.0)}) == [(0.5, 3.0)]
    with pytest.raises(NeuroplastInputError, match="unknown parameter"):
        parameter_bounds(["no_such_parameter"])


def test_parse_parameters():
    names, explicit = parse_parameters("spine_gain, cl_ket=50:100")
    assert names == ["spine_gain", "cl_ket"] and explicit == {"cl_ket": (50.0, 100.0)}
    names, _ = parse_parameters(None)
    from neuroplast.parameters import all_parameters

    assert names == [p.name for p in all_parameters() if p.source == "fit"] and names
    for bad, match in (
        ("spine_gian", "did you mean spine_gain"),
        ("cl_ket=2:1", "lower < upper"),
        ("cl_ket=a:b", "name=lower:upper"),
        ("cl_ket,cl_ket", "twice"),
    ):
        with pytest.raises(NeuroplastInputError, match=match) as exc:
            parse_parameters(bad)
        assert exc.value.field == "--params"


def test_sobol_indices(spec):
    """CADSS depends on its gain and not at all on the HAM-D17 rater noise (this is a MADRS trial)."""
    with runner("none") as r:
        res = sobol(
            spec,
            Endpoint("cadss_peak_mean"),
            names=["cadss_per_100ng", "hamd17_noise_sd"],
            base_samples=4,
            n_per_arm=N,
            seed=2,
            run=r,
        )
    assert res.values.shape == (4 * (2 + 2),) and res.samples.shape == (16, 2)
    for (lo, hi), col in zip(res.bounds, res.samples.T):
        assert np.all((col >= lo * (1 - 1e-12)) & (col <= hi * (1 + 1e-12)))
    noise = res.indices["hamd17_noise_sd"]
    assert noise["S1"] == 0.0 and noise["ST"] == 0.0  # exactly: the endpoint never changes with it
    assert res.indices["cadss_per_100ng"]["ST"] > 0.5  # the only input that moves the endpoint
    assert res.nominal > 0
    with pytest.raises(NeuroplastInputError, match="power of 2"):
        sobol(spec, Endpoint("cadss_peak_mean"), names=["cadss_per_100ng"], base_samples=6, run=r)


# --- command line --------------------------------------------------------------------------

TOML = """
[trial]
id = "scaleout-test"
population = "trd"
seed = 3
[trial.inclusion]
min_baseline = 22
[trial.endpoints]
timepoints = ["1 d", "3 d"]
follow_up = "7 d"
[[arm]]
name = "ketamine"
  [[arm.dose]]
  drug = "ketamine"
  amount = "0.5 mg/kg"
  duration = "40 min"
  at = ["0 d"]
[[arm]]
name = "saline"
  [[arm.dose]]
  drug = "saline"
  amount = "0 mg"
  duration = "40 min"
  at = ["0 d"]
"""


@pytest.mark.slow
def test_cli_power_and_sensitivity(tmp_path, serial):
    import json

    spec_file = tmp_path / "t.toml"
    spec_file.write_text(TOML)
    r = invoke(
        "power",
        str(spec_file),
        "--sizes",
        str(N),
        "--replicates",
        "2",
        "--seed",
        "11",
        "--scheduler",
        "none",
        "--out",
        str(tmp_path / "pw"),
    )
    assert r.exit_code == 0, r.output
    got = json.loads((tmp_path / "pw" / "power.json").read_text())
    expected = np.mean([s["contrasts"][-1]["p_welch"] < 0.05 for s in serial])  # the same two trials
    assert got["curve"][0]["power"] == expected and (tmp_path / "pw" / "power.png").stat().st_size > 0
    r = invoke(
        "sensitivity",
        str(spec_file),
        "--endpoint",
        "cadss_peak_mean",
        "--params",
        "cadss_per_100ng",
        "--samples",
        "2",
        "--n-per-arm",
        str(N),
        "--scheduler",
        "none",
        "--out",
        str(tmp_path / "se"),
    )
    assert r.exit_code == 0, r.output
    sens = json.loads((tmp_path / "se" / "sensitivity.json").read_text())
    assert [p["name"] for p in sens["parameters"]] == ["cadss_per_100ng"] and sens["settings"]["trials"] == 7
    bad_port = f"tcp://127.0.0.1:{_free_port()}"
    for args, needle in (
        (["power", str(spec_file), "--sizes", "ten"], "--sizes"),
        (["power", str(spec_file), "--scheduler", bad_port], bad_port),
        (["sensitivity", str(spec_file), "--params", "spine_gian"], "spine_gain"),
        (["sensitivity", str(spec_file), "--time", "9 d"], "--time"),
        (["sensitivity", str(spec_file), "--samples", "3", "--scheduler", "none"], "power of 2"),
    ):
        r = invoke(*args, "--out", str(tmp_path / "bad"))
        assert r.exit_code == 2, r.output
        assert needle in r.output and "Traceback" not in r.output
        assert not (tmp_path / "bad").exists()
