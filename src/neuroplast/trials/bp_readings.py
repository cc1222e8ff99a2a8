"""Blood pressure as the clinic measures it: cuff readings at each monitored session, with within-session variability.

The model's blood pressure (``scales.safety``) is the patient's expected pressure at each moment. A cuff reading
adds what varies from one reading to the next within a session — measurement error and spontaneous
fluctuation — normal with SD ``sbp_within_sd`` / ``dbp_within_sd``. A session (a clinic visit,
:meth:`Regimen.clinic_visits`) is read just before its first dose and at :data:`READ_AFTER_MIN` after it; a patient's measured rise
is the largest reading of a session over that session's pre-dose reading, over all sessions: what the esketamine
label counts (rises of >= 40 mmHg systolic, >= 25 mmHg diastolic; I03).

The two SDs are solved so that readings alone, over the label trials' 8 sessions (twice weekly for 4 weeks,
esketamine_induction_schedule_4_weeks), give the shares of I03's *placebo* arm (0.5 % systolic, 3 % diastolic):
:func:`noise_only_share` is that probability in closed form (one-dimensional quadrature). The active arms' rows of
I03 and the label's range (spravato_label_bp_increase) are not used: the share of esketamine patients with a
large rise stays a held-out prediction.
"""

from __future__ import annotations

import numpy as np
import scipy.integrate
import scipy.stats

from ..cohort import Stream, arm_key, stream_rng
from ..simulation import Simulation

READ_AFTER_MIN = (40.0, 60.0, 90.0, 120.0)
"""Readings after a session's first dose (min): the label's check at about 40 min, then every half hour to the end
of its 2-hour observation (assumption: the trials' own schedules were not read)."""

LABEL_SESSIONS = 8  # esketamine_induction_schedule_4_weeks: twice weekly for 4 weeks


def _at(x: np.ndarray, ts: np.ndarray, t: float) -> np.ndarray:
    """Each patient's trajectory ``x`` (patients x saves) at time ``t`` (linear between saves)."""
    j = int(np.clip(np.searchsorted(ts, t), 1, ts.size - 1))
    w = (t - ts[j - 1]) / (ts[j] - ts[j - 1])
    return x[:, j - 1] + np.clip(w, 0.0, 1.0) * (x[:, j] - x[:, j - 1])


def measured_rises(sim: Simulation, values: dict, seed: int, arm: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Per patient, the largest measured systolic and diastolic rise over a session's pre-dose reading (mmHg);
    NaN for an arm with no monitored session. The noise comes from the arm's own stream, one per session, whose
    draws go to the patients in order (a patient's readings do not depend on the arm's size)."""
    ts, ro = sim.times_h, sim.readouts
    n = ro["sbp"].shape[0]
    out = np.full((2, n), np.nan)
    sds = (values["sbp_within_sd"], values["dbp_within_sd"])
    for i, start in enumerate(visit[0].time_h for visit in sim.regimen.clinic_visits()):
        z = stream_rng(seed, arm_key(arm), Stream.BP_READINGS, i).standard_normal((n, 2, 1 + len(READ_AFTER_MIN)))
        for k, (name, sd) in enumerate(zip(("sbp", "dbp"), sds)):
            pre = _at(ro[name], ts, start) + sd * z[:, k, 0]
            after = [_at(ro[name], ts, start + m / 60.0) + sd * z[:, k, 1 + j] for j, m in enumerate(READ_AFTER_MIN)]
            out[k] = np.fmax(out[k], np.max(after, axis=0) - pre)
    return out[0], out[1]


def noise_only_share(sd: float, rise: float, readings: int = len(READ_AFTER_MIN), n_sessions: int = LABEL_SESSIONS):
    """The probability that readings alone (no change in the pressure itself) show a rise of at least ``rise``
    in some session: per session ``1 - E[Phi((rise + e0)/sd)^readings]`` over the pre-dose error ``e0``."""

    def integrand(u):
        return scipy.stats.norm.pdf(u) * (1.0 - scipy.stats.norm.cdf(rise / sd + u) ** readings)

    one = scipy.integrate.quad(integrand, -12.0, 12.0, epsabs=1e-14)[0]
    return 1.0 - (1.0 - one) ** n_sessions


__all__ = ["LABEL_SESSIONS", "READ_AFTER_MIN", "measured_rises", "noise_only_share"]
