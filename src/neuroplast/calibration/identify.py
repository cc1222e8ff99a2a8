"""Which fitted parameters the data pin down: the curvature of the joint objective at the committed fit.

The joint objective is the sum of squared z-scores over every fitted endpoint at once: the clinical ``fit``
targets of stages 2 and 3 (``evidence/targets.py``; the calibration minimises them stage by stage) and the fitted
mechanistic time courses that give a two-sided interval (``evidence/mechanism_split.yaml``; no stage fits them yet, and a
one-sided or verbal entry carries no spread and stays in the validation only). As ``-2 log L`` of independent normal endpoints, its curvature is the
Fisher information: with ``J`` the Jacobian of the z-scores with respect to the log parameters (central
differences, step ``STEP``, common random numbers: the same patients at every step), the covariance of the log
parameters is ``(J^T J)^-1`` (the quadratic approximation of the profile likelihood; a direction the endpoints do
not see has a near-zero eigenvalue and an interval without end). Each parameter's 95% interval is
``exp(log value +/- 1.96 sd)``. The model's misfit (objective per endpoint above 1) is reported, not folded in.

Status (``neuroplast params --json``): ``weakly_identified`` when the 95% interval reaches past both search bounds
(the data do not narrow the search range) or, on the log scale, spans more than :data:`MAX_FOLD` (a factor of 10:
the data do not pin the value to within an order of magnitude); such a value is held at its stated value as an
assumption would be. Else ``fitted``. A value within 1% (log scale) of a search bound says so (``at_bound``), and
every interval is cut at the search bounds.

The condition parameters (``calibrate-conditions``) are fitted to their own studies after the solve: ``ptsd_gain``
has the standard error its fit records (one endpoint, one parameter: z = 0); the OCD pair the inverse Hessian of
the binomial ``-log L`` by central differences, on the linear scale (``ocd_gain`` sits at its bound 0).

    neuroplast calibrate --stage identify [--n-per-arm N]    # writes parameters/identifiability.json
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from .. import parameters
from ..engine import Fast
from ..evidence.targets import TARGETS
from ..parameters import conditions as condition_parameters
from ..simulation import PopulationModel, default_model
from ..trials.compare import simulated_value
from .evaluate import run_calibration_trials
from .fit import BOUNDS as STAGE2_BOUNDS
from .fit import FREE as STAGE2_FREE
from .fit import SLOPES
from .slow import BOUNDS as STAGE3_BOUNDS
from .slow import FREE as STAGE3_FREE

PATH = parameters.IDENTIFIABILITY_PATH
PARAMETERS: tuple[str, ...] = (*STAGE2_FREE, *SLOPES, *STAGE3_FREE)
BOUNDS: dict[str, tuple[float, float]] = {**STAGE2_BOUNDS, **STAGE3_BOUNDS}  # the safety slopes are unbounded
STEP = 0.1
"""Central-difference step in log space (10%): large beside the 1/n jumps of a rate under common random numbers."""
N_PER_ARM = 300
"""Patients per arm of every evaluation (the same patients at every step)."""
MAX_FOLD = 10.0
Z95 = 1.959963984540054


def _mechanism_rows(model: PopulationModel) -> list[dict]:
    from ..mechanism import simulate_entries
    from ..mechanism.validate import rows

    fitted = [r for r in rows(simulate_entries(model, engine=Fast())) if r["kind"] == "mechanism_fitted"]
    return [r for r in fitted if r["lo"] is not None and r["hi"] is not None]


def endpoints(model: PopulationModel, n_per_arm: int) -> tuple[list[str], np.ndarray]:
    """Every fitted endpoint of the joint objective: its label and z-score at ``model``."""
    targets = [t for t in TARGETS if t.use == "fit"]  # both stages (``Target.stage``)
    results = run_calibration_trials(model, n_per_arm, names=sorted({t.trial for t in targets}), fastest=True)
    labels = [f"{t.study} | {t.arm} | {t.time} | {t.metric}" for t in targets]
    z = [t.z(simulated_value(t, results)) for t in targets]
    for r in _mechanism_rows(model):
        labels.append(f"{r['study']} | {r['arms']} | {r['time']} | {r['metric']}")
        z.append((r["simulated"] - r["published"]) / ((r["hi"] - r["lo"]) / (2 * Z95)))
    return labels, np.asarray(z, dtype=float)


def jacobian(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: float = STEP, log=print
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``f(x)``, its Jacobian by central differences, and the objective ``|f|^2`` at ``x -/+ step`` per coordinate."""
    f0 = f(x)
    jac = np.empty((f0.size, x.size))
    sides = np.empty((x.size, 2))
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        lo, hi = f(x - e), f(x + e)
        jac[:, i] = (hi - lo) / (2 * step)
        sides[i] = [float(lo @ lo), float(hi @ hi)]
        log(f"  {i + 1}/{x.size}: objective {sides[i, 0]:.2f} | {float(f0 @ f0):.2f} | {sides[i, 1]:.2f}")
    return f0, jac, sides


def covariance(jac: np.ndarray, rcond: float = 1e-12) -> np.ndarray:
    """``(J^T J)^-1`` by eigendecomposition. A direction without information (eigenvalue below ``rcond`` times the
    largest) gives every parameter loaded on it an infinite variance; the rest is the inverse on the other
    directions."""
    w, v = np.linalg.eigh(jac.T @ jac)
    seen = w > rcond * max(float(w.max()), 1e-300)
    cov = (v[:, seen] / w[seen]) @ v[:, seen].T
    loaded = (np.abs(v[:, ~seen]) > 1e-8).any(axis=1)
    cov[loaded, :] = np.inf
    cov[:, loaded] = np.inf
    return cov


def classify(value: float, sd: float, bounds: tuple[float, float] | None, *, log_scale: bool = True) -> dict:
    """The 95% interval (cut at the search bounds), the bound the value sits at (if any) and the status, from the
    value and the SD of its log (or, with ``log_scale=False``, of the value).

    ``weakly_identified``: the interval reaches past both search bounds (``flat``: the data do not narrow the search
    range), or, on the log scale, spans more than :data:`MAX_FOLD`; else ``fitted``."""
    if log_scale:
        lo, hi = (value * math.exp(-Z95 * sd), value * math.exp(Z95 * sd)) if math.isfinite(sd) else (0.0, math.inf)
    else:
        lo, hi = value - Z95 * sd, value + Z95 * sd
    at, flat = None, False
    if bounds is not None:
        b_lo, b_hi = bounds
        if log_scale:
            near = lambda b: b > 0 and abs(math.log(value / b)) < 0.01  # noqa: E731
        else:
            near = lambda b: abs(value - b) < 0.01 * (b_hi - b_lo)  # noqa: E731
        at = "lower" if near(b_lo) else "upper" if near(b_hi) else None
        flat = lo <= b_lo and hi >= b_hi
        lo, hi = min(max(lo, b_lo), value), max(min(hi, b_hi), value)  # a value past a bound by round-off stays in
    wide = log_scale and not (lo > 0 and hi / lo <= MAX_FOLD)
    return {
        "interval": [lo, hi],
        "at_bound": at,
        "flat": flat,
        "status": "weakly_identified" if flat or wide else "fitted",
    }


def _json(x):
    """``x`` with every infinite or NaN float as ``None`` (JSON has neither)."""
    if isinstance(x, dict):
        return {k: _json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _conditions() -> list[dict]:
    from . import conditions

    data = json.loads(condition_parameters.FITTED_PATH.read_text())
    values = data["values"]
    out = [
        {
            "name": "ptsd_gain",
            "value": values["ptsd_gain"],
            "sd": data["feder2014"]["ptsd_gain_se"],
            "scale": "linear",
            **classify(
                values["ptsd_gain"], data["feder2014"]["ptsd_gain_se"], conditions.BOUNDS["ptsd_gain"], log_scale=False
            ),
            "endpoints": "feder2014",
        }
    ]
    sims = conditions.simulate_calibration(default_model(), data["n_per_arm"])
    base = dict(default_model().values)
    names = ("ocd_gain", "ocd_expectancy_share")
    x0 = np.array([values[k] for k in names])

    def nll(x):
        return -conditions.ocd_loglik(sims, {**base, **dict(zip(names, x.tolist()))})

    h = np.array([0.02, 0.01])
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            # a step below a bound is evaluated at the bound (the fit's own constraint): one-sided there
            pts = [x0 + ei + ej, x0 + ei - ej, x0 - ei + ej, x0 - ei - ej]
            f = [nll(np.maximum(p, 0.0)) for p in pts]
            hess[i, j] = (f[0] - f[1] - f[2] + f[3]) / (4 * h[i] * h[j])
    w = np.linalg.eigvalsh(hess)
    cov = np.linalg.inv(hess) if w.min() > 0 else np.full((2, 2), np.inf)
    for k, name in enumerate(names):
        sd = float(math.sqrt(cov[k, k])) if math.isfinite(cov[k, k]) and cov[k, k] > 0 else math.inf
        out.append(
            {
                "name": name,
                "value": values[name],
                "sd": sd,
                "scale": "linear",
                **classify(values[name], sd, conditions.BOUNDS[name], log_scale=False),
                "endpoints": "rodriguez2013_ocd, bloch2012_ocd",
            }
        )
    return out


def identify(
    *, n_per_arm: int = N_PER_ARM, step: float = STEP, names: Sequence[str] = PARAMETERS, write: bool = True, log=print
) -> dict:
    """Compute every fitted parameter's interval and status at the committed fit; write :data:`PATH`."""
    t0 = time.time()
    model = default_model()
    x0 = np.log([model.values[k] for k in names])
    labels: list[str] = []

    def f(x):
        m = model.with_values(**dict(zip(names, np.exp(x).tolist())))
        lab, z = endpoints(m, n_per_arm)
        labels[:] = lab
        return z

    z0, jac, sides = jacobian(f, x0, step, log=log)
    cov = covariance(jac)
    w = np.linalg.eigvalsh(jac.T @ jac)
    rows = []
    for i, name in enumerate(names):
        sd = float(math.sqrt(cov[i, i])) if math.isfinite(cov[i, i]) else math.inf
        rows.append(
            {
                "name": name,
                "value": float(model.values[name]),
                "sd": sd,
                "scale": "log",
                **classify(float(model.values[name]), sd, BOUNDS.get(name)),
                "slice": [float(sides[i, 0]), float(z0 @ z0), float(sides[i, 1])],
                "largest_sensitivity": labels[int(np.argmax(np.abs(jac[:, i])))],
            }
        )
    rows += _conditions()
    out = {
        "description": "Written by neuroplast.calibration.identify (neuroplast calibrate --stage identify); do not edit by hand.",
        "method": (
            "covariance of the log parameters = (J^T J)^-1, J the Jacobian of the fitted endpoints' z-scores "
            f"(clinical stages 2-3 and two-sided mechanistic entries) by central differences (step {step} in log space), "
            f"common random numbers; status 'weakly_identified' when the 95% interval passes both search bounds or "
            f"spans more than {MAX_FOLD:g}-fold"
        ),
        "command": f"neuroplast calibrate --stage identify --n-per-arm {n_per_arm}",
        "n_per_arm": n_per_arm,
        "step": step,
        "endpoints": len(z0),
        "objective": float(z0 @ z0),
        "information_eigenvalues": [float(v) for v in w],
        "endpoint_labels": labels,
        "z": [float(v) for v in z0],
        "jacobian_columns": list(names),
        "jacobian": [[float(v) for v in row] for row in jac],  # d z / d log parameter, rows = endpoints
        "seconds": round(time.time() - t0, 1),
        "parameters": rows,
    }
    if write:
        tmp = PATH.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(_json(out), indent=1, allow_nan=False) + "\n")
        tmp.replace(PATH)
    log(f"identifiability: {len(z0)} endpoints, objective {out['objective']:.2f} ({out['seconds']} s)")
    return out


def _g(x: float | None) -> str:
    return "∞" if x is None or not math.isfinite(x) else f"{x:.3g}"


def identifiability_block(doc: dict) -> str:
    """The table of ``docs/model.md`` (§8): every fitted parameter's value, 95% interval and status."""
    rows = doc["parameters"]
    weak = [r["name"] for r in rows if r["status"] == "weakly_identified"]
    bound = [f"{r['name']} ({r['at_bound']})" for r in rows if r["at_bound"]]
    out = [
        f"Generated from `src/neuroplast/parameters/identifiability.json` (`{doc['command']}` at the committed fit: "
        f"{doc['endpoints']} fitted endpoints, objective {doc['objective']:.1f}): {len(rows) - len(weak)} of {len(rows)} fitted parameters "
        f"identified (95% interval within {MAX_FOLD:g}-fold and inside the search range); weakly identified: {', '.join(weak) or 'none'}; at a search bound: "
        f"{', '.join(bound) or 'none'}.",
        "",
        "| parameter | value | 95% interval | status | at a bound | endpoint most sensitive to it |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lo, hi = r["interval"]
        out.append(
            f"| `{r['name']}` | {_g(r['value'])} | {_g(lo)} – {_g(hi)} | {r['status'].replace('_', ' ')} | "
            f"{r['at_bound'] or ''} | {(r.get('largest_sensitivity') or r.get('endpoints', '')).replace(' | ', ', ')} |"
        )
    return "\n".join(out)


__all__ = [
    "BOUNDS",
    "MAX_FOLD",
    "PARAMETERS",
    "PATH",
    "classify",
    "covariance",
    "endpoints",
    "identifiability_block",
    "identify",
    "jacobian",
]
