"""Randomised-withdrawal trials (``design = "randomized_withdrawal"``, ``trials/withdrawal.py``).

Oracles, per test: the input grammar (docs/trial-format.md: one line naming the field); a Kaplan-Meier estimate
computed by hand on six patients; R's ``survival`` package (``coxph`` with Efron's ties, ``survdiff``) for the
Cox regression and the log-rank test, skipped when R or the package is missing; the relapse and criterion rules
of docs/trial-format.md applied by hand to made-up scores; conservation of patients in the flow; and the
pharmacological direction (continuing the induction's drug delays relapse against stopping every drug).
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import numpy as np
import pytest

from neuroplast import NeuroplastInputError
from neuroplast.regimen import build_regimen
from neuroplast.trials import analysis, parse_spec, run_trial
from neuroplast.trials.withdrawal import (
    Enrolment,
    kaplan_meier,
    meets_criterion,
    relapse_contrast,
    relapse_times,
)
from neuroplast.trials.withdrawal_spec import WithdrawalSpec, resolve

from .cli_run import invoke
from .spec_edit import edited

KETAMINE = {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min"}
BASE = {
    "trial": {
        "id": "w",
        "population": "trd",
        "design": "randomized_withdrawal",
        "n_per_arm": 12,
        "seed": 3,
        "endpoints": {"timepoints": ["1 d", "14 d"]},
        "withdrawal": {
            "induction": "induction",
            "criterion": "response",
            "randomise_at": "14 d",
            "continuation": ["ketamine_again", "no_drug"],
            "follow_up": "21 d",
            "visits_every": "1 d",
        },
    },
    "arm": [
        {"name": "induction", "dose": [{**KETAMINE, "at": ["0 d", "3 d", "7 d", "10 d"]}]},
        {"name": "ketamine_again", "dose": [{**KETAMINE, "at": ["0 d", "3 d", "7 d", "10 d"]}]},
        {"name": "no_drug"},
    ],
}
W = ("trial", "withdrawal")


def spec_with(path, value):
    return edited(BASE, path, value)


@pytest.mark.parametrize(
    "path, value, field, words",
    [
        (W, KeyError, "trial.withdrawal", "needs a [trial.withdrawal]"),
        (("trial", "design"), "parallel", "trial.withdrawal", "is for design"),
        (W + ("induction",), "inducton", "trial.withdrawal.induction", "no such arm"),
        (W + ("continuation",), ["ketamine_again", "nodrug"], "trial.withdrawal.continuation[1]", "no such arm"),
        (W + ("continuation",), ["ketamine_again"], "trial.withdrawal.continuation", "at least 2"),
        (W + ("criterion",), "cure", "trial.withdrawal.criterion", "Input should be"),
        (W + ("scale",), "BDI", "trial.withdrawal.scale", "unknown scale"),
        (W + ("scale",), "CAPS5", "trial.withdrawal.scale", "does not fit"),
        (W + ("criterion",), "stable_response", "trial.withdrawal.stable_for", "needs stable_for"),
        (W + ("stable_for",), "1 d", "trial.withdrawal.stable_for", "for the stable_* criteria"),
        (W + ("randomise_at",), "7 d", "trial.withdrawal.randomise_at", "after randomisation"),
        (W + ("follow_up",), "21 mg", "trial.withdrawal.follow_up", "wrong unit"),
        (W + ("remission",), 61, "trial.withdrawal.remission", "0 to 60"),
        (W + ("relapse",), {"score_at_least": 22, "after": "5 d"}, "trial.withdrawal.relapse.after", "Extra inputs"),
        (W + ("colour",), "blue", "trial.withdrawal.colour", "Extra inputs"),
    ],
)
def test_bad_withdrawal_input_names_the_field(path, value, field, words):
    """Oracle: the input grammar; each refusal is one line naming the file and the field."""
    with pytest.raises(NeuroplastInputError) as exc:
        parse_spec(spec_with(path, value), file="w.toml")
    line = str(exc.value)
    assert "\n" not in line and line.startswith("w.toml"), line
    assert f"field '{field}'" in line and words in line, line


def test_stable_for_longer_than_randomise_at_is_refused():
    d = spec_with(W + ("criterion",), "stable_remission")
    d["trial"]["withdrawal"]["stable_for"] = "3 week"
    with pytest.raises(NeuroplastInputError, match="field 'trial.withdrawal.stable_for'.*longer than randomise_at"):
        parse_spec(d, file="w.toml")


def test_an_arm_outside_the_design_is_refused():
    d = copy.deepcopy(BASE)
    d["arm"].append({"name": "spare"})
    with pytest.raises(NeuroplastInputError, match=r"field 'arm\[3\]'.*not used"):
        parse_spec(d, file="w.toml")


def test_cli_exits_2_naming_the_field(tmp_path):
    """The CLI's contract for bad input: status 2, one line on stderr naming the field (in-process: the exit status
    a shell sees is tested once for every command in tests/test_cli.py)."""
    text = (
        '[trial]\nid = "w"\npopulation = "trd"\ndesign = "randomized_withdrawal"\n'
        '[trial.endpoints]\ntimepoints = ["1 d"]\n[[arm]]\nname = "a"\n'
    )
    path = tmp_path / "w.toml"
    path.write_text(text)
    r = invoke("trial", path, "--out", tmp_path / "out")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "field 'trial.withdrawal'" in lines[0], r.stderr
    assert not (tmp_path / "out").exists()


# --- the rules, on made-up scores ----------------------------------------------------------------------


def _plan(**withdrawal):
    w = WithdrawalSpec.model_validate({**BASE["trial"]["withdrawal"], **withdrawal})
    regimens = {
        "induction": build_regimen([{**KETAMINE, "at": ["0 d"]}]),
        "ketamine_again": build_regimen([{**KETAMINE, "at": ["0 d"]}]),
        "no_drug": build_regimen([], allow_empty=True),
    }
    return resolve(
        w, design="randomized_withdrawal", regimens=regimens, scale="MADRS", population="trd", response=0.5,
        remission=10.0,
    )  # fmt: skip


def test_criterion_by_hand():
    """Oracle: the criterion applied by hand. Visits daily 0..14 d; baseline 30. Patient 0 remits (<= 12) from
    day 10: stable for 4 d; patient 1 remits only on day 14; patient 2 responds (<= 15) but never remits."""
    plan = _plan(criterion="stable_remission", stable_for="4 d", remission=12)
    ts = plan.visits_h()
    days = ts / 24
    s = np.full((3, ts.size), 30.0)
    s[0, days >= 10] = 12
    s[1, days >= 14] = 11
    s[1, (days >= 10) & (days < 14)] = 20
    s[2, days >= 5] = 15
    assert list(meets_criterion(plan, s, ts)) == [True, False, False]
    assert list(meets_criterion(_plan(criterion="remission", remission=12), s, ts)) == [True, True, False]
    assert list(meets_criterion(_plan(criterion="response"), s, ts)) == [True, True, True]
    stable = _plan(criterion="stable_response", stable_for="4 d")
    assert list(meets_criterion(stable, s, ts)) == [True, False, True]


def test_relapse_times_by_hand():
    """Oracle: the relapse rule applied by hand (score >= 22 confirmed at the first visit >= 5 d later; time =
    the first of the two visits; unconfirmed at leaving or at the end: censored at the last visit observed)."""
    from neuroplast.trials.dropout import Dropout

    plan = _plan(relapse={"score_at_least": 22, "confirmed_after": "5 d"})
    ts = plan.visits_h()
    day = (ts - plan.randomise_h) / 24  # days from randomisation, -14 .. 21
    s = np.full((4, ts.size), 10.0)
    s[0, day == 3] = 25  # a single bad visit, not confirmed at the first visit 5 d later (day 8): no relapse
    s[0, day >= 9] = 23  # bad from day 9 (day 8 is fine), confirmed on day 14: relapse at 9 d
    s[1, day >= 18] = 30  # bad from day 18, confirmation due on day 23 > 21: censored at the end, 21 d
    s[2, day >= 4] = 30  # bad from day 4, but leaves on day 7 (before the confirming visit): censored at 7 d
    left = np.array([np.inf, np.inf, plan.randomise_h + 7 * 24 + 1, np.inf])
    drop = Dropout(left, np.array(["", "", "other", ""], dtype=object), np.zeros(4, bool))
    days, relapsed, censored = relapse_times(plan, s, ts, drop)
    assert list(relapsed) == [True, False, False, False]
    assert list(days) == [9.0, 21.0, 7.0, 21.0]
    assert list(censored) == ["", "end", "dropout", "end"]
    # the default rule: no longer a 50 % improvement from the baseline (30 at time 0), no confirmation
    s0 = np.where(day >= 2, 16.0, 14.0)
    s0[0] = 30.0
    d2, r2, _ = relapse_times(_plan(), s0[None, :], ts, None)
    assert r2[0] and d2[0] == 2.0


# --- Kaplan-Meier, Cox and log-rank ---------------------------------------------------------------------


def test_kaplan_meier_by_hand():
    """Oracle: the product-limit estimate by hand. Times 1, 2, 2+, 3, 4+, 5 (+ censored): S = 5/6 after 1,
    5/6 * 4/5 = 2/3 after 2 (the censored 2 still at risk there), 2/3 * 2/3 = 4/9 after 3, 0 after 5; the median
    is the first time S <= 0.5: 3. Tolerance: round-off only."""
    days = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
    event = np.array([1, 1, 0, 1, 0, 1], bool)
    curve, median = kaplan_meier(days, event)
    got = dict(zip(curve.days, curve.survival))
    want = {0.0: 1.0, 1.0: 5 / 6, 2.0: 2 / 3, 3.0: 4 / 9, 4.0: 4 / 9, 5.0: 0.0}
    assert got.keys() == want.keys()
    for t, v in want.items():
        assert got[t] == pytest.approx(v, abs=1e-12)
    assert median == 3.0


def _enrolment(days, relapsed):
    n = len(days)
    return Enrolment(
        cohort=None, simulation=None, scores=None, dropout=None, enrolled=n, failed=0, left_during_induction=0,
        not_met=0, relapse_days=np.asarray(days, float), relapsed=np.asarray(relapsed, bool),
        censored=np.where(relapsed, "", "end").astype(object),
    )  # type: ignore[arg-type]  # fmt: skip


A_DAYS = [3, 5, 5, 8, 10, 12, 15, 20, 21, 21, 7, 9]
A_EVENT = [1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1]
B_DAYS = [1, 2, 2, 3, 4, 6, 6, 8, 11, 21, 21, 5]
B_EVENT = [1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1]


def _r_survival(a_days, a_event, b_days, b_event) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    code = f"""
suppressMessages(library(survival))
d <- data.frame(time = c({",".join(map(str, a_days + b_days))}),
                status = c({",".join(map(str, a_event + b_event))}),
                first = c({",".join(["1"] * len(a_days) + ["0"] * len(b_days))}))
f <- coxph(Surv(time, status) ~ first, data = d, ties = "efron")
s <- summary(f)
lr <- survdiff(Surv(time, status) ~ first, data = d)
cat(sprintf("%.12g %.12g %.12g %.12g %.12g\\n", s$conf.int[1, 1], s$conf.int[1, 3], s$conf.int[1, 4],
            s$coefficients[1, 5], pchisq(lr$chisq, 1, lower.tail = FALSE)))
"""
    r = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    hr, lo, hi, p, lr = map(float, r.stdout.split())
    return {"hr": hr, "ci95": (lo, hi), "p": p, "logrank": lr}


def test_cox_and_logrank_match_r_survival():
    """Oracle: R's survival::coxph (Efron's ties, Wald CI and p) and survdiff (log-rank). Tolerance 1e-6
    relative: both maximise the same partial likelihood by Newton-Raphson to a tolerance far below that;
    the log-rank statistic is a closed form."""
    want = _r_survival(A_DAYS, A_EVENT, B_DAYS, B_EVENT)
    if want is None:
        pytest.skip("Rscript with the survival package is not available")
    c = relapse_contrast("a", "b", _enrolment(A_DAYS, A_EVENT), _enrolment(B_DAYS, B_EVENT))
    assert c.method == "cox"
    assert c.hazard_ratio == pytest.approx(want["hr"], rel=1e-6)
    assert c.ci95 == pytest.approx(want["ci95"], rel=1e-6)
    assert c.p_value == pytest.approx(want["p"], rel=1e-6)
    assert c.logrank_p_value == pytest.approx(want["logrank"], rel=1e-6)
    back = c.reversed()
    assert back.arms == ("b", "a") and back.hazard_ratio == pytest.approx(1 / c.hazard_ratio)


def test_contrast_without_relapses_or_in_one_arm():
    """No relapse at all: every number None, with a note; none in one arm: the log-rank p only (the hazard ratio
    does not exist), as analysis.cox documents."""
    none = relapse_contrast("a", "b", _enrolment([5, 6], [0, 0]), _enrolment([5, 6], [0, 0]))
    assert none.method == "none" and none.hazard_ratio is None and none.note
    one = relapse_contrast("a", "b", _enrolment([5, 6, 7], [0, 0, 0]), _enrolment([1, 2, 7], [1, 1, 0]))
    assert one.method == "logrank" and one.hazard_ratio is None and one.p_value == one.logrank_p_value
    assert one.p_value == pytest.approx(analysis.cox([5, 6, 7, 1, 2, 7], [0, 0, 0, 1, 1, 0], list("aaabbb"),
                                                     first="a", second="b")["p_value"])  # fmt: skip


# --- a simulated trial ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trial():
    d = copy.deepcopy(BASE)
    d["trial"]["dropout"] = {"after_first_dose": 0.05, "per_week": 0.1}
    return run_trial(parse_spec(d))


def test_flow_adds_up(trial):
    """Oracle: conservation. Every enrolled patient is randomised, failed, left during the induction or did not
    meet the criterion; the randomised are the sum over arms; each randomised patient relapsed or was censored."""
    w = trial.summary.withdrawal
    for name, a in w.arms.items():
        assert a.enrolled == a.met_criterion + a.failed + a.left_during_induction + a.not_met_criterion
        assert a.completed_induction == a.met_criterion + a.not_met_criterion
        assert a.randomised == a.met_criterion == 12 == trial.summary.arms[name].n
        assert a.relapsed + a.censored_dropout + a.censored_end == a.randomised
        assert (trial.patients["arm"] == name).sum() == a.randomised
    f = w.flow
    assert f.enrolled == f.met_criterion + f.failed + f.left_during_induction + f.not_met_criterion
    assert f.met_criterion == sum(f.randomised.values()) == sum(a.randomised for a in w.arms.values())
    assert f.enrolled == sum(a.enrolled for a in w.arms.values())
    assert f.left_during_induction > 0 and f.not_met_criterion > 0  # both paths exercised by this seed
    # the summary is valid JSON with the documented block
    doc = trial.summary.to_json_dict()
    json.dumps(doc)
    assert set(doc["withdrawal"]) >= {"criterion", "flow", "arms", "contrasts"}


def test_continuing_the_drug_delays_relapse(trial):
    """Oracle: pharmacology. Continuing the induction's four infusions after randomisation keeps its responders'
    scores down; with no drug the antidepressant effect wanes, so they lose response sooner: the hazard ratio
    of continuing over stopping is below 1 and the Kaplan-Meier curve of continuing is above at the end."""
    w = trial.summary.withdrawal
    c = w.contrast("ketamine_again", "no_drug")
    assert c.method == "cox", c
    assert c.hazard_ratio < 1
    assert w.arms["ketamine_again"].relapsed < w.arms["no_drug"].relapsed
    assert w.arms["ketamine_again"].km.survival[-1] > w.arms["no_drug"].km.survival[-1]
    assert c.ci95[0] < c.hazard_ratio < c.ci95[1]


def test_an_arm_depends_on_its_stream_only_and_a_pilot_is_the_start(trial):
    """Oracle: the stream design (docs/trial-format.md, randomisation and the seed). The arm ``no_drug`` run alone
    with 10 randomised patients gives exactly the first 10 of the 12 it gets beside ``ketamine_again``: the same
    patients, scores, dropout and relapse times. Same chunk size (24 candidates), so no new compile."""
    d = copy.deepcopy(BASE)
    d["trial"]["dropout"] = {"after_first_dose": 0.05, "per_week": 0.1}
    alone = run_trial(parse_spec(d), n_per_arm=10, only_arms=["no_drug"])
    assert list(alone.arms) == ["no_drug"] and alone.summary.withdrawal.contrasts == []
    full = trial.patients[trial.patients["arm"] == "no_drug"].head(10).reset_index(drop=True)
    small = alone.patients.reset_index(drop=True)
    cols = ["patient", "days_to_relapse_from_randomisation", "relapsed_after_randomisation", "censored_by",
            "score_14 d", "dropout_h"]  # fmt: skip
    assert small[cols].equals(full[cols])
    assert alone.summary.withdrawal.arms["no_drug"].enrolled <= trial.summary.withdrawal.arms["no_drug"].enrolled
