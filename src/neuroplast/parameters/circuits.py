"""The mood circuit's numbers: regions, projections and rate-model constants, as registry parameters.

Every projection carries the evidence ids that give its *sign and existence* (``evidence``, checked
by the tests against ``neuroplast.evidence.source_ids()``); no study gives a region-to-region
weight in the units of a rate model, so every *magnitude* is registered as ``assumption`` with its
reason. The parameters are listed by ``neuroplast params --scale circuits``.
"""

from __future__ import annotations

import dataclasses

from .registry import Parameter as P

REGIONS = ("dlpfc", "sgacc", "vmpfc", "hippocampus", "amygdala", "nacc", "vta", "ofc", "caudate", "thalamus")
"""Region keys, in the order of every activity vector and matrix."""

LABELS = {
    "dlpfc": "dlPFC",
    "sgacc": "sgACC",
    "vmpfc": "vmPFC",
    "hippocampus": "hippocampus",
    "amygdala": "amygdala",
    "nacc": "NAc (ventral striatum)",
    "vta": "VTA",
    "ofc": "OFC",
    "caudate": "caudate (dorsal striatum)",
    "thalamus": "thalamus",
}

PREFRONTAL = frozenset({"dlpfc", "sgacc", "vmpfc", "ofc"})
"""Regions whose synapses follow the prefrontal read-outs (spine density, potentiation)."""
HIPPOCAMPAL = frozenset({"hippocampus"})
"""Regions whose projections follow hippocampal volume and neurogenesis."""


@dataclasses.dataclass(frozen=True)
class Projection:
    source: str
    target: str
    weight: float  # healthy effective weight (dimensionless, rate-model units); sign = excitatory/inhibitory
    evidence: tuple[str, ...]  # ids that give the sign / existence of the projection
    why: str

    @property
    def name(self) -> str:
        if self.source == self.target:
            return f"circuit_{self.source}_recurrent"
        return f"circuit_{self.source}_to_{self.target}"


_MAG = "magnitude: assumption (no study gives an effective weight in rate-model units)"

PROJECTIONS = (
    Projection(
        "dlpfc",
        "dlpfc",
        0.4,
        ("E04",),
        "local recurrent excitation of prefrontal pyramidal cells onto their spines; chronic stress removes "
        "those spines (E04), which is how spine loss lowers dlPFC activity (hamilton2013: lower dlPFC)",
    ),
    Projection("vmpfc", "vmpfc", 0.4, ("E04",), "local recurrent excitation on prefrontal spines, as for dlPFC"),
    Projection("ofc", "ofc", 0.4, ("E04",), "local recurrent excitation on prefrontal spines, as for dlPFC"),
    Projection(
        "dlpfc",
        "sgacc",
        -0.6,
        ("mayberg2005_sgacc_dbs", "ramirezmahaluf2017_cingulofrontal"),
        "dorsal cortical / ventral limbic reciprocity: dlPFC activity suppresses sgACC "
        "(ramirezmahaluf2017's two-area model; sgACC over-active in TRD, mayberg2005)",
    ),
    Projection(
        "sgacc",
        "dlpfc",
        -0.3,
        ("ramirezmahaluf2017_cingulofrontal",),
        "the reciprocal arm: an over-active sgACC suppresses dlPFC (ramirezmahaluf2017)",
    ),
    Projection(
        "dlpfc",
        "vmpfc",
        0.3,
        ("hamilton2013_mdd_activation_meta",),
        "top-down regulation reaches the amygdala through vmPFC; dlPFC and vmPFC are co-active in regulation",
    ),
    Projection(
        "vmpfc",
        "amygdala",
        -0.7,
        ("milad_quirk2012_extinction", "tang2013_amygdala_vpfc"),
        "vmPFC inhibits amygdala output (fear extinction, milad_quirk2012); amygdala-ventral PFC coupling is "
        "lower in MDD (tang2013, wu2020)",
    ),
    Projection(
        "dlpfc",
        "amygdala",
        -0.2,
        ("hamilton2013_mdd_activation_meta",),
        "dlPFC response low and amygdala response high to negative stimuli in MDD (hamilton2013)",
    ),
    Projection(
        "amygdala",
        "sgacc",
        0.4,
        ("connolly2013_sgacc_rsfc",),
        "amygdala drives sgACC; sgACC-amygdala connectivity is elevated in depression (connolly2013)",
    ),
    Projection(
        "sgacc",
        "amygdala",
        0.3,
        ("drevets2008_sgacc_review",),
        "sgACC belongs to the visceromotor network that modulates amygdala responses to stress (drevets2008)",
    ),
    Projection(
        "hippocampus",
        "vmpfc",
        0.5,
        ("kalisch2006_vmpfc_hippocampus", "cao2012_hippocampus_rsfc"),
        "hippocampal input gives vmPFC its context (kalisch2006); hippocampal-prefrontal coupling is impaired "
        "in MDD (cao2012)",
    ),
    Projection(
        "vmpfc",
        "hippocampus",
        0.2,
        ("kalisch2006_vmpfc_hippocampus",),
        "vmPFC and hippocampal activity correlate positively during extinction recall (kalisch2006)",
    ),
    Projection(
        "hippocampus",
        "amygdala",
        -0.3,
        ("kalisch2006_vmpfc_hippocampus", "maren_holmes2016_stress_extinction"),
        "context from the hippocampus gates amygdala fear expression (net effective inhibition)",
    ),
    Projection(
        "vta", "nacc", 0.6, ("russo_nestler2013_reward_circuitry",), "mesolimbic dopamine input (VTA-NAc pathway)"
    ),
    Projection("nacc", "vta", -0.3, ("russo_nestler2013_reward_circuitry",), "GABAergic feedback of NAc onto VTA"),
    Projection("vmpfc", "nacc", 0.4, ("russo_nestler2013_reward_circuitry",), "prefrontal glutamatergic input to NAc"),
    Projection("hippocampus", "nacc", 0.3, ("russo_nestler2013_reward_circuitry",), "ventral hippocampal input to NAc"),
    Projection("amygdala", "nacc", 0.3, ("russo_nestler2013_reward_circuitry",), "basolateral amygdala input to NAc"),
    Projection(
        "dlpfc",
        "nacc",
        -0.3,
        ("russo_nestler2013_reward_circuitry",),
        "net top-down (inhibitory) control of reward seeking by lateral PFC",
    ),
    Projection(
        "ofc",
        "caudate",
        0.6,
        ("huey2008_ocd_model", "ocd_cstc_hyperactivity"),
        "cortico-striatal arm of the OFC-striatum-thalamus loop (huey2008; OFC, ACC and caudate hyperactive in OCD)",
    ),
    Projection(
        "caudate",
        "thalamus",
        0.5,
        ("huey2008_ocd_model",),
        "net disinhibition of the thalamus through the direct basal-ganglia pathway",
    ),
    Projection("thalamus", "ofc", 0.5, ("huey2008_ocd_model",), "thalamo-cortical arm closing the loop"),
    Projection(
        "dlpfc", "caudate", -0.3, ("huey2008_ocd_model",), "net prefrontal (cognitive) control over the striatal loop"
    ),
)

CIRCUIT_CONSTANTS = (
    P(
        "circuit_slope",
        0.25,
        "1",
        "width of the sigmoid rate transfer f(x) = 1/(1 + exp(-x/slope))",
        "assumption",
        note="a maximal gain f' = 1/(4 slope) = 1 keeps the healthy network a contraction (unique fixed point)",
    ),
    P(
        "circuit_healthy_rate",
        0.5,
        "fraction of maximal rate",
        "activity of every region in health; sets each region's external drive",
        "assumption",
        note="a normalisation: healthy regions rest mid-range, where the sigmoid is most sensitive",
    ),
    P(
        "circuit_tau",
        1.0,
        "s",
        "time constant of each region's rate (shared)",
        "assumption",
        note="a shared time constant; correlations do not depend on it",
    ),
    P(
        "circuit_noise",
        0.1,
        "1/sqrt(s)",
        "independent noise amplitude per region (shared)",
        "assumption",
        note="a shared noise; correlations do not depend on it, covariances scale with its square",
    ),
    P(
        "circuit_neurogenesis_exponent",
        0.25,
        "1",
        "hippocampal projections scale with volume x neurogenesis**exponent",
        "assumption",
        note="new neurons are a small share of the dentate gyrus (F01-F03); volume carries most of the projection",
    ),
    P(
        "circuit_window_gain",
        0.1,
        "1",
        "prefrontal projections scale by (1 + gain x opening), opening = clip(plasticity_window - 1, 0, 1)",
        "assumption",
        note="metaplasticity raises synaptic efficacy during the window; small, so spines dominate",
    ),
)

CIRCUIT_PARAMETERS = (
    tuple(
        P(
            p.name,
            p.weight,
            "1",
            f"effective weight {p.source} -> {p.target} in health (rate model)",
            "assumption",
            note=f"sign: {', '.join(p.evidence)} ({p.why}); {_MAG}",
        )
        for p in PROJECTIONS
    )
    + CIRCUIT_CONSTANTS
)
"""The circuit rows of the parameter registry (``SCALES["circuits"]``)."""
