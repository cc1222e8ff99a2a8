"""Crossover trials (``design = "crossover"``) end to end: periods, carry-over, summary, analysis, dropout, seeds.

Oracles: the balanced 2x2 closed form (Jones & Kenward; half the difference between the sequences' mean
period 1 minus period 2 differences, t on n1 + n2 - 2 df) computed from ``patients.parquet``, which the
trial's contrast must equal to 1e-8 (round-off of the REML root; see tests/test_crossover_analysis.py); the
mixed model refitted on the observed rows of ``patients.parquet`` for the dropout case (the same function:
this checks what reaches it); and the saved trajectories themselves for the period bookkeeping (exact).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from scipy import stats as sps

from neuroplast.report.html import write_report
from neuroplast.trials import TrialSummary, parse_spec, run_trial
from neuroplast.trials.crossover_analysis import crossover_mixed

KET = {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}
SAL = {"drug": "saline", "route": "iv", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}
BASE = {
    "trial": {
        "id": "xo",
        "population": "trd",
        "design": "crossover",
        "n_per_arm": 6,
        "seed": 3,
        "endpoints": {"timepoints": ["1 d", "3 d"]},
        "crossover": {"washout": "2 d", "period": "3 d"},
    },
    "arm": [{"name": "k", "dose": [KET]}, {"name": "s", "dose": [SAL]}],
}


def spec(**trial):
    d = copy.deepcopy(BASE)
    d["trial"].update(trial)
    return parse_spec(d)


@pytest.fixture(scope="module")
def result():
    return run_trial(spec())


def test_periods_sequences_and_summary(result):
    s = result.summary
    assert s.design == "crossover" and s.analysis == "crossover_mixed"
    xo = s.crossover
    assert (xo.washout_h, xo.period_h, xo.baseline) == (48.0, 72.0, "period")
    assert [q.arms for q in xo.sequences] == [["k", "s"], ["s", "k"]]  # default: every order
    assert [q.n for q in xo.sequences] == [3, 3]  # n_per_arm = 6 in all, split evenly
    assert [c.start_h for c in xo.sequences[0].periods] == [0.0, 120.0]  # (period + washout) x k
    for arm in ("k", "s"):
        a = s.arms[arm]
        assert a.n == 6 and [tp.n_observed for tp in a.timepoints] == [6, 6]
        cells = [c for q in xo.sequences for c in q.periods if c.arm == arm]
        for j, tp in enumerate(a.timepoints):  # an arm pools its periods: the cells' weighted mean
            pooled = sum(c.timepoints[j].mean_change * c.timepoints[j].n_observed for c in cells) / 6
            assert tp.mean_change == pytest.approx(pooled, abs=1e-12)
    # the summary validates back from its JSON form
    assert TrialSummary.model_validate(s.to_json_dict()).crossover == xo


def test_timepoints_count_from_each_periods_first_dose(result):
    """Oracle: the saved scores themselves. A period-2 score at '1 d' is the score 24 h after period 2's dose."""
    p = result.patients
    assert len(p) == 12 and sorted(set(p["period"])) == [1, 2]
    ts = result.times_h
    for label, arm in result.arms.items():
        rows = p[p["sequence"] == label]
        for k, start in ((1, 0.0), (2, 120.0)):
            r = rows[rows["period"] == k].sort_values("patient")
            assert np.array_equal(r["baseline_score"], arm.scores[:, np.searchsorted(ts, start)])
            assert np.array_equal(r["score_1 d"], arm.scores[:, np.searchsorted(ts, start + 24.0)])
            assert np.array_equal(r["trial_baseline_score"], arm.scores[:, 0])
            assert np.array_equal(r["change_3 d"], r["score_3 d"] - r["baseline_score"])


def test_carry_over_is_simulated(result):
    """Ketamine given first leaves its mark at the start of period 2 (5 days later): the noise-free MADRS there
    has fallen further from time 0 in the sequence that began with ketamine than in the one that began with
    saline (the model's antidepressant effect lasts about a week, so the gap is several points)."""
    ts = result.times_h
    j = int(np.searchsorted(ts, 120.0))
    drift = {
        label: float(np.mean(a.simulation.readouts["madrs_true"][:, j] - a.simulation.readouts["madrs_true"][:, 0]))
        for label, a in result.arms.items()
    }
    assert drift["k > s"] < drift["s > k"] - 1.0


def _refit(rows, label):
    """The crossover mixed model refitted on rows of ``patients.parquet`` at ``label``."""
    patient = rows["sequence"] + rows["patient"].astype(str)
    return crossover_mixed(
        rows[f"change_{label}"], patient, rows["arm"], rows["period"], rows["sequence"], levels=["k", "s"]
    )


def test_contributions_split_the_change_from_the_period_baseline(result):
    """Oracle: the sum rule (docs/model.md, 'Where relief comes from'). Each route's part of a period's change is
    its part of the change from the trial's first dose at the visit minus its part at the period's first dose, so
    the parts still sum to the pooled mean change from the period baseline (round-off); saline blocks no NMDA
    receptor, so its plasticity is the ketamine period's left-over in the saline-second sequence only."""
    for arm in ("k", "s"):
        for tp in result.summary.arms[arm].timepoints:
            assert tp.contributions is not None
            assert math.isclose(sum(tp.contributions.values()), tp.mean_change, abs_tol=1e-9)
    k1, s1 = (result.summary.arms[a].at("1 d").contributions for a in ("k", "s"))
    assert k1["plasticity"] < s1["plasticity"]  # the drug's own period has its new spines


def test_contrast_equals_the_two_by_two_closed_form(result):
    p = result.patients
    for label in ("1 d", "3 d"):
        c = result.summary.contrast("k", "s", label)
        assert c.method == "crossover_mixed" and c.n_analysed == (6, 6)
        ch = p.pivot_table(index=["sequence", "patient"], columns="period", values=f"change_{label}")
        d = ch[1] - ch[2]
        d1, d2 = d.loc["k > s"], d.loc["s > k"]
        n1, n2 = len(d1), len(d2)
        est = (d1.mean() - d2.mean()) / 2
        s2 = ((n1 - 1) * d1.var(ddof=1) + (n2 - 1) * d2.var(ddof=1)) / (n1 + n2 - 2)
        se = math.sqrt(s2 / 4 * (1 / n1 + 1 / n2))
        fit = _refit(p, label)
        assert c.mean_difference == pytest.approx(est, abs=1e-8)
        assert c.p_value == pytest.approx(2 * sps.t.sf(abs(est / se), n1 + n2 - 2), abs=1e-8)
        half = sps.t.ppf(0.975, n1 + n2 - 2) * se
        assert c.ci95 == pytest.approx((est - half, est + half), abs=1e-8)
        assert c.mean_difference == pytest.approx(fit["differences"][("k", "s")]["difference"], abs=1e-12)


def test_report_says_crossover_and_shows_the_sequences(result, tmp_path):
    out = tmp_path / "report.html"
    write_report(out, title="xo", summary=result.summary.to_json_dict(), figures={}, published=[], notes=[])
    html = out.read_text()
    assert "Crossover design" in html and "k &gt; s" in html and "s &gt; k" in html
    assert "crossover mixed model" in html


def test_dropout_misses_later_periods_and_the_analysis_uses_what_was_observed():
    """A patient who leaves is rated at the visits before leaving only; the later periods are missing (NaN) and
    the mixed model uses the periods observed (its fit on those rows of patients.parquet is the contrast)."""
    r = run_trial(spec(n_per_arm=10, dropout={"per_week": 0.6}))
    p, s = r.patients, r.summary
    left = p["dropout_h"].notna()
    assert left.any()
    late = p["period"].eq(2) & (p["dropout_h"] < 120.0)
    assert late.any() and p.loc[late, ["baseline_score", "score_1 d", "score_3 d"]].isna().all().all()
    n_left = p.groupby(["sequence", "patient"])["dropout_h"].first().notna().sum()
    assert sum(a.n_dropped for a in s.arms.values()) == n_left  # each leaver counted once, on the arm left on
    for label in ("1 d", "3 d"):
        c = s.contrast("k", "s", label)
        obs = p[p[f"score_{label}"].notna()]
        assert c.n_analysed == (int((obs["arm"] == "k").sum()), int((obs["arm"] == "s").sum()))
        fit = _refit(obs, label)
        assert c.mean_difference == pytest.approx(fit["differences"][("k", "s")]["difference"], abs=1e-12)
        assert c.p_value == pytest.approx(fit["differences"][("k", "s")]["p_value"], abs=1e-12)


def test_patients_are_the_first_of_a_larger_run(result):
    """Seed discipline: patients are keyed by their sequence, so 4 patients (2 per sequence) are the first 2 of
    each sequence of the 6-patient run: the same covariates and the same observed scores."""
    small = run_trial(spec(n_per_arm=4))
    for label, arm in small.arms.items():
        big = result.arms[label]
        assert np.array_equal(arm.scores, big.scores[:2])
        assert arm.simulation.cohort.table.equals(big.simulation.cohort.table.iloc[:2])


def test_too_few_patients_for_the_sequences():
    from neuroplast import NeuroplastInputError

    with pytest.raises(NeuroplastInputError, match="n_per_arm"):
        run_trial(spec(), n_per_arm=1)


def test_outputs_are_written(result, tmp_path):
    """The CLI's writer (workflows.trial_to_dir): every file, trajectories per sequence, the report."""
    import xarray as xr

    from neuroplast.workflows import trial_to_dir

    trial_to_dir(result, tmp_path / "out")
    ds = xr.open_dataset(tmp_path / "out" / "trajectories.nc")
    assert sorted(set(ds["arm"].values.tolist())) == ["k > s", "s > k"] and ds.sizes["patient"] == 6
    assert "Crossover design" in (tmp_path / "out" / "report.html").read_text()
    ds.close()


def test_power_and_sensitivity_read_the_crossover_p_value(result):
    """scale-out's replicate summary: the crossover's own p stays; no Welch p between periods' arms."""
    from neuroplast.scaleout.replicate import add_p_values

    s = add_p_values(result)
    assert all(c["p_welch"] is None and c["p_value"] is not None for c in s["contrasts"])


def test_sequences_are_keyed_by_their_arms_not_their_position(result):
    """Listing the sequences in the other order gives each sequence the same patients and the same scores."""
    other = run_trial(spec(crossover={"washout": "2 d", "period": "3 d", "sequences": [["s", "k"], ["k", "s"]]}))
    for label, arm in other.arms.items():
        assert np.array_equal(arm.scores, result.arms[label].scores)


def test_adding_a_sequence_leaves_the_other_sequences_patients():
    """Three arms in a Latin square, then a fourth sequence added (one patient per sequence both times): the
    first three sequences keep their patients, their rater noise and so their scores, byte for byte."""
    mdz = {"drug": "midazolam", "route": "iv", "amount": "0.045 mg/kg", "duration": "40 min", "at": ["0 d"]}
    square = [["k", "s", "m"], ["s", "m", "k"], ["m", "k", "s"]]

    def three(sequences):
        d = copy.deepcopy(BASE)
        d["arm"].append({"name": "m", "dose": [mdz]})
        d["trial"].update(n_per_arm=len(sequences), endpoints={"timepoints": ["1 d"]})
        d["trial"]["crossover"] = {"washout": "1 d", "period": "1 d", "sequences": sequences}
        return run_trial(parse_spec(d))

    before, after = three(square), three([*square, ["k", "m", "s"]])
    assert list(after.arms) == [*before.arms, "k > m > s"]
    for label, arm in before.arms.items():
        assert np.array_equal(arm.scores, after.arms[label].scores)
        assert arm.simulation.cohort.table.equals(after.arms[label].simulation.cohort.table)
