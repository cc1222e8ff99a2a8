"""A region-level rate model of the mood circuit, evaluated on the slow (plasticity) state.

Model. Each region ``i`` of :data:`REGIONS` has a rate ``r_i`` (fraction of its maximal rate):

    tau dr/dt = -r + f(W r + I) + noise,      f(x) = 1 / (1 + exp(-x / slope)),

with independent white noise of amplitude ``circuit_noise`` per region. ``W[target, source]`` is
the effective weight of each projection of :data:`PROJECTIONS` in health times the plasticity factor
of that projection at the time asked for (below). The external drive ``I`` is fixed so that every
region rests at ``circuit_healthy_rate`` in health: ``I = logit(r_h) slope - W_healthy r_h``; so
changes of activity are caused by the couplings alone.

Plasticity factors (read from ``Simulation.readouts``, never from state indices; 1 = healthy):

* prefrontal ``c_pfc = (spine_density + potentiation) (1 + window_gain opening)`` — spine density
  and potentiation are "fraction of healthy" read-outs; ``opening = clip(plasticity_window - 1, 0, 1)``
  when the model has the ``plasticity_window`` read-out (a learning-rate multiplier, 1 at the
  depressed baseline), else 0;
* hippocampal ``c_hpc = hippocampal_volume x neurogenesis ** neurogenesis_exponent`` — each a
  "fraction of healthy" read-out (neurogenesis: ``immature_neurons``, the pool of adult-born
  neurons; a read-out is used only if ``model.READOUT_UNITS`` gives it that unit), 1.0 when absent.

A projection is multiplied by ``c_pfc`` when either end is prefrontal (dlPFC, sgACC, vmPFC, OFC:
stress removes spines on the receiving dendrites and atrophies the sending pyramidal cells) and by
``c_hpc`` when either end is the hippocampus; other projections (VTA-NAc, caudate-thalamus) keep
their healthy weight. A projection between prefrontal cortex and hippocampus gets both.

Outputs at any saved (or interpolated) time:

* ``activity`` — the stable fixed point ``r*`` (the dynamics relaxed from health, then Newton's
  method with backtracking on ``r = f(W r + I)``, batched);
* ``fc`` — functional connectivity: the correlation matrix of the model linearised around ``r*``,
  ``dr = A (r - r*) dt + (noise / tau) dB``, ``A = (-1 + diag(f'(x*)) W) / tau``, whose stationary
  covariance solves the continuous Lyapunov equation ``A S + S A^T + Q = 0`` (solved with
  ``scipy.linalg.solve_continuous_lyapunov``, Bartels-Stewart); ``fc = S_ij / sqrt(S_ii S_jj)``.

Sub-circuit hooks (:func:`subcircuit_activity`), each normalised so that healthy = 0 and the
untreated baseline of the same patient = 1 (positive = towards disease):

* ``fear`` — amygdala activity, under vmPFC and hippocampal control (PTSD, anxiety);
* ``reward`` — mean of NAc and VTA activity, under prefrontal control (addiction);
* ``compulsion`` — mean of OFC, caudate and thalamus activity, the OFC-striatum-thalamus loop (OCD).

Depression in this model is the ``trd`` preset's stressed baseline (spines at ``1/(1 + stress)``);
the directions it shows against health, with their sources, are in ``docs/circuits.md`` and the
tests: sgACC over-activity (mayberg2005), weaker prefrontal control of the amygdala (tang2013,
hamilton2013), weaker hippocampal-prefrontal coupling (cao2012). Units: activities are fractions of
maximal rate; correlations are dimensionless; times are hours from the first dose.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import linalg

from ..._errors import NeuroplastInputError
from ...parameters.circuits import HIPPOCAMPAL, PREFRONTAL, PROJECTIONS, REGIONS

SUBCIRCUITS = {"fear": ("amygdala",), "reward": ("nacc", "vta"), "compulsion": ("ofc", "caudate", "thalamus")}
"""Sub-circuit name -> the regions whose mean activity it reports."""


def _values(values: dict | None) -> dict:
    if values is None:
        from ... import parameters

        values = parameters.values()
    return values


@dataclasses.dataclass(frozen=True)
class CircuitConstants:
    """The numbers of the rate model, read from the registry (``parameters.values()``)."""

    weights: np.ndarray  # (R, R) healthy W[target, source]
    mask_pfc: np.ndarray  # (R, R) 1 where the projection follows the prefrontal factor
    mask_hpc: np.ndarray  # (R, R) 1 where it follows the hippocampal factor
    slope: float
    healthy_rate: float
    tau_s: float
    noise: float
    neurogenesis_exponent: float
    window_gain: float

    @classmethod
    def from_values(cls, values: dict | None = None) -> CircuitConstants:
        v = _values(values)
        n = len(REGIONS)
        idx = {r: i for i, r in enumerate(REGIONS)}
        w, mp, mh = np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n))
        for p in PROJECTIONS:
            i, j = idx[p.target], idx[p.source]
            w[i, j] = v[p.name]
            mp[i, j] = float(p.source in PREFRONTAL or p.target in PREFRONTAL)
            mh[i, j] = float(p.source in HIPPOCAMPAL or p.target in HIPPOCAMPAL)
        return cls(
            w,
            mp,
            mh,
            v["circuit_slope"],
            v["circuit_healthy_rate"],
            v["circuit_tau"],
            v["circuit_noise"],
            v["circuit_neurogenesis_exponent"],
            v["circuit_window_gain"],
        )

    @property
    def drive(self) -> np.ndarray:
        """External drive ``I`` (R,) that puts every region at the healthy rate when all factors are 1."""
        rh = self.healthy_rate
        return self.slope * np.log(rh / (1.0 - rh)) - self.weights @ np.full(len(REGIONS), rh)


@dataclasses.dataclass(frozen=True)
class CircuitState:
    """The circuit at ``times_h`` for each patient. Shapes: n patients, T times, R regions."""

    regions: tuple[str, ...]
    times_h: np.ndarray  # (T,)
    activity: np.ndarray  # (n, T, R) fixed-point rates, fraction of maximal
    fc: np.ndarray | None  # (n, T, R, R) correlation matrix (None when not asked for: with_fc=False)
    covariance: np.ndarray | None  # (n, T, R, R) stationary covariance of the linearised model
    coupling: np.ndarray  # (n, T, R, R) effective W[target, source]
    factors: dict  # "prefrontal", "hippocampal" -> (n, T)

    def region(self, name: str) -> np.ndarray:
        """Activity of one region, (n, T)."""
        return self.activity[..., self.regions.index(name)]

    def fc_between(self, a: str, b: str) -> np.ndarray:
        """Correlation between two regions, (n, T)."""
        assert self.fc is not None, "functional connectivity was not computed (with_fc=False)"
        return self.fc[..., self.regions.index(a), self.regions.index(b)]


FRACTION_OF_HEALTHY = "fraction of healthy"
NEUROGENESIS_READOUTS = ("immature_neurons", "neurogenesis")
"""Read-outs that may carry hippocampal neurogenesis, in order of preference; one is used only when its
unit (``model.READOUT_UNITS``) is "fraction of healthy" (``neurogenesis`` is in new neurons per day)."""


def _units() -> dict:
    from ...catalog import READOUT_UNITS

    return READOUT_UNITS


def plasticity_factors(readouts: dict, values: dict | None = None, units: dict | None = None) -> dict:
    """``{"prefrontal": c_pfc, "hippocampal": c_hpc}`` (each shaped like the read-outs) from read-outs.

    Uses whichever of ``spine_density``, ``potentiation``, ``plasticity_window``, ``hippocampal_volume``
    and a neurogenesis read-out (:data:`NEUROGENESIS_READOUTS`) are present; absent hippocampal
    read-outs count as 1. ``plasticity_window`` is a learning-rate multiplier with 1 at the
    depressed baseline: its opening ``clip(window - 1, 0, 1)`` raises prefrontal coupling.
    ``units`` (default ``model.READOUT_UNITS``) decides which read-outs are fractions of healthy.
    """
    v = _values(values)
    units = _units() if units is None else units
    if "spine_density" not in readouts:
        raise NeuroplastInputError(
            "the simulation has no 'spine_density' read-out; the circuit needs it", field="readouts"
        )
    s = np.asarray(readouts["spine_density"], dtype=float)
    pfc = s + np.asarray(readouts.get("potentiation", 0.0), dtype=float)
    if "plasticity_window" in readouts:
        opening = np.clip(np.asarray(readouts["plasticity_window"], dtype=float) - 1.0, 0.0, 1.0)
        pfc = pfc * (1.0 + v["circuit_window_gain"] * opening)

    def fraction(name):
        if name in readouts and units.get(name, FRACTION_OF_HEALTHY) == FRACTION_OF_HEALTHY:
            return np.maximum(np.asarray(readouts[name], dtype=float), 0.0)
        return None

    vol = fraction("hippocampal_volume")
    ng = next((x for x in map(fraction, NEUROGENESIS_READOUTS) if x is not None), None)
    hpc = (1.0 if vol is None else vol) * (1.0 if ng is None else ng ** v["circuit_neurogenesis_exponent"])
    shape = np.broadcast_shapes(pfc.shape, np.shape(hpc))
    return {"prefrontal": np.broadcast_to(pfc, shape).copy(), "hippocampal": np.broadcast_to(hpc, shape).copy()}


def couplings(c_pfc, c_hpc, const: CircuitConstants) -> np.ndarray:
    """Effective ``W`` (..., R, R) for factor arrays of any shape."""
    c_pfc = np.asarray(c_pfc, dtype=float)[..., None, None]
    c_hpc = np.asarray(c_hpc, dtype=float)[..., None, None]
    fp = np.where(const.mask_pfc > 0, c_pfc, 1.0)
    fh = np.where(const.mask_hpc > 0, c_hpc, 1.0)
    return const.weights * fp * fh


def _sigmoid(x, slope):
    return 0.5 * (1.0 + np.tanh(0.5 * x / slope))  # = 1/(1+exp(-x/slope)), without overflow


def fixed_point(
    w: np.ndarray, drive: np.ndarray, slope: float, *, tol: float = 1e-12, max_iter: int = 100, relax_steps: int = 400
) -> np.ndarray:
    """Solve ``r = f(W r + I)`` for a batch of ``W`` (..., R, R); returns (..., R).

    First the deterministic dynamics ``dr/dt = -r + f(W r + I)`` are relaxed from the healthy state
    (explicit Euler, step 0.25 tau) -- so, were the network multistable, the state reached from
    health is the one reported -- then Newton's method with backtracking polishes to ``tol``.
    """
    batch = w.shape[:-2]
    n = w.shape[-1]
    wb = w.reshape(-1, n, n)
    eye = np.eye(n)

    def residual(r):
        fx = _sigmoid(np.einsum("bij,bj->bi", wb, r) + drive, slope)
        return r - fx, fx

    r = np.full((wb.shape[0], n), 0.5)
    for _ in range(relax_steps):
        r = r - 0.25 * residual(r)[0]
    for _ in range(max_iter):
        res, fx = residual(r)
        norm = np.max(np.abs(res), axis=1)
        if np.max(norm) < tol:
            break
        jac = eye - (fx * (1.0 - fx) / slope)[:, :, None] * wb
        step = np.linalg.solve(jac, res[..., None])[..., 0]
        alpha = np.ones(len(r))
        for _ in range(30):  # backtracking: halve the step where it does not reduce the residual
            trial = np.clip(r - alpha[:, None] * step, 0.0, 1.0)
            worse = (np.max(np.abs(residual(trial)[0]), axis=1) >= norm) & (norm >= tol)
            if not worse.any():
                break
            alpha = np.where(worse, 0.5 * alpha, alpha)
        r = trial
    else:
        raise RuntimeError("the circuit's fixed point did not converge (couplings far outside the healthy range)")
    return r.reshape(*batch, n)


def jacobian(w: np.ndarray, r: np.ndarray, drive: np.ndarray, const: CircuitConstants) -> np.ndarray:
    """Drift matrix ``A`` (..., R, R) of the model linearised at ``r``: ``(-1 + diag(f'(x)) W) / tau``."""
    x = np.einsum("...ij,...j->...i", w, r) + drive
    fx = _sigmoid(x, const.slope)
    gain = fx * (1.0 - fx) / const.slope
    return (gain[..., :, None] * w - np.eye(w.shape[-1])) / const.tau_s


def stationary_covariance(a: np.ndarray, noise: float, tau_s: float) -> np.ndarray:
    """Stationary covariance (..., R, R) of ``dx = A x dt + (noise/tau) dB`` (``scipy.linalg`` Lyapunov)."""
    n = a.shape[-1]
    q = (noise / tau_s) ** 2 * np.eye(n)
    ab = a.reshape(-1, n, n)
    out = np.empty_like(ab)
    for k in range(ab.shape[0]):
        if np.max(np.linalg.eigvals(ab[k]).real) >= 0.0:
            raise RuntimeError("the circuit's fixed point is not stable; no stationary covariance")
        s = linalg.solve_continuous_lyapunov(ab[k], -q)
        out[k] = 0.5 * (s + s.T)
    return out.reshape(a.shape)


def correlation(cov: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    fc = cov / (d[..., :, None] * d[..., None, :])
    idx = np.arange(cov.shape[-1])
    fc[..., idx, idx] = 1.0
    return fc


def circuit_from_factors(
    c_pfc, c_hpc, times_h=None, values: dict | None = None, *, with_fc: bool = True
) -> CircuitState:
    """The circuit for plasticity factors shaped (n, T) (1 = healthy); ``with_fc=False`` skips the
    Lyapunov solves (activity only: what the sub-circuit hooks need, for large cohorts)."""
    const = CircuitConstants.from_values(values)
    c_pfc, c_hpc = np.broadcast_arrays(np.atleast_2d(np.asarray(c_pfc, float)), np.atleast_2d(np.asarray(c_hpc, float)))
    if np.any(~np.isfinite(c_pfc)) or np.any(~np.isfinite(c_hpc)) or np.any(c_pfc < 0) or np.any(c_hpc < 0):
        raise NeuroplastInputError("plasticity factors must be finite and >= 0", field="readouts")
    w = couplings(c_pfc, c_hpc, const)
    drive = const.drive
    r = fixed_point(w, drive, const.slope)
    cov = stationary_covariance(jacobian(w, r, drive, const), const.noise, const.tau_s) if with_fc else None
    t = np.arange(c_pfc.shape[1], dtype=float) if times_h is None else np.asarray(times_h, dtype=float)
    fc = correlation(cov) if cov is not None else None  # cov is None exactly when with_fc is False
    return CircuitState(REGIONS, t, r, fc, cov, w, {"prefrontal": c_pfc, "hippocampal": c_hpc})


def healthy_circuit(values: dict | None = None) -> CircuitState:
    """The reference: every plasticity factor at 1 (one 'patient', one time)."""
    return circuit_from_factors(np.ones((1, 1)), np.ones((1, 1)), values=values)


def _readouts_at(sim, times_h, field: str) -> tuple[np.ndarray, dict]:
    if isinstance(sim, dict):  # a bare read-out dict {name: (n, T)}: its own time axis, no interpolation
        if times_h is not None:
            raise NeuroplastInputError("times need a Simulation (with times_h), not a bare read-out dict", field=field)
        return np.arange(np.shape(sim["spine_density"])[-1], dtype=float), sim
    ts = np.asarray(sim.times_h, dtype=float)
    if times_h is None:
        return ts, sim.readouts
    at = np.atleast_1d(np.asarray(times_h, dtype=float))
    lo, hi = ts[0], ts[-1]
    for t in at:
        if not np.isfinite(t) or t < lo - 1e-9 or t > hi + 1e-9:
            raise NeuroplastInputError(f"time outside the simulation ({lo:g} to {hi:g} h)", field=field, value=float(t))
    out = {}
    for name, arr in sim.readouts.items():
        a = np.asarray(arr, dtype=float)
        out[name] = np.stack([np.interp(at, ts, row) for row in a]) if a.ndim == 2 else a
    return at, out


def mood_circuit(
    sim, times_h=None, *, values: dict | None = None, field: str = "times_h", with_fc: bool = True
) -> CircuitState:
    """The circuit of every patient of ``sim`` (a :class:`neuroplast.Simulation`, or a read-out dict
    ``{name: (n, T)}`` such as ``Simulation.readouts``, evaluated at its own saved times).

    ``times_h``: hours (default: every saved time); a time between two saved times is linearly
    interpolated; a time outside the simulation raises :class:`NeuroplastInputError` naming ``field``.
    """
    at, ro = _readouts_at(sim, times_h, field)
    f = plasticity_factors(ro, values)
    return circuit_from_factors(f["prefrontal"], f["hippocampal"], at, values, with_fc=with_fc)


def subcircuit_activity(sim, times_h=None, *, baseline=None, values: dict | None = None) -> dict:
    """Sub-circuit activity per patient and time, (n, T) each: healthy = 0, untreated baseline = 1.

    ``sim``: a Simulation or a read-out dict ``{name: (n, T)}`` (as :func:`mood_circuit`).
    ``baseline`` is the untreated state of the same patients: a Simulation (its first saved time is
    used), a read-out dict of (n,) or (n, 1) arrays, or ``None`` — then the first saved time of
    ``sim``, which must be before the first dose (drug-free). Keys: ``fear``, ``reward``, ``compulsion``.
    """
    state = mood_circuit(sim, times_h, values=values, with_fc=False)
    if baseline is None:
        ro = sim if isinstance(sim, dict) else sim.readouts
        base_ro = {k: np.asarray(v)[:, :1] for k, v in ro.items()}
    elif hasattr(baseline, "readouts"):
        base_ro = {k: np.asarray(v)[:, :1] for k, v in baseline.readouts.items()}
    else:
        base_ro = {k: np.asarray(v, dtype=float).reshape(-1, 1) for k, v in baseline.items()}
    fb = plasticity_factors(base_ro, values)
    base = circuit_from_factors(fb["prefrontal"], fb["hippocampal"], values=values, with_fc=False)
    healthy = healthy_circuit(values)
    out = {}
    for name, regions in SUBCIRCUITS.items():

        def mean(s, regions=regions):
            return np.mean([s.region(r) for r in regions], axis=0)

        h, b, x = mean(healthy)[0, 0], mean(base), mean(state)
        span = b - h
        if np.any(np.abs(span) < 1e-9):
            raise NeuroplastInputError(
                f"the baseline does not differ from health in the {name} sub-circuit; cannot normalise",
                field="baseline",
            )
        out[name] = (x - h) / span
    return out
