"""The web API: options read from the library, /api/simulate and /api/trials against the
library's own front door, the CLI's validation messages, limits, and a schemathesis fuzz of the
OpenAPI schema.

Oracles: the web layer is a thin shell, so every number it returns must equal what the library
returns for the same input (``simulate`` for one patient, ``run_trial`` for a trial), and every
error must be the library's one-line message with a 4xx status.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import neuroplast as npl
from neuroplast.web import Limits, create_app
from neuroplast.web import library as weblib

KETAMINE = {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}
LIMITS = Limits(max_patients=40, max_body_bytes=64 * 1024, max_days=28)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(LIMITS)) as c:
        yield c


def _approx_equal(a, b, path="") -> None:
    """Recursive equality; floats to 1e-12 relative (JSON round-trips float64 exactly; the margin
    only absorbs a different summation order, never a different model)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _approx_equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _approx_equal(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, path
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, path


def test_options_come_from_the_library(client):
    from neuroplast.cohort import PRESETS
    from neuroplast.model import READOUT_UNITS
    from neuroplast.regimen import DRUGS, ROUTES

    o = client.get("/api/options").json()
    assert [d["name"] for d in o["drugs"]] == list(DRUGS)
    assert {d["name"]: d["routes"] for d in o["drugs"]} == {d: list(ROUTES[d]) for d in DRUGS}
    assert {p["name"] for p in o["populations"]} == set(PRESETS)
    assert set(o["readouts"]) == set(READOUT_UNITS)
    grouped = [n for g in o["groups"] for n in g["readouts"]]
    assert sorted(grouped) == sorted(READOUT_UNITS)  # every read-out is drawn, exactly once
    assert {e["name"] for e in o["examples"]} >= {"demo"}
    assert "not a medical device" in o["disclaimer"]


def test_simulate_equals_the_library_front_door(client, model):
    body = {
        "protocol": {"name": "ket", "dose": [KETAMINE]},
        "patient": {"weight_kg": 82.0, "age_y": 51.0, "female": True, "baseline_madrs": 33.0},
        "days": 2,
    }
    r = client.post("/api/simulate", json=body)
    assert r.status_code == 200, r.text
    res = r.json()
    ts = np.array(res["times_h"])
    assert ts[0] == 0.0 and ts[-1] == pytest.approx(48.0) and np.all(np.diff(ts) > 0)
    regimen = npl.build_regimen([KETAMINE])
    cohort = npl.typical_patient(model.values, weight_kg=82.0, female=True, age_y=51.0, baseline_madrs=33.0)
    ref = npl.simulate(model, regimen, cohort, saveat=ts, engine=npl.engine.Tsit5())
    assert set(res["readouts"]) == set(ref.readouts)
    for name, arr in ref.readouts.items():
        got = np.array([np.nan if v is None else v for v in res["readouts"][name]["values"]])
        # the same call on the same save times: equal up to float64 round-off
        np.testing.assert_allclose(got, arr[0], rtol=1e-12, atol=1e-12, err_msg=name)
    assert res["status"] == "ok"
    assert res["doses"] == [
        {
            "time_h": 0.0,
            "duration_h": pytest.approx(2 / 3),
            "drug": "ketamine",
            "route": "iv",
            "amount": 0.5,
            "unit": "mg/kg",
        }
    ]
    # plot groups follow the causal chain: concentration first, safety last
    keys = [g["key"] for g in res["groups"]]
    assert keys[0] == "concentrations" and "mood" in keys and keys.index("safety") > keys.index("mood")


def test_save_grid_has_a_fixed_size_and_resolves_each_infusion():
    doses = npl.build_regimen([{**KETAMINE, "at": ["0 d", "2 d", "4 d"]}]).doses
    for end in (48.0, 24.0 * 14, 24.0 * 365):
        g = weblib.save_grid(doses, end)
        # fixed size -> one compiled solver for every protocol of a horizon
        assert g.size == weblib.GRID_POINTS and g[0] == 0.0 and g[-1] == pytest.approx(end)
        assert np.all(np.diff(g) > 0)
        first = g[(g > 0) & (g <= 1.0)]
        assert first.size >= 12  # 5-min steps cover the 40-min infusion and its peak


BAD_SIMULATE = [
    ({"drug": "ketamin"}, 400, "protocol.dose[0].drug", "unknown drug"),
    ({"amount": "5 mg/kg"}, 400, "protocol.dose[0].amount", "safety ceiling"),
    ({"amount": "0.5"}, 400, "protocol.dose[0].amount", "no unit"),
    ({"amount": "-1 mg"}, 400, "protocol.dose[0].amount", "negative"),
    ({"duration": "forty"}, 400, "protocol.dose[0].duration", ""),
    ({"at": ["-1 d"]}, 400, "protocol.dose[0].at[0]", "before 0"),
    ({"rate": "1 mg/h"}, 422, "protocol.dose[0].rate", "Extra inputs"),
]


@pytest.mark.parametrize("change, status, field, words", BAD_SIMULATE)
def test_bad_protocols_get_the_library_message(client, change, status, field, words):
    r = client.post("/api/simulate", json={"protocol": {"name": "x", "dose": [{**KETAMINE, **change}]}, "days": 2})
    assert r.status_code == status, r.text
    err = r.json()
    assert err["field"] == field and words in err["detail"] and "\n" not in err["detail"]


def test_bad_patients_and_limits(client):
    base = {"protocol": {"name": "x", "dose": [KETAMINE]}}
    cases = [
        ({**base, "patient": {"weight_kg": 500}}, 422, "patient.weight_kg"),
        ({**base, "patient": {"population": "martians"}}, 400, "patient.population"),
        ({**base, "days": 29}, 400, "days"),  # above LIMITS.max_days
        ({**base, "days": -1}, 422, "days"),
        # (an empty protocol is a valid no-treatment run since wait-list arms exist: not an error)
        ({**base, "therapy": "cbt"}, 422, "therapy"),
    ]
    for body, status, field in cases:
        r = client.post("/api/simulate", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["field"] == field
    # the same message as the CLI prints for the same dose (one library validation)
    from neuroplast.trials import parse_spec

    doc = {
        "trial": {"id": "t", "population": "trd", "endpoints": {"timepoints": ["1 d"]}},
        "arm": [{"name": "x", "dose": [{**KETAMINE, "amount": "5 mg/kg"}]}],
    }
    with pytest.raises(npl.NeuroplastInputError) as cli_error:
        parse_spec(doc)
    api = client.post("/api/simulate", json={"protocol": {"name": "x", "dose": [{**KETAMINE, "amount": "5 mg/kg"}]}})
    assert api.json()["detail"].split(": ", 1)[1] == cli_error.value.one_line().split(": ", 1)[1]


def test_malformed_and_oversized_bodies(client):
    r = client.post("/api/simulate", content=b'{"protocol": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]
    big = b"x" * (LIMITS.max_body_bytes + 1)
    r = client.post("/api/trials", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(LIMITS.max_body_bytes // 1024 + 2):
            yield b" " * 1024

    r = client.post("/api/trials", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get("/api/options").status_code == 200  # still serving


def test_trial_requests_are_validated_like_the_cli(client):
    cases = [
        ({"toml": "[trial\nid = 1"}, "malformed TOML"),
        (
            {
                "toml": "[trial]\nid = 'x'\npopulation = 'trd'\n[trial.endpoints]\ntimepoints = ['1 d']\n"
                "[[arm]]\nname = 'a'\n[[arm.dose]]\ndrug = 'ketamine'\namount = '9 mg/kg'\nduration = '40 min'\n",
                "filename": "mine.toml",
            },
            "mine.toml, field 'arm[0].dose[0].amount'",
        ),
        ({"example": "nope"}, "unknown example"),
        ({"example": "demo", "toml": "x"}, "exactly one"),
        ({"example": "demo", "n_per_arm": 21}, "above this server's limit of 40"),
        ({"example": "repeated_infusions", "n_per_arm": 2}, "above this server's limit of 28 days"),
    ]
    for body, words in cases:
        r = client.post("/api/trials", json=body)
        assert r.status_code == 400, r.text
        assert words in r.json()["detail"], r.json()
    assert client.post("/api/trials", json={"example": "demo", "n_per_arm": 0}).status_code == 422
    assert client.get("/api/trials/does-not-exist").status_code == 404


def _wait(client, url, timeout=600.0):
    t0 = time.monotonic()
    seen = []
    while time.monotonic() - t0 < timeout:
        st = client.get(url).json()
        seen.append(st["fraction"])
        if st["state"] in ("done", "failed"):
            return st, seen
        time.sleep(0.2)
    raise AssertionError("trial did not finish")


@pytest.mark.slow
def test_trial_job_equals_run_trial(client):
    from neuroplast.io.outputs import _clean
    from neuroplast.trials import load_spec, run_trial

    r = client.post("/api/trials", json={"example": "ketamine_vs_midazolam", "n_per_arm": 8, "seed": 5})
    assert r.status_code == 202, r.text
    url = r.json()["status_url"]
    st, fractions = _wait(client, url)
    assert st["state"] == "done", st["error"]
    assert fractions == sorted(fractions) and st["fraction"] == 1.0 and st["done"] == st["total"] == 16
    # oracle: the library's run_trial with the same spec, size and seed (deterministic in the seed)
    spec = load_spec(weblib.example_files()["ketamine_vs_midazolam"])
    ref = run_trial(spec, n_per_arm=8, seed=5)
    _approx_equal(st["summary"], json.loads(json.dumps(_clean(ref.summary))))
    assert set(st["summary"]["arms"]) == {"ketamine", "midazolam"}
    assert any(p["study"] == "murrough2013_ajp" and p["lo"] is not None for p in st["published"])
    dl = client.get(st["downloads"]["summary"])
    assert dl.status_code == 200 and "attachment" in dl.headers["content-disposition"]
    assert dl.json() == st["summary"]
    rep = client.get(st["downloads"]["report"])
    assert rep.status_code == 200 and "not a medical device" in rep.text


@pytest.mark.slow
def test_trial_run_time_limit_and_queue_limit():
    toml = (weblib.example_files()["ketamine_vs_midazolam"]).read_text()
    with TestClient(create_app(Limits(trial_timeout_s=0.0))) as c:
        r = c.post("/api/trials", json={"toml": toml, "n_per_arm": 8})
        st, _ = _wait(c, r.json()["status_url"])
        assert st["state"] == "failed" and "limit of 0 s" in st["error"]
        assert c.get(f"{r.json()['status_url']}/summary.json").status_code == 409
    with TestClient(create_app(Limits(max_queued=0))) as c:
        r = c.post("/api/trials", json={"example": "demo", "n_per_arm": 2})
        assert r.status_code == 429 and "already queued" in r.json()["detail"]


HISTORY = Path(__file__).resolve().parents[1] / "examples" / "patient_history.csv"


def _forecast_available() -> bool:
    from neuroplast.web import forecast

    return forecast.status()["available"]


def test_forecast_answers_501_when_not_installed(client, monkeypatch):
    from neuroplast.web import forecast

    monkeypatch.setattr(forecast, "_modules", lambda: None)  # a build without neuroplast.forecast
    assert client.get("/api/forecast").json() == {
        "available": False,
        "message": "forecasting is not installed in this build",
    }
    r = client.post("/api/forecast", json={"history": "record,time,item,value,route,duration\n"})
    assert r.status_code == 501 and r.json()["detail"] == "forecasting is not installed in this build"
    assert client.get("/api/options").status_code == 200


def test_forecast_rejects_bad_histories_with_the_readers_message(client):
    if not _forecast_available():
        pytest.skip("forecasting is not installed in this build")
    cases = [
        ({"history": "record,time\n", "filename": "mine.csv"}, 400, "mine.csv"),
        ({"history": "{}", "filename": "mine.txt"}, 400, "unknown history format"),
        ({"history": "x", "weeks": 27}, 422, "weeks"),
    ]
    for body, status, words in cases:
        r = client.post("/api/forecast", json=body)
        assert r.status_code == status and words in r.json()["detail"], r.text


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("NEUROPLAST_WEB_FORECAST"),
    reason="a full forecast takes minutes on 2 cores (the forecast suite tests the library); "
    "set NEUROPLAST_WEB_FORECAST=1 to run it through the web API",
)
def test_forecast_runs_when_installed(client):
    if not _forecast_available() or not HISTORY.exists():
        pytest.skip("forecasting is not installed in this build")
    r = client.post("/api/forecast", json={"history": HISTORY.read_text(), "filename": HISTORY.name, "weeks": 1})
    assert r.status_code == 200, r.text
    res = r.json()
    rows = res["forecast"]["forecast"]
    assert len(rows) == 7 + 1  # one row a day over the one-week horizon, from now
    for row in rows:  # bands are quantiles: ordered
        assert row["p05"] <= row["p25"] <= row["median"] <= row["p75"] <= row["p95"]
    assert len(res["observations"]) == HISTORY.read_text().count("\nscore,")
    assert res["plan_curves"] and all(len(p["median"]) == len(p["time"]) for p in res["plan_curves"])


def test_pages_assets_and_no_cdn(client):
    import plotly

    from neuroplast.web.app import plotly_path

    for path in ("/", "/trials", "/forecast", "/about"):
        r = client.get(path)
        assert r.status_code == 200 and "not a medical device" in r.text
        assert "http://" not in r.text and "https://" not in r.text  # every asset is served locally
        assert "connect-src 'self'" in r.headers["content-security-policy"]
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and js.content == plotly_path().read_bytes()
    assert plotly_path().is_relative_to(__import__("pathlib").Path(plotly.__file__).parent)
    about = client.get("/api/about").json()
    assert about["clinical_studies"] and all(s["id"] for s in about["clinical_studies"])
    assert client.get("/docs").status_code == 404  # FastAPI's docs page would load scripts from a CDN
    schema = client.get("/openapi.json").json()
    assert {"/api/simulate", "/api/trials", "/api/trials/{jid}", "/api/options"} <= set(schema["paths"])


def test_schemathesis_fuzz_of_the_openapi_schema():
    """Every operation, schema-driven bodies: never a 5xx, every response matches the schema.

    Limits keep the fuzz cheap and side-effect free: one horizon (max_days=2) so no new solver
    compilation, and no trial queue (max_queued=0: a valid trial gets 429, a documented answer).
    """
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    app = create_app(Limits(max_days=2, max_doses=8, max_queued=0, simulate_timeout_s=300))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    from neuroplast.web import forecast

    forecast_missing = not forecast.status()["available"]

    def no_server_error(ctx, response, case):
        # 501 from POST /api/forecast is the documented answer when forecasting is not installed
        if forecast_missing and case.path == "/api/forecast" and response.status_code == 501:
            assert response.json()["detail"] == forecast.NOT_INSTALLED
            return None
        return not_a_server_error(ctx, response, case)

    checks = [no_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    ran = 0
    with TestClient(app):
        for op in schema.get_all_operations():
            operation = op.ok()
            for mode in modes:
                if mode == schemathesis.GenerationMode.NEGATIVE and not len(operation.body):
                    continue  # a free-form string path parameter has no wrong shape; no body, nothing to get wrong

                @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
                @given(case=operation.as_strategy(generation_mode=mode))
                def fuzz(case):
                    case.call_and_validate(checks=checks)

                fuzz()
                ran += 1
    assert ran >= 9 + 3  # every operation; both modes where it takes a body


def test_serve_binds_loopback_and_refuses_other_addresses_without_the_flag(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from neuroplast.cli import app

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda a, **kw: calls.append(kw))
    runner = CliRunner()
    r = runner.invoke(app, ["serve"])
    assert r.exit_code == 0 and calls[-1] == {"host": "127.0.0.1", "port": 8000, "log_level": "warning"}
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert r.exit_code == 2 and len(calls) == 1
    assert "--allow-remote" in r.output and "'0.0.0.0'" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--allow-remote"])
    assert r.exit_code == 0 and calls[-1]["host"] == "0.0.0.0" and "warning: serving on 0.0.0.0" in r.output
