"""One vocabulary: drugs, routes, therapies and read-outs, declared once.

The trial specification, the regimen, the model, the NONMEM / SBML / FHIR I/O, the reports and the web app
read these tables; nothing else names a drug, a route, a session kind or a read-out's unit. The event codes
(``Drug.code``, ``Therapy.code``, ``ROUTE_CODES``) are the numbers in the regimen's event table: appending is
safe, renumbering is not (stored kernels and NONMEM datasets carry them). Rating instruments (MADRS, HAM-D …)
live in :mod:`neuroplast.instruments`.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Drug:
    """A drug (or a placebo) a regimen can give.

    ``setting``: ``"clinic"`` (given in a monitored session, which builds expectancy) or ``"home"`` (a pill
    taken daily, which builds expectancy slowly). ``family``: the (S, R) shares of a ketamine-family drug;
    ``None`` for any other. ``inert``: carries no drug (saline, a placebo pill). ``antidepressant``: an oral
    antidepressant of :mod:`neuroplast.scales.pk.antidepressants` (one compartment, SERT occupancy);
    ``metabolite``: the active metabolite it forms there, if one is modelled. ``active_placebo``: a drug given
    to mimic a treatment's felt effects (midazolam), not to treat."""

    name: str
    code: int
    label: str
    routes: tuple[str, ...]
    setting: str
    family: tuple[float, float] | None = None
    inert: bool = False
    antidepressant: bool = False
    metabolite: str | None = None
    active_placebo: bool = False

    @property
    def treats(self) -> bool:
        """Given as a treatment: neither inert nor an active placebo (an open-label arm knows it is treated)."""
        return not (self.inert or self.active_placebo)

    @property
    def daily(self) -> bool:
        """Taken every day at home: a dose entry repeats at most daily."""
        return self.setting == "home"


ROUTE_CODES = {"iv": 0, "im": 1, "intranasal": 2, "oral": 3, "sublingual": 4}
"""Routes of administration and their codes in the event table."""

DRUGS: dict[str, Drug] = {
    d.name: d
    for d in (
        Drug("ketamine", 0, "racemic ketamine", ("iv", "im", "intranasal", "oral", "sublingual"), "clinic", (0.5, 0.5)),
        Drug("midazolam", 1, "midazolam (active placebo)", ("iv",), "clinic", active_placebo=True),
        Drug("saline", 2, "saline (placebo)", ("iv", "intranasal"), "clinic", inert=True),  # IV or nasal placebo
        # the routes of the esketamine popPK (Perez-Ruixo 2021)
        Drug("esketamine", 3, "esketamine", ("iv", "intranasal", "oral"), "clinic", (1.0, 0.0)),
        Drug("arketamine", 4, "arketamine", ("iv",), "clinic", (0.0, 1.0)),  # human data are intravenous only
        Drug("escitalopram", 5, "escitalopram", ("oral",), "home", antidepressant=True),
        Drug("sertraline", 6, "sertraline", ("oral",), "home", antidepressant=True),
        # a placebo pill, taken like the antidepressant it stands in for
        Drug("placebo", 7, "placebo pill", ("oral",), "home", inert=True),
        # codes 8-12 are the session kinds (THERAPIES)
        Drug("duloxetine", 13, "duloxetine", ("oral",), "home", antidepressant=True),
        Drug("venlafaxine", 14, "venlafaxine", ("oral",), "home", antidepressant=True, metabolite="odv"),
    )
}
"""Every drug, by name, in the order of their event codes."""


@dataclasses.dataclass(frozen=True)
class EventColumns:
    """The columns of a regimen's event table ``(n_events, 5)``: ``[start_h, end_h, rate, code, route]``.

    ``rate``: umol/h for a drug dose, 1 while a session is on; ``code``: :data:`DRUG_CODES`; ``route``:
    :data:`ROUTE_CODES`. Padding rows start and end at +1e12 h (never on)."""

    start: int = 0
    end: int = 1
    rate: int = 2
    code: int = 3
    route: int = 4
    width: int = 5


EVENT = EventColumns()


@dataclasses.dataclass(frozen=True)
class Therapy:
    """A kind of therapy or lifestyle session: its event code and usual length (h)."""

    name: str
    code: int
    label: str
    session_h: float


THERAPIES: dict[str, Therapy] = {
    t.name: t
    for t in (
        # Assumptions: a 50-minute therapy hour (CBT); a 2-hour MBCT group class; 45 minutes of moderate exercise
        # (the 150 min/week guideline as three sessions); a 20-minute meditation practice; a one-hour
        # creative-arts session.
        Therapy("cbt", 8, "cognitive behavioural therapy", 50.0 / 60.0),
        Therapy("mindfulness", 9, "mindfulness-based cognitive therapy", 2.0),
        Therapy("exercise", 10, "exercise", 45.0 / 60.0),
        Therapy("meditation", 11, "meditation", 20.0 / 60.0),
        Therapy("creative", 12, "creative activity", 1.0),
    )
}
"""Session kinds, in the order of the model's therapy inputs."""

KINDS = tuple(THERAPIES)
"""Session kinds in the model's order."""

DRUG_CODES = {**{d.name: d.code for d in DRUGS.values()}, **{t.name: t.code for t in THERAPIES.values()}}
"""Event codes of the regimen's table: drugs, then session kinds."""

ORAL_DRUGS = tuple(d.name for d in DRUGS.values() if d.antidepressant)
"""The oral antidepressants, in the order of the model's input channels."""

METABOLITES = {d.name: d.metabolite for d in DRUGS.values() if d.metabolite is not None}
"""Parent -> active metabolite, for the oral antidepressants."""

ORAL_SPECIES = (*ORAL_DRUGS, *METABOLITES.values())
"""Every species of the oral-antidepressant scale: the drugs, then their metabolites."""

CLINIC_DRUGS = tuple(d.name for d in DRUGS.values() if d.setting == "clinic")
PILLS = tuple(d.name for d in DRUGS.values() if d.setting == "home")
KETAMINE_FAMILY = {d.name: d.family for d in DRUGS.values() if d.family is not None}


@dataclasses.dataclass(frozen=True)
class Readout:
    """A quantity the model reports: unit, label for plots, and the level of the chain it belongs to."""

    name: str
    unit: str
    label: str
    level: str


LEVELS = {
    "concentrations": "Concentration",
    "occupancy": "Receptor occupancy",
    "signalling": "Signalling",
    "plasticity": "Synapses and spines",
    "structure": "Neurogenesis and volume",
    "mood": "Mood and scale score",
    "safety": "Safety",
}
"""The levels of the chain, in causal order, with their titles."""

_NG = "ng/mL"
READOUTS: dict[str, Readout] = {
    r.name: r
    for r in (
        Readout("ketamine_plasma", _NG, "ketamine", "concentrations"),
        Readout("s_ketamine_plasma", _NG, "(S)-ketamine", "concentrations"),
        Readout("r_ketamine_plasma", _NG, "(R)-ketamine", "concentrations"),
        Readout("norketamine_plasma", _NG, "norketamine", "concentrations"),
        Readout("hnk_plasma", _NG, "(2R,6R)-HNK", "concentrations"),
        Readout("ketamine_effect_site", _NG, "ketamine effect site", "concentrations"),
        Readout("midazolam_plasma", _NG, "midazolam", "concentrations"),
        Readout("escitalopram_plasma", _NG, "escitalopram", "concentrations"),
        Readout("sertraline_plasma", _NG, "sertraline", "concentrations"),
        Readout("duloxetine_plasma", _NG, "duloxetine", "concentrations"),
        Readout("venlafaxine_plasma", _NG, "venlafaxine", "concentrations"),
        Readout("odv_plasma", _NG, "O-desmethylvenlafaxine", "concentrations"),
        Readout("occupancy_pyramidal", "fraction", "block, pyramidal cells", "occupancy"),
        Readout("occupancy_interneuron", "fraction", "block, interneurons", "occupancy"),
        Readout("sert_occupancy", "fraction", "SERT occupancy", "occupancy"),
        Readout("hnk_ampa_drive", "relative to the surge", "HNK AMPA drive", "signalling"),
        Readout("glutamate", "relative to baseline", "glutamate surge", "signalling"),
        Readout("bdnf", "relative to baseline", "BDNF", "signalling"),
        Readout("mtorc1", "relative to baseline", "mTORC1", "signalling"),
        Readout("spine_density", "fraction of healthy", "spine density", "plasticity"),
        Readout("potentiation", "fraction of healthy connectivity", "potentiation", "plasticity"),
        Readout("mood", "fraction of baseline depression", "mood", "mood"),
        Readout("expectancy", "fraction", "expectancy (placebo)", "mood"),
        Readout("madrs_true", "MADRS points", "MADRS (true, no rater noise)", "mood"),
        Readout("cadss", "CADSS points", "dissociation (CADSS)", "safety"),
        Readout("sbp", "mmHg", "systolic BP", "safety"),
        Readout("dbp", "mmHg", "diastolic BP", "safety"),
        Readout("heart_rate", "beats/min", "heart rate", "safety"),
        Readout("sedation", "probability", "sedation", "safety"),
        Readout("trophic", "fraction (follows SERT occupancy over weeks)", "trophic (SSRI)", "signalling"),
        Readout("fitness", "guideline exercise doses", "exercise fitness", "structure"),
        Readout("neurogenesis", "new neurons per day (one hippocampus)", "new neurons", "structure"),
        Readout("immature_neurons", "fraction of healthy", "immature neurons", "structure"),
        Readout("hippocampal_volume", "fraction of healthy", "hippocampal volume", "structure"),
        Readout("learning", "fraction of the negative state unlearned", "learning (therapy)", "mood"),
        Readout(
            "plasticity_window", "learning-rate multiplier (1 = depressed baseline)", "plasticity window", "plasticity"
        ),  # fmt: skip
    )
}
"""Every read-out of :meth:`neuroplast.model.Model.readouts`, in its order."""

READOUT_UNITS = {name: r.unit for name, r in READOUTS.items()}

__all__ = [
    "CLINIC_DRUGS",
    "DRUGS",
    "DRUG_CODES",
    "EVENT",
    "KETAMINE_FAMILY",
    "KINDS",
    "METABOLITES",
    "ORAL_DRUGS",
    "ORAL_SPECIES",
    "LEVELS",
    "PILLS",
    "READOUTS",
    "READOUT_UNITS",
    "ROUTE_CODES",
    "THERAPIES",
    "Drug",
    "Readout",
    "Therapy",
]
