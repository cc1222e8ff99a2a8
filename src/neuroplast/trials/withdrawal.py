"""Randomised-withdrawal (maintenance) trials: induction, randomisation of those who meet the criterion, time
to relapse (``design = "randomized_withdrawal"``; docs/trial-format.md, docs/analysis.md).

**Randomisation.** Each continuation arm draws its patients from its own streams, keyed by the seed and the
arm's name (:func:`~neuroplast.cohort.sample_cohort`), in candidate order. Every candidate enrolled is simulated
once, continuously, on the induction arm's regimen followed from ``randomise_at`` by the continuation arm's; the
candidates who meet the criterion at ``randomise_at`` are that arm's randomised patients, and enrolment stops
at the ``n``-th. This is randomisation by construction: whether a qualifier continues on one arm or another is
independent of everything about the patient, as a randomisation list makes it, and an arm's patients depend
only on the seed and its name (reordering, adding or removing another arm changes nothing in it; ``n``
patients are the first ``n`` of any larger run). The induction phase is therefore simulated once per
continuation arm's stream, and the flow counts (enrolled, completed induction, met the criterion) add up over
the streams. The rater noise and the dropout draws are the arm's own streams', by candidate number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._errors import NeuroplastInputError
from ..cohort import Cohort, Inclusion, dropout_draws, rating_noise, sample_cohort
from ..engine import Engine
from ..engine.base import bucket
from ..instruments import INSTRUMENTS as SCALES
from ..regimen import Regimen
from ..simulation import PopulationModel, Simulation, simulate
from . import analysis
from .design import DropoutSpec
from .dropout import Dropout, adverse_severity, draw_dropout, lack_of_efficacy
from .withdrawal_spec import Withdrawal
from .withdrawal_summary import Flow, KaplanMeier, RelapseContrast, WithdrawalArm, WithdrawalSummary

FEWEST_QUALIFYING = 1.0 / 50.0
CHECK_AFTER = 64
"""Enrolment gives up once :data:`CHECK_AFTER` candidates have been through the induction and fewer than
:data:`FEWEST_QUALIFYING` of them met the criterion (assumption: it bounds the work at about 50 inductions per
randomised patient, and a criterion that admits fewer is more likely a mistake than a design)."""


@dataclasses.dataclass(frozen=True)
class Enrolment:
    """One continuation arm's stream: its randomised patients (the first ``n`` who met the criterion) and the
    counts of its induction phase. ``scores``: the primary scale; ``relapse_days`` (days from randomisation to
    relapse or censoring), ``relapsed``, ``censored`` ("dropout", "end" or "" for a relapse) per randomised
    patient."""

    cohort: Cohort
    simulation: Simulation
    scores: np.ndarray
    dropout: Dropout | None
    enrolled: int
    failed: int
    left_during_induction: int
    not_met: int
    relapse_days: np.ndarray
    relapsed: np.ndarray
    censored: np.ndarray

    def per_patient(self) -> dict[str, np.ndarray]:
        """Columns of ``patients.parquet`` (docs/outputs.md)."""
        return {
            "days_to_relapse_from_randomisation": self.relapse_days,
            "relapsed_after_randomisation": self.relapsed,
            "censored_by": self.censored.astype(str),
        }


def enrol(
    plan: Withdrawal,
    *,
    arm: str,
    regimen: Regimen,
    model: PopulationModel,
    population: str,
    inclusion: Inclusion,
    scale: str,
    n: int,
    seed: int,
    ts: np.ndarray,
    dropout: DropoutSpec | None,
    engine: Engine,
    progress: Callable[[int], None] | None = None,
    open_label: bool = False,
) -> Enrolment:
    """Enrol candidates of ``arm``'s stream in chunks of a fixed size (one compiled batch shape) until ``n`` have
    met the criterion; simulate each on ``regimen`` (induction, then ``arm``) at ``ts``; ``open_label``: the
    patients know they are treated (:meth:`~neuroplast.cohort.Cohort.told`)."""
    chunk = bucket(max(2 * n, 16), 8)
    visits = plan.visits_h()
    v_idx = np.searchsorted(ts, visits)
    parts: list[tuple[np.ndarray, Cohort, Simulation, np.ndarray, np.ndarray, Dropout | None]] = []
    have = start = failed = left = 0
    while have < n:
        if start >= CHECK_AFTER and have < FEWEST_QUALIFYING * start:
            raise NeuroplastInputError(
                f"the criterion admits too few patients of arm '{arm}' after the induction ({have} of {start} "
                f"enrolled, fewer than {FEWEST_QUALIFYING:.0%}; {n} needed)",
                field="trial.withdrawal.criterion",
                value=plan.criterion,
            )
        cohort = sample_cohort(
            model.values, model.cvs, population, chunk, seed=seed, arm=arm, start=start, inclusion=inclusion,
            scale=scale,
        ).told(open_label)  # fmt: skip
        sim = simulate(model, regimen, cohort, saveat=ts, engine=engine, progress=progress)
        z = rating_noise(seed, arm, start + chunk, ts)[start:]
        scores = SCALES[scale].observe(sim.readouts, cohort.table, model.values, z)
        crit = scores
        if plan.scale != scale:  # another instrument at the same visit: its own rater noise (assumption: independent)
            z2 = rating_noise(seed, f"{arm}/{plan.scale}", start + chunk, ts)[start:]
            crit = SCALES[plan.scale].observe(sim.readouts, cohort.table, model.values, z2)
        drop = None
        if dropout is not None:
            drop = draw_dropout(
                dropout,
                dropout_draws(seed, arm, start + chunk)[start:],
                visits_h=visits,
                lack=lack_of_efficacy(scores[:, 0], scores[:, v_idx], plan.response),
                times_h=ts,
                adverse=adverse_severity(sim.readouts),
                first_end_h=min((e.time_h + e.duration_h for e in regimen.events), default=0.0),
                end_h=float(ts[-1]),
            )
        ok = sim.ok
        stayed = np.ones(chunk, bool) if drop is None else drop.left_h >= plan.randomise_h
        met = ok & stayed & meets_criterion(plan, crit, ts)
        take = np.flatnonzero(met)[: n - have]
        # the candidates enrolled: up to the n-th who met the criterion (the rest of the chunk was never enrolled)
        upto = chunk if have + int(met.sum()) < n else int(take[-1]) + 1
        failed += int((~ok[:upto]).sum())
        left += int((ok & ~stayed)[:upto].sum())
        parts.append((take, cohort, sim, scores, crit, drop))
        have += take.size
        start += upto
    cohort, sim, scores, crit, drop = _join(parts)
    days, relapsed, censored = relapse_times(plan, crit, ts, drop)
    return Enrolment(
        cohort=cohort,
        simulation=sim,
        scores=scores,
        dropout=drop,
        enrolled=start,
        failed=failed,
        left_during_induction=left,
        not_met=start - failed - left - n,
        relapse_days=days,
        relapsed=relapsed,
        censored=censored,
    )


def _join(parts):
    """The randomised rows of every chunk, in candidate order, as one cohort, simulation, scores and dropout."""
    idx = [p[0] for p in parts]
    cohort = Cohort(
        parts[0][1].population, pd.concat([p[1].table.iloc[i] for i, p in zip(idx, parts)], ignore_index=True)
    )
    sims = [p[2] for p in parts]
    sim = dataclasses.replace(
        sims[0],
        states=np.concatenate([s.states[i] for s, i in zip(sims, idx)]),
        readouts={
            k: np.concatenate([np.asarray(s.readouts[k])[i] for s, i in zip(sims, idx)]) for k in sims[0].readouts
        },
        status=np.concatenate([s.status[i] for s, i in zip(sims, idx)]),
        cohort=cohort,
    )
    scores = np.concatenate([p[3][i] for i, p in zip(idx, parts)])
    crit = np.concatenate([p[4][i] for i, p in zip(idx, parts)])
    drop = None
    if parts[0][5] is not None:
        drop = Dropout(
            *(
                np.concatenate([getattr(p[5], f)[i] for i, p in zip(idx, parts)])
                for f in ("left_h", "reason", "after_first_dose")
            )
        )
    return cohort, sim, scores, crit, drop


def meets_criterion(plan: Withdrawal, scores: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Whether each patient meets the criterion at randomisation: at the visit at ``randomise_at`` (response,
    remission) or at every rated visit from ``randomise_at - stable_for`` to it (the stable forms); ``scores`` on
    the criterion's scale at ``ts``, the baseline at time 0."""
    visits = plan.visits_h()
    window = visits[(visits >= plan.randomise_h - plan.stable_h - 1e-6) & (visits <= plan.randomise_h + 1e-6)]
    s = scores[:, np.searchsorted(ts, window)]
    base = scores[:, :1]
    if plan.criterion.endswith("remission"):
        hold = s <= plan.remission
    else:
        hold = (s - base) <= -plan.response * base
    return np.asarray(hold.all(axis=1))


def relapse_times(plan: Withdrawal, scores: np.ndarray, ts: np.ndarray, drop: Dropout | None):
    """Days from randomisation to relapse, or to censoring at the last visit observed (after leaving, or at the
    end of follow-up); whether relapsed; the censoring reason ("dropout", "end"; "" for a relapse).

    A relapse is a visit after randomisation at which the rule holds (a score at or above ``relapse_score``, or
    no longer the response criterion) and, with ``confirm_h``, holds again at the first visit at least
    ``confirm_h`` later; its time is the first of the two visits. A relapse not yet confirmed when the patient
    leaves or the follow-up ends is censored at the patient's last visit observed."""
    visits = plan.visits_h()
    after = visits[(visits > plan.randomise_h + 1e-6) & (visits <= plan.end_h + 1e-6)]
    s = scores[:, np.searchsorted(ts, after)]
    base = scores[:, :1]
    if plan.relapse_score is not None:
        bad = s >= plan.relapse_score
    else:
        bad = (s - base) > -plan.response * base
    n = scores.shape[0]
    seen = np.ones_like(bad) if drop is None else drop.observed(after)
    days = np.zeros(n)
    relapsed = np.zeros(n, bool)
    censored = np.full(n, "end", dtype=object)
    for p in range(n):
        last = plan.randomise_h
        for k in range(after.size):
            if not seen[p, k]:
                censored[p] = "dropout"
                break
            last = after[k]
            if not bad[p, k]:
                continue
            if plan.confirm_h <= 0:
                relapsed[p] = True
                break
            m = int(np.searchsorted(after, after[k] + plan.confirm_h - 1e-6))
            if m < after.size and seen[p, m] and bad[p, m]:
                relapsed[p] = True
                break
        if relapsed[p]:
            days[p] = (last - plan.randomise_h) / 24.0
            censored[p] = ""
        else:
            days[p] = (last - plan.randomise_h) / 24.0
    return days, relapsed, censored


def kaplan_meier(days: np.ndarray, relapsed: np.ndarray) -> tuple[KaplanMeier, float | None]:
    """The Kaplan-Meier curve (lifelines) of one arm and its median (``None`` when not reached or no patient)."""
    from lifelines import KaplanMeierFitter

    if days.size == 0:
        return KaplanMeier(days=[0.0], survival=[1.0]), None
    km = KaplanMeierFitter().fit(days, event_observed=relapsed)
    curve = KaplanMeier(
        days=[float(x) for x in km.survival_function_.index],
        survival=[float(x) for x in km.survival_function_.iloc[:, 0]],
    )
    med = km.median_survival_time_
    return curve, (float(med) if np.isfinite(med) else None)


def relapse_contrast(first: str, second: str, a: Enrolment, b: Enrolment) -> RelapseContrast:
    """Cox regression (:func:`.analysis.cox`) and the log-rank test (lifelines) of ``first`` against ``second``."""
    from lifelines.statistics import logrank_test

    n = (int(a.relapse_days.size), int(b.relapse_days.size))
    ev = (int(a.relapsed.sum()), int(b.relapsed.sum()))
    empty: dict[str, Any] = {"hazard_ratio": None, "ci95": None, "p_value": None, "logrank_p_value": None}
    if min(n) == 0 or sum(ev) == 0:
        note = "an arm has no randomised patient" if min(n) == 0 else "no relapse in either arm"
        return RelapseContrast(arms=(first, second), method="none", **empty, n_analysed=n, events=ev, note=note)
    lr = float(logrank_test(a.relapse_days, b.relapse_days, a.relapsed, b.relapsed).p_value)
    arm = np.array([first] * n[0] + [second] * n[1], dtype=object)
    try:
        r = analysis.cox(
            np.concatenate([a.relapse_days, b.relapse_days]),
            np.concatenate([a.relapsed, b.relapsed]),
            arm,
            first=first,
            second=second,
        )
    except (ValueError, ArithmeticError) as exc:  # lifelines' convergence errors derive from these
        return RelapseContrast(
            arms=(first, second), method="none", **{**empty, "logrank_p_value": lr}, n_analysed=n, events=ev,
            note=f"Cox regression not estimable: {exc}",
        )  # fmt: skip
    ci = None if r["ci95"] is None else (float(r["ci95"][0]), float(r["ci95"][1]))
    return RelapseContrast(
        arms=(first, second),
        method=r["method"],
        hazard_ratio=r["hazard_ratio"],
        ci95=ci,
        p_value=r["p_value"],
        logrank_p_value=lr,
        n_analysed=n,
        events=ev,
        **({"note": "an arm has no relapse: the hazard ratio does not exist"} if r["method"] == "logrank" else {}),
    )


def summarise(plan: Withdrawal, enrolled: dict[str, Enrolment]) -> WithdrawalSummary:
    """The ``withdrawal`` block of ``summary.json`` from each continuation arm's enrolment (spec order)."""
    arms = {}
    for name, e in enrolled.items():
        curve, median = kaplan_meier(e.relapse_days, e.relapsed)
        n = int(e.relapse_days.size)
        arms[name] = WithdrawalArm(
            enrolled=e.enrolled,
            failed=e.failed,
            left_during_induction=e.left_during_induction,
            completed_induction=e.enrolled - e.failed - e.left_during_induction,
            met_criterion=n,
            not_met_criterion=e.not_met,
            randomised=n,
            relapsed=int(e.relapsed.sum()),
            censored_dropout=int((e.censored == "dropout").sum()),
            censored_end=int((e.censored == "end").sum()),
            median_days_to_relapse=median,
            km=curve,
        )
    keys = ("enrolled", "failed", "left_during_induction", "completed_induction", "met_criterion", "not_met_criterion")
    flow = Flow(
        **{k: sum(getattr(a, k) for a in arms.values()) for k in keys},
        randomised={k: a.randomised for k, a in arms.items()},
    )
    names = list(enrolled)
    contrasts = [
        relapse_contrast(names[i], names[j], enrolled[names[i]], enrolled[names[j]])
        for i in range(len(names))
        for j in range(i + 1, len(names))
    ]
    if plan.relapse_score is None:
        rule = f"no longer a {plan.response:.0%} improvement from baseline"
    else:
        rule = f"{plan.scale} score >= {plan.relapse_score:g}"
    if plan.confirm_h > 0:
        rule += f", confirmed at the first visit at least {plan.confirm_h / 24:g} d later"
    return WithdrawalSummary(
        induction=plan.induction,
        criterion=plan.criterion,
        scale=plan.scale,
        response=plan.response,
        remission=plan.remission,
        stable_for_h=plan.stable_h,
        randomise_at_h=plan.randomise_h,
        follow_up_h=plan.follow_up_h,
        visits_every_h=plan.every_h,
        relapse=rule,
        flow=flow,
        arms=arms,
        contrasts=contrasts,
    )


__all__ = ["Enrolment", "enrol", "kaplan_meier", "meets_criterion", "relapse_contrast", "relapse_times", "summarise"]
