"""Dropout and the published analyses in simulated trials ([trial.dropout], [trial.analysis]).

Each test names its oracle. The rate tests draw dropout for 2,000 patients from the trial's own streams without
simulating them: with ``informative = 0`` who leaves does not depend on the trajectories, so the draws are the
trial's (``test_trial_dropout_is_the_drawn_one`` checks a run against them).
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from neuroplast.cohort import BLOCK, dropout_draws
from neuroplast.evidence import source_ids
from neuroplast.trials import TrialSummary, analysis, parse_spec, run_trial
from neuroplast.trials.design import DropoutSpec
from neuroplast.trials.dropout import OBSERVATION_H, REASONS, draw_dropout, lack_of_efficacy

from .cli_run import invoke

SPEC = {
    "trial": {
        "id": "dropout-test",
        "population": "trd",
        "seed": 5,
        "inclusion": {"min_baseline": 22},
        "endpoints": {"timepoints": ["4 h", "1 d", "3 d"]},
    },
    "arm": [
        {
            "name": "ketamine",
            "dose": [{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}],
        },
        {"name": "saline", "dose": [{"drug": "saline", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}]},
    ],
}
DROPOUT = {"after_first_dose": 0.1, "per_week": 0.5, "informative": 1.0}
N = 24  # patients per arm: enough for an MMRM on three visits; one compiled batch for the module


def spec_with(**trial):
    d = copy.deepcopy(SPEC)
    d["trial"].update(trial)
    return parse_spec(d)


@pytest.fixture(scope="module")
def with_dropout():
    return run_trial(spec_with(dropout=DROPOUT), n_per_arm=N)


def draws(spec: DropoutSpec, n: int, *, lack=None, visits_h=(24.0, 72.0, 168.0), end_h=168.0, seed=0):
    """Dropout of n patients of arm "a" as a trial with one 40-min first dose draws it, without adverse effects."""
    lack = np.zeros((n, len(visits_h))) if lack is None else lack
    return draw_dropout(
        spec,
        dropout_draws(seed, "a", n),
        visits_h=np.array(visits_h),
        lack=lack,
        times_h=np.array([0.0]),
        adverse=np.zeros((n, 1)),
        first_end_h=40 / 60,
        end_h=end_h,
    )


def binomial_99(n: int, p: float) -> tuple[float, float]:
    lo, hi = stats.binom.interval(0.99, n, p)
    return lo / n, hi / n


# --- the rates reproduce their inputs ------------------------------------------------------------


def test_after_first_dose_rate():
    """Oracle: with informative = 0 each patient leaves after the first dose with probability after_first_dose,
    independently; the share of 2,000 is within the binomial 99 % interval."""
    n, p = 2000, 0.15
    d = draws(DropoutSpec(after_first_dose=p), n)
    lo, hi = binomial_99(n, p)
    assert lo <= d.after_first_dose.mean() <= hi
    assert np.all(d.left_h[d.after_first_dose] == 40 / 60 + OBSERVATION_H)  # at the end of the first visit
    assert (d.left == d.after_first_dose).all() and set(d.reason[d.left]) == {"other"}


def test_per_week_rate():
    """Oracle: a constant hazard -ln(1 - per_week) per week leaves a share 1 - (1 - per_week)^w by w weeks after
    the first visit (w = 1 and 3); shares of 2,000 within the binomial 99 % intervals."""
    n, pw = 2000, 0.05
    start = 40 / 60 + OBSERVATION_H
    d = draws(DropoutSpec(per_week=pw), n, end_h=start + 3 * 168.0)
    for weeks in (1, 3):
        expected = 1 - (1 - pw) ** weeks
        lo, hi = binomial_99(n, expected)
        assert lo <= np.mean(d.left_h <= start + weeks * 168.0) <= hi
    assert not d.after_first_dose.any() and (d.left_h[d.left] > start).all()


def test_informative_dropout_removes_non_improvers():
    """Oracle: with informative = 1 a patient without improvement (e = 1) has (1 + K_EFFICACY) = 3 times the
    hazard of a responder (e = 0) from the first visit on: directionally more non-improvers leave, and each
    group's share is within the binomial 99 % interval of 1 - (1 - per_week)^(multiple x weeks)."""
    n, pw = 2000, 0.1
    lack = np.zeros((n, 3))
    lack[::2] = 1.0  # every other patient does not improve
    d = draws(DropoutSpec(per_week=pw, informative=1.0), n, lack=lack, visits_h=(1.0, 24.0, 48.0), end_h=1.0 + 168.0)
    stuck, improved = d.left[::2].mean(), d.left[1::2].mean()
    assert stuck > improved
    # e is read at the visit at 1 h (every visit gives the same e), so the hazard is constant from the end of the
    # first dosing visit to the end of the run: a share 1 - (1 - per_week)^(multiple x weeks) leaves
    weeks = (1.0 + 168.0 - (40 / 60 + OBSERVATION_H)) / 168.0
    for share, mult in ((stuck, 3.0), (improved, 1.0)):
        lo, hi = binomial_99(n // 2, 1 - (1 - pw) ** (mult * weeks))
        assert lo <= share <= hi
    # reasons: every responder's is "other"; a non-improver's is lack of efficacy with probability 2/3
    assert set(d.reason[1::2][d.left[1::2]]) == {"other"}
    k = int((d.reason[::2] == "lack of efficacy").sum())
    lo, hi = stats.binom.interval(0.99, int(d.left[::2].sum()), 2 / 3)
    assert lo <= k <= hi


def test_lack_of_efficacy():
    """Oracle: the definition e = clip(1 + change / (response x baseline), 0, 1); 0 without a baseline."""
    e = lack_of_efficacy(np.array([30.0, 30.0, 30.0, 0.0]), np.array([[30.0], [15.0], [22.5], [5.0]]), 0.5)
    assert e[:, 0].tolist() == [1.0, 0.0, 0.5, 0.0]


def test_draws_are_per_patient():
    """Oracle: the prefix property of the cohort streams: n patients are the first n of any larger run, also
    across the 1,024-patient blocks."""
    big = dropout_draws(3, "ketamine", BLOCK + 500)
    assert np.array_equal(dropout_draws(3, "ketamine", 7), big[:7])
    assert np.array_equal(dropout_draws(3, "ketamine", BLOCK + 1), big[: BLOCK + 1])
    assert not np.array_equal(dropout_draws(3, "saline", 7), big[:7])


# --- in a trial ------------------------------------------------------------------------------------


def test_trial_dropout_is_the_drawn_one(with_dropout):
    """Oracle: the trial's counts are the per-patient table's; scores after leaving are not observed; the
    first n patients leave as in a larger run (informative dropout included: the trajectories are the same)."""
    s = with_dropout.summary
    assert s.analysis == "mmrm" and s.dropout is not None
    p = with_dropout.patients
    for name, arm in s.arms.items():
        rows = p[p.arm == name]
        assert arm.n_dropped == int(rows.dropout_h.notna().sum())
        assert arm.n_dropped_after_first_dose == int(rows.dropped_after_first_dose.sum())
        assert sum(arm.dropped_reasons.values()) == arm.n_dropped and list(arm.dropped_reasons) == list(REASONS)
        for tp in arm.timepoints:
            seen = rows[f"score_{tp.time}"].notna()
            assert tp.n_observed == int(seen.sum())
            assert tp.n_observed == int((~(rows.dropout_h < tp.time_h)).sum())
            assert tp.mean_score == pytest.approx(rows.loc[seen, f"score_{tp.time}"].mean(), rel=1e-12)
    assert s.arms["ketamine"].n_dropped > 0
    # saline has no adverse effect (a = 0) and the first-dose decision reads no efficacy: the multiplier is
    # 1, so who leaves after the first dose is exactly who drew below after_first_dose in the arm's own stream
    saline = p[p.arm == "saline"].dropped_after_first_dose.to_numpy()
    assert np.array_equal(saline, dropout_draws(5, "saline", N)[:, 0] < DROPOUT["after_first_dose"])
    small = run_trial(spec_with(dropout=DROPOUT), n_per_arm=N - 5).patients  # same padded batch: no compile
    for name in s.arms:
        a, b = small[small.arm == name], p[p.arm == name].iloc[: N - 5]
        assert np.array_equal(a.dropout_h.to_numpy(), b.dropout_h.to_numpy(), equal_nan=True)
        assert a.dropout_reason.tolist() == b.dropout_reason.tolist()


def test_mmrm_contrast_equals_analysis_on_saved_scores(with_dropout, tmp_path):
    """Oracle: analysis.mmrm called directly on what patients.parquet saves (baseline, scores with NaN after
    leaving, arm) gives the summary's contrasts exactly (the same computation on the same numbers)."""
    import pandas as pd

    from neuroplast.io import write_parquet

    write_parquet(tmp_path / "patients.parquet", with_dropout.patients)
    p = pd.read_parquet(tmp_path / "patients.parquet")
    labels = ["4 h", "1 d", "3 d"]
    r = analysis.mmrm(
        p.baseline_score.to_numpy(),
        p[[f"score_{x}" for x in labels]].to_numpy(float),
        p.arm.to_numpy(),
        labels,
        first="ketamine",
        second="saline",
    )
    for v in r["visits"]:
        c = with_dropout.summary.contrast("ketamine", "saline", v["visit"])
        assert (c.method, c.data) == ("mmrm", "observed")
        assert c.mean_difference == pytest.approx(v["difference"], rel=1e-12)
        assert list(c.ci95) == pytest.approx(v["ci95"], rel=1e-12)
        assert c.p_value == pytest.approx(v["p_value"], rel=1e-12)
        assert c.n_analysed == (r["n_first"], r["n_second"])
        seen = p[f"score_{v['visit']}"].notna()
        responded = (p[f"score_{v['visit']}"] - p.baseline_score <= -0.5 * p.baseline_score)[seen]
        lr = analysis.logistic(responded.to_numpy(), p.arm[seen].to_numpy(), first="ketamine", second="saline")
        assert c.response.odds_ratio == pytest.approx(lr["odds_ratio"], rel=1e-12)
        assert c.odds_ratio_response == pytest.approx(lr["odds_ratio"], rel=1e-9)  # the 2x2 cross-product


def test_without_dropout_mmrm_and_ancova_equal_ancova_on_complete_data():
    """Oracle: analysis.ancova on the complete data. method "ancova" is it exactly; method "mmrm" with every
    visit observed has the same differences (GLS with the same regressors at every visit is OLS visit by visit)
    and the same standard errors to the REML fit's tolerance, its CI differing only by the residual degrees of
    freedom (all observations less 3 per visit, against n - 3)."""
    runs = {m: run_trial(spec_with(analysis={"method": m}), n_per_arm=N) for m in ("ancova", "mmrm")}
    p = runs["ancova"].patients
    n_obs = len(p) * 3
    for label in ("4 h", "1 d", "3 d"):
        a = analysis.ancova(
            p.baseline_score.to_numpy(),
            p[f"score_{label}"].to_numpy(float),
            p.arm.to_numpy(),
            first="ketamine",
            second="saline",
        )
        c = runs["ancova"].summary.contrast("ketamine", "saline", label)
        assert c.method == "ancova" and c.mean_difference == pytest.approx(a["difference"], rel=1e-12)
        assert list(c.ci95) == pytest.approx(a["ci95"], rel=1e-12) and c.p_value == pytest.approx(a["p_value"])
        m = runs["mmrm"].summary.contrast("ketamine", "saline", label)
        assert m.method == "mmrm" and m.mean_difference == pytest.approx(a["difference"], abs=1e-9)
        half = a["se"] * stats.t.ppf(0.975, n_obs - 9)
        assert (m.ci95[1] - m.ci95[0]) / 2 == pytest.approx(half, rel=1e-5)
    # the summary values of a trial without dropout do not depend on the analysis
    welch = run_trial(spec_with(), n_per_arm=N).summary
    assert welch.analysis == "observed" and welch.contrasts[0].method == "welch"
    assert runs["ancova"].summary.arms == welch.arms


def test_mmrm_with_one_timepoint_is_ancova():
    """Oracle: analysis.ancova; an MMRM on a single visit after baseline is ANCOVA, and the contrast says so."""
    spec = parse_spec(
        {
            **SPEC,
            "trial": {**SPEC["trial"], "endpoints": {"timepoints": ["1 d"]}, "dropout": {"per_week": 0.3}},
        }
    )
    r = run_trial(spec, n_per_arm=N)
    c = r.summary.contrasts[0]
    p = r.patients
    a = analysis.ancova(p.baseline_score, p["score_1 d"], p.arm.to_numpy(), first="ketamine", second="saline")
    assert c.method == "ancova" and c.mean_difference == pytest.approx(a["difference"], rel=1e-12)


# --- input, outputs ------------------------------------------------------------------------------


TOML = """
[trial]
id = "dropout-test"
population = "trd"
[trial.endpoints]
timepoints = ["1 d"]
{table}
[[arm]]
name = "ketamine"
  [[arm.dose]]
  drug = "ketamine"
  amount = "0.5 mg/kg"
  duration = "40 min"
"""


@pytest.mark.parametrize(
    "table,field",
    [
        ("[trial.dropout]\nper_week = 1.0", "trial.dropout.per_week"),
        ("[trial.dropout]\nafter_first_dose = -0.1", "trial.dropout.after_first_dose"),
        ("[trial.dropout]\ninformative = 1.5", "trial.dropout.informative"),
        ('[trial.dropout]\nper_week = "5 %"', "trial.dropout.per_week"),
        ("[trial.dropout]\nrate = 0.1", "trial.dropout.rate"),
        ('[trial.analysis]\nmethod = "gee"', "trial.analysis.method"),
    ],
)
def test_bad_values_exit_2_with_one_line(tmp_path, table, field):
    """Oracle: the spec's bounds (docs/trial-format.md); the CLI exits 2 with one line naming the field."""

    f = tmp_path / "t.toml"
    f.write_text(TOML.format(table=table))
    r = invoke("trial", str(f), "--out", str(tmp_path / "out"))
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], r.output
    assert not (tmp_path / "out").exists()


def test_old_summaries_still_parse():
    """Oracle: a summary.json written before dropout (no new keys) validates, with the defaults."""
    old = {
        "trial": "t",
        "scale": "MADRS",
        "seed": 1,
        "neuroplast_version": "0",
        "arms": {},
        "contrasts": [
            {
                "arms": ["a", "b"],
                "time": "1 d",
                "mean_difference": -1.0,
                "ci95": [-2.0, 0.0],
                "odds_ratio_response": 2.0,
                "cohens_d": 0.3,
            }  # fmt: skip
        ],
    }
    s = TrialSummary.model_validate(old)
    c = s.contrast("b", "a", "1 d")
    assert c.method == "welch" and math.isnan(c.p_value) and c.mean_difference == 1.0
    assert s.to_json_dict()["contrasts"][0] == old["contrasts"][0]  # unset defaults are not written


def test_report_shows_flow_and_analysis(with_dropout, tmp_path):
    """The report's CONSORT-style flow gives each arm's counts, and each contrast names its analysis."""
    from neuroplast.report import write_report

    s = with_dropout.summary.to_json_dict()
    write_report(tmp_path / "r.html", title="t", summary=s, figures={}, published=[], notes=[])
    html = (tmp_path / "r.html").read_text()
    assert "Participant flow" in html and "left: lack of efficacy" in html and "MMRM, observed" in html
    k = s["arms"]["ketamine"]
    assert f"<td>ketamine</td><td>{N}</td><td>{N}</td><td>0</td><td>{k['n_dropped_after_first_dose']}</td>" in html


def test_interpolated_size_for_target_power():
    """Oracle: linear interpolation in log(size) between the sizes around the target; the smallest size tried
    when it already reaches it; None when none does."""
    from neuroplast.scaleout import Endpoint, PowerResult

    curve = [{"n_per_arm": 10, "power": 0.3}, {"n_per_arm": 40, "power": 0.9}]
    res = PowerResult(Endpoint("p_value"), 0.05, [10, 40], [], curve, {})
    assert res.smallest_size(0.8) == 40
    assert res.interpolated_size(0.8) == math.ceil(10 * 4 ** (0.5 / 0.6))  # 32
    assert res.interpolated_size(0.2) == 10 and res.interpolated_size(0.95) is None


def test_power_uses_the_trials_analysis_and_dropout():
    """Oracle: the replicate trials themselves (replicate_trials, the same seeds): power counts their MMRM
    p-values with dropout, not a Welch test on complete data."""
    from neuroplast.scaleout import power_curve, replicate_seeds, replicate_trials, runner

    spec = spec_with(dropout=DROPOUT)
    with runner("none") as r:
        res = power_curve(spec, [N], replicates=2, seed=11, run=r)
        trials = replicate_trials(spec, replicate_seeds(11, 2), n_per_arm=N, run=r)
    expected = [next(c for c in s["contrasts"] if c["time"] == "3 d") for s in trials]
    assert all(c["method"] == "mmrm" for c in expected) and res.method == "mmrm"
    assert [row["p_value"] for row in res.rows] == [c["p_value"] for c in expected]
    assert [row["n_dropped"] for row in res.rows] == [sum(a["n_dropped"] for a in s["arms"].values()) for s in trials]
    assert res.test().startswith("MMRM")


# --- typical values (docs/trial-format.md) cite sources that exist -------------------------------

ROOT = Path(__file__).parents[1]


def typical_values_rows() -> list[list[str]]:
    """The cells of the rows of the table after "**Typical values.**" in [trial.dropout] (header excluded)."""
    text = (ROOT / "docs" / "trial-format.md").read_text()
    start = text.index("**Typical values.**")
    lines = text[start:].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        table.append([c.strip() for c in line.strip().strip("|").split("|")])
    assert table[0][-1] == "sources" and set(table[1][0]) <= {"-"}, table[:2]
    return table[2:]


def test_typical_values_cite_sources_in_the_registry():
    """Oracle: the evidence registry (neuroplast.evidence.source_ids): every source id the typical-values table
    cites exists there, and every row cites at least one."""
    rows = typical_values_rows()
    assert rows
    ids = source_ids()
    for row in rows:
        cited = re.findall(r"`([a-z0-9_]+)`", row[-1])
        assert cited, row
        missing = [c for c in cited if c not in ids]
        assert not missing, f"{row[0]}: not in the evidence registry: {missing}"


def test_typical_values_arithmetic():
    """Oracle: per_week = 1 - q^(1/w) recomputed from each written term (q a fraction a/b or a decimal), and
    compared with the value written after "=" to its three decimals."""
    term = re.compile(r"1 − \(?([0-9.]+)(?:/([0-9.]+))?\)?\^\(1/([0-9]+)\)")
    checked = 0
    for row in typical_values_rows():
        per_week = row[2]
        terms = term.findall(per_week)
        if not terms:
            continue
        values = [1 - (float(a) / (float(b) if b else 1.0)) ** (1 / int(w)) for a, b, w in terms]
        written = [float(x) for x in re.findall(r"0\.[0-9]{3}", per_week.split("=")[-1])]
        assert written == [round(v, 3) for v in values], row
        checked += 1
    assert checked >= 3


def test_example_uses_the_sourced_rct_rate():
    """Oracle: the registry entry daly2018_esketamine_completion (60 of 67 completed a 2-week double-blind
    phase): the example's per_week is 1 - (60/67)^(1/2) to three decimals and its comment cites that id."""
    import tomllib

    from neuroplast.evidence import extra

    path = ROOT / "examples" / "repeated_vs_single_ketamine_dropout.toml"
    dropout = tomllib.loads(path.read_text())["trial"]["dropout"]
    entry = next(s for s in extra()["sources"] if s["id"] == "daly2018_esketamine_completion")["value"]
    q = entry["completed_both_double_blind_periods"] / entry["randomized"]
    assert dropout["per_week"] == round(1 - q ** (1 / 2), 3)
    assert "daly2018_esketamine_completion" in path.read_text()
