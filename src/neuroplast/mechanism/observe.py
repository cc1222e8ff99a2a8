"""Observation models: the model's read-outs mapped onto what each mechanistic study measured.

Every family observes a *raw* quantity per patient and time, ``raw(readouts, model) -> (n, T)``, and reports it
as the percent change from the same patient's pre-dose value (the first saved time, before any dose):
``100 (raw / raw_pre − 1)``. Two arms are compared as the difference of their percent changes, or, for counts
taken at one time (BrdU+ cells), as ``100 (raw_A / raw_B − 1)``. The model's signalling states are changes
relative to the untreated brain (0 = none), so their raw quantity is ``1 + state``.

``none_band``: the change (percent) below which a study's "no change" holds and above which its "increased" or
"decreased" does — each with its source or its reason. Read-out families the model cannot produce are listed
in :data:`UNAVAILABLE`, never approximated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import numpy as np

from ..model import Model
from ..parameters.circuits import PREFRONTAL
from ..scales.circuits import REGIONS, mood_circuit

Raw = Callable[[dict, "Model | None"], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Family:
    """A read-out family: what the studies measure, how the model's read-outs map onto it, and on what authority."""

    name: str
    label: str  # figure title
    readouts: tuple[str, ...]  # the model read-outs it uses (catalog.READOUTS)
    raw: Raw
    mapping: str  # the observation model in words, with its source id or assumption
    none_band: float  # percent
    band_source: str
    needs_model: bool = False


def percent_change(raw: np.ndarray) -> np.ndarray:
    """``100 (raw / raw[:, 0] − 1)``: percent change from each patient's first saved (pre-dose) value; raw (n, T)."""
    raw = np.asarray(raw, dtype=float)
    return 100.0 * (raw / raw[:, :1] - 1.0)


def relative(name: str) -> Raw:
    """A state kept relative to the untreated brain (0 = no change): its raw level is ``1 + state``."""
    return lambda ro, model: 1.0 + np.asarray(ro[name], dtype=float)


def level(name: str) -> Raw:
    return lambda ro, model: np.asarray(ro[name], dtype=float)


def formation_rate(ro: dict, model: Model | None) -> np.ndarray:
    """Spine formation rate per unit lifetime, ``1 + r (g mTORC1⁺ + g_T T + g_X X) vacant``
    (:meth:`neuroplast.scales.plasticity.Spines.formation`, with each patient's leaves as a column);
    elimination is not part of it (the studies count new spines)."""
    assert model is not None
    per_patient = jax.tree_util.tree_map(lambda leaf: np.asarray(leaf, dtype=float).reshape(-1, 1), model.spines)
    rate = per_patient.formation(
        *(np.asarray(ro[k], dtype=float) for k in ("spine_density", "mtorc1", "trophic", "fitness"))
    )
    return np.asarray(rate, dtype=float)


def synaptic_strength_ltp(ro: dict, model: Model | None) -> np.ndarray:
    """Pre-dose spine density plus the potentiation state: its percent change is the potentiation gained, as a
    share of the pre-dose connectivity (spines do not enter an LTP measurement taken within a day)."""
    s = np.asarray(ro["spine_density"], dtype=float)
    return s[:, :1] + np.asarray(ro["potentiation"], dtype=float)


def prefrontal_gbc(ro: dict, model: Model | None) -> np.ndarray:
    """Global connectivity of the prefrontal regions in the mood circuit: for each prefrontal region the mean
    Fisher-z correlation with every other region, averaged over the prefrontal regions (Abdallah's GBC, without
    global-signal regression). (n, T)."""
    fc = mood_circuit(ro).fc
    assert fc is not None
    z = np.arctanh(np.clip(fc, -0.999999, 0.999999))
    pfc = [i for i, r in enumerate(REGIONS) if r in PREFRONTAL]
    n_r = len(REGIONS)
    off = ~np.eye(n_r, dtype=bool)
    per_region = np.stack([z[..., i, off[i]].mean(axis=-1) for i in pfc], axis=-1)
    return per_region.mean(axis=-1)


_RODENT_BAND = (
    "assumption: rodent group differences below about 10 % are rarely significant at the usual 4-8 animals per "
    "group, so 'no change' is read as |change| < 10 % and 'increased' as > +10 %"
)

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("mrs_glx", "Human prefrontal Glx / glutamate (1H-MRS)", ("glutamate",), relative("glutamate"),
               "MRS Glx % change = 100 × (glutamate − pre-dose glutamate): the model's glutamate state is read as the "
               "fractional change of prefrontal glutamate and MRS's tissue pool is assumed to move one-to-one with it "
               "(assumption: no study in the evidence separates the extracellular surge from the tissue pool; a gain "
               "is left to the fit)",
               4.0, "vienna2021_pcc_glu_gln_3h_no_change: a 3T study's minimal detectable glutamate difference, 4 %"),
        Family("prefrontal_gbc", "Human prefrontal global connectivity (fMRI)", ("spine_density", "potentiation",
               "plasticity_window", "hippocampal_volume", "immature_neurons"), prefrontal_gbc,
               "GBC = mean Fisher-z correlation of each prefrontal region of the mood circuit (docs/circuits.md) with "
               "every other region, averaged over the prefrontal regions; % change from pre-dose (assumption: the "
               "circuit's linearised correlation stands for resting fMRI connectivity; no global-signal regression)",
               5.0, "assumption: about the test-retest variability of resting connectivity; no source in the evidence"),
        Family("sv2a_density", "Synaptic density (SV2A PET), human and mouse", ("spine_density",),
               level("spine_density"),
               "SV2A density % change = spine density % change (assumption: one presynaptic terminal per spine "
               "synapse; inhibitory terminals, which SV2A also labels, are taken as unchanged)",
               5.0, "assumption: about the test-retest variability of [11C]UCB-J binding; no source in the evidence"),
        Family("plasma_bdnf", "Blood BDNF", ("bdnf",), relative("bdnf"),
               "blood BDNF % change = brain BDNF % change, 100 × (bdnf − pre-dose bdnf) (assumption: peripheral "
               "BDNF follows the brain's; the evidence has no number linking the two)",
               10.0, "assumption: as the rodent band; serum BDNF assays vary by about this much"),
        Family("hippocampal_volume", "Hippocampal volume", ("hippocampal_volume",), level("hippocampal_volume"),
               "MRI hippocampal volume % change = model hippocampal volume % change from the pre-treatment value "
               "(both a fraction of the same reference; G04, F12 set the model's slope)",
               1.0, "assumption: about the precision of longitudinal MRI hippocampal volumetry"),
        Family("rodent_pfc_glutamate", "Rodent prefrontal extracellular glutamate (microdialysis)", ("glutamate",),
               relative("glutamate"),
               "extracellular glutamate, % of baseline − 100 = 100 × (glutamate − pre-dose glutamate) at the "
               "mapped human dose (C01 is the inverted U the model's excitation drive was built for)",
               10.0, _RODENT_BAND),
        Family("rodent_mtorc1", "Rodent prefrontal mTORC1 phosphorylation", ("mtorc1",), relative("mtorc1"),
               "p-mTOR / p-p70S6K fold change − 1 = mtorc1 − pre-dose mtorc1 (assumption: phosphorylation moves "
               "one-to-one with the model's relative mTORC1 activity)",
               10.0, _RODENT_BAND),
        Family("spine_density", "Rodent prefrontal spine density", ("spine_density",), level("spine_density"),
               "spine density % change = model spine density % change (the model's spines are prefrontal, a "
               "fraction of healthy density, E03, E04)",
               10.0, _RODENT_BAND),
        Family("spine_formation", "Rodent spine formation rate (two-photon imaging)", ("mtorc1", "trophic",
               "fitness"), formation_rate,
               "formation rate % change = % change of the model's formation term 1 + r (g mTORC1⁺ + g_T T + g_X X) "
               "(scales/plasticity/spines.py; imaging counts spines formed per interval, before elimination)",
               10.0, _RODENT_BAND, needs_model=True),
        Family("ltp", "Rodent hippocampal LTP", ("spine_density", "potentiation"), synaptic_strength_ltp,
               "LTP % change = potentiation gained as a share of pre-dose connectivity, 100 × (p − p_pre) / (s_pre + "
               "p_pre) (assumption: the model's prefrontal fast potentiation, H03, stands for hippocampal LTP "
               "rescue)",
               10.0, _RODENT_BAND),
        Family("neurogenesis_brdu", "Rodent surviving new dentate cells (BrdU+)", ("immature_neurons",),
               level("immature_neurons"),
               "BrdU+ surviving cells, % more than control = 100 × (immature pool, treated / control − 1) at the "
               "count (assumption: cells labelled during the treatment and counted within the 6-week immature "
               "window, F04, scale with the immature pool)",
               10.0, _RODENT_BAND),
    )
}  # fmt: skip
"""Every observation family a split entry may name."""

UNAVAILABLE: dict[str, str] = {
    "gamma_power": "EEG/MEG gamma (and alpha, theta, delta) power: the model has no oscillations — neither the "
    "signalling cascade nor the mood circuit's rate model (a fixed point with linear noise) produce a spectrum.",
    "cerebral_blood_flow": "regional blood flow and oxygen metabolism: no vascular or metabolic read-out.",
    "ect": "hippocampal and dentate-gyrus volume under ECT: the model has no ECT intervention.",
    "glutamine_cycling": "13C glutamine enrichment (a cycling flux): the model's glutamate is a level, not a flux.",
    "blood_bdnf_effect_size": "standardised effect sizes of blood BDNF: the model has no between-person spread of "
    "blood BDNF levels.",
    "hippocampal_subfield_glutamate": "evoked glutamate in hippocampal subfields: the model's glutamate is prefrontal.",
    "neuron_maturation": "milestones of new-neuron maturation: the immature window is a parameter (F04), not a "
    "read-out.",
}
"""Families the data measure and the model cannot produce, with why."""


def observed(family: Family, ro: dict, model: Model | None = None) -> np.ndarray:
    """The family's observed quantity, percent change from pre-dose, (n, T), from read-outs ``{name: (n, T)}``."""
    return percent_change(family.raw(ro, model))


__all__ = ["FAMILIES", "UNAVAILABLE", "Family", "formation_rate", "observed", "percent_change", "prefrontal_gbc"]
