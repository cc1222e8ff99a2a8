"""From receptors to circuit, checked against spikes: a small spiking E/I network in Brian2.

The rate model's excitation drive (:class:`neuroplast.scales.signalling.Cascade`) is

    e(occ_pyr, occ_in) = (1 - occ_pyr) (1 + gain occ_in) - 1,

the relative change of pyramidal-cell excitation when NMDA receptors on pyramidal cells and on
interneurons are blocked (disinhibition: interneurons lose their NMDA drive, so pyramidal cells are
released from inhibition; Homayoun & Moghaddam 2007, ``homayoun2007_nmda_interneurons``). This
module measures the same quantity in a network of spiking neurons and derives ``gain`` from it.

Network (:func:`ei_network_rates`): 400 excitatory and 100 inhibitory conductance-based leaky
integrate-and-fire neurons, sparse random recurrent connections (probability 0.2); excitatory
synapses carry AMPA (tau 2 ms) and NMDA (tau 100 ms, voltage-dependent Mg2+ block, Jahr & Stevens)
components, inhibitory ones GABA-A (tau 10 ms); every neuron gets external Poisson AMPA input.
Membrane constants follow Brunel & Wang 2001 (``brunel_wang2001_cortical_network``): pyramidal
C 0.5 nF, g_L 25 nS; interneurons C 0.2 nF, g_L 20 nS; E_L -70 mV, threshold -50 mV, reset -55 mV.
Interneurons receive a larger share of their recurrent excitation through NMDA receptors than
pyramidal cells (the finding of homayoun2007 that NMDA receptors preferentially drive interneurons);
the synaptic weights are assumptions tuned so that the drug-free network fires at a few Hz (E) and
~15-25 Hz (I), the asynchronous irregular regime of cortical models.

NMDA block: a fraction ``occ`` of NMDA conductance is removed, ``occ_pyr`` on synapses onto
pyramidal cells and ``occ_in`` onto interneurons, with the receptor scale's relation
``occ_in = s x / (1 + s x)``, ``x = occ_pyr / (1 - occ_pyr)``, ``s = interneuron_selectivity``
(:mod:`neuroplast.scales.receptors.nmda`). All block levels run at once as independent copies of one
network (identical connectivity, independent Poisson input) in a single Brian2 run, with the numpy
code-generation target (no compiler needed).

:func:`derive_gain` fits ``gain`` (least squares, closed form: e is linear in gain) to the measured
relative change of the pyramidal rate; ``docs/circuits.md`` records the numbers and compares them
with the calibrated ``disinhibition_gain`` (which this module never changes).

Brian2 is an optional dependency (``pip install neuroplast[spiking]``); it is imported when a
function here is called.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ... import parameters

N_E, N_I = 400, 100
P_CONNECT = 0.2


@dataclasses.dataclass(frozen=True)
class SpikingResult:
    occ_pyr: np.ndarray  # (K,) NMDA block on pyramidal cells
    occ_in: np.ndarray  # (K,) NMDA block on interneurons
    rate_e_hz: np.ndarray  # (K,) mean pyramidal rate
    rate_i_hz: np.ndarray  # (K,) mean interneuron rate
    duration_s: float

    @property
    def relative_excitation(self) -> np.ndarray:
        """Relative change of the pyramidal rate against no block: the spiking analogue of ``e``."""
        return self.rate_e_hz / self.rate_e_hz[0] - 1.0


def interneuron_block(occ_pyr, selectivity: float) -> np.ndarray:
    """Interneuron NMDA block for a pyramidal block, as in :class:`~neuroplast.scales.receptors.NMDABlock`."""
    occ = np.asarray(occ_pyr, dtype=float)
    x = occ / (1.0 - occ)
    return selectivity * x / (1.0 + selectivity * x)


def rate_excitation(occ_pyr, occ_in, gain: float) -> np.ndarray:
    """The rate model's relation (``Cascade.excitation``), in NumPy."""
    return (1.0 - np.asarray(occ_pyr)) * (1.0 + gain * np.asarray(occ_in)) - 1.0


def ei_network_rates(
    occ_pyr,
    selectivity: float,
    *,
    duration_s: float = 1.0,
    settle_s: float = 0.2,
    seed: int = 1,
    weights: dict | None = None,
) -> SpikingResult:
    """Mean E and I rates of the network at each pyramidal block level ``occ_pyr`` (first should be 0).

    ``weights`` overrides entries of :data:`WEIGHTS` (for sensitivity checks).
    """
    import brian2 as b2

    wt = {**WEIGHTS, **(weights or {})}

    occ_pyr = np.asarray(occ_pyr, dtype=float)
    occ_in = interneuron_block(occ_pyr, selectivity)
    k = occ_pyr.size
    n = N_E + N_I
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.seed(seed)
    rng = np.random.default_rng(seed)
    b2.defaultclock.dt = 0.1 * b2.ms

    ms, mV, nS, nF, Hz = b2.ms, b2.mV, b2.nS, b2.nF, b2.Hz
    eqs = """
    dv/dt = (g_l*(e_l - v) - g_ampa*v - g_nmda*v/(1 + exp(-0.062*v/mV)/3.57)
             - g_gaba*(v - e_i)) / c_m : volt (unless refractory)
    dg_ampa/dt = -g_ampa / (2*ms) : siemens
    dg_nmda/dt = -g_nmda / (100*ms) : siemens
    dg_gaba/dt = -g_gaba / (10*ms) : siemens
    c_m : farad (constant)
    g_l : siemens (constant)
    ref : second (constant)
    block : 1 (constant)
    exc : boolean (constant)
    w_ext : siemens (constant)
    w_ext_n : siemens (constant)
    """
    # E_AMPA = E_NMDA = 0 mV (so their driving force is -v); Mg2+ 1 mM (Jahr & Stevens 1990, as in Brunel & Wang 2001)
    g = b2.NeuronGroup(
        k * n,
        eqs,
        threshold="v > -50*mV",
        reset="v = -55*mV",
        refractory="ref",
        method="euler",
        namespace={"e_l": -70 * mV, "e_i": -70 * mV},
    )
    local = np.arange(k * n) % n
    is_e = local < N_E
    copy = np.arange(k * n) // n
    g.exc = is_e
    g.c_m = np.where(is_e, 0.5, 0.2) * nF
    g.g_l = np.where(is_e, 25.0, 20.0) * nS
    g.ref = np.where(is_e, 2.0, 1.0) * ms
    g.w_ext = np.where(is_e, wt["ext_e"], wt["ext_i"]) * nS
    g.w_ext_n = np.where(is_e, wt["ext_nmda_e"], wt["ext_nmda_i"]) * nS
    g.block = np.where(is_e, occ_pyr[copy], occ_in[copy])
    g.v = (-70.0 + 15.0 * rng.random(k * n)) * mV

    # one random connectivity, repeated in every copy (the copies differ only in their block level)
    pre, post = np.nonzero(rng.random((n, n)) < P_CONNECT)
    keep = pre != post
    pre, post = pre[keep], post[keep]
    ex, inh = pre < N_E, pre >= N_E
    offs = (np.arange(k) * n)[:, None]

    syn_e = b2.Synapses(
        g,
        g,
        model="w_a : siemens (constant)\nw_n : siemens (constant)",
        on_pre="g_ampa_post += w_a\ng_nmda_post += w_n*(1 - block_post)",
    )
    syn_e.connect(i=(pre[ex][None, :] + offs).ravel(), j=(post[ex][None, :] + offs).ravel())
    to_e = np.tile(post[ex] < N_E, k)
    # weights (nS): E->E AMPA 0.25, NMDA 0.05 (x 100 ms); E->I AMPA 0.10, NMDA 0.14 (NMDA-dominated, homayoun2007)
    syn_e.w_a = np.where(to_e, wt["ee_ampa"], wt["ei_ampa"]) * nS
    syn_e.w_n = np.where(to_e, wt["ee_nmda"], wt["ei_nmda"]) * nS
    syn_i = b2.Synapses(g, g, model="w : siemens (constant)", on_pre="g_gaba_post += w")
    syn_i.connect(i=(pre[inh][None, :] + offs).ravel(), j=(post[inh][None, :] + offs).ravel())
    syn_i.w = np.where(np.tile(post[inh] < N_E, k), wt["ie_gaba"], wt["ii_gaba"]) * nS

    ext = b2.PoissonInput(g, "g_ampa", N=800, rate=wt["ext_rate_hz"] * Hz, weight="w_ext")
    ext_n = b2.PoissonInput(g, "g_nmda", N=800, rate=wt["ext_rate_hz"] * Hz, weight="w_ext_n*(1 - block)")
    mon = b2.SpikeMonitor(g)
    net = b2.Network(g, syn_e, syn_i, ext, ext_n, mon)
    net.run(settle_s * b2.second)
    t0 = float(b2.defaultclock.t / b2.second)
    net.run(duration_s * b2.second)
    t = np.asarray(mon.t / b2.second)
    i = np.asarray(mon.i)[t >= t0]
    counts = np.bincount(i, minlength=k * n).reshape(k, n) / duration_s
    return SpikingResult(occ_pyr, occ_in, counts[:, :N_E].mean(axis=1), counts[:, N_E:].mean(axis=1), duration_s)


WEIGHTS = {
    "ee_ampa": 0.25,
    "ee_nmda": 0.05,
    "ei_ampa": 0.10,
    "ei_nmda": 0.14,
    "ie_gaba": 1.6,
    "ii_gaba": 1.0,
    "ext_e": 1.4,
    "ext_i": 1.0,
    "ext_nmda_e": 0.12,
    "ext_nmda_i": 0.10,
    "ext_rate_hz": 3.0,
}
"""Synaptic weights (nS per spike) and external drive of the network: assumptions (see the module text)."""


def derive_gain(result: SpikingResult) -> float:
    """Least-squares ``gain`` of ``e = (1 - occ_pyr)(1 + gain occ_in) - 1`` against the spiking ``e``.

    ``e`` is linear in gain: ``e + occ_pyr = gain (1 - occ_pyr) occ_in``; closed form.
    """
    y = result.relative_excitation + result.occ_pyr
    x = (1.0 - result.occ_pyr) * result.occ_in
    return float(np.dot(x, y) / np.dot(x, x))


def block_excitation_check(levels=(0.0, 0.1, 0.2, 0.3, 0.43), selectivity: float | None = None, **kw) -> dict:
    """Run the network, derive the gain and compare with the calibrated ``disinhibition_gain``.

    Returns a dict with the levels, rates, the spiking and the fitted-rate excitation, the
    derived gain, the calibrated gain and the RMS difference between the two relations.
    """

    v = parameters.values()
    sel = v["interneuron_selectivity"] if selectivity is None else selectivity
    res = ei_network_rates(levels, sel, **kw)
    gain = derive_gain(res)
    fitted = rate_excitation(res.occ_pyr, res.occ_in, gain)
    calibrated = rate_excitation(res.occ_pyr, res.occ_in, v["disinhibition_gain"])
    e = res.relative_excitation
    return {
        "occ_pyr": res.occ_pyr.tolist(),
        "occ_in": res.occ_in.tolist(),
        "rate_e_hz": res.rate_e_hz.tolist(),
        "rate_i_hz": res.rate_i_hz.tolist(),
        "spiking_excitation": e.tolist(),
        "derived_gain": gain,
        "rate_excitation_derived": fitted.tolist(),
        "calibrated_gain": v["disinhibition_gain"],
        "rate_excitation_calibrated": calibrated.tolist(),
        "selectivity": sel,
        "rms_derived": float(np.sqrt(np.mean((fitted - e) ** 2))),
        "rms_calibrated": float(np.sqrt(np.mean((calibrated - e) ** 2))),
    }
