"""The trial summary (``summary.json``) as typed models: what :func:`~neuroplast.trials.run_trial` returns
as ``result.summary`` and what ``neuroplast trial`` writes.

Layout of the document (every key below, nothing else)::

    {"trial", "scale", "seed", "neuroplast_version", "analysis", "dropout", "design"?, "blinding"?, "crossover"?,
     "withdrawal"?,
     "arms": {<arm name>: {"n", "n_failed", "n_dropped", "n_dropped_after_first_dose", "dropped_reasons",
                           "n_analysed", "baseline", "timepoints": [...], "relapse", "safety", "brain"}},
     "contrasts": [{"arms", "time", "mean_difference", "ci95", "odds_ratio_response", "cohens_d", "method",
                    "data", "p_value", "n_analysed", "response", "remission", "note"?}, ...]}

Conventions that hold throughout:

* Scores are points of the trial's primary rating scale (``scale``), as observed (true score plus rater
  noise, rounded, within the scale's range); a change is the score at a visit minus the baseline score,
  so an improvement is negative.
* Times are hours from each arm's first dose or session (``time_h``), with the spec's label (``time``).
* Means, rates and shares are over the patients whose solve succeeded (``n``); failed patients are
  counted in ``n_failed`` and never averaged. Rates and shares are fractions from 0 to 1. In a trial with
  dropout (``[trial.dropout]``) the scores, rates and relapse at a visit are over the patients observed there
  (``n_observed``); safety and the brain read-outs describe every simulated patient, who is simulated on the
  assigned treatment to the end whether observed or not.
* Contrasts compare the first arm named with the second: ``mean_difference`` is first minus second (in
  change from baseline); ``cohens_d`` is positive when the first arm improved more; ``odds_ratio_response``
  is the odds of response in the first arm over the second. Each says the analysis that gave it
  (``method``, ``data``: docs/analysis.md).
* Keys added after the first ``summary.json`` files were written have defaults, so older files still parse.
* A number that cannot be computed because no patient of the arm finished is NaN here and ``null`` in the
  JSON (type :data:`Mean`); a number that is undefined for a reason of its own (median not reached, no
  follow-up) is ``None`` / ``null``. A key marked *optional* is absent from the JSON when it does not
  apply, exactly as it is absent from the model's set fields (``exclude_unset``).

The JSON form is :meth:`TrialSummary.to_json_dict`; :func:`neuroplast.io.write_json` writes the same.
A ``summary.json`` read back validates into the same model: ``TrialSummary.model_validate(json.load(f))``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import pydantic

from .withdrawal_summary import WithdrawalSummary


def _nan_if_none(x: Any) -> Any:
    return math.nan if x is None else x


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


Mean = Annotated[
    float,
    pydantic.BeforeValidator(_nan_if_none),
    pydantic.PlainSerializer(_finite_or_none, return_type=float | None, when_used="json"),
]
"""A float that is NaN when no patient of the arm finished (``null`` in the JSON, read back as NaN)."""


class _Document(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document: plain lists, dicts, numbers, strings; NaN as ``None``; optional keys that were
        never set left out (the same dict :func:`neuroplast.io.write_json` writes)."""
        return self.model_dump(mode="json", exclude_unset=True)


class Baseline(_Document):
    """The observed baseline score (points of the trial's scale) over the arm's finished patients."""

    mean: Mean
    sd: Mean
    """Sample standard deviation (ddof 1); 0 with fewer than two finished patients."""


class TimepointSummary(_Document):
    """One visit of one arm: scores, response and remission, and the slow read-outs (arm means).

    ``mean_score``, ``mean_change`` and ``sd_change`` (ddof 1; 0 with one patient) are points of the scale;
    ``response_rate`` is the fraction whose change is at most ``-response`` times their baseline (the spec's
    ``endpoints.response``, default 0.5); ``remission_rate`` the fraction scoring at most the remission
    threshold. The three brain keys are *optional* (absent when no patient of the arm finished):
    ``hippocampal_volume_pct`` (percent of the healthy volume), ``plasticity_window`` (learning-rate
    multiplier, 1 = the depressed baseline) and ``learning`` (fraction of the negative state unlearned).
    """

    time: str
    time_h: float
    mean_score: Mean
    mean_change: Mean
    sd_change: Mean
    response_rate: Mean
    remission_rate: Mean
    hippocampal_volume_pct: float | None = None
    plasticity_window: float | None = None
    learning: float | None = None
    n_observed: int | None = None
    """Patients observed (rated) at this visit: ``n`` less those who left before it; the scores and rates above
    are over them. ``None`` in files written before dropout was simulated."""
    contributions: dict[str, Mean] | None = None
    """*Optional* (trials on a depression scale): ``mean_change`` split into its routes, points of the scale over
    the same patients — ``plasticity``, ``expectancy``, ``learning``, ``natural_course``, ``ssri_direct`` and
    ``rating`` (rater noise, rounding, the scale's range), summing to ``mean_change`` (rule:
    :mod:`neuroplast.trials.contributions`)."""


class RelapseSummary(_Document):
    """Durability after the last dose, from daily visits during the spec's ``follow_up``.

    Responders are patients meeting the response criterion 24 h after the last dose;
    ``responders_at_last_dose`` is their fraction of the finished patients; relapse is the first daily
    visit no longer meeting it. ``median_days_to_relapse`` (days after the last dose) is the Kaplan-Meier
    median, censored at the end of follow-up, ``None`` when not reached. Without a follow-up of at least
    2 days the first two are ``None`` and the *optional* ``relapsed_fraction_of_responders`` (fraction of the
    responders who relapsed; ``None`` when there were none) is absent.
    """

    responders_at_last_dose: float | None
    median_days_to_relapse: float | None
    relapsed_fraction_of_responders: float | None = None


class SafetySummary(_Document):
    """Acute safety over the whole run, arm means of each patient's value (``patients.parquet`` has them
    per patient).

    Peaks: ``cadss_peak_mean`` (CADSS points), ``sbp_peak_mean`` and ``dbp_peak_mean`` (mmHg),
    ``heart_rate_peak_mean`` (beats/min), ``sedation_peak_mean`` (probability, 0-1).
    ``*_largest_mean_rise``: the largest rise of the arm's mean curve over its value at time 0 (same units).
    Shares (fractions 0-1) of patients: ``share_sbp_above_160`` / ``_180`` (systolic above 160 / 180 mmHg at
    any saved time), ``share_sbp_rise_40`` / ``share_dbp_rise_25`` (the esketamine label's rises, mmHg, as cuff
    readings at the monitored sessions measure them: ``trials.bp_readings``; 0 for an arm with no session),
    ``share_cadss_above_4`` (CADSS above 4). ``minutes_sbp_above_160_mean``: minutes above 160 mmHg.
    ``discharge_h_median`` / ``_p90``: hours from the first clinic dose until the discharge criteria hold
    (``trials.run.DISCHARGE``), ``None`` when no patient qualifies in the grid or the arm has no clinic dose.
    *Optional* YMRS keys (bipolar depression cohorts only; see :mod:`neuroplast.conditions.safety`):
    ``ymrs_peak_mean``, ``ymrs_largest_mean_rise`` (YMRS points), ``share_ymrs_above_12``,
    ``share_mania_switch`` (fractions); ``None`` when no patient finished.
    """

    cadss_peak_mean: Mean
    sbp_peak_mean: Mean
    sbp_largest_mean_rise: Mean
    sedation_peak_mean: Mean
    share_sbp_above_160: Mean
    share_sbp_above_180: Mean
    dbp_peak_mean: Mean
    dbp_largest_mean_rise: Mean
    heart_rate_peak_mean: Mean
    heart_rate_largest_mean_rise: Mean
    share_sbp_rise_40: Mean
    share_dbp_rise_25: Mean
    share_cadss_above_4: Mean
    minutes_sbp_above_160_mean: Mean
    discharge_h_median: float | None
    discharge_h_p90: float | None
    ymrs_peak_mean: float | None = None
    ymrs_largest_mean_rise: float | None = None
    share_ymrs_above_12: float | None = None
    share_mania_switch: float | None = None


class BrainSummary(_Document):
    """Slow scales over the run, arm means; every key *optional* (the block is empty when no patient
    finished). Hippocampal volume: percent of the healthy volume at time 0 (``_start``) and its change in
    percentage points to the end; neurogenesis: new neurons per day (one hippocampus) at the start and the
    end; ``plasticity_window_peak``: each patient's highest learning-rate multiplier (1 = the depressed
    baseline); ``learning_end``: the fraction of the negative state unlearned at the end."""

    hippocampal_volume_pct_start: float | None = None
    hippocampal_volume_change_pct: float | None = None
    neurogenesis_per_day_start: float | None = None
    neurogenesis_per_day_end: float | None = None
    plasticity_window_peak: float | None = None
    learning_end: float | None = None


class ArmSummary(_Document):
    """One arm: patient counts, baseline, one entry per spec timepoint (in spec order), relapse, safety,
    slow scales. ``n`` patients finished, ``n_failed`` did not (solver failure; see ``patients.parquet``).

    Of the ``n``, ``n_dropped`` left the trial (``n_dropped_after_first_dose`` of them right after the first
    dose), counted by reason in ``dropped_reasons`` (``adverse event``, ``lack of efficacy``, ``other``; empty
    without ``[trial.dropout]``); ``n_analysed`` patients enter the arm's primary analysis at the last
    timepoint (``summary.analysis``: docs/analysis.md).
    """

    n: int
    n_failed: int
    n_dropped: int = 0
    n_dropped_after_first_dose: int = 0
    dropped_reasons: dict[str, int] = {}
    n_analysed: int | None = None
    baseline: Baseline
    timepoints: list[TimepointSummary]
    relapse: RelapseSummary
    safety: SafetySummary
    brain: BrainSummary

    def at(self, time: str) -> TimepointSummary:
        """The visit labelled ``time`` (a label of the spec's ``endpoints.timepoints``)."""
        for tp in self.timepoints:
            if tp.time == time:
                return tp
        raise KeyError(f"no timepoint {time!r}; timepoints: {', '.join(tp.time for tp in self.timepoints)}")


class BinaryContrast(_Document):
    """Response or remission, first arm against the second, by logistic regression on the arm
    (``trials.analysis.logistic``, no covariate): ``odds_ratio`` of the first arm over the second with its Wald
    ``ci95`` and two-sided ``p_value``; ``method`` ``logistic``, or ``haldane`` when an arm has no or only
    responders (0.5 added to every cell)."""

    odds_ratio: Mean
    ci95: tuple[Mean, Mean]
    p_value: Mean
    method: str

    def reversed(self) -> BinaryContrast:
        lo, hi = self.ci95
        return BinaryContrast(odds_ratio=1.0 / self.odds_ratio, ci95=(1.0 / hi, 1.0 / lo), p_value=self.p_value,
                              method=self.method)  # fmt: skip


class Contrast(_Document):
    """The first arm of ``arms`` against the second at one visit, on change from baseline.

    ``mean_difference``: first minus second (points of the scale; negative when the first arm improved
    more), with ``ci95``, its 95 % confidence interval (low, high), and the two-sided ``p_value``, all from the
    analysis named by ``method`` (``welch``: Welch's t-test on the change; ``ancova``: ANCOVA on baseline;
    ``mmrm``: the mixed model for repeated measures) on the data set ``data`` (``observed``: the patients
    observed at the visit, every patient without dropout; ``locf``; ``completers``); docs/analysis.md.
    ``n_analysed``: the patients of each arm in that analysis. ``odds_ratio_response``: odds of response in the
    first arm over the second on the same data (Haldane-Anscombe correction when a cell is empty), with
    ``response`` and ``remission`` from logistic regression (:class:`BinaryContrast`). ``cohens_d``: the
    observed changes' difference of means over their pooled SD, positive when the first arm improved more.
    *Optional* ``note``: why an analysis could not be estimated (its numbers are then NaN / ``null``).
    """

    arms: tuple[str, str]
    time: str
    mean_difference: Mean
    ci95: tuple[Mean, Mean]
    odds_ratio_response: Mean
    cohens_d: Mean
    method: str = "welch"
    data: str = "observed"
    p_value: Mean = math.nan
    n_analysed: tuple[int, int] | None = None
    response: BinaryContrast | None = None
    remission: BinaryContrast | None = None
    note: str | None = None

    def reversed(self) -> Contrast:
        """The same comparison read the other way round (second arm against the first)."""
        lo, hi = self.ci95
        fields: dict[str, Any] = {
            "arms": (self.arms[1], self.arms[0]),
            "time": self.time,
            "mean_difference": -self.mean_difference,
            "ci95": (-hi, -lo),
            "odds_ratio_response": 1.0 / self.odds_ratio_response,
            "cohens_d": -self.cohens_d,
            "method": self.method,
            "data": self.data,
            "p_value": self.p_value,
            "n_analysed": None if self.n_analysed is None else (self.n_analysed[1], self.n_analysed[0]),
            "response": None if self.response is None else self.response.reversed(),
            "remission": None if self.remission is None else self.remission.reversed(),
            "note": self.note,
        }
        return Contrast(**{k: v for k, v in fields.items() if k in self.model_fields_set or k in _REQUIRED})


_REQUIRED = {"arms", "time", "mean_difference", "ci95", "odds_ratio_response", "cohens_d"}


class DropoutSummary(_Document):
    """The trial's ``[trial.dropout]`` as run: probabilities (0-1) and the informative weight (0-1)."""

    after_first_dose: float
    per_week: float
    informative: float


class CrossoverVisit(_Document):
    """One timepoint of one period of one sequence (h from the period's first dose)."""

    time: str
    time_h: float
    n_observed: int
    mean_score: Mean
    mean_change: Mean


class CrossoverCell(_Document):
    """One period of one sequence: the ``arm`` given, ``start_h`` (h from the trial's first dose), ``n_started``
    patients observed at its start (finished, not yet left), the mean period baseline ``baseline_mean`` and,
    per spec timepoint (counted from the period's first dose), ``n_observed``, ``mean_score`` and
    ``mean_change`` (from the period baseline); NaN / ``null`` when nobody was observed."""

    period: int
    arm: str
    start_h: float
    n_started: int
    baseline_mean: Mean
    timepoints: list[CrossoverVisit]


class CrossoverSequence(_Document):
    """One sequence: its ``arms`` in period order, ``n`` patients who finished, ``n_failed``, and its periods."""

    arms: list[str]
    n: int
    n_failed: int
    periods: list[CrossoverCell]


class CrossoverSummary(_Document):
    """A crossover's design as run (docs/trial-format.md): ``washout`` and ``period`` as written with their hours,
    the ``baseline`` every change is measured from (``"period"``: the score at the period's first dose), and the
    ``sequences`` with their per-period means (the cell means of the crossover)."""

    washout: str
    washout_h: float
    period: str
    period_h: float
    baseline: str = "period"
    sequences: list[CrossoverSequence]


class TrialSummary(_Document):
    """A whole trial: its id, primary scale, seed, the package version that ran it, every arm (in spec
    order) and a contrast for every pair of arms (in spec order, first against later) at every timepoint
    where both arms have at least two patients analysed. ``analysis``: the ``[trial.analysis]`` method used
    (``observed``: Welch's t-test, the default without dropout; ``crossover_mixed`` in a crossover);
    ``dropout``: the dropout model, ``None`` when nobody leaves. *Optional*: ``design`` (``"crossover"`` or
    ``"randomized_withdrawal"``; absent for a parallel trial); ``blinding`` (``"open"`` or ``"single"``; absent for
    a double-blind trial); in a crossover ``crossover``
    (:class:`CrossoverSummary`), where each arm's entry pools the periods on that arm; in a randomised withdrawal
    ``withdrawal`` (:class:`~.withdrawal_summary.WithdrawalSummary`). See the module docstring for the conventions."""

    trial: str
    scale: str
    seed: int
    neuroplast_version: str
    analysis: str = "observed"
    dropout: DropoutSummary | None = None
    design: str = "parallel"
    blinding: str = "double"
    crossover: CrossoverSummary | None = None
    arms: dict[str, ArmSummary]
    contrasts: list[Contrast]
    withdrawal: WithdrawalSummary | None = None

    def contrast(self, first: str, second: str, time: str) -> Contrast:
        """``first`` against ``second`` at ``time``; a pair stored the other way round is :meth:`Contrast.reversed`."""
        for c in self.contrasts:
            if c.time != time:
                continue
            if c.arms == (first, second):
                return c
            if c.arms == (second, first):
                return c.reversed()
        raise KeyError(f"no contrast {first!r} vs {second!r} at {time!r}")


__all__ = [
    "ArmSummary",
    "Baseline",
    "BinaryContrast",
    "BrainSummary",
    "Contrast",
    "CrossoverCell",
    "CrossoverSequence",
    "CrossoverSummary",
    "CrossoverVisit",
    "DropoutSummary",
    "Mean",
    "RelapseSummary",
    "SafetySummary",
    "TimepointSummary",
    "TrialSummary",
]
