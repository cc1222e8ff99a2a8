"""Calibration endpoints: published numbers from ``clinical_calibration.yaml`` as data.

Each :class:`Target` is one verified number with its uncertainty, the simulated trial it is
compared with and how it is used: ``fit`` (the calibration objective) or ``holdout``
(reported by ``neuroplast validate`` but never fitted). Each study's use is registered in ``roles.yaml``
with the commit that set it. :data:`POOLED` records what each pooled analysis pools, for the rule that
tells held-out rows from consistency checks (``calibration/consistency.py``). Unverified entries of the
table (zarate2006 outcomes, shiroma2020, loo2023_kads) are not used.

``se`` is derived from the published spread: a 95% CI gives (hi - lo)/3.92 (on the log scale
for ratios); an SD gives SD/sqrt(n); a rate gives the binomial sqrt(p(1-p)/n). A single trial's target also
carries the between-study SD ``tau`` (``evidence.heterogeneity``); its z-score is on ``sqrt(se^2 + tau^2)``.
"""

from __future__ import annotations

import dataclasses
import math

from .heterogeneity import between_study_sd


@dataclasses.dataclass(frozen=True)
class Target:
    study: str
    trial: str  # "single" | "repeated": the calibration trial simulated for it
    arm: str  # arm name, or "a vs b" for a contrast
    time: str | None  # timepoint label of the calibration trial
    metric: str
    value: float
    se: float
    lo: float | None = None
    hi: float | None = None
    use: str = "fit"
    log: bool = False  # compare on the log scale (odds/risk ratios)
    note: str = ""
    stage: str = "ketamine"  # "ketamine" (hours-weeks, calibration stage 2) | "slow" (weeks-months, stage 3)
    tau: float = 0.0  # between-study SD (a single trial's target; evidence.heterogeneity), on the compared scale

    @property
    def sd(self) -> float:
        """What the simulated value is compared on: the study's own error and the between-study SD,
        ``sqrt(se^2 + tau^2)``, as a random-effects meta-analysis weighs a study."""
        return math.hypot(self.se, self.tau)

    @property
    def time_h(self) -> float | None:
        from .._units import parse_quantity

        return None if self.time is None else parse_quantity(self.time, "time", field="target.time")

    def z(self, simulated: float | None) -> float:
        if simulated is None or not math.isfinite(simulated):
            return 10.0  # a missing endpoint (e.g. nobody relapsed) counts as far off
        if self.log:
            return (math.log(max(simulated, 1e-6)) - math.log(self.value)) / self.sd
        return (simulated - self.value) / self.sd

    def ci_holds(self, simulated) -> bool | None:
        if self.lo is None or self.hi is None or simulated is None:
            return None
        return bool(self.lo <= simulated <= self.hi)


def _rate(p: float, n: float) -> float:
    return math.sqrt(p * (1 - p) / n)


def _ci(lo: float, hi: float, log: bool = False) -> float:
    return (math.log(hi) - math.log(lo)) / 3.92 if log else (hi - lo) / 3.92


def _rate_ci(p: float, n: float) -> tuple[float, float]:
    s = _rate(p, n)
    return max(0.0, p - 1.96 * s), min(1.0, p + 1.96 * s)


TARGETS: tuple[Target, ...] = (
    # murrough2013_ajp: ketamine 0.5 mg/kg vs midazolam 0.045 mg/kg, n ~ 47 vs 25, MADRS.
    Target(
        "murrough2013_ajp",
        "single",
        "ketamine vs midazolam",
        "1 d",
        "mean_difference",
        -7.95,
        _ci(-12.71, -3.20),
        -12.71,
        -3.20,
        note="adjusted MADRS difference",
    ),
    Target(
        "murrough2013_ajp",
        "single",
        "ketamine vs midazolam",
        "1 d",
        "odds_ratio_response",
        2.18,
        _ci(1.21, 4.14, True),
        1.21,
        4.14,
        log=True,
    ),
    Target(
        "murrough2013_ajp", "single", "ketamine", "1 d", "response_rate", 0.64, _rate(0.64, 47), *_rate_ci(0.64, 47)
    ),
    Target(
        "murrough2013_ajp", "single", "midazolam", "1 d", "response_rate", 0.28, _rate(0.28, 25), *_rate_ci(0.28, 25)
    ),
    Target(
        "murrough2013_ajp",
        "single",
        "ketamine",
        "1 d",
        "mean_change",
        -16.5,
        16.5 / 10.31,
        -16.5 - 1.96 * 16.5 / 10.31,
        -16.5 + 1.96 * 16.5 / 10.31,
        note="APA abstract; se from t(46) = -10.31",
    ),
    Target(
        "murrough2013_ajp",
        "single",
        "midazolam",
        "1 d",
        "mean_change",
        -8.8,
        8.8 / 4.63,
        -8.8 - 1.96 * 8.8 / 4.63,
        -8.8 + 1.96 * 8.8 / 4.63,
        note="APA abstract; se from t(24) = -4.63",
    ),
    # kishimoto2016_meta: Hedges g -1.0 (ketamine lower) vs placebo at day 1; mostly saline-controlled.
    # han2016_meta: pooled ketamine arm, 9 RCTs, 368 patients (about 184 on ketamine).
    *[
        Target(
            "han2016_meta",
            "single",
            "ketamine",
            t,
            m,
            v,
            _rate(v, 184),
            *_rate_ci(v, 184),
            note="pooled ketamine arm, n ~ 184",
        )
        for t, m, v in (
            ("1 d", "response_rate", 0.522),
            ("3 d", "response_rate", 0.479),
            ("7 d", "response_rate", 0.398),
            ("1 d", "remission_rate", 0.206),
            ("3 d", "remission_rate", 0.238),
            ("7 d", "remission_rate", 0.262),
        )
    ],
    # wilkinson2019_midazolam_vs_saline: patient-level data of 9 trials, day-1 effect sizes.
    Target(
        "wilkinson2019_midazolam_vs_saline",
        "single",
        "ketamine vs midazolam",
        "1 d",
        "cohens_d",
        0.7,
        _ci(0.4, 0.9),
        0.4,
        0.9,
    ),
    Target(
        "wilkinson2019_midazolam_vs_saline",
        "single",
        "ketamine vs saline",
        "1 d",
        "cohens_d",
        1.8,
        _ci(1.4, 2.2),
        1.4,
        2.2,
    ),
    # murrough2013_biolpsych: 24 TRD, six infusions over 12 days, follow-up to 83 days.
    Target(
        "murrough2013_biolpsych",
        "repeated",
        "ketamine",
        "2 h",
        "mean_change",
        -18.9,
        6.6 / math.sqrt(24),
        -18.9 - 1.96 * 6.6 / math.sqrt(24),
        -18.9 + 1.96 * 6.6 / math.sqrt(24),
        note="2 h after the first infusion",
    ),
    Target(
        "murrough2013_biolpsych",
        "repeated",
        "ketamine",
        "12 d",
        "response_rate",
        0.708,
        _rate(0.708, 24),
        *_rate_ci(0.708, 24),
        note="end of the six infusions",
    ),
    Target(
        "murrough2013_biolpsych",
        "repeated",
        "ketamine",
        None,
        "median_days_to_relapse",
        18.0,
        5.0,
        note="no spread published; se 5 d is an assumption",
    ),
    # aanhetrot2010: 10 prior single-dose responders continued if >= 50% better on day 2 (enriched).
    Target(
        "aanhetrot2010",
        "repeated",
        "ketamine (enriched)",
        "12 d",
        "response_rate",
        0.9,
        _rate(0.9, 10),
        *_rate_ci(0.9, 10),
        note="simulated among patients responding 24 h after the first infusion",
    ),
    Target(
        "aanhetrot2010",
        "repeated",
        "ketamine (enriched)",
        "12 d",
        "mean_pct_change",
        -85.0,
        12.0 / math.sqrt(10),
        -85.0 - 1.96 * 12 / math.sqrt(10),
        -85.0 + 1.96 * 12 / math.sqrt(10),
        note="after the 6th infusion; SD 12%",
    ),
    Target(
        "aanhetrot2010",
        "repeated",
        "ketamine (enriched)",
        None,
        "relapsed_fraction",
        8 / 9,
        _rate(8 / 9, 9),
        *_rate_ci(8 / 9, 9),
    ),
    Target(
        "aanhetrot2010",
        "repeated",
        "ketamine (enriched)",
        None,
        "mean_days_to_relapse",
        19.0,
        39.0 / 4 / math.sqrt(8),
        6.0,
        45.0,
        note="range 6-45 d; se from range/4 over sqrt(8) relapsers; 'lo/hi' is the range",
    ),
    # Blood pressure: largest mean systolic rise during 0.5 mg/kg over 40 min.
    Target(
        "rivaposse2018_bp",
        "single",
        "ketamine",
        None,
        "sbp_largest_mean_rise",
        3.28,
        10.0 / math.sqrt(66),
        note="no spread published; se from an assumed SD of 10 mmHg over 66 patients",
    ),
    Target(
        "cardiovascular741_bp",
        "single",
        "ketamine",
        None,
        "sbp_largest_mean_rise",
        7.4,
        10.0 / math.sqrt(135),
        note="no spread published; se from an assumed SD of 10 mmHg over 135 patients",
    ),
    # Diastolic BP and pulse in the same cohorts (closed-form slopes, like systolic).
    Target(
        "rivaposse2018_bp",
        "single",
        "ketamine",
        None,
        "dbp_largest_mean_rise",
        3.17,
        8.0 / math.sqrt(66),
        note="no spread published; se from an assumed SD of 8 mmHg over 66 patients",
    ),
    Target(
        "cardiovascular741_bp",
        "single",
        "ketamine",
        None,
        "dbp_largest_mean_rise",
        6.0,
        8.0 / math.sqrt(135),
        note="no spread published; se from an assumed SD of 8 mmHg over 135 patients",
    ),
    Target(
        "cardiovascular741_bp",
        "single",
        "ketamine",
        None,
        "heart_rate_largest_mean_rise",
        1.9,
        8.0 / math.sqrt(135),
        note="no spread published; se from an assumed SD of 8 beats/min over 135 patients",
    ),
    # The spread of change, a target beside the means (so that an effect size is never met through too small an SD).
    # murrough2013_ajp: the within-arm t of the mean change gives SD = |mean| / t x sqrt(n), n = df + 1. daly2018: the
    # SE of an arm's LS mean change gives SD = SE x sqrt(n) (Cochrane Handbook 6.5.2.2), at day 1, the primary visit of
    # both. The se of an SD from n patients is SD / sqrt(2 (n - 1)) (normal data).
    *[
        Target(
            study,
            trial,
            arm,
            "1 d",
            "sd_change",
            sd,
            sd / math.sqrt(2 * (n - 1)),
            sd - 1.96 * sd / math.sqrt(2 * (n - 1)),
            sd + 1.96 * sd / math.sqrt(2 * (n - 1)),
            note=note,
        )
        for study, trial, arm, sd, n, note in (
            ("murrough2013_ajp", "single", "ketamine", 16.5 / 10.31 * math.sqrt(47), 47, "SD from t(46) = -10.31"),
            ("murrough2013_ajp", "single", "midazolam", 8.8 / 4.63 * math.sqrt(25), 25, "SD from t(24) = -4.63"),
            ("daly2018_synapse", "esketamine", "placebo", 1.79 * math.sqrt(33), 33, "SD from SE 1.79, n 33"),
            ("daly2018_synapse", "esketamine", "esketamine 28 mg", 2.80 * math.sqrt(11), 11, "SD from SE 2.80, n 11"),
            ("daly2018_synapse", "esketamine", "esketamine 56 mg", 2.74 * math.sqrt(11), 11, "SD from SE 2.74, n 11"),
            ("daly2018_synapse", "esketamine", "esketamine 84 mg", 2.64 * math.sqrt(12), 12, "SD from SE 2.64, n 12"),
        )
    ],
    # daly2018_synapse: intranasal esketamine 28/56/84 mg vs placebo on days 1 and 4 (period 1), MADRS LS mean change.
    *[
        Target("daly2018_synapse", "esketamine", arm, tp, "mean_change", v, se)
        for arm, tp, v, se in (
            ("placebo", "2 h", -9.7, 1.76),
            ("esketamine 84 mg", "2 h", -17.6, 2.60),
            ("placebo", "1 d", -5.7, 1.79),
            ("esketamine 28 mg", "1 d", -14.8, 2.80),
            ("esketamine 56 mg", "1 d", -15.7, 2.74),
            ("esketamine 84 mg", "1 d", -16.4, 2.64),
            ("placebo", "7 d", -4.9, 1.74),
            ("esketamine 28 mg", "7 d", -9.8, 2.72),
            ("esketamine 56 mg", "7 d", -12.4, 2.66),
            ("esketamine 84 mg", "7 d", -15.3, 2.56),
        )
    ],
    *[
        Target(
            "daly2018_synapse",
            "esketamine",
            arm,
            "1 d",
            "response_rate",
            p,
            _rate(max(p, 0.05), n),
            *_rate_ci(p, n),
            note="binomial se (floored at 5% for the placebo arm's 1 of 33)",
        )
        for arm, p, n in (
            ("placebo", 0.03, 33),
            ("esketamine 28 mg", 0.36, 11),
            ("esketamine 56 mg", 0.273, 11),
            ("esketamine 84 mg", 0.42, 12),
        )
    ],
    # ---- held out: never fitted, the out-of-sample test --------------------------------------
    # kishimoto2016_meta pools saline- and midazolam-controlled trials, so no single simulated control
    # arm matches it; it is compared with saline (its majority) and kept out of the fit.
    Target(
        "kishimoto2016_meta",
        "single",
        "ketamine vs saline",
        "1 d",
        "cohens_d",
        1.0,
        _ci(0.73, 1.28),
        0.73,
        1.28,
        use="holdout",
        note="Hedges g vs pooled saline/midazolam controls, compared with Cohen's d vs saline",
    ),
    Target(
        "newport2015_meta",
        "single",
        "ketamine vs saline",
        "1 d",
        "odds_ratio_response",
        9.87,
        _ci(4.37, 22.29, True),
        4.37,
        22.29,
        use="holdout",
        log=True,
        note="controls mostly saline",
    ),
    Target(
        "xu2016_meta",
        "single",
        "ketamine vs saline",
        "7 d",
        "risk_ratio_response",
        3.4,
        _ci(1.6, 7.1, True),
        1.6,
        7.1,
        use="holdout",
        log=True,
    ),
    Target(
        "xu2016_meta",
        "single",
        "ketamine",
        "7 d",
        "remission_rate",
        0.24,
        _rate(0.24, 100),
        *_rate_ci(0.24, 100),
        use="holdout",
        note="n ~ 100 per arm",
    ),
    Target(
        "xu2016_meta",
        "single",
        "saline",
        "7 d",
        "remission_rate",
        0.06,
        _rate(0.06, 100),
        *_rate_ci(0.06, 100),
        use="holdout",
        note="n ~ 100 per arm; control arms mostly saline",
    ),
    Target(
        "dean2021_cochrane",
        "single",
        "ketamine vs midazolam",
        "1 d",
        "odds_ratio_response",
        2.48,
        _ci(1.00, 6.18, True),
        1.00,
        6.18,
        use="holdout",
        log=True,
    ),
    Target(
        "dean2021_cochrane",
        "single",
        "ketamine vs midazolam",
        "1 d",
        "cohens_d",
        0.49,
        _ci(0.10, 0.87),
        0.10,
        0.87,
        use="holdout",
        note="SMD -0.49 (ketamine lower)",
    ),
    Target(
        "luckenbaugh2014_dissociation",
        "single",
        "ketamine",
        "230 min",
        "r_cadss_pct_change",
        -0.35,
        1 / math.sqrt(105),
        math.tanh(math.atanh(-0.35) - 1.96 / math.sqrt(105)),
        math.tanh(math.atanh(-0.35) + 1.96 / math.sqrt(105)),
        use="holdout",
        note="Pearson r, CADSS at 40 min vs % change (HDRS there, MADRS here)",
    ),
    Target(
        "luckenbaugh2014_dissociation",
        "single",
        "ketamine",
        "7 d",
        "r_cadss_pct_change",
        -0.41,
        1 / math.sqrt(105),
        math.tanh(math.atanh(-0.41) - 1.96 / math.sqrt(105)),
        math.tanh(math.atanh(-0.41) + 1.96 / math.sqrt(105)),
        use="holdout",
    ),
    # The esketamine label: 8-19% of patients had a rise >= 40 mmHg systolic and/or >= 25 mmHg diastolic.
    Target(
        "spravato_label_bp_increase",
        "esketamine",
        "esketamine 84 mg",
        None,
        "share_bp_rise_label",
        0.135,
        (0.19 - 0.08) / 3.92,
        0.08,
        0.19,
        use="holdout",
        note="label range over 4 weeks of 56/84 mg dosing; compared with the 84 mg arm's two sessions",
    ),
)

_FLOOR = 0.03
"""se floor for the pooled placebo response rate of furukawa2016_placebo (a range, 35-40 %, over 252 placebo arms of
differing designs; pooled, so it carries no between-study SD of its own): a design-level uncertainty of 3 points of
rate (assumption). A single large trial (STAR*D, n = 2,876) keeps its binomial se: the between-study SD
(``Target.tau``) carries what makes it unlike the simulated design."""

SLOW_TARGETS: tuple[Target, ...] = (
    # rutherford2012_waitlist: spontaneous improvement on wait lists of psychotherapy RCTs (10 trials, 340 patients);
    # the trials' lengths are not in the abstract read: 10 weeks assumed.
    Target(
        "rutherford2012_waitlist",
        "psychotherapy",
        "wait list",
        "70 d",
        "within_effect_size",
        0.505,
        _ci(0.271, 0.739),
        0.271,
        0.739,
        stage="slow",
        note="standardised mean change (-change / baseline SD); trial length assumed 10 weeks",
    ),
    # furukawa2016_placebo: placebo response 35-40% in antidepressant RCTs since 1991 (acute, ~8 weeks).
    Target(
        "furukawa2016_placebo",
        "ssri",
        "placebo",
        "56 d",
        "response_rate",
        0.375,
        _FLOOR,
        0.35,
        0.40,
        stage="slow",
        note="mid-point of 35-40%; se floored (design-level)",
    ),
    # taylor2006_ssri_onset: RR of >= 50% HDRS reduction at week 1, SSRI vs placebo.
    Target(
        "taylor2006_ssri_onset",
        "ssri",
        "escitalopram vs placebo",
        "7 d",
        "risk_ratio_response",
        1.64,
        _ci(1.2, 2.25, True),
        1.2,
        2.25,
        log=True,
        stage="slow",
    ),
    # trivedi2006_stard_level1: citalopram up to 14 weeks (simulated: escitalopram 20 mg/day for 12 weeks).
    Target(
        "trivedi2006_stard_level1",
        "ssri",
        "escitalopram",
        "84 d",
        "remission_rate",
        0.28,
        _rate(0.28, 2876),
        *_rate_ci(0.28, 2876),
        stage="slow",
        note="HAM-D17 <= 7 at exit",
    ),
    Target(
        "trivedi2006_stard_level1",
        "stard",
        "escitalopram",
        "84 d",
        "remission_rate",
        0.33,
        _rate(0.33, 2876),
        *_rate_ci(0.33, 2876),
        stage="slow",
        note="QIDS-SR16 <= 5 at exit",
    ),
    Target(
        "trivedi2006_stard_level1",
        "stard",
        "escitalopram",
        "84 d",
        "response_rate",
        0.47,
        _rate(0.47, 2876),
        *_rate_ci(0.47, 2876),
        stage="slow",
        note="QIDS-SR16 >= 50% reduction at exit",
    ),
    # cuijpers2023_cbt: CBT vs control conditions (care as usual, wait list) at the end of treatment.
    Target(
        "cuijpers2023_cbt",
        "psychotherapy",
        "cbt vs wait list",
        "84 d",
        "cohens_d",
        0.79,
        _ci(0.70, 0.89),
        0.70,
        0.89,
        stage="slow",
        note="Hedges g compared with Cohen's d of change; 12 weekly sessions",
    ),
    # noetel2024_exercise: walking or jogging vs active controls (usual care, pill placebo), the largest arm.
    Target(
        "noetel2024_exercise",
        "exercise",
        "exercise vs usual care",
        "84 d",
        "cohens_d",
        0.62,
        _ci(0.45, 0.80),
        0.45,
        0.80,
        stage="slow",
        note="Hedges g -0.62 (exercise lower); three 45-min sessions a week for 12 weeks",
    ),
    # wilkinson2017_cbt: 16 TRD patients, four infusions in two weeks with CBT over 10 weeks (open label).
    Target(
        "wilkinson2017_cbt",
        "ketamine_cbt",
        "ketamine + cbt",
        "12 d",
        "response_rate",
        0.5,
        _rate(0.5, 16),
        *_rate_ci(0.5, 16),
        stage="slow",
        note="8 of 16 in the first 2 weeks",
    ),
    Target(
        "wilkinson2017_cbt",
        "ketamine_cbt",
        "ketamine + cbt",
        "12 d",
        "remission_rate",
        7 / 16,
        _rate(7 / 16, 16),
        *_rate_ci(7 / 16, 16),
        stage="slow",
        note="7 of 16",
    ),
    Target(
        "wilkinson2017_cbt",
        "ketamine_cbt",
        "ketamine + cbt",
        None,
        "relapsed_fraction_of_responders",
        0.25,
        _rate(0.25, 8),
        *_rate_ci(0.25, 8),
        stage="slow",
        note="2 of 8 responders relapsed within 8 weeks of the last infusion",
    ),
    # ---- held out ------------------------------------------------------------------------------------
    Target(
        "cuijpers2023_cbt",
        "psychotherapy",
        "cbt + escitalopram vs escitalopram",
        "84 d",
        "cohens_d",
        0.51,
        _ci(0.19, 0.84),
        0.19,
        0.84,
        use="holdout",
        stage="slow",
        note="combined vs pharmacotherapy alone, short term",
    ),
    Target(
        "cuijpers2023_cbt",
        "psychotherapy",
        "cbt vs escitalopram",
        "270 d",
        "cohens_d",
        0.34,
        _ci(0.09, 0.58),
        0.09,
        0.58,
        use="holdout",
        stage="slow",
        note="6-12 months: CBT lasts after treatment ends (simulated at 9 months)",
    ),
    Target(
        "schuch2016_exercise",
        "exercise",
        "exercise vs usual care",
        "84 d",
        "cohens_d",
        1.11,
        _ci(0.79, 1.43),
        0.79,
        1.43,
        use="holdout",
        stage="slow",
        note="SMD adjusted for publication bias, 25 RCTs",
    ),
)

TARGETS = TARGETS + SLOW_TARGETS


@dataclasses.dataclass(frozen=True)
class Pooled:
    """What a pooled analysis (a meta-analysis, a patient-level pooling, a label) pools.

    ``studies``: the calibration-set studies it pools, as far as ``clinical_calibration.yaml`` says; ``None``
    when the table does not list them (``neuroplast validate`` then assumes, conservatively, that it may pool
    any fitted study of the same calibration trial and arm). ``source``: the text the list was read from.
    """

    studies: tuple[str, ...] | None
    source: str
    across_trials: bool = True  # a pooled estimate over trials (no between-study SD of its own); False: one study


_NO_LIST = "clinical_calibration.yaml gives no list of the included studies"

POOLED: dict[str, Pooled] = {
    "murrough2013_biolpsych": Pooled(
        ("aanhetrot2010",),
        "clinical_calibration.yaml, population: '24 TRD (includes the 10 from aan het Rot 2010)'",
        across_trials=False,
    ),
    "kishimoto2016_meta": Pooled(None, f"design: meta-analysis, 9 ketamine RCTs to Aug 2015; {_NO_LIST}"),
    "han2016_meta": Pooled(None, f"design: meta-analysis, 9 RCTs to Apr 2016; {_NO_LIST}"),
    "newport2015_meta": Pooled(None, f"design: meta-analysis, 7 ketamine RCTs; {_NO_LIST}"),
    "xu2016_meta": Pooled(None, f"design: meta-analysis of 9 RCTs; {_NO_LIST}"),
    "dean2021_cochrane": Pooled(None, f"design: Cochrane review, 4 ketamine vs midazolam RCTs; {_NO_LIST}"),
    "wilkinson2019_midazolam_vs_saline": Pooled(None, f"design: patient-level data of 9 trials; {_NO_LIST}"),
    "luckenbaugh2014_dissociation": Pooled(None, f"design: pooled single-infusion trials; {_NO_LIST}"),
    "taylor2006_ssri_onset": Pooled(None, f"design: meta-analysis, 28 RCTs; {_NO_LIST}"),
    "furukawa2016_placebo": Pooled(None, f"design: meta-regression of 252 placebo arms; {_NO_LIST}"),
    "rutherford2012_waitlist": Pooled(None, f"design: meta-analysis of 10 wait-list arms; {_NO_LIST}"),
    "cuijpers2023_cbt": Pooled(None, f"design: meta-analyses of 409 trials; {_NO_LIST}"),
    "schuch2016_exercise": Pooled(None, f"design: meta-analysis of 25 RCTs; {_NO_LIST}"),
    "noetel2024_exercise": Pooled(None, f"design: network meta-analysis of 218 studies; {_NO_LIST}"),
    "spravato_label_bp_increase": Pooled(
        None, "pharmacology_sources.yaml: the US label's range over the trials of its first 4 weeks; trials not listed"
    ),
}
"""Every pooled study of :data:`TARGETS` (a study not here reports its own patients only)."""

SCALES = {
    "single": "MADRS",
    "repeated": "MADRS",
    "esketamine": "MADRS",
    "ketamine_cbt": "MADRS",
    "ssri": "HAMD17",
    "psychotherapy": "HAMD17",
    "exercise": "HAMD17",
    "stard": "QIDS_SR16",
}
"""The rating scale of each calibration trial (as ``calibration.evaluate.CALIBRATION_TRIALS`` declares it)."""


def _with_tau(targets: tuple[Target, ...]) -> tuple[Target, ...]:
    """Give each single-trial target its between-study SD (``evidence.heterogeneity``); a pooled estimate over
    trials keeps none."""
    return tuple(
        t
        if t.study in POOLED and POOLED[t.study].across_trials
        else dataclasses.replace(t, tau=between_study_sd(t.metric, SCALES[t.trial], t.value))
        for t in targets
    )


SLOW_TARGETS = _with_tau(SLOW_TARGETS)
TARGETS = _with_tau(TARGETS)
