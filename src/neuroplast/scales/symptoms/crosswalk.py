"""Score crosswalks between PHQ-9, QIDS-SR16, HAM-D17 and MADRS, and each instrument's measurement error.

The model's symptom read-out is the true MADRS (``madrs_true``). Clinics measure PHQ-9, QIDS-SR16,
HAM-D17 or MADRS, so every instrument is linked to MADRS through HAM-D17 as the hub, by
monotone piecewise-linear maps between published anchor points:

* MADRS <-> HAM-D17: equipercentile linking, HAM-D 10/20/30/40 = MADRS 13/26/39/52.5
  (``leucht2018_madrs_hamd``, the same source as the registry's ``hamd17_per_madrs`` = 1/1.3, so
  this crosswalk agrees with the trial code's HAM-D17 scoring). HAM-D 52 (its maximum) is tied to
  MADRS 60 (its maximum): assumption, needed to close the range; no published pair above 40.
* HAM-D17 <-> QIDS-SR16: the Rush 2003 / Trivedi 2004 conversion table (``rush2003_qids_table``),
  the mid-point of each HAM-D17 range. The table gives 18-19 for both QIDS 14 and 15; we take 18 and
  19 (assumption) so the map is strictly increasing. QIDS 27 is tied to HAM-D 36, the low end of its
  36-52 range: higher HAM-D (MADRS above ~47) all read QIDS 27 (the self-report saturates).
* PHQ-9 <-> QIDS-SR16: no published equating of the two totals was found in the sources read.
  Assumption: align the published severity bands of both 0-27 self-reports, PHQ-9 5/10/15/20
  (mild / moderate / moderately severe / severe, ``kroenke2001_phq9``) with QIDS-SR16 6/11/16/21
  (mild / moderate / severe / very severe, ``rush2003_qids_table``), and 27 with 27.

Measurement error (SD of one rating around the true score, in the instrument's points) is in
:data:`NOISE_SD`, with sources in :data:`NOISE_SOURCES`. Everything here works on NumPy and on JAX
arrays (``jnp.interp``), so it can sit inside a likelihood that is differentiated.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

INSTRUMENTS = ("PHQ9", "MADRS", "QIDS_SR16", "HAMD17")
"""Instruments a history may contain. The order gives each one's integer code (:func:`code`)."""

RANGES = {"PHQ9": (0, 27), "MADRS": (0, 60), "QIDS_SR16": (0, 27), "HAMD17": (0, 52)}
"""Valid total-score range of each instrument (inclusive)."""

SOURCES = {
    "leucht2018_madrs_hamd": "Leucht S et al. Translating the HAM-D into the MADRS and vice versa with equipercentile "
    "linking. J Affect Disord 2018;226:326-331 (evidence/extra_sources.yaml, verified)",
    "rush2003_qids_table": "Rush AJ et al. Biol Psychiatry 2003;54:573-583, and Trivedi MH et al. Psychol Med 2004; "
    "conversion table of QIDS-SR16, IDS-SR and HRSD17 totals with severity bands, as given at "
    "http://ids-qids.org/interpretation.html (read; verified against that page)",
    "kroenke2001_phq9": "Kroenke K, Spitzer RL, Williams JB. The PHQ-9: validity of a brief depression severity "
    "measure. J Gen Intern Med 2001;16:606-613; severity cut-points 5, 10, 15, 20",
    "sun2020_phq9_reliability": "Sun Y et al. The reliability and validity of PHQ-9 in patients with major depressive "
    "disorder in psychiatric hospital. BMC Psychiatry 2020;20:474: two-week test-retest "
    "r = 0.737 in 54 MDD patients (read in the abstract)",
    "williams2008_madrs_sigma_reliability": "Williams JBW, Kobak KA. Br J Psychiatry 2008;192:52-58: MADRS ICC 0.93 "
    "(registry parameter madrs_noise_sd)",
}

# Anchor points (x strictly increasing in both columns: each map is invertible).
_MADRS_HAMD = (
    np.array([0.0, 13.0, 26.0, 39.0, 52.5, 60.0]),  # MADRS
    np.array([0.0, 10.0, 20.0, 30.0, 40.0, 52.0]),
)  # HAM-D17
_HAMD_QIDS = (
    np.array(
        [
            0.0,
            1.5,
            3.0,
            4.0,
            5.5,
            7.0,
            8.0,
            9.5,
            11.0,
            12.0,
            13.0,
            14.5,
            16.0,
            17.0,
            18.0,
            19.0,
            20.0,
            21.5,
            23.0,
            24.0,
            25.0,
            26.5,
            28.0,
            29.0,
            30.5,
            32.0,
            34.0,
            36.0,
        ]
    ),  # HAM-D17
    np.arange(28, dtype=float),
)  # QIDS-SR16 0..27
_QIDS_PHQ = (
    np.array([0.0, 6.0, 11.0, 16.0, 21.0, 27.0]),  # QIDS-SR16
    np.array([0.0, 5.0, 10.0, 15.0, 20.0, 27.0]),
)  # PHQ-9

_PHQ9_TEST_RETEST = 0.737  # sun2020_phq9_reliability
_PHQ9_SD_CLINICAL = 5.0  # assumption: between-patient SD of PHQ-9 totals in depressed outpatients (typically 4-6)

NOISE_SD = {
    "MADRS": 1.6,  # = registry madrs_noise_sd (williams2008: SEM = SD sqrt(1 - ICC), ICC 0.93, SD 6)
    "HAMD17": 1.6 / 1.3,  # = registry hamd17_noise_sd (MADRS error through the linking slope; assumption)
    # SEM = SD sqrt(1 - r) = 5 x sqrt(0.263) = 2.6 points. A two-week retest also holds real change, so this
    # is on the generous side, which suits a self-report taken between visits.
    "PHQ9": _PHQ9_SD_CLINICAL * math.sqrt(1.0 - _PHQ9_TEST_RETEST),
    "QIDS_SR16": _PHQ9_SD_CLINICAL
    * math.sqrt(1.0 - _PHQ9_TEST_RETEST),  # assumption: as PHQ-9 (same 0-27 self-report of the 9 DSM domains)
}
"""SD of one rating around the true score, in the instrument's own points."""

NOISE_SOURCES = {
    "MADRS": "williams2008_madrs_sigma_reliability",
    "HAMD17": "assumption: MADRS error / 1.3 (leucht2018_madrs_hamd slope)",
    "PHQ9": "sun2020_phq9_reliability (r 0.737) with an assumed SD of 5",
    "QIDS_SR16": "assumption: as PHQ-9",
}


def _interp(x, xp, fp):
    if isinstance(x, (np.ndarray, float, int, np.floating)):
        return np.interp(x, xp, fp)
    return jnp.interp(x, jnp.asarray(xp), jnp.asarray(fp))


def code(instrument: str) -> int:
    """Integer code of an instrument (its index in :data:`INSTRUMENTS`)."""
    return INSTRUMENTS.index(instrument)


def from_madrs(madrs, instrument: str):
    """The score on ``instrument`` equivalent to a MADRS total (clipped to the instrument's range)."""
    m = madrs
    if instrument == "MADRS":
        lo, hi = RANGES["MADRS"]
        return np.clip(m, lo, hi) if isinstance(m, (np.ndarray, float, int, np.floating)) else jnp.clip(m, lo, hi)
    h = _interp(m, *_MADRS_HAMD)
    if instrument == "HAMD17":
        return h
    q = _interp(h, *_HAMD_QIDS)
    if instrument == "QIDS_SR16":
        return q
    if instrument == "PHQ9":
        return _interp(q, *_QIDS_PHQ)
    raise KeyError(instrument)


def to_madrs(score, instrument: str):
    """The MADRS total equivalent to a score on ``instrument`` (the inverse of :func:`from_madrs`)."""
    if instrument == "MADRS":
        return score
    s = score
    if instrument == "PHQ9":
        s = _interp(s, _QIDS_PHQ[1], _QIDS_PHQ[0])
        instrument = "QIDS_SR16"
    if instrument == "QIDS_SR16":
        s = _interp(s, _HAMD_QIDS[1], _HAMD_QIDS[0])
        instrument = "HAMD17"
    if instrument == "HAMD17":
        return _interp(s, _MADRS_HAMD[1], _MADRS_HAMD[0])
    raise KeyError(instrument)


MADRS_GRID = np.linspace(0.0, 60.0, 601)
"""MADRS grid (0.1-point steps) on which :data:`TABLE` tabulates every instrument."""

TABLE = np.stack([from_madrs(MADRS_GRID, name) for name in INSTRUMENTS])
"""``TABLE[code(i)]``: the score on instrument ``i`` at each point of :data:`MADRS_GRID`. Interpolating it
differs from :func:`from_madrs` by less than 0.05 points (kinks of the composed maps fall between grid points)."""


def from_madrs_coded(madrs, codes):
    """Vectorised :func:`from_madrs` for per-element instrument codes (JAX-differentiable in ``madrs``)."""
    import jax

    table = jnp.asarray(TABLE)[codes]  # (..., grid)
    flat_m = jnp.reshape(madrs, (-1,))
    flat_t = jnp.reshape(table, (-1, MADRS_GRID.size))
    out = jax.vmap(lambda m, t: jnp.interp(m, jnp.asarray(MADRS_GRID), t))(flat_m, flat_t)
    return jnp.reshape(out, jnp.shape(madrs))


__all__ = [
    "INSTRUMENTS",
    "MADRS_GRID",
    "NOISE_SD",
    "NOISE_SOURCES",
    "RANGES",
    "SOURCES",
    "TABLE",
    "code",
    "from_madrs",
    "from_madrs_coded",
    "to_madrs",
]
