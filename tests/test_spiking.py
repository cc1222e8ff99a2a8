"""From receptors to circuit, checked against spikes.

Oracle: a Brian2 network of 400 E / 100 I conductance-based LIF neurons with AMPA, NMDA (Mg2+ block) and
GABA-A synapses, NMDA block removed from NMDA conductance (more on interneurons, interneuron_selectivity).
The rate model's relation e = (1 - occ_pyr)(1 + gain occ_in) - 1, with the gain derived from the spikes,
must reproduce the spiking network's relative change of pyramidal rate.
"""

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="brian2 is not installed: install the optional extra neuroplast[spiking]")

from neuroplast.scales.circuits.spiking import block_excitation_check, interneuron_block, rate_excitation  # noqa: E402

LEVELS = (0.0, 0.1, 0.2, 0.3, 0.43)  # pyramidal NMDA block: none up to the model's peak after 0.5 mg/kg IV (0.43)


@pytest.fixture(scope="module")
def check():
    return block_excitation_check(LEVELS, duration_s=1.0, settle_s=0.2, seed=1)


@pytest.mark.slow  # Brian2 builds and runs a spiking network
def test_block_on_interneurons_disinhibits_pyramidal_cells(check):
    rate_i, rate_e = np.array(check["rate_i_hz"]), np.array(check["rate_e_hz"])
    assert 2.0 < rate_e[0] < 10.0 and 10.0 < rate_i[0] < 40.0  # drug-free asynchronous regime
    assert np.all(np.diff(rate_i) < 0)  # interneurons lose their NMDA drive (homayoun2007_nmda_interneurons)
    assert rate_e[1] > rate_e[0] * 1.1 and rate_e[2] > rate_e[1]  # ... and pyramidal cells are released
    assert check["derived_gain"] > 0


def test_rate_relation_with_the_derived_gain_matches_the_spiking_network(check):
    """Tolerance: RMS 0.15 in relative rate over the five levels.

    Three seeds (1 s each) gave derived gains 2.97-3.23 and RMS 0.04-0.11; a 3 s run gave RMS 0.04: the
    seed-to-seed spread of a single level's relative change is up to ~0.1 at 1 s (network rate
    fluctuations), and the rate formula's inverted U is slightly flatter than the network's (peak at
    occ_pyr 0.3, 0.83 vs 0.70). 0.15 admits that noise and shape difference while still failing a
    relation with no disinhibition (gain 0: RMS ~0.7) or a monotone one.
    """
    e = np.array(check["spiking_excitation"])
    fitted = rate_excitation(check["occ_pyr"], check["occ_in"], check["derived_gain"])
    assert np.sqrt(np.mean((fitted - e) ** 2)) == pytest.approx(check["rms_derived"])
    assert check["rms_derived"] < 0.15
    no_disinhibition = rate_excitation(check["occ_pyr"], check["occ_in"], 0.0)
    assert np.sqrt(np.mean((no_disinhibition - e) ** 2)) > 0.5
    # both show the inverted U: excitation peaks inside the range, below the highest block level
    assert np.argmax(e) in (2, 3) and e[-1] < e.max()
    # the calibrated disinhibition_gain (fitted to trial endpoints, never changed here) is recorded beside it
    assert check["calibrated_gain"] > 0 and np.isfinite(check["rms_calibrated"])


def test_interneuron_block_follows_the_receptor_scale():
    # oracle: NMDABlock.occupancy with x and selectivity * x (neuroplast.scales.receptors.nmda)
    from neuroplast.scales.receptors import NMDABlock

    sel = 1.98
    blk = NMDABlock(*(np.float64(1.0),) * 5, interneuron_selectivity=np.float64(sel))
    occ = np.array([0.1, 0.43])
    x = occ / (1 - occ)  # the pyramidal block from x = fu C / Ki with Ki = fu = 1
    pyr, inter = blk.occupancy(x, 0.0, 0.0, 0.0)
    assert np.allclose(pyr, occ) and np.allclose(interneuron_block(occ, sel), inter)
