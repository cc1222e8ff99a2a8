"""Every number of the model, scale by scale (mrgsolve-style annotated blocks).

Values are per 70 kg adult where a unit says so; allometric weight scaling is applied in
``neuroplast.cohort`` (clearances x (W/70)^0.75, volumes x W/70).
Sources are ids from ``neuroplast/evidence`` (shared mechanistic table: A.., B.., ...;
clinical table: study ids; ``extra_sources.yaml``), ``fit`` (calibrated) or ``assumption``.
"""

from __future__ import annotations

from .registry import Parameter as P

PK = (
    P("cl_ket", 79.0, "L/h", "racemic ketamine clearance (70 kg)", "A02", cv=0.30,
      note="CV 30%: assumption, typical ketamine IIV (Kamp 2020 reports IIV; value not in the evidence table)"),
    P("vss_ket", 252.0, "L", "ketamine steady-state volume (70 kg): V1 + V2 + V3", "A01", cv=0.25,
      note="95% CI 200-304 L/70 kg across studies; between-patient CV 25% assumption"),
    P("v1_fraction_ket", 0.5, "1", "central share of the ketamine steady-state volume", "fit",
      note="fitted so that 0.5 mg/kg over 40 min peaks at 185 ng/mL (A34) in a 70 kg patient"),
    P("q2_ket", 84.3, "L/h", "ketamine shallow intercompartmental clearance", "A09",
      note="esketamine value (Perez-Ruixo 2021) used for the racemate"),
    P("q3_ket", 37.6, "L/h", "ketamine deep intercompartmental clearance", "A11",
      note="esketamine value used for the racemate"),
    P("frac_v2_ket", 143.0 / (143.0 + 417.0), "1", "share of peripheral volume in the shallow compartment",
      "A10", note="from esketamine Vp1/(Vp1+Vp2) = 143/(143+417) (A10, A12)"),
    P("female_cl_factor", 1.2, "1", "clearance multiplier for women", "A46"),
    P("f_norket", 0.62, "1", "fraction of ketamine clearance forming norketamine", "A50",
      note="dog value; the human fraction is not in the evidence table"),
    P("cl_nk", 38.0, "L/h", "norketamine clearance (70 kg)", "A20", cv=0.30,
      note="apparent noresketamine CL/F; CV assumption as for ketamine"),
    P("v1_nk", 70.0, "L", "norketamine central volume", "A21"),
    P("q_nk", 26.1, "L/h", "norketamine intercompartmental clearance", "A23"),
    P("v2_nk", 115.0, "L", "norketamine peripheral volume", "A22"),
    P("t_half_ke0", 6.1, "min", "blood-effect-site equilibration half-life (ketamine and norketamine)", "A47"),
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
    P("interneuron_selectivity", 2.0, "1",
      "affinity multiplier for block on fast-spiking interneurons vs pyramidal cells", "assumption",
      note="tonically active interneurons expose more open channels to a trapping open-channel blocker (B07); magnitude not measured"),
)

SIGNALLING = (
    P("disinhibition_gain", 4.0, "1", "pyramidal excitation gain per unit interneuron block", "assumption",
      note="chosen so the surge is positive at subanaesthetic and negative at anaesthetic block: the inverted U of C01"),
    P("tau_glu", 0.25, "h", "time constant of the glutamate surge", "assumption",
      note="glutamate follows receptor block within minutes (C03; occupancy peaks by 15 min, B13)"),
    P("w_eef2", 0.5, "1", "weight of resting-block eEF2 de-suppression on BDNF translation", "assumption",
      note="second, surge-independent route to BDNF (D02); relative weight not measured"),
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
    P("mdz_sedation_ec50", 68.0, "ng/mL", "midazolam concentration for a 50% chance of sedation (Ramsay >= 2)", "barr2001_midazolam_sedation_c50",
      note="ICU patients also on opioids; EEG EC50s 31-120 ng/mL (greenblatt2004, vansteveninck1993)"),
)

SCALES = {"pk": PK, "receptors": RECEPTORS, "signalling": SIGNALLING, "plasticity": PLASTICITY,
          "symptoms": SYMPTOMS, "safety": SAFETY}
