"""Every number of the model, scale by scale (mrgsolve-style annotated blocks).

Values are per 70 kg adult where a unit says so; allometric weight scaling is applied in
``neuroplast.cohort`` (clearances x (W/70)^0.75, volumes x W/70).
Sources are ids from ``neuroplast/evidence`` (shared mechanistic table: A.., B.., ...;
clinical table: study ids; ``extra_sources.yaml``), ``fit`` (calibrated) or ``assumption``.
"""

from __future__ import annotations

from ..scales.circuits.params import CIRCUIT_PARAMETERS
from ..conditions._params import CONDITION_PARAMETERS
from .registry import Parameter as P

PK = (
    P("cl_ket", 79.0, "L/h", "racemic ketamine clearance (70 kg): the mean of the two enantiomers'", "A02", cv=0.30,
      note="CV 30%: assumption, typical ketamine IIV (Kamp 2020 reports IIV; value not in the evidence table)"),
    P("s_to_r_clearance", 18.4 / 15.8, "1", "(S)- over (R)-ketamine clearance when the racemate is given",
      "wang2019_esketamine_vs_racemate_clearance",
      note="18.4 vs 15.8 mL/min/kg (persson2002_r_s_ketamine_clearance: 0.024 vs 0.020); the two clearances "
           "average to the racemic cl_ket, so (S) 85 and (R) 73 L/h at 70 kg (esketamine label: 89 L/h, A29)"),
    P("v1_ket", 128.0, "L", "ketamine central volume (70 kg), both enantiomers", "fit", cv=0.25,
      note="closed-form anchor: 0.5 mg/kg over 40 min peaks at 185 ng/mL (A34); volumes share one log-normal "
           "effect, CV 25% assumption"),
    P("q2_ket", 84.3, "L/h", "ketamine shallow intercompartmental clearance", "A09",
      note="esketamine popPK (Perez-Ruixo 2021), used for both enantiomers"),
    P("v2_ket", 143.0, "L", "ketamine shallow peripheral volume", "A10", note="esketamine popPK, both enantiomers"),
    P("q3_ket", 37.6, "L/h", "ketamine deep intercompartmental clearance", "A11", note="esketamine popPK, both enantiomers"),
    P("v3_ket", 417.0, "L", "ketamine deep peripheral volume", "A12",
      note="esketamine popPK; with it Vss ~690 L as the esketamine label's 709 L (A28), not Kamp's 252 L (A01), "
           "and the terminal half-life falls in the label's 7-12 h (A30)"),
    P("female_cl_factor", 1.2, "1", "clearance multiplier for women", "A46"),
    P("f_norket", 0.62, "1", "fraction of ketamine clearance forming norketamine", "A50",
      note="dog value; the human fraction is not in the evidence table"),
    P("cl_nk", 38.0, "L/h", "norketamine clearance (70 kg)", "A20", cv=0.30,
      note="apparent noresketamine CL/F; CV assumption as for ketamine"),
    P("v1_nk", 70.0, "L", "norketamine central volume", "A21"),
    P("q_nk", 26.1, "L/h", "norketamine intercompartmental clearance", "A23"),
    P("v2_nk", 115.0, "L", "norketamine peripheral volume", "A22"),
    P("t_half_ke0", 6.1, "min", "blood-effect-site equilibration half-life (ketamine and norketamine)", "A47"),
    P("f_hnk", 0.15, "1", "fraction of (R)-norketamine clearance forming (2R,6R)-HNK", "assumption",
      note="formation fractions are a gap (A04); HNK is a major plasma metabolite (A52), so a minor but not "
           "negligible share is assumed"),
    P("cl_hnk", 49.0, "L/h", "(2R,6R)-HNK clearance (70 kg)", "A51",
      note="rat (2S,6S)-HNK 704 mL/h/kg x 70 kg (no human value; HNK disposition is not enantioselective, A51)"),
    P("v_hnk", 515.0, "L", "(2R,6R)-HNK volume (70 kg)", "A51", note="rat 7.35 L/kg x 70 kg; t1/2 ~7 h (rat 8 +/- 4 h)"),
    P("ka_im", 6.0, "1/h", "intramuscular absorption rate constant", "assumption",
      note="IM ketamine peaks within 5-30 min; ka 6/h gives a peak at ~20 min"),
    P("ka_intranasal", 2.93, "1/h", "nasal absorption rate constant", "A18"),
    P("ka_oral", 4.0, "1/h", "oral absorption rate constant of ketamine", "assumption",
      note="oral ketamine peaks at ~30 min (ketamine_route_bioavailability); 4/h puts the peak there and the "
           "0.5 mg/kg peak within the spread of Grant 1981's 45 +/- 10 ng/mL (A37)"),
    P("ka_sublingual", 2.5, "1/h", "sublingual absorption rate constant", "assumption",
      note="chosen so a 25 mg sublingual dose peaks at ~0.75 h (A40: Tmax 0.75 h, range 0.25-1)"),
    P("f_im", 0.93, "1", "IM bioavailability of ketamine", "A42", note="classic value (Clements 1982), unverified lead"),
    P("f_intranasal_esk", 0.48, "1", "intranasal bioavailability of esketamine (Spravato device)", "A25"),
    P("f_intranasal_rac", 0.45, "1", "intranasal bioavailability of racemic ketamine (spray)", "A41",
      note="n=3 study; device-dependent: 0.11-0.17 in another (A39)"),
    P("f_oral_rac", 0.20, "1", "oral bioavailability of racemic ketamine (and arketamine)", "A41",
      note="0.17-0.20 classic (A42)"),
    P("f_oral_esk", 0.08, "1", "oral bioavailability of esketamine", "A26"),
    P("f_sublingual", 0.29, "1", "sublingual bioavailability of ketamine", "A40"),
    P("fp_nk_swallowed", 0.5, "1", "share of a swallowed, non-bioavailable dose reaching the circulation as norketamine",
      "assumption", note="first-pass metabolism forms norketamine (A53, CYP3A4/2B6); after oral dosing norketamine "
                         "exceeds ketamine several-fold; magnitude not in the evidence table"),
    P("session_min", 40.0, "min", "shortest monitored clinic session (expectancy builds during it)", "assumption",
      note="the calibration's sessions are 40-min infusions; a nasal or IM dose comes with at least as long an "
           "observation (the esketamine label requires 2 h)"),
    P("cl_esc", 36.0, "L/h", "escitalopram apparent oral clearance CL/F (70 kg)", "lexapro_label_escitalopram_pk", cv=0.40,
      note="600 mL/min; F 0.8 with systemic CL 31 L/h (sogaard2005). CV 40%: assumption (CYP2C19 polymorphism)"),
    P("t_half_esc", 30.0, "h", "escitalopram terminal half-life", "lexapro_label_escitalopram_pk",
      note="label 27-32 h; sogaard2005: 27 h single, 33 h repeated dosing"),
    P("ka_esc", 0.8, "1/h", "escitalopram absorption rate constant", "assumption",
      note="gives Tmax ~5 h with the half-life above (label Tmax ~5 h)"),
    P("cl_ser", 96.0, "L/h", "sertraline apparent oral clearance CL/F (70 kg)", "assumption", cv=0.40,
      note="no verified CL/F in the sources read (absolute F unknown, zoloft_label_sertraline_pk); 96 L/h gives "
           "~20 ng/mL at 50 mg/day, within the usual 10-150 ng/mL therapeutic range; CV 40% as escitalopram"),
    P("t_half_ser", 26.0, "h", "sertraline terminal half-life", "zoloft_label_sertraline_pk",
      note="label ~26 h; about 2-fold accumulation once daily"),
    P("ka_ser", 0.6, "1/h", "sertraline absorption rate constant", "assumption",
      note="gives Tmax ~6 h with the half-life above (label 4.5-8.4 h)"),
    P("cl_mdz", 19.4, "L/h", "midazolam clearance (70 kg)", "heizmann1983_midazolam_pk", cv=0.30,
      note="323 mL/min; pecking2002 gives 0.26 L/h/kg, the same at 70 kg; CV assumption as for ketamine"),
    P("vss_mdz", 50.2, "L", "midazolam steady-state volume (70 kg): V1 + V2", "heizmann1983_midazolam_pk"),
    P("frac_v1_mdz", 0.4, "1", "share of the midazolam steady-state volume that is central", "assumption",
      note="no central volume in the sources read; 40% is typical of two-compartment benzodiazepine models"),
    P("q_mdz", 40.0, "L/h", "midazolam intercompartmental clearance", "assumption",
      note="gives a distribution half-life of about 15 min; not in the sources read"),
    P("t_half_ke0_mdz", 4.0, "min", "midazolam effect-site equilibration half-life", "midazolam_t_half_ke0",
      note="unverified lead (2-6 min in the literature); greenblatt2004 saw little plasma-effect delay"),
)

RECEPTORS = (
    P("ki_s_ket", 0.3, "uM", "(S)-ketamine Ki at the NMDA PCP site", "B01"),
    P("ki_r_ket", 1.4, "uM", "(R)-ketamine Ki at the NMDA PCP site", "B02"),
    P("ki_s_nk", 1.7, "uM", "(S)-norketamine Ki", "B03"),
    P("ki_r_nk", 13.0, "uM", "(R)-norketamine Ki", "B04"),
    P("fu_ket", 0.56, "1", "unbound fraction in plasma (free-drug hypothesis for brain)", "A31",
      note="1 - 0.44 protein binding of esketamine, used for all species"),
    P("sert_emax", 0.9, "1", "maximal SERT occupancy by SSRIs", "meyer2004_sert_occupancy_min_dose",
      note="76-85% at minimum therapeutic doses and ~85% at high doses: the plateau lies just above"),
    P("sert_ec50_esc", 3.0, "ng/mL", "escitalopram plasma concentration for half-maximal SERT occupancy",
      "eichentopf2022_escitalopram_occupancy_threshold",
      note="EC50 2.5-5 ng/mL derived from the 20-40 ng/mL target for 80% occupancy; checked in the tests against "
           "klein2007 (81.5% at 6 h on 10 mg/day)"),
    P("sert_ec50_ser", 2.5, "ng/mL", "sertraline plasma concentration for half-maximal SERT occupancy", "assumption",
      note="set so 50 mg/day gives ~80% occupancy, as meyer2004_sert_occupancy_min_dose found at minimum doses"),
    P("hnk_ampa_emax", 0.5, "1", "maximal NMDA-independent AMPA drive of (2R,6R)-HNK (in units of the surge)", "assumption",
      note="HNK's antidepressant action is AMPA-dependent in mice (Zanos 2016); its size relative to the surge is not measured"),
    P("hnk_ampa_ec50", 3.3, "uM", "(2R,6R)-HNK concentration for half its AMPA action",
      "hnk_in_vitro_active_concentrations",
      note="synaptic EC50 3.3 uM (Zanos 2016 tested 10 uM): far above human plasma levels after 0.5 mg/kg, in line "
           "with HNK not predicting response in people (A54)"),
    P("interneuron_selectivity", 2.0, "1",
      "affinity multiplier for block on fast-spiking interneurons vs pyramidal cells", "fit",
      note="tonically active interneurons expose more open channels to a trapping open-channel blocker (B07); magnitude not measured"),
)

SIGNALLING = (
    P("disinhibition_gain", 4.0, "1", "pyramidal excitation gain per unit interneuron block", "fit",
      note="fitted within 1-20 with the dose-finding arms of daly2018_synapse; the surge is positive at "
           "subanaesthetic and negative at anaesthetic block: the inverted U of C01"),
    P("tau_glu", 0.25, "h", "time constant of the glutamate surge", "assumption",
      note="glutamate follows receptor block within minutes (C03; occupancy peaks by 15 min, B13)"),
    P("w_eef2", 0.5, "1", "weight of resting-block eEF2 de-suppression on BDNF translation", "fit",
      note="second, surge-independent route to BDNF (D02); its weight is fitted with the dose arms of daly2018_synapse"),
    P("tau_bdnf", 2.0, "h", "time constant of BDNF release/translation", "assumption",
      note="plasma BDNF rises in responders by 240 min (D04)"),
    P("tau_mtor", 1.0, "h", "time constant of mTORC1 activation", "assumption",
      note="mTORC1 signalling is active within an hour of ketamine (D01)"),
)

PLASTICITY = (
    P("spine_lifetime", 10.0, "d", "mean spine lifetime; sets how fast a ketamine gain decays", "fit",
      note="prior range 1-2 weeks (E03); ketamine spine gains last up to 2 weeks (E09)"),
    P("spine_gain", 5.0, "1", "mTORC1-driven increase of spine formation rate per unit activation", "fit", cv=0.0,
      note="spine formation is mTORC1-dependent (D01, E06, E08)"),
    P("potentiation_gain", 0.05, "1/h", "fast synaptic potentiation per unit glutamate surge", "fit",
      note="homeostatic potentiation precedes new spines (H03, E07)"),
    P("tau_potentiation", 24.0, "h", "decay time of the fast synaptic potentiation", "fit",
      note="fitted within 2-72 h: functional potentiation precedes new spines (E07: none at 3-6 h) and fades without them"),
    P("responsiveness_cv", 0.8, "1", "between-patient CV of plasticity responsiveness", "fit",
      note="spread of response to ketamine; fitted to response rates"),
    P("stress_load", 0.25, "1", "chronic stress load: baseline spine density is 1/(1+load) of healthy", "assumption", cv=0.30,
      note="stress lowers mPFC spine density by about a fifth (E04 lead, unverified; E05, E06)"),
    P("met_carrier_freq", 21.0 / 62.0, "1", "share of BDNF Val66Met (Met) carriers", "D03"),
    P("met_plasticity_factor", 0.7, "1", "plasticity responsiveness of Met carriers relative to Val/Val", "assumption",
      note="Met carriers responded less to ketamine (D03); the size of the effect is not given"),
)

SYMPTOMS = (
    P("tau_mood", 1.0, "h", "time constant of the mood state following synaptic connectivity", "assumption",
      note="relief within ~2 h of a single dose (CL02); ketamine beats placebo from 40 min (kishimoto2016_meta)"),
    P("expectancy_base", 0.10, "1", "median placebo/expectancy relief from a session with no felt effect", "fit"),
    P("expectancy_cv", 0.8, "1", "between-patient CV of expectancy relief", "fit",
      note="placebo response varies widely between patients; fitted to arm response rates"),
    P("expectancy_felt", 0.15, "1", "extra expectancy when a drug effect is felt (sedation, dissociation)", "fit",
      note="midazolam responses exceed saline responses (wilkinson2019_midazolam_vs_saline)"),
    P("tau_expectancy", 72.0, "h", "decay time of expectancy relief after a session", "fit"),
    P("k_expectancy", 4.0, "1/h", "rate at which expectancy builds during a session", "assumption",
      note="expectancy forms within the session (minutes)"),
    P("felt_cadss_ref", 10.0, "points", "CADSS level felt as an unmistakable drug effect", "assumption",
      note="a mid-scale CADSS; only sets the shape of functional unblinding"),
    P("madrs_baseline", 32.0, "points", "mean baseline MADRS of the trd preset (before inclusion)", "typical_trd_baseline_madrs",
      note="unverified lead (about 32, SD 5); verified TRD baselines range 30-38 (trd_suicidal_ketamine_midazolam_baseline_madrs)"),
    P("madrs_baseline_sd", 5.0, "points", "between-patient SD of baseline MADRS (trd preset)", "typical_trd_baseline_madrs"),
    P("madrs_noise_sd", 1.6, "points", "MADRS measurement error SD (one rating)", "williams2008_madrs_sigma_reliability",
      note="SEM = SD sqrt(1 - ICC) with ICC 0.93 and SD 6; agrees with a 1.78-point mean inter-rater difference (madrs_site_vs_central_rater_agreement)"),
    P("hamd17_per_madrs", 1.0 / 1.3, "1", "HAM-D17 points per MADRS point (linking through the origin)", "leucht2018_madrs_hamd",
      note="equipercentile linking: HAMD 10/20/30/40 = MADRS 13/26/39/52.5, i.e. MADRS = 1.3 HAMD"),
    P("hamd17_noise_sd", 1.6 / 1.3, "points", "HAM-D17 measurement error SD", "assumption",
      note="the MADRS error carried through the linking slope"),
    P("hamd6_per_hamd17", 22.0 / 52.0, "1", "HAM-D6 (Bech melancholia subscale) points per HAM-D17 point",
      "hamd6_scale_properties_and_linking",
      note="ratio of the scale maxima (22/52): percent change carries over between HAM-D6 and HAM-D17 (Bobo 2016); "
           "no point-to-point linking table was found"),
    P("hamd6_noise_sd", 0.8, "points", "HAM-D6 measurement error SD", "assumption",
      note="the HAM-D17 error carried through the ratio"),
)

SAFETY = (
    P("cadss_per_100ng", 3.33, "points per 100 ng/mL", "CADSS per 100 ng/mL of effect-site ketamine", "wilkinson2018_cadss_ketamine", cv=1.0,
      note="linear over 50-200 ng/mL (I07); slope set so 0.5 mg/kg/40 min gives the mean CADSS 7.7 (SD 9.2, hence CV 1.0) of wilkinson2018"),
    P("sbp_per_100ng", 3.0, "mmHg per 100 ng/mL", "systolic BP rise per 100 ng/mL of effect-site ketamine", "fit", cv=0.6,
      note="fitted to rivaposse2018_bp and cardiovascular741_bp; CV 60% assumption (rises vary with age, hypertension)"),
    P("sbp_baseline", 128.0, "mmHg", "mean baseline systolic BP of TRD patients", "assumption",
      note="rivaposse2018 cohort: mean age 57, 36% hypertensive"),
    P("sbp_baseline_sd", 14.0, "mmHg", "between-patient SD of baseline systolic BP", "assumption",
      note="typical adult clinic SD"),
    P("dbp_per_100ng", 3.0, "mmHg per 100 ng/mL", "diastolic BP rise per 100 ng/mL of effect-site ketamine (racemic equivalent)",
      "fit", cv=0.6, note="fitted to rivaposse2018_bp and cardiovascular741_bp (DBP); CV as for systolic"),
    P("dbp_baseline", 78.0, "mmHg", "mean baseline diastolic BP", "assumption",
      note="typical of middle-aged patient cohorts (rivaposse2018: mean age 57, 36% hypertensive)"),
    P("dbp_baseline_sd", 9.0, "mmHg", "between-patient SD of baseline diastolic BP", "assumption", note="typical adult clinic SD"),
    P("hr_per_100ng", 1.0, "beats/min per 100 ng/mL", "heart-rate rise per 100 ng/mL of effect-site ketamine", "fit",
      cv=0.6, note="fitted to the largest mean pulse rise of cardiovascular741_bp (1.9 bpm)"),
    P("hr_baseline", 74.0, "beats/min", "mean resting heart rate", "assumption", note="typical adult resting rate"),
    P("hr_baseline_sd", 10.0, "beats/min", "between-patient SD of resting heart rate", "assumption", note="typical adult SD"),
    P("mdz_sedation_ec50", 68.0, "ng/mL", "midazolam concentration for a 50% chance of sedation (Ramsay >= 2)", "barr2001_midazolam_sedation_c50",
      note="ICU patients also on opioids; EEG EC50s 31-120 ng/mL (greenblatt2004, vansteveninck1993)"),
)

SLOW_SIGNALLING = (
    P("tau_trophic", 14.0 * 24, "h", "time constant of the SSRI-driven trophic (CREB/BDNF) state following SERT occupancy",
      "fit", note="antidepressants act on neurogenesis and behaviour after chronic, not acute, exposure (F06, F07); "
                  "fitted to the week-1 share of the SSRI effect (taylor2006_ssri_onset)"),
    P("ssri_spine_gain", 0.3, "1", "spine-formation gain per unit trophic state (SSRI)", "fit",
      note="chronic SSRIs reopen cortical plasticity through BDNF (H04); fitted to STAR*D level 1 (trivedi2006_stard_level1)"),
    P("ssri_mood_gain", 0.1, "1", "fast serotonergic relief of the mood target per unit trophic state", "fit",
      note="the early SSRI effect: a third of the 6-week effect at week 1 (taylor2006_ssri_onset), before new spines"),
    P("fitness_spine_gain", 0.3, "1", "spine-formation gain per guideline dose of exercise (BDNF)", "fit",
      note="fitted to walking/jogging vs active control (noetel2024_exercise)"),
    P("tau_fitness", 14.0 * 24, "h", "time over which exercise fitness fades without training", "assumption",
      note="detraining of aerobic capacity over a few weeks; only sets how fast the exercise effect builds and fades"),
    P("exercise_ref_h_per_week", 2.5, "h/week", "exercise that holds fitness at 1 (one guideline dose)", "assumption",
      note="150 min of moderate activity per week, the common guideline (and about the supervised dose of the trials in noetel2024_exercise)"),
)

NEUROGENESIS = (
    P("neurons_per_day", 700.0, "neurons/day", "new neurons added per hippocampus per day, healthy adult", "F01"),
    P("tau_immature", 42.0 * 24, "h", "window of heightened plasticity of adult-born granule cells", "F04",
      note="1-1.5 months of cell age in mice (F04); human maturation is thought longer (F05 note), not quantified"),
    P("ssri_neurogenesis_gain", 0.5, "1", "birth-rate gain per unit trophic state (chronic SSRI)", "assumption",
      note="chronic, not acute, antidepressants raise new-cell numbers (F06); the size varies by strain (F09): +50% at full effect"),
    P("exercise_neurogenesis_gain", 1.0, "1", "birth-rate gain per guideline dose of exercise", "F08",
      note="running doubled surviving new cells (F08; +200% survival in F09): the doubling taken at one guideline dose (assumption)"),
    P("neurogenesis_age_decline", 0.1, "per decade", "relative decline of the birth rate per decade of age above 45", "assumption",
      note="modest decline with ageing (F01 note); the rate is not quantified in the evidence"),
    P("volume_loss_untreated", 0.1 / (824.0 / 365.25), "per year", "hippocampal volume lost per year of untreated depression",
      "G04", note="Sheline 2003: -10% with 824 mean untreated days; days on antidepressants not associated (hence the trophic protection)"),
    P("volume_gain_exercise", 0.02, "per year", "hippocampal volume gained per year at one guideline dose of exercise", "F12",
      note="Erickson 2011: +2% over one year of moderate aerobic exercise 3 days a week"),
)

LEARNING = (
    P("k_natural", 0.02, "per week", "spontaneous improvement rate of non-resistant depression (natural course)", "fit",
      note="wait-list improvement (rutherford2012_waitlist); zero in the trd preset (chronic, treatment-resistant by definition)"),
    P("k_session", 0.03, "1", "share of the negative state unlearned per CBT session at window 1", "fit",
      note="fitted to CBT vs control at the end of treatment (cuijpers2023_cbt)"),
    P("efficacy_mindfulness", 1.0, "1", "learning per mindfulness-based session relative to CBT", "cuijpers2023_cbt",
      note="CBT vs other psychotherapies g = 0.06 (0-0.12): other therapies about as effective"),
    P("efficacy_meditation", 0.4, "1", "learning per self-practice meditation session relative to CBT", "assumption",
      note="thin evidence: no meditation trial in the calibration set; a short unguided practice taken as 40% of a therapy hour"),
    P("efficacy_creative", 0.3, "1", "learning per creative-activity session relative to CBT", "assumption",
      note="thin evidence: no creative-arts trial in the calibration set; a small effect taken"),
    P("tau_forget", 365.0 * 24, "h", "time over which learned change fades without practice", "assumption",
      note="CBT effects persist 6-12 months after treatment (cuijpers2023_cbt)"),
    P("learning_cv", 0.8, "1", "between-patient CV of learning from therapy and experience (natural course)", "assumption",
      note="outcomes of psychotherapy and of wait lists vary widely between patients; sets the spread, not the mean"),
    P("window_gain", 2.0, "1", "multiplier of learning per unit plasticity above the depressed baseline", "fit",
      note="fitted to ketamine plus CBT only (wilkinson2017_cbt)"),
    P("window_immature_weight", 0.5, "1", "weight of immature adult-born neurons above their depressed level in the window",
      "assumption", note="adult-born neurons have a window of enhanced plasticity (F04); their share of learning is not quantified"),
    P("k_expectancy_pill", 0.15, "1/h", "rate at which a daily pill builds expectancy (during its 40-min window)", "assumption",
      note="placebo response in pill trials builds over the first weeks and grows with trial length (furukawa2016_placebo: "
           "RR 1.03 per extra week): a tenth of the gap per pill, about two weeks to most of it"),
    P("pill_factor", 1.0, "1", "expectancy from a daily pill relative to a monitored session's base expectancy", "fit",
      note="placebo response in antidepressant trials (furukawa2016_placebo)"),
)


SCALES = {"pk": PK, "receptors": RECEPTORS, "signalling": SIGNALLING + SLOW_SIGNALLING, "plasticity": PLASTICITY,
          "neurogenesis": NEUROGENESIS, "symptoms": SYMPTOMS + LEARNING, "safety": SAFETY, "circuits": CIRCUIT_PARAMETERS,
          "conditions": tuple(P(**kw) for kw in CONDITION_PARAMETERS)}
